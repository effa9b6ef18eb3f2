import Foundation
import GateRouterCatalog
import GateRouterProviders
@testable import GateRouterRouting
import GateRouterWire
import Testing

/// Auto routing's pure decision: fit, tier, strategies, policy, and health, over the bundled catalog.
@Suite struct AutoRouterTests {
    static let allProviders = [
        "OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k", "GEMINI_API_KEY": "k", "DEEPSEEK_API_KEY": "k", "XAI_API_KEY": "k",
        "MOONSHOT_API_KEY": "k", "ZAI_API_KEY": "k", "MINIMAX_API_KEY": "k",
    ]

    func router(_ environment: [String: String] = allProviders, health: ModelHealth = ModelHealth()) throws -> AutoRouter {
        AutoRouter(catalog: try ModelCatalog.bundled(), providers: try ProviderSettings.resolveAll(config: [:], environment: environment), health: health)
    }

    func classifier() throws -> RequestClassifier { RequestClassifier(difficulty: try DifficultyClassifier.bundled()) }

    func request(_ text: String, tools: Bool = false) throws -> ChatCompletionRequest {
        var object: [String: JSONValue] = ["model": "auto", "messages": [["role": "user", "content": .string(text)]]]
        if tools { object["tools"] = [["type": "function", "function": ["name": "f"]]] }
        return try ChatCompletionRequest.decode(from: JSONValue.object(object).serialized())
    }

    static let greeting = "hi there!"
    static let proof = "Prove that there are infinitely many primes of the form 4k + 3. Then show that the sum of their reciprocals diverges, justifying every step of the argument rigorously."

    @Test func greetingsGoCheapAndHardProofsGoToReasoningModels() throws {
        let router = try router()
        let classifier = try classifier()
        let simple = router.route(classifier.profile(try request(Self.greeting)), policy: RoutingPolicy())
        let hard = router.route(classifier.profile(try request(Self.proof)), policy: RoutingPolicy())
        #expect(simple.tier == .simple)
        #expect(hard.tier == .reasoning)
        let cheap = try #require(simple.candidates.first)
        let strong = try #require(hard.candidates.first)
        #expect(cheap.model.pricing.output <= 1, "a greeting must not go to an expensive model: \(cheap.model.id)")
        #expect(strong.model.useCase == .reasoning, "a proof needs a reasoning model: \(strong.model.id)")
        #expect(!hard.candidates.prefix(3).contains { $0.model.useCase == .simple })
    }

    @Test func strategiesTradePriceAgainstLatency() throws {
        let router = try router()
        let profile = try classifier().profile(try request("Summarise the main causes of the French Revolution in a few paragraphs for a school essay."))
        let byPrice = try #require(router.route(profile, policy: RoutingPolicy(strategy: .price)).candidates.first)
        let byLatency = try #require(router.route(profile, policy: RoutingPolicy(strategy: .latency)).candidates.first)
        #expect(byPrice.estimatedCost <= byLatency.estimatedCost)
        #expect(byLatency.estimatedSeconds <= byPrice.estimatedSeconds)
        #expect(byPrice.model.id != byLatency.model.id)
    }

    @Test func modelsThatCannotTakeTheRequestAreNeverCandidates() throws {
        let router = try router()
        let long = RequestProfile(estimatedPromptTokens: 150_000, requestedOutputTokens: 4000, needsTools: true, needsVision: true, tier: .longContext)
        let decision = router.route(long, policy: RoutingPolicy())
        #expect(!decision.candidates.isEmpty)
        for candidate in decision.candidates {
            #expect(candidate.model.contextLength >= 154_000, "\(candidate.model.id)")
            #expect(candidate.model.supports(.tools) && candidate.model.supports(.vision), "\(candidate.model.id)")
        }
        #expect(decision.excluded.contains { $0.hasPrefix("deepseek/deepseek-v3.2:") })
        let schema = router.route(RequestProfile(estimatedPromptTokens: 100, needsJSONSchema: true), policy: RoutingPolicy())
        #expect(schema.candidates.allSatisfy { $0.model.supports(.jsonSchema) })
    }

