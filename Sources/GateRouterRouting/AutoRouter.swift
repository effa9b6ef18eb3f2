import Foundation
import GateRouterCatalog
import GateRouterProviders
import GateRouterWire

/// One model auto routing considered, with the numbers behind its score.
public struct ScoredCandidate: Sendable, Equatable {
    public var model: CatalogModel
    public var score: Double
    /// How well the model's use case fits the request's tier (0…1).
    public var quality: Double
    /// Estimated cost of this request on this model, USD.
    public var estimatedCost: Double
    /// Estimated seconds to the whole answer: time to first token plus output at the model's speed.
    public var estimatedSeconds: Double
    public var breaker: ModelHealth.BreakerState
}

/// The outcome of one routing decision, best candidate first.
///
/// Kept cheap to build: the ranking holds catalog indexes and numbers only; full ``ScoredCandidate`` values and the
/// exclusion texts are made when asked for (headers, logs, errors), not on every decision.
public struct RouteDecision: Sendable {
    /// One ranked model: its catalog index and the numbers behind its score.
    struct Ranked: Sendable {
        var index: Int
        var score: Double
        var quality: Double
        var cost: Double
        var seconds: Double
        var breaker: ModelHealth.BreakerState
    }

    public var tier: UseCase
    public var strategy: RoutingStrategy
    let models: [CatalogModel]
    let ranking: [Ranked]
    let exclusions: [(index: Int, reason: String)]

    /// How many models can take the request.
    public var count: Int { ranking.count }

    /// The best `limit` candidates, in order.
    public func top(_ limit: Int) -> [ScoredCandidate] {
        ranking.prefix(limit).map(candidate)
    }

    /// Every candidate, best first.
    public var candidates: [ScoredCandidate] { ranking.map(candidate) }

    /// Why models were left out, for the log and the 503 that names what was tried (`model: reason`).
    public var excluded: [String] { exclusions.map { "\(models[$0.index].id): \($0.reason)" } }

    func candidate(_ ranked: Ranked) -> ScoredCandidate {
        ScoredCandidate(
            model: models[ranked.index], score: ranked.score, quality: ranked.quality, estimatedCost: ranked.cost,
            estimatedSeconds: ranked.seconds, breaker: ranked.breaker
        )
    }

