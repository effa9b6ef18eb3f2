import Foundation

/// A key's spend in one budget period: all time, one UTC day or one UTC month.
///
/// The stores keep one running total per key and period (the `key_spend` table), added to in the transaction that
/// stores the ledger records, so reading what keys have spent is a look-up of a few rows. Summing the ledger instead
/// grew with it: at two million records the three sums a reload needs took about 2 s of CPU, every 10 s.
public struct KeySpendPeriod: Hashable, Sendable {
    public var keyID: String
    public var period: BudgetPeriod
    /// The period's start in Unix milliseconds; 0 for `total`.
    public var startMs: Int64

    public init(keyID: String, period: BudgetPeriod, startMs: Int64) {
        self.keyID = keyID
        self.period = period
        self.startMs = startMs
    }

    /// The start, in Unix milliseconds (rounded down, as ledger times are stored), of the `period` containing
    /// `date`; 0 for `total`.
    public static func startMs(of period: BudgetPeriod, containing date: Date) -> Int64 {
        guard let start = period.start(containing: date) else { return 0 }
        return LedgerRecord.milliseconds(start)
    }
}

/// What one ledger batch adds to the running totals: each new record's cost, in its key's total, day and month.
public struct KeySpendIncrements: Sendable {
    private var amounts: [KeySpendPeriod: Picodollars] = [:]
    /// Month starts by day start: a batch's records share a day or two, and the calendar is slow next to a look-up.
    private var monthStarts: [Int64: Int64] = [:]

    public init() {}

    /// Counts a stored record created at `created` (ignored when it cost nothing).
    public mutating func add(keyID: String, created: Date, cost: Picodollars) {
        guard cost != .zero else { return }
        let dayStart = KeySpendPeriod.startMs(of: .day, containing: created)
        let monthStart: Int64
        if let known = monthStarts[dayStart] {
            monthStart = known
        } else {
            monthStart = KeySpendPeriod.startMs(of: .month, containing: created)
            monthStarts[dayStart] = monthStart
        }
        amounts[KeySpendPeriod(keyID: keyID, period: .total, startMs: 0), default: .zero] += cost
        amounts[KeySpendPeriod(keyID: keyID, period: .day, startMs: dayStart), default: .zero] += cost
        amounts[KeySpendPeriod(keyID: keyID, period: .month, startMs: monthStart), default: .zero] += cost
    }

    /// The amounts in one fixed order (key, period, start), so that two processes adding to the same rows take
    /// their locks in the same order and cannot deadlock.
    public var ordered: [(KeySpendPeriod, Picodollars)] {
        amounts.sorted { a, b in
            if a.key.keyID != b.key.keyID { return a.key.keyID < b.key.keyID }
            if a.key.period != b.key.period { return a.key.period.rawValue < b.key.period.rawValue }
            return a.key.startMs < b.key.startMs
        }.filter { $0.1 != .zero }
    }
}
