import AsyncHTTPClient
import GateRouterCatalog
import GateRouterWire
import Logging
import NIOCore
import NIOHTTP1
import Foundation

/// Serves every provider that speaks OpenAI Chat Completions: OpenAI, DeepSeek, xAI, Moonshot, Z.ai, MiniMax and any
/// custom base URL (Ollama, vLLM, llama.cpp).
///
/// The client's body goes upstream with only these fields rewritten: `model` (to the upstream id), `stream_options`
/// (usage is always requested so streams can be metered), the output-limit parameter the model accepts, a temperature
/// the model would reject, and the gateway's own extension fields.
public struct OpenAICompatibleAdapter: ProviderAdapter {
    public struct Configuration: Sendable {
        /// The longest a whole upstream request may take, streaming included.
        public var requestTimeout: TimeAmount
        /// The largest non-streaming response body read into memory.
        public var maxResponseBytes: Int

        public init(requestTimeout: TimeAmount = .seconds(600), maxResponseBytes: Int = 64 << 20) {
            self.requestTimeout = requestTimeout
            self.maxResponseBytes = maxResponseBytes
        }
    }

    let http: UpstreamHTTP

    /// - Parameter exchangePool: when set, non-streaming requests to plain-HTTP upstreams use it (see ``LoopLocalHTTPPool``).
    public init(httpClient: HTTPClient, configuration: Configuration = .init(), exchangePool: LoopLocalHTTPPool? = nil) {
        self.http = UpstreamHTTP(
            httpClient: httpClient, requestTimeout: configuration.requestTimeout, maxResponseBytes: configuration.maxResponseBytes, exchangePool: exchangePool
        )
    }

    public func complete(_ call: UpstreamCall, logger: Logger) async throws -> UpstreamCompletion {
        let provider = call.target.provider.id
        let (request, adapted) = try prepare(call, streaming: false)
        let body = try await http.exchange(request, provider: provider, logger: logger)
        return try Self.completion(from: body, call: call, adapted: adapted)
    }

    /// A 2xx answer's body as the client's completion: the catalog id in `model`, usage read, in-band errors thrown.
    public static func completion(from body: [UInt8], call: UpstreamCall, adapted: [String]) throws(GatewayError) -> UpstreamCompletion {
        let provider = call.target.provider.id
        var object: RawJSONObject
        do {
            object = try RawJSONObject(parsing: body)
        } catch {
            throw GatewayError.upstreamInvalidResponse(provider: provider)
        }
        if object.contains("error"), !object.contains("choices") {
            throw UpstreamErrorMapping.inBandError(object.serialized(), provider: provider)
        }
        let upstreamModel = object.string("model") ?? call.target.upstreamModel
        object.set("model", string: call.target.modelID)
        var usage: Usage?
        if let raw = object[raw: "usage"], !object.isNullOrAbsent("usage") {
            usage = Usage(json: raw)
        }
        return UpstreamCompletion(object: object, usage: usage, upstreamModel: upstreamModel, adapted: adapted)
    }

    /// A request to a plain-HTTP upstream, ready for ``LoopLocalHTTPPool``: nil when the provider's URL is not plain
    /// HTTP. Throws what strict parameters refuse.
    public static func plainHTTPExchange(for call: UpstreamCall, streaming: Bool = false) throws(GatewayError) -> PlainHTTPExchange? {
        guard let heads = call.target.provider.plainHTTPChatHeads else { return nil }
        let (body, adapted) = upstreamBody(for: call, streaming: streaming)
        try call.enforceStrictParams(adapted)
        return PlainHTTPExchange(request: PlainHTTPRequest(head: streaming ? heads.stream : heads.json, body: body), adapted: adapted)
    }

    public func stream(_ call: UpstreamCall, logger: Logger) async throws -> UpstreamEventStream {
        let (request, adapted) = try prepare(call, streaming: true)
        let response = try await http.post(request, provider: call.target.provider.id, logger: logger)
        let transcoder = OpenAIChunkTranscoder(
            modelID: call.target.modelID,
            provider: call.target.provider.id,
            forwardUsage: call.request.wantsStreamUsage
        )
        return UpstreamEventStream(body: response.body, transcoder: transcoder, upstreamModel: call.target.upstreamModel, adapted: adapted)
    }

    /// The upstream request; a non-2xx answer to it becomes a ``GatewayError``.
    private func prepare(_ call: UpstreamCall, streaming: Bool) throws -> (UpstreamRequest, [String]) {
        let settings = call.target.provider
        var headers = [("accept", streaming ? "text/event-stream" : "application/json")]
        if let key = settings.apiKey, !key.isEmpty { headers.append(("authorization", "Bearer \(key)")) }
        let (body, adapted) = Self.upstreamBody(for: call, streaming: streaming)
        try call.enforceStrictParams(adapted)
        let request = UpstreamRequest(url: settings.chatCompletionsURL, headers: headers, body: body) { status, body, retryAfter in
            UpstreamErrorMapping.httpError(status: status, body: body, provider: settings.id, retryAfter: retryAfter)
        }
        return (request, adapted)
    }

    /// The body sent upstream: the client's fields, with the few the gateway owns rewritten, and what was adapted.
    static func upstreamBody(for call: UpstreamCall, streaming: Bool) -> (body: [UInt8], adapted: [String]) {
        var body = call.body
        var adapted: [String] = []
        body.set("model", string: call.target.upstreamModel)
        body.remove("models")  // the gateway's fallback list, not the upstream's business
        if let messages = ReasoningRoundTrip.messages(body[raw: "messages"], provider: call.target.provider.id) {
            body.set("messages", raw: messages)
        }
        if streaming {
            var options = (body[raw: "stream_options"]).flatMap { try? RawJSONObject(parsing: $0) } ?? RawJSONObject()
            options.set("include_usage", raw: Array("true".utf8))
            body.set("stream_options", raw: options.serialized())
        }
        if let model = call.target.catalogModel {
            // Send the output limit under the name this model accepts, so `unsupported parameter: max_tokens` never
            // reaches a client that used the other spelling.
            switch model.maxTokensParam {
            case .maxCompletionTokens where body.contains("max_tokens"):
                body.rename("max_tokens", to: "max_completion_tokens")
                adapted.append("max_tokens->max_completion_tokens")
            case .maxTokens where body.contains("max_completion_tokens"):
                body.rename("max_completion_tokens", to: "max_tokens")
                adapted.append("max_completion_tokens->max_tokens")
            default: break
            }
            if let fixed = model.fixedTemperature, let temperature = call.request.temperature, temperature != fixed {
                body.remove("temperature")
                adapted.append("temperature dropped")
            }
        }
        return (body.serialized(), adapted)
    }
}
