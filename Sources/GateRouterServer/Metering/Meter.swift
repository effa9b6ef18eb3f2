import Foundation
import GateRouterCatalog
import GateRouterProviders
import GateRouterStorage
import GateRouterWire

/// Admission and metering for model calls: what is checked before the upstream call (suspension, allowed models,
/// balance, budget, rate limits — all from memory) and the one ledger record written after it.
public struct Meter: Sendable {
    public let recorder: UsageRecorder
    public let spend: SpendTracker
    public let rateLimiter: RateLimiter
    public let authCache: AuthCache

    public init(recorder: UsageRecorder, spend: SpendTracker, rateLimiter: RateLimiter, authCache: AuthCache) {
        self.recorder = recorder
        self.spend = spend
        self.rateLimiter = rateLimiter
        self.authCache = authCache
    }

    /// Checks the account's balance and the key's budget and rate limits; on success the request is counted against
    /// the limits and the returned headers (`x-ratelimit-*`) go on the response.
    func admit(_ identity: AuthCache.Identity, now: Date = Date()) throws(GatewayError) -> [String: String] {
        let account = authCache.account(identity.account.id) ?? identity.account
        if account.suspended { throw .accountSuspended }
        if account.prepaid, account.balance - spend.pending(accountID: account.id) <= .zero { throw .insufficientBalance }
        let limits = identity.key.limits
        if let budget = limits.budget, spend.spent(keyID: identity.key.id, period: limits.budgetPeriod, now: now) >= budget {
            throw .keyBudgetExceeded(period: limits.budgetPeriod.rawValue)
        }
        let decision = rateLimiter.admit(keyID: identity.key.id, limits: limits, now: now)
        let headers = Self.rateLimitHeaders(decision)
        if !decision.allowed {
            let isTokens = decision.exceeded == "tokens"
            throw .rateLimited(
                isTokens ? "tokens" : "requests", limit: (isTokens ? decision.tokenLimit : decision.requestLimit) ?? 0,
                retryAfterSeconds: decision.resetSeconds, headers: headers
            )
        }
        return headers
    }

    /// The gateway's own rate-limit headers, in OpenAI's names; never an upstream's (which would show one tenant's
    /// view of the shared upstream account to another).
    static func rateLimitHeaders(_ decision: RateLimiter.Decision) -> [String: String] {
        var headers: [String: String] = [:]
        if let limit = decision.requestLimit {
            headers["x-ratelimit-limit-requests"] = String(limit)
            headers["x-ratelimit-remaining-requests"] = String(decision.remainingRequests ?? 0)
            headers["x-ratelimit-reset-requests"] = "\(decision.resetSeconds)s"
        }
        if let limit = decision.tokenLimit {
            headers["x-ratelimit-limit-tokens"] = String(limit)
            headers["x-ratelimit-remaining-tokens"] = String(decision.remainingTokens ?? 0)
            headers["x-ratelimit-reset-tokens"] = "\(decision.resetSeconds)s"
        }
        return headers
    }

    /// The cost of `usage` on `target`'s catalog prices (zero for uncatalogued passthrough models).
    static func cost(of usage: Usage, target: UpstreamTarget?) -> Picodollars {
        guard let pricing = target?.catalogModel?.pricing else { return .zero }
        return CostCalculator.cost(of: usage, pricing: pricing)
    }
}
