import GateRouterCatalog
@testable import GateRouterProviders
import GateRouterRouting
import GateRouterWire
import Testing

@Suite struct ProviderSettingsTests {
    @Test func readsConventionalVariablesAndDefaults() throws {
        let providers = try ProviderSettings.resolveAll(config: [:], environment: ["DEEPSEEK_API_KEY": "k", "DEEPSEEK_BASE_URL": "http://127.0.0.1:1/v1/", "ANTHROPIC_API_KEY": "a"])
        #expect(providers["deepseek"]?.isConfigured == true)
        #expect(providers["deepseek"]?.chatCompletionsURL == "http://127.0.0.1:1/v1/chat/completions")
        #expect(providers["openai"]?.isConfigured == false)
        #expect(providers["openai"]?.baseURL == "https://api.openai.com/v1")
        #expect(providers["anthropic"]?.chatCompletionsURL == "https://api.anthropic.com/v1/chat/completions")
        #expect(providers["google"]?.keyVariable == "GEMINI_API_KEY")
        #expect(Set(providers.keys) == ["openai", "anthropic", "google", "deepseek", "x-ai", "moonshotai", "z-ai", "minimax"])
    }

    @Test func configFileWinsAndAddsCustomProviders() throws {
        let providers = try ProviderSettings.resolveAll(
            config: ["openai": .init(apiKey: "from-file"), "vllm": .init(baseURL: "http://127.0.0.1:8000/v1")],
            environment: ["OPENAI_API_KEY": "from-env"]
        )
        #expect(providers["openai"]?.apiKey == "from-file")
        #expect(providers["vllm"]?.isConfigured == true, "a local server needs no key")
        #expect(throws: ProviderConfigError.self) { try ProviderSettings.resolveAll(config: ["x": .init()], environment: [:]) }
    }
}

@Suite struct ModelResolverTests {
    func resolver(environment: [String: String] = ["DEEPSEEK_API_KEY": "k"], defaultModel: String? = nil) throws -> ModelResolver {
        ModelResolver(catalog: try ModelCatalog.bundled(), providers: try ProviderSettings.resolveAll(config: [:], environment: environment), defaultModel: defaultModel)
    }

    @Test func catalogIDsAndAliasesGoToTheirUpstreamID() throws {
        let target = try resolver().resolve("deepseek-chat", autoRoutingEnabled: true)
        #expect(target.modelID == "deepseek/deepseek-v3.2")
        #expect(target.upstreamModel == "deepseek-chat")
        #expect(target.catalogModel != nil)
    }

    @Test func providerSlashNameOutsideTheCatalogPassesThrough() throws {
        let target = try resolver().resolve("deepseek/deepseek-v9-experimental", autoRoutingEnabled: true)
        #expect(target.upstreamModel == "deepseek-v9-experimental" && target.catalogModel == nil)
    }

    @Test func refusalsCarryTheSeedMessages() throws {
        let resolver = try resolver()
        #expect(throws: GatewayError.autoRoutingNotEnabled) { try resolver.resolve("auto", autoRoutingEnabled: false) }
        do {
            _ = try resolver.resolve("openai/gpt-5", autoRoutingEnabled: true)
            Issue.record("expected an error")
        } catch {
            #expect(error.message.hasPrefix("provider routing is not configured") && error.message.contains("OPENAI_API_KEY"))
        }
        #expect(throws: GatewayError.self) { try resolver.resolve("whatever", autoRoutingEnabled: true) }
    }

    @Test func autoUsesTheDefaultModelOrTheFirstAvailableGeneralModel() throws {
        #expect(try resolver(defaultModel: "deepseek/deepseek-v3.1").resolve("auto", autoRoutingEnabled: true).modelID == "deepseek/deepseek-v3.1")
        #expect(try resolver().resolve("auto", autoRoutingEnabled: true).catalogModel?.useCase == .general)
        #expect(throws: GatewayError.self) { try resolver(environment: [:]).resolve("auto", autoRoutingEnabled: true) }
    }
}

@Suite struct PlainHTTPURLTests {
    @Test func plainHTTPURLsSplitIntoHostPortAndPathAndEverythingElseStaysWithTheHTTPClient() {
        #expect(PlainHTTPURL("http://127.0.0.1:8000/v1/chat/completions") == PlainHTTPURL(host: "127.0.0.1", port: 8000, path: "/v1/chat/completions"))
        #expect(PlainHTTPURL("http://ollama/v1/chat/completions") == PlainHTTPURL(host: "ollama", port: 80, path: "/v1/chat/completions"))
        #expect(PlainHTTPURL("http://[::1]:11434/api?x=1") == PlainHTTPURL(host: "::1", port: 11434, path: "/api?x=1"))
        #expect(PlainHTTPURL("http://localhost:9000") == PlainHTTPURL(host: "localhost", port: 9000, path: "/"))
        #expect(PlainHTTPURL("http://localhost?x=1") == PlainHTTPURL(host: "localhost", port: 80, path: "/?x=1"))
        for other in ["https://api.openai.com/v1/chat/completions", "http://user:pw@host/v1", "http://:80/v1", "http://host:0/", "http://host:99999/", "http://[::1/", "ftp://x/"] {
            #expect(PlainHTTPURL(other) == nil, "\(other)")
        }
    }
}
