import Foundation
import GateRouterStorage
import Logging
import ServiceLifecycle
import Synchronization

/// Keeps this process's in-memory state in step with the database that other processes (a second gateway
/// instance, the `gaterouter` CLI) also write:
///
/// - every 100 ms it reads the store's change version and, when it moved, reloads keys and accounts, so a key
///   created or revoked elsewhere works or stops here within a second;
/// - every second it reloads balances (other instances spend them too), and every 10 s key spend for budgets;
/// - every 100 ms it exchanges rate-limit counts, so instances share each key's limit.
public struct StoreSync: Service {
    public struct Intervals: Sendable {
        public var rateExchange: Duration = .milliseconds(100)
        public var changeCheck: Duration = .milliseconds(100)
        public var balances: Duration = .seconds(1)
        public var spend: Duration = .seconds(10)
        public init() {}
    }

    let store: any GatewayStore
    let authCache: AuthCache
    let meter: Meter
    let instance: String
    let intervals: Intervals
    let logger: Logger
    private let heartbeat = Heartbeat()

    /// When this instance last told the store it is alive without rate-limited traffic to report.
    final class Heartbeat: Sendable {
        private let last = Mutex<Date?>(nil)
        func shouldBeat(now: Date) -> Bool {
            last.withLock { last in
                if let previous = last, now.timeIntervalSince(previous) < 1 { return false }
                last = now
                return true
            }
        }
    }

    public init(store: any GatewayStore, authCache: AuthCache, meter: Meter, intervals: Intervals = Intervals(), logger: Logger) {
        self.store = store
        self.authCache = authCache
        self.meter = meter
        self.instance = "gw_" + RandomID.hex(8)
        self.intervals = intervals
        self.logger = logger
    }

    public func run() async throws {
        try? await cancelWhenGracefulShutdown {
            var version = (try? await store.changeVersion()) ?? 0
            let clock = ContinuousClock()
            var nextChange = clock.now, nextBalances = clock.now + intervals.balances, nextSpend = clock.now
            while !Task.isCancelled {
                let now = clock.now
                let checkChanges = now >= nextChange, balances = now >= nextBalances, spend = now >= nextSpend
                if checkChanges { nextChange = now + intervals.changeCheck }
                if balances { nextBalances = now + intervals.balances }
                if spend { nextSpend = now + intervals.spend }
                let known = version
                do {
                    // One round in its own (awaited) task: a stop cancels the loop between rounds, never a database
                    // call half-way through a transaction.
                    version = try await Task {
                        try await exchangeRateCounts()
                        var current = known
                        if checkChanges {
                            current = try await store.changeVersion()
                            if current != known, try await !reloadKeysAndAccounts() { current = known }
                        }
                        if balances { try await reloadBalances() }
                        if spend { try await reloadSpend() }
                        return current
                    }.value
                } catch {
                    logger.warning("store sync failed; retrying", metadata: ["gr.error": "\(error)"])
                }
                try await Task.sleep(for: intervals.rateExchange)
            }
        }
    }

    /// Publishes this instance's use of every rate-limited key and takes its grants; near the end of a minute, also
    /// takes grants for the next one.
    func exchangeRateCounts() async throws {
        let now = Date()
        let window = RateLimiter.window(containing: now)
        let cache = authCache
        let limits: (String) -> KeyLimits? = { id in cache.key(id).flatMap { $0.revoked ? nil : $0.limits } }
        let limiter = meter.rateLimiter
        let usage = limiter.usage(window: window, limits: limits)
        // Nothing rate-limited in use here: only a heartbeat once a second, so every instance knows how many share
        // the store before its first rate-limited request.
        if usage.isEmpty {
            guard heartbeat.shouldBeat(now: now) else { return }
        }
        limiter.apply(try await store.exchangeRateCounts(instance: instance, window: window, usage: usage), window: window, requestedAt: now)
        if Double(window + 60) - now.timeIntervalSince1970 < 1.5 {
            let next = window + 60, requestedAt = Date()
            let exchange = try await store.exchangeRateCounts(instance: instance, window: next, usage: limiter.usage(window: next, limits: limits))
            limiter.apply(exchange, window: next, requestedAt: requestedAt)
        }
    }

    /// Reloads keys and accounts (balances included: charges written before the read began stop being pending).
    /// Returns false when a write made here meanwhile made the snapshot stale; the next round reads again.
    func reloadKeysAndAccounts() async throws -> Bool {
        let generation = meter.spend.flushGeneration, cacheGeneration = authCache.writeGeneration
        let accounts = try await store.accounts()
        let keys = try await store.apiKeys()
        guard authCache.replaceAll(accounts: accounts, keys: keys, readAfter: cacheGeneration) else { return false }
        meter.spend.balancesReloaded(readAfter: generation)
        return true
    }

    func reloadBalances() async throws {
        let generation = meter.spend.flushGeneration, cacheGeneration = authCache.writeGeneration
        let accounts = try await store.accounts()
        let balances = Dictionary(accounts.map { ($0.id, $0.balance) }, uniquingKeysWith: { $1 })
        guard authCache.setBalances(balances, readAfter: cacheGeneration) else { return }
        meter.spend.balancesReloaded(readAfter: generation)
    }

    func reloadSpend() async throws {
        try await meter.spend.reload(from: store, readAfter: meter.spend.flushGeneration, now: Date())
    }
}
