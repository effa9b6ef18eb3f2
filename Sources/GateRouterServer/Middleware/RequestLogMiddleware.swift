import GateRouterWire
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// Outermost middleware: maps every error to OpenAI's envelope, stamps `x-request-id`, and when the response body
/// has been fully written (streams included) logs one line and records metrics.
///
/// The log line carries ids, status, timings and token counts: never prompt text, keys or upstream bodies.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext

    let metrics: GatewayMetrics
    let trustForwardedHeaders: Bool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let gatewayError = GatewayError.from(error, logger: context.logger)
            context.report.update { $0.errorCode = gatewayError.code ?? gatewayError.type }
            response = gatewayError.response
        }
        response.headers[.requestID] = context.requestID

        let method = request.method.rawValue
        let path = request.uri.path
        let route = context.endpointPath ?? "unmatched"
        let status = Int(response.status.code)
        let client = clientAddress(request, context: context)
        let logger = context.logger
        let report = context.report
        let metrics = self.metrics
        let body = response.body
        response.body = ResponseBody(contentLength: body.contentLength) { writer in
            var failure: (any Error)?
            do {
                try await body.write(writer)
            } catch {
                failure = error
            }
            Self.finish(
                report.snapshot, method: method, path: path, route: route, status: status, client: client, duration: ContinuousClock.now - start,
                clientDisconnected: failure != nil, logger: logger, metrics: metrics
            )
            if let failure { throw failure }
        }
        return response
    }

    /// The request's one log line and its metrics; also written by the NIO fast path for the requests it answers,
    /// which passes its `sink` (the line then skips `Logger.Metadata`; see ``RequestLogSink``).
    static func finish(
        _ fields: RequestReport.Fields, method: String, path: String, route: String, status: Int, client: String?, duration: Duration,
        clientDisconnected: Bool, logger: Logger, metrics: GatewayMetrics, requestID: String? = nil, sink: (any RequestLogSink)? = nil
    ) {
        if path.hasPrefix("/openai/") {
            metrics.recordRequest(route: route, model: fields.model ?? "none", provider: fields.provider ?? "none", status: status, duration: duration)
        }
        // Above info the line would be dropped: do not build it.
        guard logger.logLevel <= .info else { return }
        let line = RequestLogLine(
            method: method, route: route, status: status, duration: duration, client: client, fields: fields, clientDisconnected: clientDisconnected,
            requestID: requestID
        )
        if let sink {
            sink.write(line)
        } else {
            logger.info("request", metadata: line.metadata)
        }
    }

    /// The client's address: the socket peer, or the first `X-Forwarded-For` hop when a trusted proxy sets it.
    private func clientAddress(_ request: Request, context: Context) -> String? {
        Self.clientAddress(forwardedFor: request.headers[.xForwardedFor], peer: context.remoteAddress, trustForwardedHeaders: trustForwardedHeaders)
    }

    static func clientAddress(forwardedFor: String?, peer: SocketAddress?, trustForwardedHeaders: Bool) -> String? {
        clientAddress(forwardedFor: forwardedFor, peerAddress: peer?.ipAddress, trustForwardedHeaders: trustForwardedHeaders)
    }

    /// The same, from the peer's address already formatted (the fast path formats it once per connection).
    static func clientAddress(forwardedFor: String?, peerAddress: String?, trustForwardedHeaders: Bool) -> String? {
        if trustForwardedHeaders, let forwarded = forwardedFor {
            return forwarded.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        return peerAddress
    }
}

