import Foundation
import GateRouterStorage
import Logging
import ServiceLifecycle

/// Keeps this process's in-memory state in step with the database that other processes (a second gateway
/// instance, the `gaterouter` CLI) also write:
///
/// - every 250 ms it reads the store's change version and, when it moved, reloads keys and accounts, so a key
///   created or revoked elsewhere works or stops here within a second;
/// - every second it reloads balances (other instances spend them too), and every 10 s key spend for budgets;
/// - every 100 ms it exchanges rate-limit counts, so instances share each key's limit.
public struct StoreSync: Service {
    public struct Intervals: Sendable {
        public var rateExchange: Duration = .milliseconds(100)
        public var changeCheck: Duration = .milliseconds(250)
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
                do {
                    try await exchangeRateCounts()
                    if now >= nextChange {
                        nextChange = now + intervals.changeCheck
                        let current = try await store.changeVersion()
                        if current != version {
                            try await reloadKeysAndAccounts()
                            version = current
                        }
                    }
                    if now >= nextBalances {
                        nextBalances = now + intervals.balances
                        try await reloadBalances()
                    }
                    if now >= nextSpend {
                        nextSpend = now + intervals.spend
                        try await reloadSpend()
                    }
                } catch {
                    logger.warning("store sync failed; retrying", metadata: ["gr.error": "\(error)"])
                }
                try await Task.sleep(for: intervals.rateExchange)
            }
        }
    }

    func exchangeRateCounts() async throws {
        let window = RateLimiter.window(containing: Date())
        let exchange = try await store.exchangeRateCounts(instance: instance, window: window, counts: meter.rateLimiter.localCounts(window: window))
        meter.rateLimiter.apply(exchange, window: window)
    }

    /// Reloads keys and accounts (balances included: charges written before the read began stop being pending).
    func reloadKeysAndAccounts() async throws {
        let generation = meter.spend.flushGeneration
        let accounts = try await store.accounts()
        let keys = try await store.apiKeys()
        authCache.replaceAll(accounts: accounts, keys: keys)
        meter.spend.balancesReloaded(readAfter: generation)
    }

    func reloadBalances() async throws {
        let generation = meter.spend.flushGeneration
        let accounts = try await store.accounts()
        authCache.setBalances(Dictionary(accounts.map { ($0.id, $0.balance) }, uniquingKeysWith: { $1 }))
        meter.spend.balancesReloaded(readAfter: generation)
    }

    func reloadSpend() async throws {
        let now = Date()
        let generation = meter.spend.flushGeneration
        let total = try await store.spendByKey(since: nil)
        let day = try await store.spendByKey(since: BudgetPeriod.day.start(containing: now))
        let month = try await store.spendByKey(since: BudgetPeriod.month.start(containing: now))
        meter.spend.load(total: total, day: day, month: month, readAfter: generation, now: now)
    }
}
