import AsyncHTTPClient
import GateRouterProviders

/// The adapter for each provider dialect, sharing one pooled HTTP client.
struct ProviderAdapters: Sendable {
    let openAICompatible: OpenAICompatibleAdapter

    init(httpClient: HTTPClient, configuration: OpenAICompatibleAdapter.Configuration) {
        self.openAICompatible = OpenAICompatibleAdapter(httpClient: httpClient, configuration: configuration)
    }

    func adapter(for kind: ProviderKind) -> any ProviderAdapter {
        switch kind {
        // Anthropic and Gemini are reached through their OpenAI-compatible endpoints until their native adapters land.
        case .openAICompatible, .anthropic, .gemini: openAICompatible
        }
    }
}
