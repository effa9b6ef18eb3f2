import Foundation
import Synchronization

/// Spend the request path checks before calling upstream, kept in memory: each account's charges not yet written
/// to the store, and each key's spend per budget period.
///
/// A charge is counted here when its ledger record is queued, before the store has it, so budgets and balances see
/// it at once. The account's stored balance (in ``AuthCache``) moves when the batch is written.
public final class SpendTracker: Sendable {
    struct KeySpend {
        var total: Picodollars = .zero
        var day: Picodollars = .zero
        var dayStart: Date?
        var month: Picodollars = .zero
        var monthStart: Date?
    }

    private struct State {
        var pendingByAccount: [String: Picodollars] = [:]
        var pendingByKey: [String: Picodollars] = [:]
        var keys: [String: KeySpend] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Replaces key spend with totals read from the store (start-up, or to pick up other instances' spending).
    public func load(total: [String: Picodollars], day: [String: Picodollars], month: [String: Picodollars], now: Date) {
        let dayStart = BudgetPeriod.day.start(containing: now)
        let monthStart = BudgetPeriod.month.start(containing: now)
        state.withLock { state in
            var keys: [String: KeySpend] = [:]
            for id in Set(total.keys).union(day.keys).union(month.keys).union(state.pendingByKey.keys) {
                // Charges queued but not yet stored are not in the store's totals: keep them counted (they are recent,
                // so they belong to the current day and month).
                let pending = state.pendingByKey[id] ?? .zero
                keys[id] = KeySpend(
                    total: (total[id] ?? .zero) + pending, day: (day[id] ?? .zero) + pending, dayStart: dayStart,
                    month: (month[id] ?? .zero) + pending, monthStart: monthStart
                )
            }
            state.keys = keys
        }
    }

    /// Counts a queued record's cost against its account and key.
    public func charge(accountID: String, keyID: String, cost: Picodollars, at date: Date) {
        guard cost != .zero else { return }
        state.withLock { state in
            state.pendingByAccount[accountID, default: .zero] = state.pendingByAccount[accountID, default: .zero] + cost
            state.pendingByKey[keyID, default: .zero] = state.pendingByKey[keyID, default: .zero] + cost
            var spend = state.keys[keyID] ?? KeySpend()
            Self.roll(&spend, to: date)
            spend.total = spend.total + cost
            spend.day = spend.day + cost
            spend.month = spend.month + cost
            state.keys[keyID] = spend
        }
    }

    /// The store has taken these charges from the accounts' balances: they are no longer pending.
    public func settle(_ records: [LedgerRecord]) {
        state.withLock { state in
            for record in records where record.cost != .zero {
                let account = state.pendingByAccount[record.accountID, default: .zero] - record.cost
                state.pendingByAccount[record.accountID] = account == .zero ? nil : account
                let key = state.pendingByKey[record.keyID, default: .zero] - record.cost
                state.pendingByKey[record.keyID] = key == .zero ? nil : key
            }
        }
    }

    /// Charges queued for an account and not yet in its stored balance.
    public func pending(accountID: String) -> Picodollars {
        state.withLock { $0.pendingByAccount[accountID] ?? .zero }
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
