import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import UnixSignals

/// The running gateway: the router behind ``GatewayHTTP1Channel`` (with the fast path in front when enabled), served by
/// ``LoopLocalListeners``, and the services that live as long as it (ledger writer, store sync, upstream pools).
///
/// It answers a request the way Hummingbird's `Application` does (the router's response, or a bare 500 for an error
/// the router did not map, plus the `Date` and `Server` headers); it differs only in how connections are accepted.
public struct GatewayApplication: Service {
    let responder: RouterResponder<GatewayRequestContext>
    let idleTimeout: Duration?
    let fastPath: FastChatCompletions?
    let host: String
    let port: Int
    let backlog: Int32
    let serverName: String
    let services: [any Service]
    let onServerRunning: @Sendable (Int) async -> Void
    let logger: Logger

    /// Runs until cancelled or shut down gracefully; services stop in reverse order after the server has drained.
    public func run() async throws {
        let dates = HTTPDateCache()
        let responder = responder
        let serverName = serverName
        let channel = GatewayHTTP1Channel(
            responder: { request, responseWriter, channel in
                let context = GatewayRequestContext(source: .init(channel: channel, logger: logger))
                var response: Response
                do {
                    response = try await responder.respond(to: request, context: context)
                } catch let error as HTTPParserError {
                    throw error  // Hummingbird's channel handler answers 400 and closes
                } catch {
                    context.logger.debug("unmapped error", metadata: ["gr.error": "\(error)"])
                    response = Response(status: .internalServerError)
                }
                response.headers[.date] = dates.now()
                response.headers[.server] = serverName
                do {
                    try await responseWriter.write(response: response.head, body: response.body)
                } catch is HTTPParserError {
                    // Part of the answer may be out: a parser error now must close the connection, not add a 400.
                    throw ResponseWriteFailed()
                }
            },
            idleTimeout: idleTimeout,
            fastPath: fastPath
        )
        let server = LoopLocalListeners(
            childChannel: channel, host: host, port: port, backlog: backlog, group: .singleton, onServerRunning: onServerRunning, logger: logger
        )
        try await ServiceGroup(configuration: .init(services: services + [server], logger: logger)).run()
    }

    /// Runs as the process's service, shutting down gracefully on SIGTERM and SIGINT.
    public func runService() async throws {
        let group = ServiceGroup(configuration: .init(services: [self], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }

    private struct ResponseWriteFailed: Error {}
}
