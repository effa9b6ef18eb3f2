import Synchronization

/// Passive health of every model and provider, learnt from real traffic only (no paid probe requests): moving averages
/// of time to first token, output speed and errors, and a circuit breaker per model and per provider.
///
/// A breaker opens after `failureThreshold` consecutive failures (providers: twice that, across their models), lets
/// one probe request through once `cooldown` has passed (half-open), closes on its success and reopens, with a doubled
/// cooldown, on its failure.
///
/// Sharded and lock-free for readers: every model and every provider has its own lock for updates, so requests to
/// different models never wait on each other, and each update publishes the numbers a routing decision reads as
/// atomics, so a decision takes no lock at all. Nothing here touches a database.
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

    /// One model's numbers and breaker, and its recent samples for the p95.
    struct ModelStats {
        var samples = 0
        var timeToFirstToken: Double?
        var tokensPerSecond: Double?
        var errorRate = 0.0
        var breaker: Breaker
        var recent: [Double] = []
        var nextSample = 0
    }

    /// A model's state behind its own lock, with what decisions read published as atomics.
    final class ModelCell: Sendable {
        let stats: Mutex<ModelStats>
        /// Bit patterns of the averages (NaN while unknown), the sample count, and the breaker's half-open instant.
        let timeToFirstTokenBits = Atomic<UInt64>(Double.nan.bitPattern)
        let tokensPerSecondBits = Atomic<UInt64>(Double.nan.bitPattern)
        let errorRateBits = Atomic<UInt64>(Double(0).bitPattern)
        let samples = Atomic<Int>(0)
        let breakerState: PublishedBreaker

        init(cooldown: Duration, epoch: ContinuousClock.Instant) {
            stats = Mutex(ModelStats(breaker: Breaker(cooldown: cooldown)))
            breakerState = PublishedBreaker(epoch: epoch)
        }

        /// Called with the lock held, after every change.
        func publish(_ stats: ModelStats) {
            timeToFirstTokenBits.store((stats.timeToFirstToken ?? .nan).bitPattern, ordering: .relaxed)
            tokensPerSecondBits.store((stats.tokensPerSecond ?? .nan).bitPattern, ordering: .relaxed)
            errorRateBits.store(stats.errorRate.bitPattern, ordering: .relaxed)
            samples.store(stats.samples, ordering: .relaxed)
            breakerState.publish(stats.breaker)
        }
    }

    /// A provider's breaker behind its own lock, its state published for decisions.
    final class ProviderCell: Sendable {
        let breaker: Mutex<Breaker>
        let breakerState: PublishedBreaker

        init(cooldown: Duration, epoch: ContinuousClock.Instant) {
            breaker = Mutex(Breaker(cooldown: cooldown))
            breakerState = PublishedBreaker(epoch: epoch)
        }
    }

    /// A breaker's state as two atomics: whether it is open, and from when (nanoseconds after the epoch) it is
    /// half-open.
    final class PublishedBreaker: Sendable {
        let epoch: ContinuousClock.Instant
        let isOpen = Atomic<Bool>(false)
        let halfOpenAfter = Atomic<Int64>(0)

        init(epoch: ContinuousClock.Instant) { self.epoch = epoch }

        func publish(_ breaker: Breaker) {
            if let openedAt = breaker.openedAt {
                let halfOpen = openedAt + breaker.cooldown - epoch
                halfOpenAfter.store(halfOpen.components.seconds * 1_000_000_000 + halfOpen.components.attoseconds / 1_000_000_000, ordering: .relaxed)
                isOpen.store(true, ordering: .releasing)
            } else {
                isOpen.store(false, ordering: .releasing)
            }
        }

        func state(now: ContinuousClock.Instant) -> BreakerState {
            guard isOpen.load(ordering: .acquiring) else { return .closed }
            let elapsed = now - epoch
            let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
            return nanoseconds >= halfOpenAfter.load(ordering: .relaxed) ? .halfOpen : .open
        }
    }

    /// Where a model's and its provider's state live; the router keeps these for the whole catalog, so a decision
    /// neither hashes a string nor takes a shared lock.
    public struct Slot: Sendable {
        let model: ModelCell
        let provider: ProviderCell
    }

    /// Past this many distinct ids (passthrough `provider/name` ids are the client's to choose), new ones share one
    /// overflow cell, so the registry cannot grow without bound.
    static let maximumCells = 4096

    struct Registry {
        var models: [String: ModelCell] = [:]
        var providers: [String: ProviderCell] = [:]
    }

    public let configuration: Configuration
    /// Only consulted to find a model's cell (once per attempt, and once per catalog model when the router starts).
    private let registry = Mutex(Registry())
    private let overflowModel: ModelCell
    private let overflowProvider: ProviderCell
    /// The reference instant published breaker times count from.
    private let epoch: ContinuousClock.Instant

    public init(configuration: Configuration = .init()) {
        self.configuration = configuration
        let epoch = ContinuousClock.now
        self.epoch = epoch
        self.overflowModel = ModelCell(cooldown: configuration.cooldown, epoch: epoch)
        self.overflowProvider = ProviderCell(cooldown: configuration.cooldown, epoch: epoch)
    }

    /// The cells of a model and its provider, created on first use; the router keeps them for `snapshot(_:now:)`.
    public func slot(model: String, provider: String) -> Slot {
        let cooldown = configuration.cooldown
        return registry.withLock { registry in
            let modelCell = registry.models[model] ?? {
                guard registry.models.count < Self.maximumCells else { return overflowModel }
                let cell = ModelCell(cooldown: cooldown, epoch: epoch)
                registry.models[model] = cell
                return cell
            }()
            let providerCell = registry.providers[provider] ?? {
                guard registry.providers.count < Self.maximumCells else { return overflowProvider }
                let cell = ProviderCell(cooldown: cooldown, epoch: epoch)
                registry.providers[provider] = cell
                return cell
            }()
            return Slot(model: modelCell, provider: providerCell)
        }
    }

    public func snapshot(model: String, provider: String, now: ContinuousClock.Instant = .now) -> Snapshot {
        Self.snapshot(slot(model: model, provider: provider), now: now)
    }

    /// A model's numbers and breaker state: atomic loads only (a routing decision reads the whole catalog).
    public static func snapshot(_ slot: Slot, now: ContinuousClock.Instant) -> Snapshot {
        let model = slot.model
        let modelState = model.breakerState.state(now: now)
        let providerState = slot.provider.breakerState.state(now: now)
        let combined: BreakerState = modelState == .open || providerState == .open ? .open : (modelState == .halfOpen || providerState == .halfOpen ? .halfOpen : .closed)
        let ttft = Double(bitPattern: model.timeToFirstTokenBits.load(ordering: .relaxed))
        let tokensPerSecond = Double(bitPattern: model.tokensPerSecondBits.load(ordering: .relaxed))
        return Snapshot(
            timeToFirstToken: ttft.isNaN ? nil : ttft, tokensPerSecond: tokensPerSecond.isNaN ? nil : tokensPerSecond,
            errorRate: Double(bitPattern: model.errorRateBits.load(ordering: .relaxed)), state: combined,
            samples: model.samples.load(ordering: .relaxed)
        )
    }

    /// The 95th percentile of a model's recent times to first token, once there are enough samples to trust it (the
    /// hedging trigger).
    public func timeToFirstTokenP95(model: String) -> Duration? {
        let cell = registry.withLock { $0.models[model] }
        guard let samples = cell?.stats.withLock({ $0.recent }), samples.count >= Self.minimumSamplesForP95 else { return nil }
        let sorted = samples.sorted()
        let p95 = sorted[min(sorted.count - 1, Int((Double(sorted.count) * 0.95).rounded(.up)) - 1)]
        return .milliseconds(Int((p95 * 1000).rounded(.up)))
    }

    /// Claims the right to send a request: always when closed, once per cooldown when half-open, never when open.
    public func admit(model: String, provider: String, now: ContinuousClock.Instant = .now) -> Bool {
        let slot = slot(model: model, provider: provider)
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
        guard slot.model.stats.withLock({ claim(&$0.breaker) }) else { return false }
        guard slot.provider.breaker.withLock({ claim(&$0) }) else {
            slot.model.stats.withLock { $0.breaker.probeInFlight = false }
            return false
        }
        return true  // a claimed probe changes no published state: the breaker stays half-open for decisions
    }

    /// A request that produced content: `timeToFirstToken` and, when known, output speed.
    public func recordSuccess(model: String, provider: String, timeToFirstToken: Duration, tokensPerSecond: Double? = nil) {
        let ttft = Double(timeToFirstToken.components.seconds) + Double(timeToFirstToken.components.attoseconds) * 1e-18
        let alpha = configuration.smoothing
        let cooldown = configuration.cooldown
        let slot = slot(model: model, provider: provider)
        slot.model.stats.withLock { stats in
            stats.timeToFirstToken = stats.timeToFirstToken.map { $0 + alpha * (ttft - $0) } ?? ttft
            stats.samples = min(stats.samples + 1, Self.recentSamples)
            if stats.recent.count < Self.recentSamples {
                stats.recent.append(ttft)
            } else {
                stats.recent[stats.nextSample] = ttft
            }
            stats.nextSample = (stats.nextSample + 1) % Self.recentSamples
            if let tokensPerSecond, tokensPerSecond.isFinite, tokensPerSecond > 0 {
                stats.tokensPerSecond = stats.tokensPerSecond.map { $0 + alpha * (tokensPerSecond - $0) } ?? tokensPerSecond
            }
            // A success that closes a breaker wipes the error history: the model has shown it is back.
            stats.errorRate = stats.breaker.openedAt == nil ? stats.errorRate * (1 - alpha) : 0
            stats.breaker = Breaker(cooldown: cooldown)
            slot.model.publish(stats)
        }
        slot.provider.breaker.withLock { breaker in
            breaker = Breaker(cooldown: cooldown)
            slot.provider.breakerState.publish(breaker)
        }
    }

    /// A failed attempt (transport error, timeout, 429, 5xx, a stream that died before content).
    public func recordFailure(model: String, provider: String, now: ContinuousClock.Instant = .now) {
        let alpha = configuration.smoothing
        let threshold = configuration.failureThreshold
        let configuration = self.configuration
        let slot = slot(model: model, provider: provider)
        slot.model.stats.withLock { stats in
            stats.errorRate += alpha * (1 - stats.errorRate)
            Self.fail(&stats.breaker, threshold: threshold, now: now, configuration: configuration)
            slot.model.publish(stats)
        }
        slot.provider.breaker.withLock { breaker in
            Self.fail(&breaker, threshold: threshold * 2, now: now, configuration: configuration)
            slot.provider.breakerState.publish(breaker)
        }
    }

    /// Gives back an admitted half-open probe that was never sent (the request ended before reaching this model).
    public func release(model: String, provider: String) {
        let slot = slot(model: model, provider: provider)
        slot.model.stats.withLock { $0.breaker.probeInFlight = false }
        slot.provider.breaker.withLock { $0.probeInFlight = false }
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
