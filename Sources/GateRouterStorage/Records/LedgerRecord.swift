import Foundation

/// One client request as billed: exactly one record per request, whatever happened to it (answered, failed,
/// streamed, cancelled by the client, hedged). Fallback and hedge attempts are listed inside it.
public struct LedgerRecord: Sendable, Equatable, Codable {
    /// The request id (`req_…`); unique, so a batch written twice is stored once.
    public var id: String
    public var created: Date
    public var accountID: String
    public var keyID: String
    public var requestedModel: String
    /// The catalog model that answered (or was last tried), and its provider.
    public var model: String?
    public var provider: String?
    public var upstreamModel: String?
    /// Upstream attempts made, fallbacks and hedges included.
    public var attempts: [Attempt]
    /// Auto routing's decision and its reasons (choice, runner-up, scores), as shown in the console's logs.
    public var route: String?
    public var tier: String?
    public var promptTokens: Int
    public var completionTokens: Int
    public var cachedTokens: Int
    public var cacheWriteTokens: Int
    public var reasoningTokens: Int
    public var cost: Picodollars
    /// The effective date of the catalog price the cost was computed from, so a later price change does not rewrite
    /// what was charged.
    public var priceDate: String?
    public var latencyMs: Int
    public var ttftMs: Int?
    /// The HTTP status the client saw (200 for a stream that started, even if it later failed in-band).
    public var status: Int
    public var error: String?
    public var stream: Bool
    /// Tokens were counted by the gateway because the upstream reported none (or the client left before it did).
    public var estimated: Bool
    /// The client went away before the response was complete.
    public var cancelled: Bool

    public struct Attempt: Sendable, Equatable, Codable {
        public var model: String
        public var provider: String
        /// `ok`, or why it did not answer (`rate_limit_exceeded`, `timeout`, `lost_hedge`…).
        public var outcome: String
        public init(model: String, provider: String, outcome: String) {
            self.model = model
            self.provider = provider
            self.outcome = outcome
        }
    }

    public init(
        id: String, created: Date, accountID: String, keyID: String, requestedModel: String, model: String? = nil, provider: String? = nil,
        upstreamModel: String? = nil, attempts: [Attempt] = [], route: String? = nil, tier: String? = nil, promptTokens: Int = 0,
        completionTokens: Int = 0, cachedTokens: Int = 0, cacheWriteTokens: Int = 0, reasoningTokens: Int = 0, cost: Picodollars = .zero,
        priceDate: String? = nil, latencyMs: Int = 0, ttftMs: Int? = nil, status: Int = 200, error: String? = nil, stream: Bool = false,
        estimated: Bool = false, cancelled: Bool = false
    ) {
        self.id = id
        self.created = created
        self.accountID = accountID
        self.keyID = keyID
        self.requestedModel = requestedModel
        self.model = model
        self.provider = provider
        self.upstreamModel = upstreamModel
        self.attempts = attempts
        self.route = route
        self.tier = tier
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.reasoningTokens = reasoningTokens
        self.cost = cost
        self.priceDate = priceDate
        self.latencyMs = latencyMs
        self.ttftMs = ttftMs
        self.status = status
        self.error = error
        self.stream = stream
        self.estimated = estimated
        self.cancelled = cancelled
    }

    public var totalTokens: Int { promptTokens + completionTokens }
}

/// Which ledger records a usage query reads. Records come newest first; `cursor` is the last record of the previous
/// page (its `created` and `id`), so pages stay stable while new records arrive.
public struct UsageQuery: Sendable, Equatable {
    public var accountID: String?
    public var keyID: String?
    public var from: Date?
    public var to: Date?
    public var model: String?
    public var status: Int?
    public var limit: Int
    public var cursor: Cursor?

    public struct Cursor: Sendable, Equatable {
        public var created: Date
        public var id: String
        public init(created: Date, id: String) {
            self.created = created
            self.id = id
        }
    }

    /// A `from`/`to` bound as people write it: Unix seconds, an ISO 8601 date (`2026-11-25`, midnight UTC) or date-time
    /// (`2026-11-25T10:00:00Z`); nil when it is none of those. Shared by the usage API and the CLI.
    public static func time(parsing text: String) -> Date? {
        if let seconds = Double(text) { return Date(timeIntervalSince1970: seconds) }
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withFullDate]
        return formatter.date(from: text)
    }

    public init(accountID: String? = nil, keyID: String? = nil, from: Date? = nil, to: Date? = nil, model: String? = nil, status: Int? = nil, limit: Int = 100, cursor: Cursor? = nil) {
        self.accountID = accountID
        self.keyID = keyID
        self.from = from
        self.to = to
        self.model = model
        self.status = status
        self.limit = limit
        self.cursor = cursor
    }
}

/// Totals of ledger records sharing a group value (a UTC hour `YYYY-MM-DDTHH` or day `YYYY-MM-DD`, a model id or a key id).
public struct UsageGroup: Sendable, Equatable, Codable {
    public var group: String
    public var requests: Int
    public var errors: Int
    public var promptTokens: Int
    public var completionTokens: Int
    public var cachedTokens: Int
    public var cost: Picodollars

    public init(group: String, requests: Int = 0, errors: Int = 0, promptTokens: Int = 0, completionTokens: Int = 0, cachedTokens: Int = 0, cost: Picodollars = .zero) {
        self.group = group
        self.requests = requests
        self.errors = errors
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.cachedTokens = cachedTokens
        self.cost = cost
    }

    public mutating func add(_ record: LedgerRecord) {
        requests += 1
        if record.status >= 400 || record.error != nil { errors += 1 }
        promptTokens += record.promptTokens
        completionTokens += record.completionTokens
        cachedTokens += record.cachedTokens
        cost = cost + record.cost
    }
}

public enum UsageGrouping: String, Sendable, CaseIterable {
    /// A UTC hour, `YYYY-MM-DDTHH`.
    case hour
    case day, model, key
}

/// One answered request's model and timings, for latency percentiles.
public struct LatencySample: Sendable, Equatable {
    /// The model that answered (the requested one when none did).
    public var model: String
    public var status: Int
    public var latencyMs: Int
    public var ttftMs: Int?
    public init(model: String, status: Int, latencyMs: Int, ttftMs: Int?) {
        self.model = model
        self.status = status
        self.latencyMs = latencyMs
        self.ttftMs = ttftMs
    }
}

extension LedgerRecord {
    /// How both stores keep ledger times (and how cursors and spend periods compare with them): whole Unix
    /// milliseconds, rounded down.
    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
    }
}