    @Test func policyListsAndPriceCapFilter() throws {
        let router = try router()
        let profile = RequestProfile(estimatedPromptTokens: 200, tier: .general)
        let onlyAnthropic = router.route(profile, policy: RoutingPolicy(allowedProviders: ["anthropic"]))
        #expect(!onlyAnthropic.candidates.isEmpty && onlyAnthropic.candidates.allSatisfy { $0.model.provider == "anthropic" })
        let capped = router.route(profile, policy: RoutingPolicy(blockedModels: ["deepseek/deepseek-v3.2"], maxOutputPrice: 2))
        #expect(capped.candidates.allSatisfy { $0.model.pricing.output <= 2 && $0.model.id != "deepseek/deepseek-v3.2" })
        let unconfigured = try self.router(["DEEPSEEK_API_KEY": "k"]).route(profile, policy: RoutingPolicy())
        #expect(unconfigured.candidates.allSatisfy { $0.model.provider == "deepseek" })
    }

    @Test func anOpenCircuitRemovesAModelUntilItsCooldownEnds() throws {
        let health = ModelHealth(configuration: .init(failureThreshold: 2, cooldown: .milliseconds(200)))
        let router = try router(["DEEPSEEK_API_KEY": "k", "OPENAI_API_KEY": "k"], health: health)
        let profile = RequestProfile(estimatedPromptTokens: 50, tier: .simple)
        let first = try #require(router.route(profile, policy: RoutingPolicy()).candidates.first).model
        let now = ContinuousClock.now
        health.recordFailure(model: first.id, provider: first.provider, now: now)
        #expect(router.route(profile, policy: RoutingPolicy(), now: now).candidates.contains { $0.model.id == first.id && $0.breaker == .closed }, "one failure does not open the circuit")
        health.recordFailure(model: first.id, provider: first.provider, now: now)
        let open = router.route(profile, policy: RoutingPolicy(), now: now)
        #expect(!open.candidates.contains { $0.model.id == first.id })
        #expect(open.excluded.contains("\(first.id): circuit open"))
        // After the cooldown one probe is admitted; its success closes the circuit.
        let later = now + .milliseconds(250)
        #expect(router.route(profile, policy: RoutingPolicy(), now: later).candidates.contains { $0.model.id == first.id && $0.breaker == .halfOpen })
        #expect(health.admit(model: first.id, provider: first.provider, now: later))
        #expect(!health.admit(model: first.id, provider: first.provider, now: later), "only one probe at a time")
        health.recordSuccess(model: first.id, provider: first.provider, timeToFirstToken: .milliseconds(100))
        #expect(health.snapshot(model: first.id, provider: first.provider, now: later).state == .closed)
    }

    @Test func liveLatencyReplacesThePrior() throws {
        let health = ModelHealth()
        let router = try router(["OPENAI_API_KEY": "k"], health: health)
        let profile = RequestProfile(estimatedPromptTokens: 50, tier: .simple)
        let before = try #require(router.route(profile, policy: RoutingPolicy(strategy: .latency)).candidates.first).model
        for _ in 0..<20 { health.recordSuccess(model: before.id, provider: before.provider, timeToFirstToken: .seconds(8), tokensPerSecond: 5) }
        let after = try #require(router.route(profile, policy: RoutingPolicy(strategy: .latency)).candidates.first).model
        #expect(after.id != before.id, "a model that became slow loses the latency strategy")
    }

    @Test func everyModelLeftOutIsListedOnceInCatalogOrderWithItsReason() throws {
        let catalog = try ModelCatalog.bundled()
        let router = try router(["DEEPSEEK_API_KEY": "k", "OPENAI_API_KEY": "k"])
        let blocked = try #require(catalog.models.first { $0.provider == "openai" }).id
        let decision = router.route(RequestProfile(estimatedPromptTokens: 200, tier: .general), policy: RoutingPolicy(blockedModels: [blocked]))
        let candidates = Set(decision.candidates.map(\.model.id))
        let excluded = decision.excluded
        #expect(candidates.count + excluded.count == catalog.models.count)
        let expectedOrder = catalog.models.map(\.id).filter { !candidates.contains($0) }
        #expect(excluded.map { String($0.prefix { $0 != ":" }) } == expectedOrder)
        #expect(excluded.contains("\(blocked): model blocked"))
        for model in catalog.models where model.provider != "deepseek" && model.provider != "openai" {
            #expect(excluded.contains("\(model.id): provider not configured"))
        }
    }

