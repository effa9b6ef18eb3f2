import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// `gaterouter`: the command-line shell. Each subcommand parses its flags and calls into the libraries.
@main
struct GateRouterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gaterouter",
        abstract: "A self-hosted, OpenAI-compatible LLM gateway.",
        subcommands: [ServeCommand.self, MockProviderCommand.self, KeysCommand.self, AccountsCommand.self, UsageCommand.self],
        defaultSubcommand: ServeCommand.self
    )

    /// Runs Swift concurrency's jobs on NIO's event-loop threads before anything else starts, so a request's async
    /// handler, its upstream call and the socket writes share threads instead of hopping between Swift's global pool
    /// and the event loops (on a small machine those hops cost more than the work). `GATEROUTER_NIO_EXECUTOR=0` keeps
    /// Swift's own pool, to compare.
    static func main() async {
        if ProcessInfo.processInfo.environment["GATEROUTER_NIO_EXECUTOR"] != "0" {
            NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        }
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
