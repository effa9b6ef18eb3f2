/// Errors about the caller's account and key: quota, budgets, rate limits, scopes.
extension GatewayError {
    /// A prepaid account with no credit left (OpenAI's `insufficient_quota`, which clients know not to retry).
    public static let insufficientBalance = GatewayError(
        status: 429,
        message: "You exceeded your current quota: this account has no credit left. Add credits to continue.",
        type: "insufficient_quota",
        code: "insufficient_quota",
        headers: ["x-should-retry": "false"]
    )

    /// A key that has spent its budget for the period.
    public static func keyBudgetExceeded(period: String) -> GatewayError {
        GatewayError(
            status: 429,
            message: "You exceeded your current quota: this API key has spent its \(period == "day" ? "daily " : period == "month" ? "monthly " : "")budget.",
            type: "insufficient_quota",
            code: "insufficient_quota",
            headers: ["x-should-retry": "false"]
        )
    }

    /// A key over its requests- or tokens-per-minute limit.
    public static func rateLimited(_ what: String, limit: Int, retryAfterSeconds: Int, headers: [String: String]) -> GatewayError {
        GatewayError(
            status: 429,
            message: "Rate limit reached for this API key: \(limit) \(what) per minute. Retry in \(retryAfterSeconds) s.",
            type: "requests",
            code: "rate_limit_exceeded",
            retryAfter: String(retryAfterSeconds),
            headers: headers
        )
    }

    public static let accountSuspended = GatewayError(
        status: 403,
        message: "This account is suspended. Contact the gateway's operator.",
        type: "invalid_request_error",
        code: "account_suspended"
    )

    public static let expiredAPIKey = GatewayError(
        status: 401,
        message: "This API key has expired.",
        type: "invalid_request_error",
        code: "expired_api_key"
    )

    public static func modelNotAllowed(_ model: String) -> GatewayError {
        GatewayError(
            status: 403,
            message: "This API key may not use the model '\(model)'.",
            type: "invalid_request_error",
            param: "model",
            code: "model_not_allowed"
        )
    }

    /// A read-only (`inference`) key calling a management endpoint.
    public static let insufficientScope = GatewayError(
        status: 403,
        message: "This API key has the 'inference' scope; managing keys and settings needs a 'manage' key or the admin token.",
        type: "invalid_request_error",
        code: "insufficient_scope"
    )

    public static func notFound(_ what: String, id: String) -> GatewayError {
        GatewayError(status: 404, message: "No \(what) with id '\(id)'.", type: "invalid_request_error", code: "not_found")
    }
}

extension GatewayError {
    /// A console session (cookie) made a state-changing call without the page's CSRF token.
    public static let csrfTokenInvalid = GatewayError(
        status: 403,
        message: "Missing or invalid CSRF token: console calls that change something must send the page's X-CSRF-Token header.",
        type: "invalid_request_error",
        code: "csrf_token_invalid"
    )

    /// A console page or call that only the admin (signed in with the admin token) may use.
    public static let adminOnly = GatewayError(
        status: 403,
        message: "This page is for the gateway's admin; sign in with the admin token.",
        type: "invalid_request_error",
        code: "admin_only"
    )
}
