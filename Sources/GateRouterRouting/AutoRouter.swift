import Foundation
import GateRouterCatalog
import GateRouterProviders
import GateRouterWire

/// Picks models for `model: "auto"`: candidates that are configured, allowed, healthy and able to take the request,
/// scored by quality for the request's tier, price, latency and availability under the account's strategy.
///
/// A pure function of its inputs plus one read of ``ModelHealth`` per model: microseconds, no I/O.
public struct AutoRouter: Sendable {
    public let catalog: ModelCatalog
    public let health: ModelHealth
    /// What a decision reads of each catalog model, in catalog order, prepared once: numbers and flags only, so
    /// reading one retains nothing. (With the model's id and provider in it, each copy retained and released two
    /// strings per model per decision: the largest item in a profile of `route`.)
    struct Facts: Sendable {
        var useCase: UseCase
        var contextLength: Int
        var maxOutputTokens: Int
        var tools: Bool
        var vision: Bool
        var jsonSchema: Bool
        var outputPrice: Decimal
        /// Prices as doubles: scoring only (money is never computed in floating point).
        var inputPerToken: Double
        var outputPerToken: Double
        /// The latency prior of the model's use case (``latencyPrior(_:)``).
        var priorTimeToFirstToken: Double
        var priorTokensPerSecond: Double
    }

    private let facts: [Facts]
    /// Catalog ids and providers, in catalog order: read only when the policy names models or providers.
    private let ids: [String]
    private let providers: [String]
    /// The catalog indexes whose provider is configured: the only models a decision looks at.
    private let configured: [Int]
    /// The rest, ruled out the same way by every decision (``RouteDecision/excluded`` lists them when asked).
    private let unconfigured: [Int]
    private let healthSlots: [ModelHealth.Slot]
    /// ``logQuality(of:for:)``'s table, by tier then model use case.
    private let logQualities: [Double]

    public init(catalog: ModelCatalog, providers: [String: ProviderSettings], health: ModelHealth) {
        self.catalog = catalog
        self.health = health
        self.facts = catalog.models.map { model in
            let prior = Self.latencyPrior(model.useCase)
            return Facts(
                useCase: model.useCase, contextLength: model.contextLength, maxOutputTokens: model.maxOutputTokens,
                tools: model.supports(.tools), vision: model.supports(.vision), jsonSchema: model.supports(.jsonSchema),
                outputPrice: model.pricing.output,
                inputPerToken: Self.double(model.pricing.input) / 1_000_000, outputPerToken: Self.double(model.pricing.output) / 1_000_000,
                priorTimeToFirstToken: prior.ttft, priorTokensPerSecond: prior.tokensPerSecond
            )
        }
        self.ids = catalog.models.map(\.id)
        self.providers = catalog.models.map(\.provider)
        let isConfigured = catalog.models.map { providers[$0.provider]?.isConfigured ?? false }
        self.configured = isConfigured.indices.filter { isConfigured[$0] }
        self.unconfigured = isConfigured.indices.filter { !isConfigured[$0] }
        self.healthSlots = catalog.models.map { health.slot(model: $0.id, provider: $0.provider) }
        self.logQualities = UseCase.allCases.flatMap { tier in UseCase.allCases.map { log(Self.quality(of: $0, for: tier)) } }
    }

    public func route(_ profile: RequestProfile, policy: RoutingPolicy, now: ContinuousClock.Instant = .now) -> RouteDecision {
        var ranking: [RouteDecision.Ranked] = []
        // Allocated only when used: many decisions rule out none of the configured models, and most have no weak ones.
        var weak: [RouteDecision.Ranked] = []
        var exclusions: [(index: Int, reason: RouteDecision.Exclusion)] = []
        func exclude(_ index: Int, _ reason: RouteDecision.Exclusion) {
            if exclusions.isEmpty { exclusions.reserveCapacity(configured.count) }
            exclusions.append((index, reason))
        }
        ranking.reserveCapacity(configured.count)
        let weights = policy.strategy.weights
        // The harder the request, the more a model's fit for it outweighs its price and speed.
        let qualityWeight = weights.quality * (1 + 3 * min(max(profile.hardness, 0), 1))
        let outputTokens = profile.expectedOutputTokens
        let minimumQuality = Self.minimumQuality(for: profile.tier)
        let namesModelsOrProviders =
            !policy.allowedProviders.isEmpty || !policy.blockedProviders.isEmpty || !policy.allowedModels.isEmpty || !policy.blockedModels.isEmpty
        // A floor keeps free models from winning on price alone: below 0.01 USD per million tokens, price stops counting.
        let costFloor = Double(profile.estimatedPromptTokens + outputTokens) * 0.01 / 1_000_000
        for index in configured {
            let model = facts[index]
            if let reason = exclusionReason(model, at: index, profile: profile, policy: policy, namesModelsOrProviders: namesModelsOrProviders) {
                exclude(index, reason)
                continue
            }
            let snapshot = ModelHealth.snapshot(healthSlots[index], now: now)
            if snapshot.state == .open {
                exclude(index, .circuitOpen)
                continue
            }
            let quality = Self.quality(of: model.useCase, for: profile.tier)
            // Live averages count for as much as their sample count against a prior worth three samples, so a few
            // lucky requests cannot crown a model.
            let liveWeight = Double(snapshot.samples)
            let ttft = ((snapshot.timeToFirstToken ?? 0) * liveWeight + model.priorTimeToFirstToken * 3) / (liveWeight + 3)
            let tokensPerSecond = ((snapshot.tokensPerSecond ?? model.priorTokensPerSecond) * liveWeight + model.priorTokensPerSecond * 3) / (liveWeight + 3)
            let seconds = ttft + Double(outputTokens) / tokensPerSecond
            let cost = Double(profile.estimatedPromptTokens) * model.inputPerToken + Double(outputTokens) * model.outputPerToken
            // A half-open model competes at full strength so its probe can happen and bring it back.
            let availability = snapshot.state == .halfOpen ? 1 : max(0.05, 1 - snapshot.errorRate)
            var score = qualityWeight * logQuality(of: model.useCase, for: profile.tier) - weights.price * log(max(cost, costFloor)) - weights.latency * log(seconds)
            // ln(1) is 0: a model with no recent failures skips the call.
            if availability < 1 { score += weights.availability * log(availability) }
            let ranked = RouteDecision.Ranked(index: index, score: score, quality: quality, cost: cost, seconds: seconds, breaker: snapshot.state)
            if quality >= minimumQuality { ranking.append(ranked) } else { weak.append(ranked) }
        }
        // Weak models serve only when nothing stronger can.
        let order: (RouteDecision.Ranked, RouteDecision.Ranked) -> Bool = { a, b in a.score != b.score ? a.score > b.score : a.index < b.index }
        ranking.sort(by: order)
        if !weak.isEmpty {
            weak.sort(by: order)
            ranking.append(contentsOf: weak)
        }
        return RouteDecision(
            tier: profile.tier, strategy: policy.strategy, models: catalog.models, ranking: ranking, exclusions: exclusions, unconfigured: unconfigured
        )
    }