    /// The compact `x-gaterouter-route` header: the choice and the runner-up with their scores.
    ///
    /// Written as bytes into one buffer: this runs on every `auto` request, and interpolating each number into its
    /// own string cost more than the routing decision itself.
    public var summary: String {
        var out: [UInt8] = []
        out.reserveCapacity(200)
        for (position, ranked) in ranking.prefix(2).enumerated() {
            if position > 0 { out += "; ".utf8 }
            out += models[ranked.index].id.utf8
            out += " score=".utf8
            Self.appendTwoDecimals(ranked.score, to: &out)
            out += " cost=".utf8
            Self.appendTwoDecimals(ranked.cost * 1_000_000, to: &out)
            out += "u$ eta=".utf8
            Self.appendTwoDecimals(ranked.seconds, to: &out)
            out.append(UInt8(ascii: "s"))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Two decimals, as ASCII digits, without `String(format:)` or a string per number.
    static func appendTwoDecimals(_ value: Double, to out: inout [UInt8]) {
        // Beyond 1e15 the hundredths no longer fit an Int exactly (nor matter): print the value as Swift does.
        guard value.isFinite, abs(value) < 1e15 else {
            out += "\(value)".utf8
            return
        }
        let hundredths = Int((abs(value) * 100).rounded())
        if value < 0, hundredths != 0 { out.append(UInt8(ascii: "-")) }
        // Digits come out lowest first: write them, then reverse that run.
        let start = out.count
        var rest = hundredths
        repeat {
            out.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
            if out.count - start == 2 { out.append(UInt8(ascii: ".")) }
        } while rest > 0 || out.count - start < 4
        out[start...].reverse()
    }

    /// The catalog indexes of the best `limit` candidates, in order: what a plan needs, without building candidates.
    public func topIndexes(_ limit: Int) -> [Int] {
        ranking.prefix(limit).map(\.index)
    }
}

/// Picks models for `model: "auto"`: candidates that are configured, allowed, healthy and able to take the request,
/// scored by quality for the request's tier, price, latency and availability under the account's strategy.
///
/// A pure function of its inputs plus one read of ``ModelHealth`` per model: microseconds, no I/O.
public struct AutoRouter: Sendable {
    public let catalog: ModelCatalog
    public let health: ModelHealth
    /// What a decision reads of each catalog model, in catalog order, prepared once: plain values, so a decision
    /// copies no model and looks up no provider.
    struct Facts: Sendable {
        var id: String
        var provider: String
        var configured: Bool
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
    }

    private let facts: [Facts]
    private let healthSlots: [ModelHealth.Slot]

    public init(catalog: ModelCatalog, providers: [String: ProviderSettings], health: ModelHealth) {
        self.catalog = catalog
        self.health = health
        self.facts = catalog.models.map { model in
            Facts(
                id: model.id, provider: model.provider, configured: providers[model.provider]?.isConfigured ?? false,
                useCase: model.useCase, contextLength: model.contextLength, maxOutputTokens: model.maxOutputTokens,
                tools: model.supports(.tools), vision: model.supports(.vision), jsonSchema: model.supports(.jsonSchema),
                outputPrice: model.pricing.output,
                inputPerToken: Self.double(model.pricing.input) / 1_000_000, outputPerToken: Self.double(model.pricing.output) / 1_000_000
            )
        }
        self.healthSlots = catalog.models.map { health.slot(model: $0.id, provider: $0.provider) }
    }

    public func route(_ profile: RequestProfile, policy: RoutingPolicy, now: ContinuousClock.Instant = .now) -> RouteDecision {
        var ranking: [RouteDecision.Ranked] = []
        var weak: [RouteDecision.Ranked] = []
        var exclusions: [(index: Int, reason: String)] = []
        ranking.reserveCapacity(catalog.models.count)
        let weights = policy.strategy.weights
        // The harder the request, the more a model's fit for it outweighs its price and speed.
        let qualityWeight = weights.quality * (1 + 3 * min(max(profile.hardness, 0), 1))
        let outputTokens = profile.expectedOutputTokens
        let minimumQuality = Self.minimumQuality(for: profile.tier)
        for index in facts.indices {
            // Most catalog models have no configured provider: turn those away before copying their facts.
            guard facts[index].configured else {
                exclusions.append((index, "provider not configured"))
                continue
            }
            let model = facts[index]
            if let reason = exclusionReason(model, profile: profile, policy: policy) {
                exclusions.append((index, reason))
                continue
            }
            let snapshot = ModelHealth.snapshot(healthSlots[index], now: now)
            if snapshot.state == .open {
                exclusions.append((index, "circuit open"))
                continue
            }
            let quality = Self.quality(of: model.useCase, for: profile.tier)
            let prior = Self.latencyPrior(model.useCase)
            // Live averages count for as much as their sample count against a prior worth three samples, so a few
            // lucky requests cannot crown a model.
            let liveWeight = Double(snapshot.samples)
            let ttft = ((snapshot.timeToFirstToken ?? 0) * liveWeight + prior.ttft * 3) / (liveWeight + 3)
            let tokensPerSecond = ((snapshot.tokensPerSecond ?? prior.tokensPerSecond) * liveWeight + prior.tokensPerSecond * 3) / (liveWeight + 3)
            let seconds = ttft + Double(outputTokens) / tokensPerSecond
            let cost = Double(profile.estimatedPromptTokens) * model.inputPerToken + Double(outputTokens) * model.outputPerToken
            // A floor keeps free models from winning on price alone: below 0.01 USD per million tokens, price stops counting.
            let scoredCost = max(cost, Double(profile.estimatedPromptTokens + outputTokens) * 0.01 / 1_000_000)
            // A half-open model competes at full strength so its probe can happen and bring it back.
            let availability = snapshot.state == .halfOpen ? 1 : max(0.05, 1 - snapshot.errorRate)
            let score = qualityWeight * log(quality) - weights.price * log(scoredCost) - weights.latency * log(seconds) + weights.availability * log(availability)
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
        return RouteDecision(tier: profile.tier, strategy: policy.strategy, models: catalog.models, ranking: ranking, exclusions: exclusions)
    }

    func exclusionReason(_ model: Facts, profile: RequestProfile, policy: RoutingPolicy) -> String? {
        guard model.configured else { return "provider not configured" }
        if !policy.allowedProviders.isEmpty, !policy.allowedProviders.contains(model.provider) { return "provider not allowed" }
        if policy.blockedProviders.contains(model.provider) { return "provider blocked" }
        if !policy.allowedModels.isEmpty, !policy.allowedModels.contains(model.id) { return "model not allowed" }
        if policy.blockedModels.contains(model.id) { return "model blocked" }
        if let cap = policy.maxOutputPrice, model.outputPrice > cap { return "over max_output_price" }
        let output = min(profile.requestedOutputTokens ?? profile.expectedOutputTokens, model.maxOutputTokens)
        if model.contextLength < profile.estimatedPromptTokens + output { return "context window too small" }
        if profile.needsTools, !model.tools { return "no tool calling" }
        if profile.needsVision, !model.vision { return "no image input" }
        if profile.needsJSONSchema, !model.jsonSchema { return "no JSON-schema output" }
        return nil
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
