import ArgumentParser
import Foundation
import GateRouterServer
import GateRouterStorage

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Manage API keys in the data folder.",
        subcommands: [Create.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key and print it once.")

        @Option(name: .customLong("data-dir"), help: "The gateway's data folder (env GATEROUTER_DATA_DIR; default ./gaterouter-data).")
        var dataDir: String?

        @Option(help: "A name to recognise the key by.")
        var name = "cli key"

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let directory = dataDir ?? environment["GATEROUTER_DATA_DIR"] ?? "./gaterouter-data"
            let logger = makeLogger(label: "gaterouter", level: "warning")
            let state = try await GatewayBootstrap.openSQLite(dataDirectory: directory, logger: logger)
            let issued = try await KeyIssuer(store: state.store, cache: nil).issue(accountID: Account.defaultAccountID, name: name)
            print(issued.secret)
        }
    }
}
