import AsyncHTTPClient
import GateRouterProviders

/// The adapter for each provider dialect, sharing one pooled HTTP client.
struct ProviderAdapters: Sendable {
    let openAICompatible: OpenAICompatibleAdapter
    let anthropic: AnthropicAdapter
    let gemini: GeminiAdapter

    init(httpClient: HTTPClient, configuration: OpenAICompatibleAdapter.Configuration) {
        self.openAICompatible = OpenAICompatibleAdapter(httpClient: httpClient, configuration: configuration)
        self.anthropic = AnthropicAdapter(httpClient: httpClient, configuration: configuration)
        self.gemini = GeminiAdapter(httpClient: httpClient, configuration: configuration)
    }

    func adapter(for kind: ProviderKind) -> any ProviderAdapter {
        switch kind {
        case .anthropic: anthropic
        case .gemini: gemini
        case .openAICompatible: openAICompatible
        }
    }
}
