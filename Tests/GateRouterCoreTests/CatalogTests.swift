import Foundation
import GateRouterCatalog
import Testing

@Suite struct CatalogTests {
    static let required = [
        "openai/gpt-5.2", "openai/gpt-5", "openai/gpt-5-mini", "openai/gpt-5-nano", "openai/gpt-4.1", "openai/gpt-4.1-nano",
        "anthropic/claude-opus-4.6", "anthropic/claude-sonnet-4.6", "anthropic/claude-sonnet-4.5", "anthropic/claude-haiku-4.5",
        "google/gemini-3.1-pro", "google/gemini-2.5-pro", "deepseek/deepseek-v3.2", "deepseek/deepseek-v3.1", "x-ai/grok-4",
        "x-ai/grok-4.1-fast", "moonshotai/kimi-k2.5", "z-ai/glm-5", "z-ai/glm-5-turbo", "z-ai/glm-4.7-flash", "minimax/minimax-m2.5",
    ]

    @Test func bundledCatalogHasEveryRequiredModelWithCompleteEntries() throws {
        let catalog = try ModelCatalog.bundled()
        for id in Self.required {
            let model = try #require(catalog.model(named: id), "\(id) missing")
            #expect(model.id.hasPrefix(model.provider + "/"))
            #expect(!model.upstreamID.isEmpty && !model.name.isEmpty && !model.description.isEmpty)
            #expect(model.contextLength >= 8_000 && model.maxOutputTokens > 0 && model.maxOutputTokens <= model.contextLength)
            #expect(model.pricing.isPriced && !model.pricing.source.isEmpty && model.pricing.effectiveDate.count == 10)
            #expect(model.pricing.output >= model.pricing.input || model.pricing.output == 0)
            #expect(model.supports(.streaming))
        }
        #expect(Set(catalog.models.map(\.useCase)) == Set(UseCase.allCases), "every use case is represented")
    }

    @Test func gpt5FamilyTakesMaxCompletionTokensAndFixedTemperature() throws {
        let catalog = try ModelCatalog.bundled()
        for id in ["openai/gpt-5", "openai/gpt-5-mini", "openai/gpt-5-nano", "openai/gpt-5.2"] {
            let model = try #require(catalog.model(named: id))
            #expect(model.maxTokensParam == .maxCompletionTokens)
            #expect(model.fixedTemperature == 1)
        }
    }

    @Test func aliasesResolveToTheirModel() throws {
        let catalog = try ModelCatalog.bundled()
        #expect(catalog.model(named: "gpt-4.1")?.id == "openai/gpt-4.1")
        #expect(catalog.model(named: "nobody/nothing") == nil)
    }

    @Test func pricesAreExactDecimalsAndCostFollowsThem() throws {
        let pricing = try #require(try ModelCatalog.bundled().model(named: "openai/gpt-4.1")?.pricing)
        let cost = pricing.cost(promptTokens: 1_000_000, completionTokens: 1_000_000)
        #expect(cost == pricing.input + pricing.output)
        let cached = pricing.cost(promptTokens: 1_000_000, completionTokens: 0, cachedTokens: 1_000_000)
        #expect(cached == pricing.cachedInput)
    }

    @Test func configOverridesChangeOneFieldOrAddAModel() throws {
        var override = CatalogModelOverride(id: "openai/gpt-4.1")
        override.contextLength = 5
        var added = CatalogModelOverride(id: "ollama/llama3.2")
        added.useCase = .simple
        let catalog = try ModelCatalog.bundled().merging([override, added])
        #expect(catalog.model(named: "openai/gpt-4.1")?.contextLength == 5)
        #expect(catalog.model(named: "openai/gpt-4.1")?.upstreamID == "gpt-4.1")
        let local = try #require(catalog.model(named: "ollama/llama3.2"))
        #expect(local.provider == "ollama" && local.upstreamID == "llama3.2" && local.useCase == .simple)
        #expect(local.pricing.isPriced == false, "models the config adds without prices are unpriced")
    }

    @Test func rejectsBrokenCatalogs() {
        let entry = """
          - { id: a/b, name: B, provider: a, upstream_id: b, aliases: [], description: d, use_case: general, context_length: 1000,
              max_output_tokens: 10, created: 0, capabilities: [streaming], max_tokens_param: max_tokens, fixed_temperature: null,
              pricing: { input: "PRICE", output: "1", cached_input: "0", cache_write: "1", effective_date: "2026-01-01", source: s } }
        """
        #expect(throws: (any Error).self) { try ModelCatalog(yaml: "models:\n" + entry.replacingOccurrences(of: "PRICE", with: "cheap")) }
        #expect(throws: (any Error).self) { try ModelCatalog(yaml: "models:\n" + entry.replacingOccurrences(of: "use_case: general", with: "use_case: magic")) }
        let valid = entry.replacingOccurrences(of: "PRICE", with: "0.5")
        #expect(throws: CatalogError.self) { try ModelCatalog(yaml: "models:\n" + valid + "\n" + valid) }
        #expect(throws: Never.self) { try ModelCatalog(yaml: "models:\n" + valid) }
    }
}
