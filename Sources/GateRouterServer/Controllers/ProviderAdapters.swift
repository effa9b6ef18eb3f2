import AsyncHTTPClient
import GateRouterProviders

/// The adapter for each provider dialect, sharing one pooled HTTP client and one event-loop-local pool.
struct ProviderAdapters: Sendable {
    let openAICompatible: OpenAICompatibleAdapter
    let anthropic: AnthropicAdapter
    let gemini: GeminiAdapter

    init(httpClient: HTTPClient, configuration: OpenAICompatibleAdapter.Configuration, exchangePool: LoopLocalHTTPPool?) {
        self.openAICompatible = OpenAICompatibleAdapter(httpClient: httpClient, configuration: configuration, exchangePool: exchangePool)
        self.anthropic = AnthropicAdapter(httpClient: httpClient, configuration: configuration, exchangePool: exchangePool)
        self.gemini = GeminiAdapter(httpClient: httpClient, configuration: configuration, exchangePool: exchangePool)
    }

    func adapter(for kind: ProviderKind) -> any ProviderAdapter {
        switch kind {
        case .anthropic: anthropic
        case .gemini: gemini
        case .openAICompatible: openAICompatible
        }
    }
}
