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

    /// Why a model was left out: a code, turned into text only when asked for (most requests never ask).
    enum Exclusion: UInt8, Sendable {
        case providerNotConfigured, providerNotAllowed, providerBlocked, modelNotAllowed, modelBlocked, overMaxOutputPrice
        case contextTooSmall, noTools, noVision, noJSONSchema, circuitOpen

        var text: String {
            switch self {
            case .providerNotConfigured: "provider not configured"
            case .providerNotAllowed: "provider not allowed"
            case .providerBlocked: "provider blocked"
            case .modelNotAllowed: "model not allowed"
            case .modelBlocked: "model blocked"
            case .overMaxOutputPrice: "over max_output_price"
            case .contextTooSmall: "context window too small"
            case .noTools: "no tool calling"
            case .noVision: "no image input"
            case .noJSONSchema: "no JSON-schema output"
            case .circuitOpen: "circuit open"
            }
        }
    }

    public var tier: UseCase
    public var strategy: RoutingStrategy
    let models: [CatalogModel]
    let ranking: [Ranked]
    let exclusions: [(index: Int, reason: Exclusion)]

    /// How many models can take the request.
    public var count: Int { ranking.count }

    /// The best `limit` candidates, in order.
    public func top(_ limit: Int) -> [ScoredCandidate] {
        ranking.prefix(limit).map(candidate)
    }

    /// Every candidate, best first.
    public var candidates: [ScoredCandidate] { ranking.map(candidate) }

    /// Why models were left out, for the log and the 503 that names what was tried (`model: reason`).
    public var excluded: [String] { exclusions.map { "\(models[$0.index].id): \($0.reason.text)" } }

    func candidate(_ ranked: Ranked) -> ScoredCandidate {
        ScoredCandidate(
            model: models[ranked.index], score: ranked.score, quality: ranked.quality, estimatedCost: ranked.cost,
            estimatedSeconds: ranked.seconds, breaker: ranked.breaker
        )
    }

    /// The compact `x-gaterouter-route` header: the choice and the runner-up with their scores.
    ///
    /// Written as bytes straight into the string's own storage: this runs on every `auto` request, and interpolating
    /// each number into its own string cost more than the routing decision itself.
    public var summary: String {
        let top = ranking.prefix(2)
        // Each number takes at most `maximumNumberBytes`; the fixed text of one candidate is 21 bytes, plus "; ".
        var capacity = 0
        for ranked in top { capacity += models[ranked.index].id.utf8.count + 23 + 3 * Self.maximumNumberBytes }
        return String(unsafeUninitializedCapacity: capacity) { buffer in
            var end = 0
            func write(_ text: StaticString) {
                text.withUTF8Buffer { bytes in
                    for byte in bytes {
                        buffer[end] = byte
                        end += 1
                    }
                }
            }
            for (position, ranked) in top.enumerated() {
                if position > 0 { write("; ") }
                for byte in models[ranked.index].id.utf8 {
                    buffer[end] = byte
                    end += 1
                }
                write(" score=")
                end = Self.writeTwoDecimals(ranked.score, into: buffer, at: end)
                write(" cost=")
                end = Self.writeTwoDecimals(ranked.cost * 1_000_000, into: buffer, at: end)
                write("u$ eta=")
                end = Self.writeTwoDecimals(ranked.seconds, into: buffer, at: end)
                write("s")
            }
            return end
        }
    }

    /// The most bytes ``writeTwoDecimals(_:into:at:)`` writes: a sign, 16 digits and the point, or Swift's own
    /// spelling of a huge or non-finite value (at most 24 bytes, as in `-1.7976931348623157e+308`).
    static let maximumNumberBytes = 24

    /// Two decimals, as ASCII digits, without `String(format:)` or a string per number.
    static func appendTwoDecimals(_ value: Double, to out: inout [UInt8]) {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: maximumNumberBytes) { buffer in
            let end = writeTwoDecimals(value, into: buffer, at: 0)
            out.append(contentsOf: buffer[..<end])
        }
    }

    /// Writes `value` with two decimals at `start`, and returns where it ends. Needs ``maximumNumberBytes`` of room.
    static func writeTwoDecimals(_ value: Double, into out: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
        var end = start
        // Beyond 1e15 the hundredths no longer fit an Int exactly (nor matter): print the value as Swift does.
        guard value.isFinite, abs(value) < 1e15 else {
            for byte in "\(value)".utf8.prefix(maximumNumberBytes) {
                out[end] = byte
                end += 1
            }
            return end
        }
        let hundredths = Int((abs(value) * 100).rounded())
        if value < 0, hundredths != 0 {
            out[end] = UInt8(ascii: "-")
            end += 1
        }
        // At least "0.00": three digits, the point before the last two. Written from the last digit backwards.
        var digits = 1
        var probe = hundredths
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        digits = max(digits, 3)
        end += digits + 1
        var position = end - 1
        var rest = hundredths
        for written in 0..<digits {
            if written == 2 {
                out[position] = UInt8(ascii: ".")
                position -= 1
            }
            out[position] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            position -= 1
        }
        return end
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
        var exclusions: [(index: Int, reason: RouteDecision.Exclusion)] = []
        ranking.reserveCapacity(catalog.models.count)
        exclusions.reserveCapacity(catalog.models.count)
        let weights = policy.strategy.weights
        // The harder the request, the more a model's fit for it outweighs its price and speed.
        let qualityWeight = weights.quality * (1 + 3 * min(max(profile.hardness, 0), 1))
        let outputTokens = profile.expectedOutputTokens
        let minimumQuality = Self.minimumQuality(for: profile.tier)
        for index in facts.indices {
            // Most catalog models have no configured provider: turn those away before copying their facts.
            guard facts[index].configured else {
                exclusions.append((index, .providerNotConfigured))
                continue
            }
            let model = facts[index]
            if let reason = exclusionReason(model, profile: profile, policy: policy) {
                exclusions.append((index, reason))
                continue
            }
            let snapshot = ModelHealth.snapshot(healthSlots[index], now: now)
            if snapshot.state == .open {
                exclusions.append((index, .circuitOpen))
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

    func exclusionReason(_ model: Facts, profile: RequestProfile, policy: RoutingPolicy) -> RouteDecision.Exclusion? {
        guard model.configured else { return .providerNotConfigured }
        if !policy.allowedProviders.isEmpty, !policy.allowedProviders.contains(model.provider) { return .providerNotAllowed }
        if policy.blockedProviders.contains(model.provider) { return .providerBlocked }
        if !policy.allowedModels.isEmpty, !policy.allowedModels.contains(model.id) { return .modelNotAllowed }
        if policy.blockedModels.contains(model.id) { return .modelBlocked }
        if let cap = policy.maxOutputPrice, model.outputPrice > cap { return .overMaxOutputPrice }
        let output = min(profile.requestedOutputTokens ?? profile.expectedOutputTokens, model.maxOutputTokens)
        if model.contextLength < profile.estimatedPromptTokens + output { return .contextTooSmall }
        if profile.needsTools, !model.tools { return .noTools }
        if profile.needsVision, !model.vision { return .noVision }
        if profile.needsJSONSchema, !model.jsonSchema { return .noJSONSchema }
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
