import Foundation
import GateRouterRouting
import GateRouterStorage
import GateRouterWire
import Hummingbird
import NIOCore

/// The operator API under `/admin/v1`, enabled only when `GATEROUTER_ADMIN_TOKEN` is set.
///
/// Writes go to the store first and then to the in-memory cache, so the request path sees them at once and a restart
/// keeps them.
struct AdminController: Sendable {
    let store: any GatewayStore
    let authCache: AuthCache

    func addRoutes(to group: RouterGroup<GatewayRequestContext>) {
        group.post("/keys") { request, context in try await self.createKey(request, context: context) }
        group.get("/keys") { _, _ in try await self.listKeys() }
        group.get("/settings") { _, _ in try self.settings() }
        group.patch("/settings") { request, context in try await self.updateSettings(request, context: context) }
    }

    struct CreateKeyBody: Decodable {
        var name: String?
        var accountID: String?
        enum CodingKeys: String, CodingKey {
            case name
            case accountID = "account_id"
        }
    }

    struct CreatedKey: Encodable {
        var id: String
        /// The secret, shown this once.
        var key: String
        var name: String
        var accountID: String
        var displayPrefix: String
        var createdAt: Date
        enum CodingKeys: String, CodingKey {
            case id, key, name
            case accountID = "account_id"
            case displayPrefix = "display_prefix"
            case createdAt = "created_at"
        }
    }

    func createKey(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let bytes = Array(try await request.body.collect(upTo: 64 << 10).readableBytesView)
        let body: CreateKeyBody = bytes.allSatisfy({ [0x20, 0x0A, 0x0D, 0x09].contains($0) })
            ? CreateKeyBody()
            : try Self.decode(CreateKeyBody.self, from: bytes)
        let accountID = body.accountID ?? Account.defaultAccountID
        guard authCache.account(accountID) != nil else {
            throw GatewayError.invalidValue("account_id", "No account with id '\(accountID)'.")
        }
        let issued = try await KeyIssuer(store: store, cache: authCache).issue(accountID: accountID, name: body.name ?? "api key")
        let created = CreatedKey(
            id: issued.record.id, key: issued.secret, name: issued.record.name, accountID: accountID,
            displayPrefix: issued.record.displayPrefix, createdAt: issued.record.createdAt
        )
        var response = try ModelsController.json(created)
        response.status = .created
        return response
    }

    struct KeySummary: Encodable {
        var id: String
        var name: String
        var accountID: String
        var displayPrefix: String
        var createdAt: Date
        var revoked: Bool
        enum CodingKeys: String, CodingKey {
            case id, name, revoked
            case accountID = "account_id"
            case displayPrefix = "display_prefix"
            case createdAt = "created_at"
        }
    }

    func listKeys() async throws -> Response {
        let keys = try await store.apiKeys().map {
            KeySummary(id: $0.id, name: $0.name, accountID: $0.accountID, displayPrefix: $0.displayPrefix, createdAt: $0.createdAt, revoked: $0.revoked)
        }
        return try ModelsController.json(KeyList(data: keys))
    }

    struct KeyList: Encodable {
        var object = "list"
        var data: [KeySummary]
    }

    struct SettingsView: Encodable {
        var accountID: String
        var autoRouting: Bool
        var strictParams: Bool
        var spendLimit: String?
        var routingStrategy: RoutingStrategy
        var allowedProviders: [String]
        var blockedProviders: [String]
        var allowedModels: [String]
        var blockedModels: [String]
        var maxOutputPrice: String?
        var fallback: Bool
        var hedgingPercent: Int
        enum CodingKeys: String, CodingKey {
            case accountID = "account_id"
            case autoRouting = "auto_routing"
            case strictParams = "strict_params"
            case spendLimit = "spend_limit"
            case routingStrategy = "routing_strategy"
            case allowedProviders = "allowed_providers"
            case blockedProviders = "blocked_providers"
            case allowedModels = "allowed_models"
            case blockedModels = "blocked_models"
            case maxOutputPrice = "max_output_price"
            case fallback
            case hedgingPercent = "hedging_percent"
        }
        init(_ account: Account) {
            accountID = account.id
            autoRouting = account.autoRouting
            strictParams = account.strictParams
            spendLimit = account.spendLimit.map { "\($0)" }
            routingStrategy = account.routing.strategy
            allowedProviders = account.routing.allowedProviders
            blockedProviders = account.routing.blockedProviders
            allowedModels = account.routing.allowedModels
            blockedModels = account.routing.blockedModels
            maxOutputPrice = account.routing.maxOutputPrice.map { "\($0)" }
            fallback = account.routing.fallback
            hedgingPercent = account.routing.hedgingPercent
        }
    }

