import Foundation
import GateRouterStorage
import Hummingbird
import NIOCore

/// The JSON shapes of the admin (`/admin/v1`) and account (`/api/v1`) APIs. Money is a USD decimal string, times
/// are Unix seconds, as in OpenAI's API.
struct AccountView: Encodable {
    var object = "account"
    var id: String
    var name: String
    var prepaid: Bool
    /// The balance, or nil for unlimited accounts.
    var balance: String?
    var suspended: Bool
    var autoRouting: Bool
    var created: Int

    init(_ account: Account, pending: Picodollars) {
        id = account.id
        name = account.name
        prepaid = account.prepaid
        balance = account.prepaid ? (account.balance - pending).usd : nil
        suspended = account.suspended
        autoRouting = account.autoRouting
        created = Int(account.createdAt.timeIntervalSince1970)
    }

    enum CodingKeys: String, CodingKey {
        case object, id, name, prepaid, balance, suspended, created
        case autoRouting = "auto_routing"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(object, forKey: .object)
        try container.encode(id, forKey: .id)
        try container.encode(name, forKey: .name)
        try container.encode(prepaid, forKey: .prepaid)
        try container.encode(balance, forKey: .balance)  // null for unlimited accounts, not absent
        try container.encode(suspended, forKey: .suspended)
        try container.encode(autoRouting, forKey: .autoRouting)
        try container.encode(created, forKey: .created)
    }
}

struct KeyView: Encodable {
    var object = "api_key"
    var id: String
    var name: String
    var accountID: String
    var displayPrefix: String
    var scope: String
    var limits: KeyLimits
    /// Spend in the budget's current period.
    var spent: String
    var created: Int
    var lastUsed: Int?
    var expires: Int?
    var revoked: Bool
    /// The secret: only in the response that created the key.
    var key: String?

    init(_ record: APIKeyRecord, spent: Picodollars, secret: String? = nil) {
        id = record.id
        name = record.name
        accountID = record.accountID
        displayPrefix = record.displayPrefix
        scope = record.scope.rawValue
        limits = record.limits
        self.spent = spent.usd
        created = Int(record.createdAt.timeIntervalSince1970)
        lastUsed = record.lastUsedAt.map { Int($0.timeIntervalSince1970) }
        expires = record.expiresAt.map { Int($0.timeIntervalSince1970) }
        revoked = record.revoked
        key = secret
    }

    enum CodingKeys: String, CodingKey {
        case object, id, name, scope, limits, spent, created, expires, revoked, key
        case accountID = "account_id"
        case displayPrefix = "display_prefix"
        case lastUsed = "last_used"
    }
}

struct LedgerView: Encodable {
    var object = "usage_record"
    var record: LedgerRecord

    enum CodingKeys: String, CodingKey {
        case object, id, created, model, provider, attempts, route, tier, status, error, stream, estimated, cancelled, cost
        case accountID = "account_id"
        case keyID = "key_id"
        case requestedModel = "requested_model"
        case upstreamModel = "upstream_model"
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case cachedTokens = "cached_tokens"
        case cacheWriteTokens = "cache_write_tokens"
        case reasoningTokens = "reasoning_tokens"
        case totalTokens = "total_tokens"
        case priceDate = "price_date"
        case latencyMs = "latency_ms"
        case ttftMs = "ttft_ms"
    }

    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(object, forKey: .object)
        try c.encode(record.id, forKey: .id)
        try c.encode(Int(record.created.timeIntervalSince1970), forKey: .created)
        try c.encode(record.accountID, forKey: .accountID)
        try c.encode(record.keyID, forKey: .keyID)
        try c.encode(record.requestedModel, forKey: .requestedModel)
        try c.encode(record.model, forKey: .model)
        try c.encode(record.provider, forKey: .provider)
        try c.encode(record.upstreamModel, forKey: .upstreamModel)
        try c.encode(record.attempts.count, forKey: .attempts)
        try c.encode(record.route, forKey: .route)
        try c.encode(record.tier, forKey: .tier)
        try c.encode(record.promptTokens, forKey: .promptTokens)
        try c.encode(record.completionTokens, forKey: .completionTokens)
        try c.encode(record.cachedTokens, forKey: .cachedTokens)
        try c.encode(record.cacheWriteTokens, forKey: .cacheWriteTokens)
        try c.encode(record.reasoningTokens, forKey: .reasoningTokens)
        try c.encode(record.totalTokens, forKey: .totalTokens)
        try c.encode(record.cost.usd, forKey: .cost)
        try c.encode(record.priceDate, forKey: .priceDate)
        try c.encode(record.latencyMs, forKey: .latencyMs)
        try c.encode(record.ttftMs, forKey: .ttftMs)
        try c.encode(record.status, forKey: .status)
        try c.encode(record.error, forKey: .error)
        try c.encode(record.stream, forKey: .stream)
        try c.encode(record.estimated, forKey: .estimated)
        try c.encode(record.cancelled, forKey: .cancelled)
    }

    static let csvColumns = [
        "id", "created", "account_id", "key_id", "requested_model", "model", "provider", "prompt_tokens", "completion_tokens", "cached_tokens",
        "reasoning_tokens", "cost", "status", "stream", "estimated", "cancelled", "attempts", "latency_ms", "ttft_ms", "error",
    ]

    var csvRow: [String] {
        [
            record.id, String(Int(record.created.timeIntervalSince1970)), record.accountID, record.keyID, record.requestedModel, record.model ?? "",
            record.provider ?? "", String(record.promptTokens), String(record.completionTokens), String(record.cachedTokens),
            String(record.reasoningTokens), record.cost.usd, String(record.status), String(record.stream), String(record.estimated),
            String(record.cancelled), String(record.attempts.count), String(record.latencyMs), record.ttftMs.map(String.init) ?? "", record.error ?? "",
        ]
    }
}

struct UsageGroupView: Encodable {
    var group: String
    var requests: Int
    var errors: Int
    var promptTokens: Int
    var completionTokens: Int
    var cachedTokens: Int
    var cost: String

    init(_ group: UsageGroup) {
        self.group = group.group
        requests = group.requests
        errors = group.errors
        promptTokens = group.promptTokens
        completionTokens = group.completionTokens
        cachedTokens = group.cachedTokens
        cost = group.cost.usd
    }

    enum CodingKeys: String, CodingKey {
        case group, requests, errors, cost
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case cachedTokens = "cached_tokens"
    }
}

struct ListView<Item: Encodable>: Encodable {
    var object = "list"
    var data: [Item]
    var hasMore: Bool?
    var nextCursor: String?

    enum CodingKeys: String, CodingKey {
        case object, data
        case hasMore = "has_more"
        case nextCursor = "next_cursor"
    }
}

public enum CSV {
    /// One RFC 4180 line: fields quoted as ``field(_:)`` says, CRLF-terminated.
    static func line(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }

    /// A field as RFC 4180 writes it: quoted when it holds a comma, quote or line break, with quotes doubled.
    public static func field(_ text: String) -> String {
        text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
            ? "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : text
    }

    static func response(header: [String], rows: [[String]], filename: String) -> Response {
        var text = line(header)
        for row in rows { text += line(row) }
        return Response(
            status: .ok,
            headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(filename)\""],
            body: .init(byteBuffer: ByteBuffer(string: text))
        )
    }
}
