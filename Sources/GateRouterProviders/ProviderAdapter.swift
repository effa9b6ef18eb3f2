import GateRouterCatalog
import GateRouterWire
import Logging

/// Where one request goes: the model reported to the client and the upstream that serves it.
public struct UpstreamTarget: Sendable {
    /// The fields, behind one shared reference. A target is copied into each attempt, callback, header and record of
    /// a request; copied as a struct, each copy retained and released every string of the provider's settings and
    /// the catalog entry (about twenty), which showed in profiles of the request path. Read-only, so sharing is safe.
    @usableFromInline
    final class Fields: Sendable {
        @usableFromInline let modelID: String
        @usableFromInline let upstreamModel: String
        @usableFromInline let provider: ProviderSettings
        @usableFromInline let catalogModel: CatalogModel?

        init(modelID: String, upstreamModel: String, provider: ProviderSettings, catalogModel: CatalogModel?) {
            self.modelID = modelID
            self.upstreamModel = upstreamModel
            self.provider = provider
            self.catalogModel = catalogModel
        }
    }

    @usableFromInline let fields: Fields

    /// The catalog id reported in the response's `model` field (`deepseek/deepseek-v3.2`).
    @inlinable public var modelID: String { fields.modelID }
    /// The model string sent to the provider (`deepseek-chat`).
    @inlinable public var upstreamModel: String { fields.upstreamModel }
    @inlinable public var provider: ProviderSettings { fields.provider }
    /// The catalog entry, or nil for a `provider/name` id passed through as is.
    @inlinable public var catalogModel: CatalogModel? { fields.catalogModel }

    public init(modelID: String, upstreamModel: String, provider: ProviderSettings, catalogModel: CatalogModel?) {
        fields = Fields(modelID: modelID, upstreamModel: upstreamModel, provider: provider, catalogModel: catalogModel)
    }
}

/// One chat completion to send upstream.
public struct UpstreamCall: Sendable {
    /// The client's body; adapters rewrite only the fields they must.
    public var body: RawJSONObject
    public var request: ChatCompletionRequest
    public var target: UpstreamTarget
    /// The account's `strict_params` setting: refuse what would otherwise be adapted to fit the model.
    public var strictParams: Bool

    public init(body: RawJSONObject, request: ChatCompletionRequest, target: UpstreamTarget, strictParams: Bool = false) {
        self.body = body
        self.request = request
        self.target = target
        self.strictParams = strictParams
    }

    /// In strict mode, the first change made to fit the model becomes the error the upstream itself would have sent:
    /// `unsupported parameter: <name>`, naming the client's parameter.
    public func enforceStrictParams(_ adapted: [String]) throws(GatewayError) {
        guard strictParams, let first = adapted.first else { return }
        throw .unsupportedParameter(Self.parameterName(of: first))
    }

    /// `max_tokens->max_completion_tokens` and `logprobs dropped` both name the client's parameter first.
    static func parameterName(of change: String) -> String {
        String(change.prefix { $0 != " " && $0 != "-" })
    }
}

/// A finished non-streaming completion, already in OpenAI's shape with `model` set to the catalog id.
public struct UpstreamCompletion: Sendable {
    /// How the adapter handed the answer over: as text, or split into its top-level fields (OpenAI-compatible
    /// upstreams), which the gateway patches (`usage.cost`) without parsing the body again.
    private enum Answer: Sendable {
        case text([UInt8])
        case object(RawJSONObject)
    }
    private let answer: Answer

    /// The answer's JSON text.
    public var body: [UInt8] {
        switch answer {
        case .text(let text): text
        case .object(let object): object.serialized()
        }
    }

    /// The answer's top-level fields, when the adapter kept them.
    public var object: RawJSONObject? {
        if case .object(let object) = answer { object } else { nil }
    }

    public var usage: Usage?
    /// The model string the upstream reported (sent to the client as `x-gaterouter-upstream-model`).
    public var upstreamModel: String
    /// Changes made to fit the model (`max_tokens->max_completion_tokens`), for the `x-gaterouter-adapted` header.
    public var adapted: [String]

    public init(body: [UInt8], usage: Usage?, upstreamModel: String, adapted: [String] = []) {
        self.answer = .text(body)
        self.usage = usage
        self.upstreamModel = upstreamModel
        self.adapted = adapted
    }

    public init(object: RawJSONObject, usage: Usage?, upstreamModel: String, adapted: [String] = []) {
        self.answer = .object(object)
        self.usage = usage
        self.upstreamModel = upstreamModel
        self.adapted = adapted
    }
}

/// What a streamed completion yields, in order, already translated to OpenAI's dialect.
public enum ChatStreamEvent: Sendable, Equatable {
    /// One `chat.completion.chunk` JSON object to send to the client as `data: …`.
    case chunk([UInt8])
    /// The upstream's token counts (arrives near the end; forwarded to the client only if it asked).
    case usage(Usage)
    /// The upstream finished the stream cleanly.
    case done
}

/// Turns one upstream dialect into OpenAI chunks: a pure state machine fed one SSE event at a time.
public protocol ChatStreamTranscoder: Sendable {
    /// The events that `event` produces. Throws a ``GatewayError`` for an in-band upstream error.
    mutating func transcode(_ event: ServerSentEvent) throws(GatewayError) -> [ChatStreamEvent]
    /// Called at end of input: returns closing events, or throws when the stream was cut short.
    mutating func finish() throws(GatewayError) -> [ChatStreamEvent]
}

/// Speaks one upstream API on behalf of the OpenAI-compatible front end.
///
/// Both calls throw ``GatewayError`` only: upstream HTTP errors keep the upstream's status and message, network
/// failures become 502/504.
public protocol ProviderAdapter: Sendable {
    func complete(_ call: UpstreamCall, logger: Logger) async throws -> UpstreamCompletion
    /// Returns once the upstream has accepted the request (status 2xx); events then arrive through the stream.
    func stream(_ call: UpstreamCall, logger: Logger) async throws -> UpstreamEventStream
}