    @Test func theQualityLogarithmsComeFromATableThatMatchesTheQualities() throws {
        let router = try router()
        for tier in UseCase.allCases {
            for model in UseCase.allCases {
                #expect(router.logQuality(of: model, for: tier) == log(AutoRouter.quality(of: model, for: tier)), "\(model) for \(tier)")
            }
        }
    }

    @Test func theRouteSummaryNamesTheChoiceAndRunnerUpWithTwoDecimals() throws {
        let decision = try router().route(RequestProfile(estimatedPromptTokens: 50, tier: .simple), policy: RoutingPolicy())
        let parts = decision.summary.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        #expect(parts.count == 2)
        let top = decision.top(2)
        for (part, candidate) in zip(parts, top) {
            #expect(part.hasPrefix("\(candidate.model.id) score="), "\(part)")
            let fields = part.split(separator: " ").dropFirst().map { String($0) }
            #expect(fields.count == 3, "\(part)")
            for field in fields {
                let number = field.split(separator: "=")[1].replacingOccurrences(of: "u$", with: "").replacingOccurrences(of: "s", with: "")
                let decimals = number.split(separator: ".")
                #expect(decimals.count == 2 && decimals[1].count == 2 && Double(number) != nil, "\(field)")
            }
            let score = try #require(Double(String(fields[0].dropFirst("score=".count))))
            #expect(abs(score - candidate.score) <= 0.005 + 1e-9, "\(score) vs \(candidate.score)")
        }
    }

    @Test(arguments: [
        (0.0, "0.00"), (0.004, "0.00"), (0.005, "0.01"), (0.05, "0.05"), (1, "1.00"), (12.345, "12.35"), (123_456.7, "123456.70"),
        (-0.004, "0.00"), (-1.5, "-1.50"), (Double.infinity, "inf"), (2e15, "2000000000000000.0"),
        (-Double.greatestFiniteMagnitude, "-1.7976931348623157e+308"), (9.999, "10.00"),
    ])
    func routeNumbersHaveTwoDecimals(value: Double, expected: String) {
        let out = withUnsafeTemporaryAllocation(of: UInt8.self, capacity: RouteDecision.maximumNumberBytes) { buffer in
            Array(buffer[..<RouteDecision.writeTwoDecimals(value, into: buffer, at: 0)])
        }
        #expect(String(decoding: out, as: UTF8.self) == expected)
    }

    @Test func aPlanNamesTheSameModelsAsTheDecisionItFollows() throws {
        let environment = Self.allProviders
        let catalog = try ModelCatalog.bundled()
        let providers = try ProviderSettings.resolveAll(config: [:], environment: environment)
        let health = ModelHealth()
        let planner = RoutePlanner(
            resolver: ModelResolver(catalog: catalog, providers: providers),
            router: AutoRouter(catalog: catalog, providers: providers, health: health),
            classifier: RequestClassifier(difficulty: try DifficultyClassifier.bundled())
        )
        let body = #"{"model":"auto","messages":[{"role":"user","content":"Write a Python function that merges two sorted lists."}]}"#
        let request = try ChatCompletionRequest.decode(from: Array(body.utf8))
        let plan = try planner.plan(request, responseFormatType: nil, autoRoutingEnabled: true, policy: RoutingPolicy(), maxAttempts: 3)
        let decision = try #require(plan.decision)
        #expect(plan.attempts.map(\.modelID) == decision.top(3).map(\.model.id))
        #expect(plan.attempts.map(\.provider.id) == decision.top(3).map(\.model.provider))
        #expect(plan.attempts.count == 3)
    }
}