    /// Why a model with a configured provider cannot take the request, or nil when it can. The policy's lists are
    /// compared (strings) only when it has some.
    func exclusionReason(_ model: Facts, at index: Int, profile: RequestProfile, policy: RoutingPolicy, namesModelsOrProviders: Bool) -> RouteDecision.Exclusion? {
        if namesModelsOrProviders {
            if !policy.allowedProviders.isEmpty, !policy.allowedProviders.contains(providers[index]) { return .providerNotAllowed }
            if policy.blockedProviders.contains(providers[index]) { return .providerBlocked }
            if !policy.allowedModels.isEmpty, !policy.allowedModels.contains(ids[index]) { return .modelNotAllowed }
            if policy.blockedModels.contains(ids[index]) { return .modelBlocked }
        }
        if let cap = policy.maxOutputPrice, model.outputPrice > cap { return .overMaxOutputPrice }
        let output = min(profile.requestedOutputTokens ?? profile.expectedOutputTokens, model.maxOutputTokens)
        if model.contextLength < profile.estimatedPromptTokens + output { return .contextTooSmall }
        if profile.needsTools, !model.tools { return .noTools }
        if profile.needsVision, !model.vision { return .noVision }
        if profile.needsJSONSchema, !model.jsonSchema { return .noJSONSchema }
        return nil
    }

    /// `log(quality(of:for:))`, from a table made once: a decision would otherwise take the same logarithm per model.
    func logQuality(of model: UseCase, for tier: UseCase) -> Double {
        logQualities[tier.ordinal * UseCase.caseCount + model.ordinal]
    }

    /// How well a model of one use case serves a request of another (1 = made for it).
    static func quality(of model: UseCase, for tier: UseCase) -> Double {
        switch (tier, model) {
        case (.simple, _), (.fast, _): return 1
        case (.general, .simple): return 0.6
        case (.general, .fast): return 0.8
        case (.general, .longContext): return 0.9
        case (.general, _): return 1
        case (.coding, .coding): return 1
        case (.coding, .reasoning): return 0.95
        case (.coding, .general): return 0.7
        case (.coding, .longContext): return 0.6
        case (.coding, .fast): return 0.5
        case (.coding, .simple): return 0.3
        case (.reasoning, .reasoning): return 1
        case (.reasoning, .coding): return 0.7
        case (.reasoning, .general), (.reasoning, .longContext): return 0.4
        case (.reasoning, .fast): return 0.3
        case (.reasoning, .simple): return 0.15
        case (.longContext, .longContext): return 1
        case (.longContext, .reasoning): return 0.9
        case (.longContext, .general), (.longContext, .coding): return 0.8
        case (.longContext, .fast): return 0.6
        case (.longContext, .simple): return 0.5
        }
    }

    static func minimumQuality(for tier: UseCase) -> Double {
        switch tier {
        case .reasoning: 0.3
        case .coding: 0.5
        default: 0
        }
    }

    /// Latency before live samples exist, by the catalog's use case: a cold start that still prefers fast models.
    static func latencyPrior(_ useCase: UseCase) -> (ttft: Double, tokensPerSecond: Double) {
        switch useCase {
        case .fast: (0.35, 150)
        case .simple: (0.4, 120)
        case .general: (0.7, 80)
        case .longContext: (1.5, 70)
        case .coding: (1.2, 60)
        case .reasoning: (3.0, 50)
        }
    }

    static func double(_ value: Decimal) -> Double {
        NSDecimalNumber(decimal: value).doubleValue
    }
}

extension UseCase {
    /// `allCases.count`, without building that array.
    fileprivate static let caseCount = 6

    /// The position in `allCases`, without building that array.
    fileprivate var ordinal: Int {
        switch self {
        case .simple: 0
        case .general: 1
        case .coding: 2
        case .reasoning: 3
        case .longContext: 4
        case .fast: 5
        }
    }
}
