import Foundation
import Synchronization

/// Per-key requests-per-minute and tokens-per-minute limits over fixed one-minute windows (aligned to the Unix
/// minute, so every instance agrees on them), decided in memory.
///
/// Alone, an instance counts exactly. When several gateway instances share a database, each may use only what the
/// store granted it at its last exchange (every 100 ms, see ``RateGrants``): grants never add up past a limit, so the
/// instances together never admit more than it. Grants for the next window are taken shortly before it starts, so a
/// new minute does not begin with refusals.
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
        var requests = 0
        var tokens = 0
        /// What the last exchange allowed this instance to have used in `window`; nil before the first.
        var grant: RateCount?
        /// When that grant was given: an instance that cannot reach the store stops using it after a second, before
        /// the others (which wait two seconds) consider it gone and take its share.
        var grantedAt: Date?
        /// A grant already taken for the window after `window`.
        var nextGrant: RateCount?

        mutating func roll(to window: Int64) {
            guard window != self.window else { return }
            let carried = window == self.window + 60 ? nextGrant : nil
            let at = carried == nil ? nil : grantedAt
            self = KeyWindow(window: window, grant: carried, grantedAt: at)
        }
    }

    private struct State {
        var keys: [String: KeyWindow] = [:]
        /// Instances sharing the store at the last exchange.
        var instances = 1
    }

    private let state = Mutex(State())

    public init() {}

    public static func window(containing date: Date) -> Int64 {
        Int64(date.timeIntervalSince1970.rounded(.down)) / 60 * 60
    }

    /// Counts one request against `keyID` when its limits allow it.
    public func admit(keyID: String, limits: KeyLimits, now: Date = Date()) -> Decision {
        let window = Self.window(containing: now)
        let reset = max(1, Int((Double(window + 60) - now.timeIntervalSince1970).rounded(.up)))
        guard limits.requestsPerMinute != nil || limits.tokensPerMinute != nil else {
            return Decision(allowed: true, resetSeconds: reset)
        }
        return state.withLock { state in
            var entry = state.keys[keyID] ?? KeyWindow(window: window)
            entry.roll(to: window)
            // Shared: what was granted (nothing before the first exchange). Alone: the limit itself.
            let shared = state.instances > 1
            if shared, let at = entry.grantedAt, now.timeIntervalSince(at) > 1 { entry.grant = RateCount(requests: entry.requests, tokens: entry.tokens) }
            var decision = Decision(allowed: true, requestLimit: limits.requestsPerMinute, tokenLimit: limits.tokensPerMinute, resetSeconds: reset)
            if let limit = limits.requestsPerMinute {
                // Before its first grant a key may take one request per instance: the exchange that follows (within
                // a tenth of a second) brings the grant.
                let allowance = shared ? min(limit, entry.grant?.requests ?? 1) : limit
                if entry.requests >= allowance {
                    decision.allowed = false
                    decision.exceeded = "requests"
                }
                decision.remainingRequests = max(0, limit - entry.requests - (decision.allowed ? 1 : 0))
            }
            if let limit = limits.tokensPerMinute {
                let allowance = shared ? min(limit, entry.grant?.tokens ?? limit) : limit
                if decision.allowed, entry.tokens >= allowance {
                    decision.allowed = false
                    decision.exceeded = "tokens"
                }
                decision.remainingTokens = max(0, limit - entry.tokens)
            }
            if decision.allowed { entry.requests += 1 }
            state.keys[keyID] = entry
            return decision
        }
    }

    /// Counts the tokens an admitted request used, once they are known.
    public func record(tokens: Int, keyID: String, at date: Date = Date()) {
        guard tokens > 0 else { return }
        let window = Self.window(containing: date)
        state.withLock { state in
            guard var entry = state.keys[keyID], entry.window == window else { return }
            entry.tokens += tokens
            state.keys[keyID] = entry
        }
    }

    /// This instance's use in `window` of the rate-limited keys it has seen lately (`limits` gives each key's
    /// limits), to exchange; keys it has not seen need no grant here.
    public func usage(window: Int64, limits: (String) -> KeyLimits?) -> [String: RateUsage] {
        state.withLock { state in
            var usage: [String: RateUsage] = [:]
            for key in state.keys.keys {
                guard let limit = limits(key), limit.requestsPerMinute != nil || limit.tokensPerMinute != nil else { continue }
                let entry = state.keys[key].flatMap { $0.window == window ? $0 : nil }
                usage[key] = RateUsage(
                    used: RateCount(requests: entry?.requests ?? 0, tokens: entry?.tokens ?? 0),
                    limit: RateCount(requests: limit.requestsPerMinute ?? RateCount.unlimited.requests, tokens: limit.tokensPerMinute ?? RateCount.unlimited.tokens)
                )
            }
            return usage
        }
    }

    /// Takes in an exchange's grants for `window` (the current window, or the next one).
    ///
    /// `requestedAt` is when the exchange began, not when its answer arrived: the store counts this instance as alive
    /// from the moment it was seen, so a slow answer must not stretch the second for which its grant may be used.
    public func apply(_ exchange: RateExchange, window: Int64, requestedAt: Date, now: Date = Date()) {
        let current = Self.window(containing: now)
        state.withLock { state in
            state.instances = max(1, exchange.instances)
            for (key, grant) in exchange.grants {
                var entry = state.keys[key] ?? KeyWindow(window: current)
                entry.roll(to: current)
                if window == current {
                    entry.grant = grant
                    entry.grantedAt = requestedAt
                } else if window == current + 60 {
                    entry.nextGrant = grant
                    entry.grantedAt = requestedAt
                }
                state.keys[key] = entry
            }
            state.keys = state.keys.filter { $0.value.window >= current }
        }
    }
}
