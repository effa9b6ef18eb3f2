import NIOHTTP1

/// The upstream API dialect a provider speaks.
public enum ProviderKind: String, Sendable, Codable {
    /// `POST {base}/chat/completions` with a bearer key: OpenAI and its clones (DeepSeek, xAI, Ollama, vLLM, …).
    case openAICompatible = "openai-compatible"
    /// Anthropic; until its Messages adapter lands, served through Anthropic's OpenAI-compatible endpoint.
    case anthropic
    /// Google Gemini; until its native adapter lands, served through Gemini's OpenAI-compatible endpoint.
    case gemini
}

/// How to reach one provider: its dialect, base URL and key.
public struct ProviderSettings: Sendable, Equatable {
    public var id: String
    public var kind: ProviderKind {
        didSet { preparePlainHTTP() }
    }
    /// Follows the provider SDK's convention: OpenAI-compatible bases include the version path
    /// (`https://api.openai.com/v1`); Anthropic's and Gemini's do not.
    public var baseURL: String {
        didSet { preparePlainHTTP() }
    }
    /// The heads of an OpenAI-compatible provider's plain-HTTP chat requests (an upstream the event-loop pool can
    /// reach), written once here rather than on every request (see ``PlainHTTPRequestHead``); nil for TLS, other
    /// dialects, or a key that cannot go in a header.
    public private(set) var plainHTTPChatHeads: PlainHTTPChatHeads?
    public var apiKey: String? {
        didSet { preparePlainHTTP() }
    }
    /// The environment variable that holds the key, named in errors when it is missing.
    public var keyVariable: String?
    /// Local servers (Ollama, vLLM) need no key; hosted providers do.
    public var requiresKey: Bool

    public init(id: String, kind: ProviderKind, baseURL: String, apiKey: String?, keyVariable: String?, requiresKey: Bool) {
        self.id = id
        self.kind = kind
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.keyVariable = keyVariable
        self.requiresKey = requiresKey
        preparePlainHTTP()
    }

    private mutating func preparePlainHTTP() {
        plainHTTPChatHeads = kind == .openAICompatible ? PlainHTTPURL(chatCompletionsURL).flatMap { PlainHTTPChatHeads(url: $0, apiKey: apiKey) } : nil
    }

    /// The two plain-HTTP chat request heads of an OpenAI-compatible provider: a whole answer and a stream.
    public struct PlainHTTPChatHeads: Sendable, Equatable {
        public var json: PlainHTTPRequestHead
        public var stream: PlainHTTPRequestHead

        init?(url: PlainHTTPURL, apiKey: String?) {
            func head(accept: String) -> PlainHTTPRequestHead? {
                var headers = HTTPHeaders()
                headers.add(name: "content-type", value: "application/json")
                headers.add(name: "accept", value: accept)
                if let apiKey, !apiKey.isEmpty { headers.add(name: "authorization", value: "Bearer \(apiKey)") }
                return PlainHTTPRequestHead(path: url.path, host: url.host, port: url.port, headers: headers)
            }
            guard let json = head(accept: "application/json"), let stream = head(accept: "text/event-stream") else { return nil }
            self.json = json
            self.stream = stream
        }
    }

    /// Whether requests can be sent to this provider.
    public var isConfigured: Bool {
        !requiresKey || !(apiKey ?? "").isEmpty
    }

    /// The URL of the OpenAI-compatible chat completions endpoint.
    public var chatCompletionsURL: String {
        switch kind {
        case .openAICompatible: baseURL + "/chat/completions"
        case .anthropic: baseURL + "/v1/chat/completions"
        case .gemini: baseURL + "/v1beta/openai/chat/completions"
        }
    }
}

/// A provider the gateway knows by name, with its conventional environment variables and default base URL.
public struct KnownProvider: Sendable {
    public var id: String
    public var kind: ProviderKind
    public var defaultBaseURL: String
    public var keyVariable: String
    public var baseURLVariable: String

