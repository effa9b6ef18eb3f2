import Foundation
import Synchronization

/// Per-key requests-per-minute and tokens-per-minute limits over fixed one-minute windows (aligned to the Unix
/// minute, so every instance agrees on them), decided in memory.
///
/// Several gateway instances share a key's limit through the store: every ``syncInterval`` each publishes its counts
/// and learns the others' (``RateExchange``). Between two exchanges an instance may use at most its share of what was
/// left, `ceil(remaining / instances)`, so together they cannot pass the limit by more than one request per
/// instance however fast requests arrive, and an idle instance's share returns to the busy ones at the next exchange.
public final class RateLimiter: Sendable {
    public struct Decision: Sendable, Equatable {
        public var allowed: Bool
        /// Why it was refused: `requests` or `tokens`.
        public var exceeded: String?
        public var requestLimit: Int?
        public var remainingRequests: Int?
        public var tokenLimit: Int?
        public var remainingTokens: Int?
        /// Seconds until the window resets (and a refused request may retry).
        public var resetSeconds: Int
    }

    struct KeyWindow {
        var window: Int64
        /// Used by this instance in the window, in all.
        var localRequests = 0
        var localTokens = 0
        /// Used by this instance since the last exchange.
        var sinceSyncRequests = 0
        var sinceSyncTokens = 0
        /// What the other instances had used at the last exchange.
        var remote = RateCount()
        var instances = 1
        /// Limits seen at the last request (what the exchange computes shares from).
        var requestLimit: Int?
        var tokenLimit: Int?
    }

    private let windows = Mutex([String: KeyWindow]())

    public init() {}

    public static func window(containing date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970.rounded(.down)) / 60 * 60
    }

    /// Counts one request against `keyID` when its limits allow it.
    public func admit(keyID: String, limits: KeyLimits, now: Date = Date()) -> Decision {
        let window = Self.window(containing: now)
        let reset = max(1, Int(Double(window + 60) - now.timeIntervalSince1970.rounded(.up)))
        guard limits.requestsPerMinute != nil || limits.tokensPerMinute != nil else {
            return Decision(allowed: true, resetSeconds: reset)
        }
        return windows.withLock { windows in
            var entry = windows[keyID].flatMap { $0.window == window ? $0 : nil } ?? KeyWindow(window: window)
            entry.requestLimit = limits.requestsPerMinute
            entry.tokenLimit = limits.tokensPerMinute
            var decision = Decision(allowed: true, requestLimit: limits.requestsPerMinute, tokenLimit: limits.tokensPerMinute, resetSeconds: reset)
            if let limit = limits.requestsPerMinute {
                let used = entry.localRequests + entry.remote.requests
                if used >= limit || entry.sinceSyncRequests >= Self.share(limit - (used - entry.sinceSyncRequests), entry.instances) {
                    decision.allowed = false
                    decision.exceeded = "requests"
                }
                decision.remainingRequests = max(0, limit - used - (decision.allowed ? 1 : 0))
            }
            if let limit = limits.tokensPerMinute {
                let used = entry.localTokens + entry.remote.tokens
                if decision.allowed, used >= limit || entry.sinceSyncTokens >= Self.share(limit - (used - entry.sinceSyncTokens), entry.instances) {
                    decision.allowed = false
                    decision.exceeded = "tokens"
                }
                decision.remainingTokens = max(0, limit - used)
            }
            if decision.allowed {
                entry.localRequests += 1
                entry.sinceSyncRequests += 1
            }
            windows[keyID] = entry
            return decision
        }
    }

    /// Counts the tokens an admitted request used, once they are known.
    public func record(tokens: Int, keyID: String, at date: Date = Date()) {
        guard tokens > 0 else { return }
        let window = Self.window(containing: date)
        windows.withLock { windows in
            guard var entry = windows[keyID], entry.window == window else { return }
            entry.localTokens += tokens
            entry.sinceSyncTokens += tokens
            windows[keyID] = entry
        }
    }

    /// This instance's counts in `window`, for keys that have a limit, to publish.
    public func localCounts(window: Int64) -> [String: RateCount] {
        windows.withLock { windows in
            var counts: [String: RateCount] = [:]
            for (key, entry) in windows where entry.window == window {
                counts[key] = RateCount(requests: entry.localRequests, tokens: entry.localTokens)
            }
            return counts
        }
    }

    /// Takes in the other instances' counts for `window`; each instance's share between exchanges restarts.
    public func apply(_ exchange: RateExchange, window: Int64) {
        windows.withLock { windows in
            for key in Set(windows.keys).union(exchange.others.keys) {
                var entry = windows[key].flatMap { $0.window == window ? $0 : nil } ?? KeyWindow(window: window)
                entry.remote = exchange.others[key] ?? RateCount()
                entry.instances = max(1, exchange.instances)
                entry.sinceSyncRequests = 0
                entry.sinceSyncTokens = 0
                windows[key] = entry
            }
            windows = windows.filter { $0.value.window >= window }
        }
    }

    /// An instance's share of `remaining` until the next exchange; alone, all of it.
    static func share(_ remaining: Int, _ instances: Int) -> Int {
        guard instances > 1 else { return Int.max }
        guard remaining > 0 else { return 0 }
        return (remaining + instances - 1) / instances
    }
}
