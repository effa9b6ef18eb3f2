import Synchronization

/// Passive health of every model and provider, learnt from real traffic only (no paid probe requests): moving averages
/// of time to first token, output speed and errors, and a circuit breaker per model and per provider.
///
/// A breaker opens after `failureThreshold` consecutive failures (providers: twice that, across their models), lets
/// one probe request through once `cooldown` has passed (half-open), closes on its success and reopens, with a doubled
/// cooldown, on its failure. One short critical section per call; nothing here touches a database.
public final class ModelHealth: Sendable {
    public struct Configuration: Sendable {
        public var failureThreshold: Int
        public var cooldown: Duration
        public var maxCooldown: Duration
        /// Weight of the newest sample in the moving averages.
        public var smoothing: Double

        public init(failureThreshold: Int = 3, cooldown: Duration = .seconds(10), maxCooldown: Duration = .seconds(120), smoothing: Double = 0.2) {
            self.failureThreshold = failureThreshold
            self.cooldown = cooldown
            self.maxCooldown = maxCooldown
            self.smoothing = smoothing
        }
    }

    /// What the router reads for one model.
    public struct Snapshot: Sendable, Equatable {
        /// Seconds; nil until a sample exists (the router then uses its catalog prior).
        public var timeToFirstToken: Double?
        public var tokensPerSecond: Double?
        /// Moving average of failures (0…1).
        public var errorRate: Double
        public var state: BreakerState
        /// How many successes the averages rest on (capped), so the router can weigh them against its prior.
        public var samples: Int
    }

    /// The recent samples behind the p95 (a small ring, so a percentile costs a sort of a few dozen numbers).
    static let recentSamples = 32
    static let minimumSamplesForP95 = 8

    public enum BreakerState: String, Sendable, Equatable {
        case closed
        /// Cooling down: no traffic.
        case open
        /// Cooled down: one probe may go.
        case halfOpen = "half_open"
    }

    struct Breaker {
        var consecutiveFailures = 0
        var openedAt: ContinuousClock.Instant?
        var cooldown: Duration
        var probeInFlight = false

        func state(now: ContinuousClock.Instant) -> BreakerState {
            guard let openedAt else { return .closed }
            return now - openedAt >= cooldown ? .halfOpen : .open
        }
    }

    /// Plain values only, so reading them copies no buffer.
    struct ModelStats {
        var samples = 0
        var timeToFirstToken: Double?
        var tokensPerSecond: Double?
        var errorRate = 0.0
        var breaker: Breaker
    }

    /// The last few times to first token of a model, for its p95.
    struct SampleRing {
        var values: [Double] = []
        var next = 0
    }

    /// Where a model's and its provider's state live: array positions, so a routing decision reads the whole catalog
    /// without hashing a single string.
    public struct Slot: Sendable, Hashable {
        let model: Int
        let provider: Int
    }

    struct State {
        var modelSlots: [String: Int] = [:]
        var providerSlots: [String: Int] = [:]
        var models: [ModelStats] = []
        var rings: [SampleRing] = []
        var providers: [Breaker] = []

        /// Past this many distinct ids (passthrough `provider/name` ids are the client's to choose), new ones share the
        /// last slot, so the table cannot grow without bound.
        static let maximumSlots = 4096

        mutating func slot(model: String, provider: String, cooldown: Duration) -> Slot {
            let modelSlot = modelSlots[model] ?? (models.count >= Self.maximumSlots ? models.count - 1 : nil) ?? {
                models.append(ModelStats(breaker: Breaker(cooldown: cooldown)))
                rings.append(SampleRing())
                modelSlots[model] = models.count - 1
                return models.count - 1
            }()
            let providerSlot = providerSlots[provider] ?? (providers.count >= Self.maximumSlots ? providers.count - 1 : nil) ?? {
                providers.append(Breaker(cooldown: cooldown))
                providerSlots[provider] = providers.count - 1
                return providers.count - 1
            }()
            return Slot(model: modelSlot, provider: providerSlot)
        }

        func snapshot(_ slot: Slot, now: ContinuousClock.Instant) -> Snapshot {
            let stats = models[slot.model]
            let modelState = stats.breaker.state(now: now)
            let providerState = providers[slot.provider].state(now: now)
            let combined: BreakerState = modelState == .open || providerState == .open ? .open : (modelState == .halfOpen || providerState == .halfOpen ? .halfOpen : .closed)
            return Snapshot(timeToFirstToken: stats.timeToFirstToken, tokensPerSecond: stats.tokensPerSecond, errorRate: stats.errorRate, state: combined, samples: stats.samples)
        }
    }