    func settings() throws -> Response {
        guard let account = authCache.account(Account.defaultAccountID) else { throw GatewayError.internalError }
        return try ModelsController.json(SettingsView(account))
    }

    struct SettingsPatch: Decodable {
        var autoRouting: Bool?
        var strictParams: Bool?
        var routingStrategy: RoutingStrategy?
        var allowedProviders: [String]?
        var blockedProviders: [String]?
        var allowedModels: [String]?
        var blockedModels: [String]?
        /// A decimal string (`"2.50"`) or number, USD per million output tokens; null removes the cap.
        var maxOutputPrice: JSONValue?
        var fallback: Bool?
        var hedgingPercent: Int?
        enum CodingKeys: String, CodingKey {
            case autoRouting = "auto_routing"
            case strictParams = "strict_params"
            case routingStrategy = "routing_strategy"
            case allowedProviders = "allowed_providers"
            case blockedProviders = "blocked_providers"
            case allowedModels = "allowed_models"
            case blockedModels = "blocked_models"
            case maxOutputPrice = "max_output_price"
            case fallback
            case hedgingPercent = "hedging_percent"
        }
        static let names: Set<String> = [
            "auto_routing", "strict_params", "routing_strategy", "allowed_providers", "blocked_providers", "allowed_models",
            "blocked_models", "max_output_price", "fallback", "hedging_percent",
        ]
    }

    func updateSettings(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let bytes = Array(try await request.body.collect(upTo: 64 << 10).readableBytesView)
        let object: RawJSONObject
        do {
            object = try RawJSONObject(parsing: bytes)
        } catch {
            throw GatewayError.invalidJSON(error.description)
        }
        if let unknown = object.fields.first(where: { !SettingsPatch.names.contains($0.key) }) {
            throw GatewayError.invalidValue(unknown.key, "Unknown setting '\(unknown.key)'. Supported: \(SettingsPatch.names.sorted().joined(separator: ", ")).")
        }
        let patch = try Self.decode(SettingsPatch.self, from: bytes)
        guard var account = authCache.account(Account.defaultAccountID) else { throw GatewayError.internalError }
        if let autoRouting = patch.autoRouting { account.autoRouting = autoRouting }
        if let strictParams = patch.strictParams { account.strictParams = strictParams }
        if let strategy = patch.routingStrategy { account.routing.strategy = strategy }
        if let value = patch.allowedProviders { account.routing.allowedProviders = value }
        if let value = patch.blockedProviders { account.routing.blockedProviders = value }
        if let value = patch.allowedModels { account.routing.allowedModels = value }
        if let value = patch.blockedModels { account.routing.blockedModels = value }
        if let value = patch.fallback { account.routing.fallback = value }
        if let value = patch.hedgingPercent {
            guard (0...100).contains(value) else {
                throw GatewayError.invalidValue("hedging_percent", "Invalid 'hedging_percent': \(value). Use 0 (off) to 100.")
            }
            account.routing.hedgingPercent = value
        }
        if object.contains("max_output_price") {
            switch patch.maxOutputPrice {
            case nil, .null?: account.routing.maxOutputPrice = nil
            case .string(let text)?:
                guard let price = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), price >= 0 else {
                    throw GatewayError.invalidValue("max_output_price", "Invalid 'max_output_price': '\(text)' is not a non-negative decimal.")
                }
                account.routing.maxOutputPrice = price
            case .number(let number)? where number >= 0:
                account.routing.maxOutputPrice = Decimal(string: String(number), locale: Locale(identifier: "en_US_POSIX"))
            default:
                throw GatewayError.invalidType("max_output_price", expected: "a decimal string or a number")
            }
        }
        try await store.updateAccount(account)
        authCache.upsert(account: account)
        return try ModelsController.json(SettingsView(account))
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw GatewayError(decoding: error)
        }
    }
}
