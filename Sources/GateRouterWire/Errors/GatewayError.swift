/// An error the gateway reports to a client, in OpenAI's envelope:
/// `{"error":{"message":…,"type":…,"param":…,"code":…}}`.
///
/// Every failure on the request path ends up as one of these; the HTTP layer renders it in one place.
/// Messages never carry API keys or upstream bodies beyond the upstream's own error message.
public struct GatewayError: Error, Sendable, Equatable, CustomStringConvertible {
    /// HTTP status code sent to the client.
    public var status: Int
    public var message: String
    /// OpenAI's `type` (`invalid_request_error`, `authentication_error`, `server_error`, …).
    public var type: String
    /// The request parameter at fault, when there is one.
    public var param: String?
    /// A stable machine-readable code (`model_not_found`, `invalid_api_key`, …).
    public var code: String?
    /// A `Retry-After` value to pass on to the client (upstream rate limits).
    public var retryAfter: String?
    /// Further response headers the error carries (`x-should-retry`, the gateway's own `x-ratelimit-*`).
    public var headers: [String: String] = [:]

    public init(
        status: Int, message: String, type: String, param: String? = nil, code: String? = nil, retryAfter: String? = nil,
        headers: [String: String] = [:]
    ) {
        self.headers = headers
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.retryAfter = retryAfter
    }

    public var description: String { "GatewayError(\(status), \(type), \(code ?? "-"))" }

    /// The JSON envelope, with all four keys present (`null` when unused), as OpenAI sends it.
    public var envelope: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(96 + message.utf8.count)
        out.append(contentsOf: #"{"error":{"message":"#.utf8)
        JSONString.append(message, to: &out)
        out.append(contentsOf: #","type":"#.utf8)
        JSONString.append(type, to: &out)
        out.append(contentsOf: #","param":"#.utf8)
        JSONString.appendOptional(param, to: &out)
        out.append(contentsOf: #","code":"#.utf8)
        JSONString.appendOptional(code, to: &out)
        out.append(contentsOf: "}}".utf8)
        return out
    }
}

extension GatewayError {
    // MARK: Client errors (4xx)

    /// The body is not valid JSON.
    public static func invalidJSON(_ detail: String) -> GatewayError {
        GatewayError(
            status: 400,
            message: "We could not parse the JSON body of your request: \(detail)",
            type: "invalid_request_error",
            code: "invalid_json"
        )
    }

    public static func missingParameter(_ param: String) -> GatewayError {
        GatewayError(
            status: 400,
            message: "Missing required parameter: '\(param)'.",
            type: "invalid_request_error",
            param: param,
            code: "missing_required_parameter"
        )
    }

    public static func invalidType(_ param: String, expected: String) -> GatewayError {
        GatewayError(
            status: 400,
            message: "Invalid type for '\(param)': expected \(expected).",
            type: "invalid_request_error",
            param: param,
            code: "invalid_type"
        )
    }

    public static func invalidValue(_ param: String, _ message: String) -> GatewayError {
        GatewayError(status: 400, message: message, type: "invalid_request_error", param: param, code: "invalid_value")
    }

    /// `unsupported parameter: <name>`, the message clients already search for.
    public static func unsupportedParameter(_ param: String) -> GatewayError {
        GatewayError(
            status: 400,
            message: "unsupported parameter: \(param)",
            type: "invalid_request_error",
            param: param,
            code: "unsupported_parameter"
        )
    }

    /// The model id names no catalog model and no configured provider (`provider routing is not configured`).
    public static func providerRoutingNotConfigured(model: String, detail: String) -> GatewayError {
        GatewayError(
            status: 400,
            message: "provider routing is not configured: \(detail)",
            type: "invalid_request_error",
            param: "model",
            code: "provider_not_configured"
        )
    }

    /// `model: "auto"` while the account has auto routing switched off (`auto routing is not enabled`).
    public static let autoRoutingNotEnabled = GatewayError(
        status: 400,
        message: "auto routing is not enabled for this account; turn it on in the console (Settings → Routing) or with PATCH /admin/v1/settings {\"auto_routing\": true}",
        type: "invalid_request_error",
        param: "model",
        code: "auto_routing_disabled"
    )

    public static let missingAPIKey = GatewayError(
        status: 401,
        message: "You didn't provide an API key. Send it as 'Authorization: Bearer <key>'.",
        type: "invalid_request_error",
        code: "invalid_api_key"
    )

    public static let invalidAPIKey = GatewayError(
        status: 401,
        message: "Incorrect API key provided.",
        type: "invalid_request_error",
        code: "invalid_api_key"
    )

    /// Any path the gateway does not serve (`404 page not found`).
    public static let pageNotFound = GatewayError(
        status: 404,
        message: "404 page not found",
        type: "invalid_request_error",
        code: "not_found"
    )

    public static let methodNotAllowed = GatewayError(
        status: 405,
        message: "405 method not allowed",
        type: "invalid_request_error",
        code: "method_not_allowed"
    )

    public static func modelNotFound(_ id: String) -> GatewayError {
        GatewayError(
            status: 404,
            message: "The model '\(id)' does not exist in this gateway's catalog.",
            type: "invalid_request_error",
            param: "model",
            code: "model_not_found"
        )
    }

    public static func requestTooLarge(limit: Int) -> GatewayError {
        GatewayError(
            status: 413,
            message: "Request body is larger than the gateway's limit of \(limit) bytes.",
            type: "invalid_request_error",
            code: "request_too_large"
        )
    }

    public static let adminUnauthorized = GatewayError(
        status: 401,
        message: "Incorrect admin token provided.",
        type: "invalid_request_error",
        code: "invalid_admin_token"
    )

    // MARK: Upstream and server errors (5xx)

    /// The upstream could not be reached (connection refused, TLS failure, connection reset).
    public static func upstreamUnavailable(provider: String) -> GatewayError {
        GatewayError(
            status: 502,
            message: "The upstream provider '\(provider)' could not be reached.",
            type: "upstream_error",
            code: "upstream_unavailable"
        )
    }

    public static func upstreamTimeout(provider: String) -> GatewayError {
        GatewayError(
            status: 504,
            message: "The upstream provider '\(provider)' did not answer in time.",
            type: "upstream_error",
            code: "upstream_timeout"
        )
    }

    /// The upstream answered with something that is not a valid chat completion.
    public static func upstreamInvalidResponse(provider: String) -> GatewayError {
        GatewayError(
            status: 502,
            message: "The upstream provider '\(provider)' returned a response the gateway could not read.",
            type: "upstream_error",
            code: "upstream_invalid_response"
        )
    }

    public static let internalError = GatewayError(
        status: 500,
        message: "The gateway had an internal error while processing your request.",
        type: "server_error"
    )
}
