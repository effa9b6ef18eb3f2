import AsyncHTTPClient
import Foundation
import GateRouterWire
import Logging

/// Serves `anthropic/...` models through Anthropic's own Messages API (`POST {base}/v1/messages`), translating
/// OpenAI Chat Completions both ways, streaming included.
public struct AnthropicAdapter: ProviderAdapter {
    static let apiVersion = "2023-06-01"
    let http: UpstreamHTTP

    /// - Parameter exchangePool: when set, non-streaming requests to plain-HTTP upstreams use it (see ``LoopLocalHTTPPool``).
    public init(httpClient: HTTPClient, configuration: OpenAICompatibleAdapter.Configuration = .init(), exchangePool: LoopLocalHTTPPool? = nil) {
        self.http = UpstreamHTTP(
            httpClient: httpClient, requestTimeout: configuration.requestTimeout, maxResponseBytes: configuration.maxResponseBytes, exchangePool: exchangePool
        )
    }

    public func complete(_ call: UpstreamCall, logger: Logger) async throws -> UpstreamCompletion {
        let (request, adapted) = try prepare(call, stream: false)
        let bytes = try await http.exchange(request, provider: call.target.provider.id, logger: logger)
        guard let message = try? JSONValue.parse(bytes) else { throw GatewayError.upstreamInvalidResponse(provider: call.target.provider.id) }
        let (body, usage) = try AnthropicResponseTranslation.completion(message, modelID: call.target.modelID, created: Int(Date().timeIntervalSince1970))
        return UpstreamCompletion(body: body, usage: usage, upstreamModel: message["model"]?.stringValue ?? call.target.upstreamModel, adapted: adapted)
    }

    public func stream(_ call: UpstreamCall, logger: Logger) async throws -> UpstreamEventStream {
        let (request, adapted) = try prepare(call, stream: true)
        let response = try await http.post(request, provider: call.target.provider.id, logger: logger)
        let transcoder = AnthropicStreamTranscoder(
            modelID: call.target.modelID, created: Int(Date().timeIntervalSince1970), forwardUsage: call.request.wantsStreamUsage
        )
        return UpstreamEventStream(body: response.body, transcoder: transcoder, upstreamModel: call.target.upstreamModel, adapted: adapted)
    }

    private func prepare(_ call: UpstreamCall, stream: Bool) throws -> (UpstreamRequest, [String]) {
        guard let request = try? JSONValue.parse(call.body.serialized()) else { throw GatewayError.invalidJSON("the body is not valid JSON") }
        let translated = try AnthropicRequestTranslation.translate(request, upstreamModel: call.target.upstreamModel, model: call.target.catalogModel, stream: stream)
        try call.enforceStrictParams(translated.adapted)
        var headers = [("anthropic-version", Self.apiVersion), ("accept", stream ? "text/event-stream" : "application/json")]
        if let key = call.target.provider.apiKey, !key.isEmpty { headers.append(("x-api-key", key)) }
        let upstream = UpstreamRequest(url: call.target.provider.baseURL + "/v1/messages", headers: headers, body: translated.body.serialized()) {
            status, body, retryAfter in AnthropicResponseTranslation.error(status: status, body: body, retryAfter: retryAfter)
        }
        return (upstream, translated.adapted)
    }
}
