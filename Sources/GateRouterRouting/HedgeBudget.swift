import Synchronization

/// How many hedged (duplicate) upstream requests each account has left: at most `percent`% of its requests since the
/// gateway started, so hedging can never multiply an account's traffic beyond what it allowed.
public final class HedgeBudget: Sendable {
    struct Counts {
        var requests = 0
        var hedges = 0
    }

    private let counts = Mutex<[String: Counts]>([:])

    public init() {}

    /// Counts one client request that hedging could apply to.
    public func countRequest(account: String) {
        counts.withLock { $0[account, default: Counts()].requests += 1 }
    }

    /// Takes one hedge from the account's budget, if `percent` of its requests leaves room for it.
    public func takeHedge(account: String, percent: Int) -> Bool {
        guard percent > 0 else { return false }
        return counts.withLock { counts in
            var entry = counts[account, default: Counts()]
            guard (entry.hedges + 1) * 100 <= entry.requests * percent else { return false }
            entry.hedges += 1
            counts[account] = entry
            return true
        }
    }

    public func hedges(account: String) -> Int {
        counts.withLock { $0[account]?.hedges ?? 0 }
    }
}
