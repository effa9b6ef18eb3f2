import ArgumentParser
import Foundation
import GateRouterServer
import GateRouterStorage

/// Where the operator commands (`keys`, `accounts`, `usage`) find the gateway's state: the same data folder or
/// PostgreSQL database the gateway uses. A change written here reaches a running gateway within a second (it
/// watches the store's change version).
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("data-dir"), help: "The gateway's data folder (env GATEROUTER_DATA_DIR; default ./gaterouter-data).")
    var dataDir: String?

    @Option(help: "PostgreSQL URL instead of the data folder (env GATEROUTER_DATABASE_URL).")
    var database: String?

    func withState<T: Sendable>(_ body: (GatewayBootstrap.Result) async throws -> T) async throws -> T {
        let environment = ProcessInfo.processInfo.environment
        let directory = dataDir ?? environment["GATEROUTER_DATA_DIR"] ?? "./gaterouter-data"
        let logger = makeLogger(label: "gaterouter", level: "warning")
        return try await GatewayBootstrap.withState(
            databaseURL: database ?? environment["GATEROUTER_DATABASE_URL"], dataDirectory: directory, logger: logger, body
        )
    }
}

/// Prints rows as aligned columns.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { column in ([header] + rows).map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0 }
    for row in [header] + rows {
        print(row.enumerated().map { $1.padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  "))
    }
}

func formatDate(_ date: Date?) -> String {
    guard let date else { return "-" }
    let formatter = ISO8601DateFormatter()
    return formatter.string(from: date)
}

/// A USD amount from the command line, exact.
func parseUSD(_ text: String, option: String) throws -> Picodollars {
    guard let amount = Picodollars(usd: text) else { throw ValidationError("\(option): '\(text)' is not a USD amount such as 12.50") }
    return amount
}
