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

    let httpClient: HTTPClient
    let configuration: Configuration

    public init(httpClient: HTTPClient, configuration: Configuration = .init()) {
        self.httpClient = httpClient
        self.configuration = configuration
    }

    public func complete(_ call: UpstreamCall, logger: Logger) async throws -> UpstreamCompletion {
        let provider = call.target.provider.id
        let response = try await execute(call, streaming: false, logger: logger)
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: configuration.maxResponseBytes)
        } catch {
            throw UpstreamErrorMapping.transportError(error, provider: provider)
        }
        var object: RawJSONObject
        do {
            object = try RawJSONObject(parsing: body.readableBytesView)
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
            usage = try? JSONDecoder().decode(Usage.self, from: Data(raw))
        }
        return UpstreamCompletion(body: object.serialized(), usage: usage, upstreamModel: upstreamModel)
    }

    public func stream(_ call: UpstreamCall, logger: Logger) async throws -> UpstreamEventStream {
        let response = try await execute(call, streaming: true, logger: logger)
        let transcoder = OpenAIChunkTranscoder(
            modelID: call.target.modelID,
            provider: call.target.provider.id,
            forwardUsage: call.request.wantsStreamUsage
        )
        return UpstreamEventStream(body: response.body, transcoder: transcoder, upstreamModel: call.target.upstreamModel)
    }

    /// Sends the request and returns a 2xx response; any other status becomes a ``GatewayError``.
    private func execute(_ call: UpstreamCall, streaming: Bool, logger: Logger) async throws -> HTTPClientResponse {
        let settings = call.target.provider
        var request = HTTPClientRequest(url: settings.chatCompletionsURL)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.headers.add(name: "accept", value: streaming ? "text/event-stream" : "application/json")
        if let key = settings.apiKey, !key.isEmpty {
            request.headers.add(name: "authorization", value: "Bearer \(key)")
        }
        let body = Self.upstreamBody(for: call, streaming: streaming)
        request.body = .bytes(ByteBuffer(bytes: body))

        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: configuration.requestTimeout, logger: logger)
        } catch {
            throw UpstreamErrorMapping.transportError(error, provider: settings.id)
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            let errorBody = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
            throw UpstreamErrorMapping.httpError(
                status: Int(response.status.code),
                body: errorBody,
                provider: settings.id,
                retryAfter: response.headers.first(name: "retry-after")
            )
        }
        return response
    }

    /// The body sent upstream: the client's fields, with the few the gateway owns rewritten.
    static func upstreamBody(for call: UpstreamCall, streaming: Bool) -> [UInt8] {
        var body = call.body
        body.set("model", string: call.target.upstreamModel)
        body.remove("models")  // the gateway's fallback list, not the upstream's business
        if streaming {
            var options = (body[raw: "stream_options"]).flatMap { try? RawJSONObject(parsing: $0) } ?? RawJSONObject()
            options.set("include_usage", raw: Array("true".utf8))
            body.set("stream_options", raw: options.serialized())
        }
        if let model = call.target.catalogModel {
            // Send the output limit under the name this model accepts, so `unsupported parameter: max_tokens` never
            // reaches a client that used the other spelling.
            switch model.maxTokensParam {
            case .maxCompletionTokens: body.rename("max_tokens", to: "max_completion_tokens")
            case .maxTokens: body.rename("max_completion_tokens", to: "max_tokens")
            }
            if let fixed = model.fixedTemperature, let temperature = call.request.temperature, temperature != fixed {
                body.remove("temperature")
            }
        }
        return body.serialized()
    }
}