    /// The providers of the bundled catalog.
    public static let all: [KnownProvider] = [
        KnownProvider(id: "openai", kind: .openAICompatible, defaultBaseURL: "https://api.openai.com/v1", keyVariable: "OPENAI_API_KEY", baseURLVariable: "OPENAI_BASE_URL"),
        KnownProvider(id: "anthropic", kind: .anthropic, defaultBaseURL: "https://api.anthropic.com", keyVariable: "ANTHROPIC_API_KEY", baseURLVariable: "ANTHROPIC_BASE_URL"),
        KnownProvider(id: "google", kind: .gemini, defaultBaseURL: "https://generativelanguage.googleapis.com", keyVariable: "GEMINI_API_KEY", baseURLVariable: "GEMINI_BASE_URL"),
        KnownProvider(id: "deepseek", kind: .openAICompatible, defaultBaseURL: "https://api.deepseek.com/v1", keyVariable: "DEEPSEEK_API_KEY", baseURLVariable: "DEEPSEEK_BASE_URL"),
        KnownProvider(id: "x-ai", kind: .openAICompatible, defaultBaseURL: "https://api.x.ai/v1", keyVariable: "XAI_API_KEY", baseURLVariable: "XAI_BASE_URL"),
        KnownProvider(id: "moonshotai", kind: .openAICompatible, defaultBaseURL: "https://api.moonshot.ai/v1", keyVariable: "MOONSHOT_API_KEY", baseURLVariable: "MOONSHOT_BASE_URL"),
        KnownProvider(id: "z-ai", kind: .openAICompatible, defaultBaseURL: "https://api.z.ai/api/paas/v4", keyVariable: "ZAI_API_KEY", baseURLVariable: "ZAI_BASE_URL"),
        KnownProvider(id: "minimax", kind: .openAICompatible, defaultBaseURL: "https://api.minimax.io/v1", keyVariable: "MINIMAX_API_KEY", baseURLVariable: "MINIMAX_BASE_URL"),
    ]
}

/// A provider entry of the config file (`providers.<id>`).
public struct ProviderConfigEntry: Sendable, Decodable, Equatable {
    public var kind: ProviderKind?
    public var baseURL: String?
    public var apiKey: String?
    /// Read the key from this environment variable instead.
    public var apiKeyEnv: String?

    enum CodingKeys: String, CodingKey {
        case kind
        case baseURL = "base_url"
        case apiKey = "api_key"
        case apiKeyEnv = "api_key_env"
    }

    public init(kind: ProviderKind? = nil, baseURL: String? = nil, apiKey: String? = nil, apiKeyEnv: String? = nil) {
        self.kind = kind
        self.baseURL = baseURL
        self.apiKey = apiKey
        self.apiKeyEnv = apiKeyEnv
    }
}

extension ProviderSettings {
    /// Every provider's settings: the known providers (config file first, then environment variables) and the
    /// custom providers the config file adds.
    /// - Parameters:
    ///   - config: `providers` from the config file, by provider id.
    ///   - environment: the process environment, read once at the edge and passed in.
    public static func resolveAll(config: [String: ProviderConfigEntry], environment: [String: String]) throws(ProviderConfigError) -> [String: ProviderSettings] {
        var result: [String: ProviderSettings] = [:]
        for known in KnownProvider.all {
            let entry = config[known.id]
            let keyVariable = entry?.apiKeyEnv ?? known.keyVariable
            let key = entry?.apiKey ?? environment[keyVariable]
            let base = entry?.baseURL ?? environment[known.baseURLVariable].flatMap { $0.isEmpty ? nil : $0 } ?? known.defaultBaseURL
            result[known.id] = ProviderSettings(
                id: known.id,
                kind: entry?.kind ?? known.kind,
                baseURL: base,
                apiKey: key,
                keyVariable: keyVariable,
                requiresKey: true
            )
        }
        for (id, entry) in config where result[id] == nil {
            guard let base = entry.baseURL, !base.isEmpty else {
                throw ProviderConfigError("provider '\(id)' in the config file needs a base_url")
            }
            let key = entry.apiKey ?? entry.apiKeyEnv.flatMap { environment[$0] }
            result[id] = ProviderSettings(
                id: id,
                kind: entry.kind ?? .openAICompatible,
                baseURL: base,
                apiKey: key,
                keyVariable: entry.apiKeyEnv,
                requiresKey: entry.apiKeyEnv != nil
            )
        }
        return result
    }
}

public struct ProviderConfigError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
