import Foundation
import GateRouterRouting

/// A customer account: keys, settings and (later) budgets hang off it.
public struct Account: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    /// Whether `model: "auto"` is allowed (on by default).
    public var autoRouting: Bool
    /// Spending limit in USD; nil means none (the default account starts without one).
    public var spendLimit: Decimal?
    /// Whether a parameter the chosen model cannot take is refused (`unsupported parameter: <name>`) rather than
    /// adapted (renamed, clamped or dropped and listed in `x-gaterouter-adapted`). Off by default.
    public var strictParams: Bool
    /// How `auto` picks models for this account: strategy, allowed/blocked lists, price cap, fallback.
    public var routing: RoutingPolicy
    public var createdAt: Date

    public init(
        id: String, name: String, autoRouting: Bool = true, spendLimit: Decimal? = nil, strictParams: Bool = false,
        routing: RoutingPolicy = RoutingPolicy(), createdAt: Date = Date()
    ) {
        self.id = id
        self.name = name
        self.autoRouting = autoRouting
        self.spendLimit = spendLimit
        self.strictParams = strictParams
        self.routing = routing
        self.createdAt = createdAt
    }

    public static let defaultAccountID = "default"
}

/// A stored API key: never the key itself, only its digest and a display prefix.
public struct APIKeyRecord: Sendable, Equatable, Codable {
    public var id: String
    public var accountID: String
    public var name: String
    /// `gr-abcdef`: enough to recognise a key in a list.
    public var displayPrefix: String
    /// Hex SHA-256 of the key.
    public var hash: String
    public var createdAt: Date
    public var revoked: Bool

    public init(id: String, accountID: String, name: String, displayPrefix: String, hash: String, createdAt: Date = Date(), revoked: Bool = false) {
        self.id = id
        self.accountID = accountID
        self.name = name
        self.displayPrefix = displayPrefix
        self.hash = hash
        self.createdAt = createdAt
        self.revoked = revoked
    }
}

/// The gateway's durable state. Implementations: SQLite (embedded default); PostgreSQL comes with multi-instance work.
///
/// Nothing on the request path calls a store: ``AuthCache`` holds what requests need in memory.
public protocol GatewayStore: Sendable {
    func migrate() async throws
    func accounts() async throws -> [Account]
    func insertAccount(_ account: Account) async throws
    func updateAccount(_ account: Account) async throws
    func apiKeys() async throws -> [APIKeyRecord]
    func insertAPIKey(_ key: APIKeyRecord) async throws
}
