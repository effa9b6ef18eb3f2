import AsyncHTTPClient
import GateRouterWire
import NIOCore
import Foundation

/// Turns upstream failures into ``GatewayError``s, in one place for every adapter.
public enum UpstreamErrorMapping {
    /// A non-2xx upstream answer: the upstream's status and its own error message, in OpenAI's envelope.
    ///
    /// Two exceptions. An upstream 401 means the *gateway's* provider key is wrong; passing it on would tell the client
    /// its own gateway key is bad, so it becomes a 502 that names the provider. An upstream 500 is the upstream's
    /// fault, not the gateway's: it becomes a 502 (bad gateway), which OpenAI SDKs still retry.
    public static func httpError(status: Int, body: [UInt8], provider: String, retryAfter: String?) -> GatewayError {
        let parsed = parseErrorBody(body)
        let upstreamMessage = parsed?.message ?? "HTTP \(status)"
        if status == 401 {
            return GatewayError(
                status: 502,
                message: "The upstream provider '\(provider)' rejected the gateway's credentials (HTTP \(status)): \(upstreamMessage)",
                type: "upstream_error",
                code: "upstream_auth_failed"
            )
        }
        let type = parsed?.type ?? (status >= 500 ? "server_error" : "invalid_request_error")
        return GatewayError(
            status: (400...599).contains(status) && status != 500 ? status : 502,
            message: parsed?.message ?? "The upstream provider '\(provider)' returned HTTP \(status).",
            type: type,
            param: parsed?.param,
            code: parsed?.code,
            retryAfter: retryAfter
        )
    }

    /// An error object that arrived inside a 200 stream (`data: {"error":{…}}`).
    public static func inBandError(_ body: [UInt8], provider: String) -> GatewayError {
        let parsed = parseErrorBody(body)
        return GatewayError(
            status: 502,
            message: parsed?.message ?? "The upstream provider '\(provider)' reported an error mid-stream.",
            type: parsed?.type ?? "upstream_error",
            param: parsed?.param,
            code: parsed?.code
        )
    }

    /// A failure below HTTP: refused or reset connections, TLS, timeouts.
    public static func transportError(_ error: any Error, provider: String) -> GatewayError {
        if let error = error as? GatewayError { return error }
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout:
                return .upstreamTimeout(provider: provider)
            default:
                return .upstreamUnavailable(provider: provider)
            }
        }
        if let error = error as? LoopLocalHTTPPool.ExchangeError {
            switch error {
            case .timedOut, .idleTimeout, .cancelled: return .upstreamTimeout(provider: provider)
            case .connectFailed, .connectionClosed, .responseTooLarge, .malformedResponse, .invalidRequest:
                return .upstreamUnavailable(provider: provider)
            }
        }
        if error is CancellationError { return .upstreamTimeout(provider: provider) }
        return .upstreamUnavailable(provider: provider)
    }

    struct ErrorFields {
        var message: String?
        var type: String?
        var param: String?
        var code: String?
    }

    /// Reads `{"error":{…}}` (OpenAI), `{"type":"error","error":{…}}` (Anthropic) and `[{"error":{…}}]` (Gemini's
    /// OpenAI endpoint) alike.
    static func parseErrorBody(_ body: [UInt8]) -> ErrorFields? {
        struct Inner: Decodable {
            var message: String?
            var type: String?
            var param: String?
            var code: CodeValue?
            var status: String?
        }
        enum CodeValue: Decodable {
            case string(String), number(Int)
            init(from decoder: any Decoder) throws {
                let container = try decoder.singleValueContainer()
                if let value = try? container.decode(Int.self) { self = .number(value) } else { self = .string(try container.decode(String.self)) }
            }
            var text: String { switch self { case .string(let s): s; case .number(let n): String(n) } }
        }
        struct Envelope: Decodable { var error: Inner? }
        let data = Data(body)
        let inner = (try? JSONDecoder().decode(Envelope.self, from: data))?.error
            ?? (try? JSONDecoder().decode([Envelope].self, from: data))?.first?.error
        guard let inner else { return nil }
        return ErrorFields(message: inner.message, type: inner.type ?? inner.status?.lowercased(), param: inner.param, code: inner.code?.text)
    }
}
