import GateRouterWire
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The one place errors become HTTP responses: everything a handler or middleware throws passes through here.
extension GatewayError {
    /// Maps any error to the envelope a client sees. Hummingbird's own errors (no route, body too large) keep their
    /// meaning; anything unexpected is a generic 500 whose details stay in the log, never in the response.
    static func from(_ error: any Error, logger: Logger) -> GatewayError {
        switch error {
        case let error as GatewayError:
            return error
        case let error as HTTPError:
            switch error.status {
            case .notFound: return .pageNotFound
            case .methodNotAllowed: return .methodNotAllowed
            case .contentTooLarge: return .requestTooLarge(limit: 32 << 20)
            default:
                return GatewayError(
                    status: Int(error.status.code),
                    message: error.body ?? error.status.reasonPhrase,
                    type: error.status.code >= 500 ? "server_error" : "invalid_request_error"
                )
            }
        default:
            logger.error("unexpected error", metadata: ["gr.error": "\(String(reflecting: Swift.type(of: error)))"])
            return .internalError
        }
    }

    /// The HTTP response carrying this error in OpenAI's envelope.
    var response: Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter { headers[.retryAfter] = retryAfter }
        for (name, value) in self.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: envelope)))
    }

    /// The error as an in-band SSE event, for failures after a stream's 200 was sent.
    var streamFrame: ByteBuffer {
        ByteBuffer(bytes: ServerSentEvent.frame(data: envelope))
    }
}
