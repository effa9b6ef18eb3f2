import Foundation

/// A stored API key: never the key itself, only its digest and a display prefix.
public struct APIKeyRecord: Sendable, Equatable, Codable {
    public var id: String
    public var accountID: String
    public var name: String
    /// `gr-abcdef`: enough to recognise a key in a list.
    public var displayPrefix: String
    /// Hex SHA-256 of the key.
    public var hash: String
    public var scope: KeyScope
    public var limits: KeyLimits
    public var createdAt: Date
    /// After this instant the key is refused; nil never expires.
    public var expiresAt: Date?
    /// When the key last authenticated a request (written behind the response with the ledger, so approximate to a
    /// batch interval).
    public var lastUsedAt: Date?
    public var revoked: Bool

    public init(
        id: String, accountID: String, name: String, displayPrefix: String, hash: String, scope: KeyScope = .inference,
        limits: KeyLimits = KeyLimits(), createdAt: Date = Date(), expiresAt: Date? = nil, lastUsedAt: Date? = nil, revoked: Bool = false
    ) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.displayPrefix = displayPrefix
        self.hash = hash
        self.scope = scope
        self.limits = limits
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.revoked = revoked
    }

    /// A fresh key id: `key_` and 16 hex characters.
    public static func makeID() -> String { "key_" + RandomID.hex(8) }

    public func isExpired(at now: Date) -> Bool { expiresAt.map { $0 <= now } ?? false }
}

/// What a key may do besides calling models.
public enum KeyScope: String, Sendable, Codable, CaseIterable {
    /// Call models and read the account's own usage, keys and balance.
    case inference
    /// Also create and revoke the account's keys and change its routing settings (the account's first key).
    case manage
}

/// Per-key limits; nil means no limit.
public struct KeyLimits: Sendable, Equatable, Codable {
    public var requestsPerMinute: Int?
    public var tokensPerMinute: Int?
    /// Spending budget for the key over `budgetPeriod`.
    public var budget: Picodollars?
    public var budgetPeriod: BudgetPeriod
    /// Models (catalog ids, `provider/*` wildcards, or `auto`) the key may call; empty allows all.
    public var allowedModels: [String]

    public init(requestsPerMinute: Int? = nil, tokensPerMinute: Int? = nil, budget: Picodollars? = nil, budgetPeriod: BudgetPeriod = .total, allowedModels: [String] = []) {
        self.requestsPerMinute = requestsPerMinute
        self.tokensPerMinute = tokensPerMinute
        self.budget = budget
        self.budgetPeriod = budgetPeriod
        self.allowedModels = allowedModels
    }

    enum CodingKeys: String, CodingKey {
        case requestsPerMinute = "requests_per_minute"
        case tokensPerMinute = "tokens_per_minute"
        case budget
        case budgetPeriod = "budget_period"
        case allowedModels = "allowed_models"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        requestsPerMinute = try container.decodeIfPresent(Int.self, forKey: .requestsPerMinute)
        tokensPerMinute = try container.decodeIfPresent(Int.self, forKey: .tokensPerMinute)
        budget = try container.decodeIfPresent(Picodollars.self, forKey: .budget)
        budgetPeriod = try container.decodeIfPresent(BudgetPeriod.self, forKey: .budgetPeriod) ?? .total
        allowedModels = try container.decodeIfPresent([String].self, forKey: .allowedModels) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(requestsPerMinute, forKey: .requestsPerMinute)
        try container.encode(tokensPerMinute, forKey: .tokensPerMinute)
        try container.encode(budget, forKey: .budget)
        try container.encode(budgetPeriod, forKey: .budgetPeriod)
        try container.encode(allowedModels, forKey: .allowedModels)
    }

    /// Whether `model` (the requested id, a catalog id) may be called under `allowedModels`.
    public func allows(model: String) -> Bool {
        guard !allowedModels.isEmpty else { return true }
        return allowedModels.contains { pattern in
            if pattern == model { return true }
            if pattern.hasSuffix("/*") { return model.hasPrefix(pattern.dropLast()) }
            return false
        }
    }
}

/// The window a key's budget covers. Day and month are calendar periods in UTC.
public enum BudgetPeriod: String, Sendable, Codable, CaseIterable {
    case total, day, month

    /// The start of the period that contains `date`, or nil for `total`.
    public func start(containing date: Date) -> Date? {
        switch self {
        case .total:
            return nil
        case .day:
            // UTC days are whole multiples of 86,400 s since the epoch (no leap seconds in Unix time): no calendar
            // needed on the request path, where every charge asks.
            let seconds = date.timeIntervalSince1970
            return Date(timeIntervalSince1970: (seconds / 86_400).rounded(.down) * 86_400)
        case .month:
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "UTC") ?? calendar.timeZone
            return calendar.date(from: calendar.dateComponents([.year, .month], from: date))
        }
    }
}
