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
            let duration = ContinuousClock.now - start
            let fields = report.snapshot
            if path.hasPrefix("/openai/") {
                metrics.recordRequest(route: route, model: fields.model ?? "none", provider: fields.provider ?? "none", status: status, duration: duration)
            }
            var metadata: Logger.Metadata = [
                "gr.method": .string(method),
                "gr.route": .string(route),
                "gr.status": .stringConvertible(status),
                "gr.duration_ms": .stringConvertible(Int(duration / .milliseconds(1))),
            ]
            if let client { metadata["gr.client"] = .string(client) }
            if let value = fields.keyID { metadata["gr.key.id"] = .string(value) }
            if let value = fields.model { metadata["gr.model"] = .string(value) }
            if let value = fields.provider { metadata["gr.provider"] = .string(value) }
            if let value = fields.upstreamModel { metadata["gr.upstream_model"] = .string(value) }
            if let value = fields.promptTokens { metadata["gr.tokens.prompt"] = .stringConvertible(value) }
            if let value = fields.completionTokens { metadata["gr.tokens.completion"] = .stringConvertible(value) }
            if let value = fields.errorCode { metadata["gr.error"] = .string(value) }
            if fields.streamError { metadata["gr.stream_error"] = "true" }
            if let value = fields.tier { metadata["gr.routing.tier"] = .string(value) }
            if let value = fields.route { metadata["gr.routing.decision"] = .string(value) }
            if let value = fields.attempts { metadata["gr.routing.attempts"] = .stringConvertible(value) }
            if !fields.failedAttempts.isEmpty { metadata["gr.routing.failed"] = .string(fields.failedAttempts.joined(separator: "; ")) }
            if failure != nil { metadata["gr.client_disconnected"] = "true" }
            logger.info("request", metadata: metadata)
            if let failure { throw failure }
        }
        return response
    }

    /// The client's address: the socket peer, or the first `X-Forwarded-For` hop when a trusted proxy sets it.
    private func clientAddress(_ request: Request, context: Context) -> String? {
        if trustForwardedHeaders, let forwarded = request.headers[.xForwardedFor] {
            return forwarded.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) }
        }
        return context.remoteAddress?.ipAddress
    }
}