    public let configuration: Configuration
    private let state = Mutex(State())

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
    }

    /// The slot of a model (registered on first use), for ``snapshots(_:now:)``.
    public func slot(model: String, provider: String) -> Slot {
        let cooldown = configuration.cooldown
        return state.withLock { $0.slot(model: model, provider: provider, cooldown: cooldown) }
    }

    public func snapshot(model: String, provider: String, now: ContinuousClock.Instant = .now) -> Snapshot {
        let cooldown = configuration.cooldown
        return state.withLock { state in state.snapshot(state.slot(model: model, provider: provider, cooldown: cooldown), now: now) }
    }

    /// Snapshots of many models under one lock, by slot (a routing decision reads the whole catalog).
    public func snapshots(_ slots: [Slot], now: ContinuousClock.Instant = .now) -> [Snapshot] {
        state.withLock { state in slots.map { state.snapshot($0, now: now) } }
    }

    /// The 95th percentile of a model's recent times to first token, once there are enough samples to trust it (the
    /// hedging trigger).
    public func timeToFirstTokenP95(model: String) -> Duration? {
        let samples = state.withLock { state in state.modelSlots[model].map { state.rings[$0].values } ?? [] }
        guard samples.count >= Self.minimumSamplesForP95 else { return nil }
        let sorted = samples.sorted()
        let p95 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.95).rounded(.up)) - 1)]
        return .milliseconds(Int((p95 * 1000).rounded(.up)))
    }

    /// Claims the right to send a request: always when closed, once per cooldown when half-open, never when open.
    public func admit(model: String, provider: String, now: ContinuousClock.Instant = .now) -> Bool {
        let cooldown = configuration.cooldown
        return state.withLock { state in
            let slot = state.slot(model: model, provider: provider, cooldown: cooldown)
            func claim(_ breaker: inout Breaker) -> Bool {
                switch breaker.state(now: now) {
                case .closed: return true
                case .open: return false
                case .halfOpen:
                    if breaker.probeInFlight { return false }
                    breaker.probeInFlight = true
                    return true
                }
            }
            guard claim(&state.models[slot.model].breaker) else { return false }
            guard claim(&state.providers[slot.provider]) else {
                state.models[slot.model].breaker.probeInFlight = false
                return false
            }
            return true
        }
    }

    /// A request that produced content: `timeToFirstToken` and, when known, output speed.
    public func recordSuccess(model: String, provider: String, timeToFirstToken: Duration, tokensPerSecond: Double? = nil) {
        let ttft = Double(timeToFirstToken.components.seconds) + Double(timeToFirstToken.components.attoseconds) * 1e-18
        let alpha = configuration.smoothing
        let cooldown = configuration.cooldown
        state.withLock { state in
            let slot = state.slot(model: model, provider: provider, cooldown: cooldown)
            var stats = state.models[slot.model]
            stats.timeToFirstToken = stats.timeToFirstToken.map { $0 + alpha * (ttft - $0) } ?? ttft
            stats.samples = min(stats.samples + 1, Self.recentSamples)
            if state.rings[slot.model].values.count < Self.recentSamples {
                state.rings[slot.model].values.append(ttft)
            } else {
                state.rings[slot.model].values[state.rings[slot.model].next] = ttft
            }
            state.rings[slot.model].next = (state.rings[slot.model].next + 1) % Self.recentSamples
            if let tokensPerSecond, tokensPerSecond.isFinite, tokensPerSecond > 0 {
                stats.tokensPerSecond = stats.tokensPerSecond.map { $0 + alpha * (tokensPerSecond - $0) } ?? tokensPerSecond
            }
            // A success that closes a breaker wipes the error history: the model has shown it is back.
            stats.errorRate = stats.breaker.openedAt == nil ? stats.errorRate * (1 - alpha) : 0
            stats.breaker = Breaker(cooldown: cooldown)
            state.models[slot.model] = stats
            state.providers[slot.provider] = Breaker(cooldown: cooldown)
        }
    }

    /// A failed attempt (transport error, timeout, 429, 5xx, a stream that died before content).
    public func recordFailure(model: String, provider: String, now: ContinuousClock.Instant = .now) {
        let alpha = configuration.smoothing
        let threshold = configuration.failureThreshold
        let configuration = self.configuration
        state.withLock { state in
            let slot = state.slot(model: model, provider: provider, cooldown: configuration.cooldown)
            state.models[slot.model].errorRate += alpha * (1 - state.models[slot.model].errorRate)
            Self.fail(&state.models[slot.model].breaker, threshold: threshold, now: now, configuration: configuration)
            Self.fail(&state.providers[slot.provider], threshold: threshold * 2, now: now, configuration: configuration)
        }
    }

    /// Gives back an admitted half-open probe that was never sent (the request ended before reaching this model).
    public func release(model: String, provider: String) {
        state.withLock { state in
            if let slot = state.modelSlots[model] { state.models[slot].breaker.probeInFlight = false }
            if let slot = state.providerSlots[provider] { state.providers[slot].probeInFlight = false }
        }
    }

    private static func fail(_ breaker: inout Breaker, threshold: Int, now: ContinuousClock.Instant, configuration: Configuration) {
        breaker.consecutiveFailures += 1
        if breaker.probeInFlight || breaker.openedAt != nil {
            // A failed probe (or a failure while open): back off harder.
            breaker.cooldown = min(breaker.cooldown * 2, configuration.maxCooldown)
            breaker.openedAt = now
        } else if breaker.consecutiveFailures >= threshold {
            breaker.openedAt = now
        }
        breaker.probeInFlight = false
    }
}
