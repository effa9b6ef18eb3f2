import Foundation
import GateRouterRouting
import GateRouterStorage
import GateRouterWire
import Hummingbird

/// An account's routing settings, read and changed through `/admin/v1/settings?account_id=` and the account API's
/// `/api/v1/settings`. Changes go to the store, then the cache, so the next request uses them.
extension ManagementOperations {
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

    func settings(accountID: String) throws -> Response {
        guard let account = authCache.account(accountID) else { throw GatewayError.notFound("account", id: accountID) }
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

    func updateSettings(_ request: Request, accountID: String) async throws -> Response {
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
        guard var account = authCache.account(accountID) else { throw GatewayError.notFound("account", id: accountID) }
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

}
