import Foundation
import Synchronization

/// Spend the request path checks before calling upstream, kept in memory: each account's charges that its cached
/// balance does not include yet, and each key's spend per budget period.
///
/// A charge counts here from the moment its ledger record is queued. It stays "pending" until a balance read from
/// the store *after* its batch was written replaces the cached balance: batches are numbered as they are written
/// (``flushGeneration``), and a reload that started at generation G clears only batches up to G. A batch written
/// while a reload was reading may then be counted twice for a moment (a balance looks lower than it is until the
/// next reload), never not at all.
public final class SpendTracker: Sendable {
    struct KeySpend {
        var total: Picodollars = .zero
        var day: Picodollars = .zero
        var dayStart: Date?
        var month: Picodollars = .zero
        var monthStart: Date?
    }

    struct Charges {
        var byAccount: [String: Picodollars] = [:]
        var byKey: [String: Picodollars] = [:]

        mutating func add(accountID: String, keyID: String, cost: Picodollars) {
            byAccount[accountID, default: .zero] = byAccount[accountID, default: .zero] + cost
            byKey[keyID, default: .zero] = byKey[keyID, default: .zero] + cost
        }

        mutating func subtract(accountID: String, keyID: String, cost: Picodollars) {
            let account = byAccount[accountID, default: .zero] - cost
            byAccount[accountID] = account == .zero ? nil : account
            let key = byKey[keyID, default: .zero] - cost
            byKey[keyID] = key == .zero ? nil : key
        }
    }

    private struct State {
        /// Queued, not yet written.
        var unwritten = Charges()
        /// Written, by batch generation, not yet covered by a reload.
        var written: [(generation: Int, charges: Charges)] = []
        var generation = 0
        var keys: [String: KeySpend] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Batches written so far; read it before reading balances or spend from the store.
    public var flushGeneration: Int { state.withLock { $0.generation } }

    /// Counts a queued record's cost against its account and key.
    public func charge(accountID: String, keyID: String, cost: Picodollars, at date: Date) {
        guard cost != .zero else { return }
        state.withLock { state in
            state.unwritten.add(accountID: accountID, keyID: keyID, cost: cost)
            var spend = state.keys[keyID] ?? KeySpend()
            Self.roll(&spend, to: date)
            spend.total = spend.total + cost
            spend.day = spend.day + cost
            spend.month = spend.month + cost
            state.keys[keyID] = spend
        }
    }

    /// The store has written these records (and taken their cost from the balances in the database).
    public func settle(_ records: [LedgerRecord]) {
        state.withLock { state in
            state.generation += 1
            var batch = Charges()
            for record in records where record.cost != .zero {
                state.unwritten.subtract(accountID: record.accountID, keyID: record.keyID, cost: record.cost)
                batch.add(accountID: record.accountID, keyID: record.keyID, cost: record.cost)
            }
            state.written.append((state.generation, batch))
        }
    }

    /// Balances were just read from the store by a reload that started at `generation`: the batches written up to
    /// then are in them.
    public func balancesReloaded(readAfter generation: Int) {
        state.withLock { state in state.written.removeAll { $0.generation <= generation } }
    }

    /// Charges the cached balance of an account does not include yet.
    public func pending(accountID: String) -> Picodollars {
        state.withLock { state in
            state.written.reduce(state.unwritten.byAccount[accountID] ?? .zero) { $0 + ($1.charges.byAccount[accountID] ?? .zero) }
        }
    }

    /// Reads every key's spend for all time, today and this month from `store` (its running totals) and replaces the
    /// tracked spend with it: a reload that started at `generation` (``load(total:day:month:readAfter:now:)``).
    public func reload(from store: any GatewayStore, readAfter generation: Int, now: Date) async throws {
        let total = try await store.spendByKey(in: .total, containing: now)
        let day = try await store.spendByKey(in: .day, containing: now)
        let month = try await store.spendByKey(in: .month, containing: now)
        load(total: total, day: day, month: month, readAfter: generation, now: now)
    }

    /// Replaces key spend with totals read from the store by a reload that started at `generation`.
    public func load(total: [String: Picodollars], day: [String: Picodollars], month: [String: Picodollars], readAfter generation: Int, now: Date) {
        let dayStart = BudgetPeriod.day.start(containing: now)
        let monthStart = BudgetPeriod.month.start(containing: now)
        state.withLock { state in
            // Charges the store's totals cannot include yet (queued, or written after the read began) stay counted;
            // they are recent, so they belong to the current day and month.
            var notInStore = state.unwritten.byKey
            for batch in state.written where batch.generation > generation {
                for (key, cost) in batch.charges.byKey { notInStore[key, default: .zero] = notInStore[key, default: .zero] + cost }
            }
            var keys: [String: KeySpend] = [:]
            for id in Set(total.keys).union(day.keys).union(month.keys).union(notInStore.keys) {
                let extra = notInStore[id] ?? .zero
                keys[id] = KeySpend(
                    total: (total[id] ?? .zero) + extra, day: (day[id] ?? .zero) + extra, dayStart: dayStart,
                    month: (month[id] ?? .zero) + extra, monthStart: monthStart
                )
            }
            state.keys = keys
        }
    }

    /// What a key has spent in its budget's current period.
    public func spent(keyID: String, period: BudgetPeriod, now: Date) -> Picodollars {
        state.withLock { state in
            guard var spend = state.keys[keyID] else { return .zero }
            Self.roll(&spend, to: now)
            switch period {
            case .total: return spend.total
            case .day: return spend.day
            case .month: return spend.month
            }
        }
    }

    /// Starts new day and month periods when `date` has moved past the current ones.
    private static func roll(_ spend: inout KeySpend, to date: Date) {
        let dayStart = BudgetPeriod.day.start(containing: date)
        // The same UTC day is the same month: the calendar is consulted only when the day moves.
        guard spend.dayStart != dayStart || spend.monthStart == nil else { return }
        if spend.dayStart != dayStart {
            spend.dayStart = dayStart
            spend.day = .zero
        }
        let monthStart = BudgetPeriod.month.start(containing: date)
        if spend.monthStart != monthStart {
            spend.monthStart = monthStart
            spend.month = .zero
        }
    }
}
