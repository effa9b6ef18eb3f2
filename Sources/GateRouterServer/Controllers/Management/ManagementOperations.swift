import Foundation
import GateRouterStorage
import GateRouterWire
import Hummingbird

/// What the admin API and the account API both do — accounts, keys, settings, usage — in one place, so the two
/// (and the console, which calls them) share one source of truth. The caller's reach is decided by the controllers:
/// the admin token reaches every account, a key only its own.
struct ManagementOperations: Sendable {
    let store: any GatewayStore
    let authCache: AuthCache
    let meter: Meter

    // MARK: Accounts

    struct AccountBody: Decodable {
        var name: String?
        var prepaid: Bool?
        var balance: MoneyInput?
        var suspended: Bool?
    }

    func createAccount(_ request: Request) async throws -> Response {
        let body = try await Self.body(AccountBody.self, request)
        let name = (body.name ?? "").trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw GatewayError.missingParameter("name") }
        let prepaid = body.prepaid ?? (body.balance != nil)
        let account = Account(id: Account.makeID(), name: name, prepaid: prepaid, balance: body.balance?.amount ?? .zero)
        try await store.insertAccount(account)
        authCache.upsert(account: account)
        return try Self.json(AccountView(account, pending: .zero), status: .created)
    }

    func listAccounts() throws -> Response {
        try Self.json(ListView(data: authCache.allAccounts().map { AccountView($0, pending: meter.spend.pending(accountID: $0.id)) }))
    }

    func account(_ id: String) throws -> Response {
        guard let account = authCache.account(id) else { throw GatewayError.notFound("account", id: id) }
        return try Self.json(AccountView(account, pending: meter.spend.pending(accountID: id)))
    }

    struct CreditsBody: Decodable { var amount: MoneyInput }

    func addCredits(accountID: String, _ request: Request) async throws -> Response {
        let body = try await Self.body(CreditsBody.self, request)
        let generation = meter.spend.flushGeneration
        guard let balance = try await store.addCredits(accountID: accountID, amount: body.amount.amount) else {
            throw GatewayError.notFound("account", id: accountID)
        }
        authCache.setBalances([accountID: balance])
        meter.spend.balancesReloaded(readAfter: generation)
        return try account(accountID)
    }

    func updateAccount(accountID: String, _ request: Request) async throws -> Response {
        let body = try await Self.body(AccountBody.self, request)
        guard var account = authCache.account(accountID) else { throw GatewayError.notFound("account", id: accountID) }
        if let name = body.name?.trimmingCharacters(in: .whitespaces), !name.isEmpty { account.name = name }
        if let suspended = body.suspended { account.suspended = suspended }
        if let prepaid = body.prepaid { account.prepaid = prepaid }
        if body.balance != nil {
            throw GatewayError.invalidValue("balance", "Change a balance with POST /admin/v1/accounts/{id}/credits {\"amount\": \"…\"}.")
        }
        try await store.updateAccount(account)
        authCache.upsert(account: account)
        return try self.account(accountID)
    }

    // MARK: Keys

    struct KeyBody: Decodable {
        var accountID: String?
        var name: String?
        var scope: KeyScope?
        var limits: KeyLimits?
        /// Unix seconds; null removes the expiry.
        var expiresAt: Int?
        enum CodingKeys: String, CodingKey {
            case name, scope, limits
            case accountID = "account_id"
            case expiresAt = "expires_at"
        }
    }

    /// Creates a key in `accountID` (the body's `account_id` for the admin, the caller's own account otherwise).
    func createKey(_ request: Request, accountID fixedAccount: String?) async throws -> Response {
        let body = try await Self.body(KeyBody.self, request, emptyAllowed: true) ?? KeyBody()
        let accountID = fixedAccount ?? body.accountID ?? Account.defaultAccountID
        guard authCache.account(accountID) != nil else {
            throw GatewayError.invalidValue("account_id", "No account with id '\(accountID)'.")
        }
        let limits = try Self.validated(body.limits ?? KeyLimits())
        let issued = try await KeyIssuer(store: store, cache: authCache).issue(
            accountID: accountID, name: body.name ?? "api key", scope: fixedAccount == nil ? body.scope : (body.scope ?? .inference),
            limits: limits, expiresAt: body.expiresAt.map { Date(timeIntervalSince1970: TimeInterval($0)) }
        )
        return try Self.json(KeyView(issued.record, spent: .zero, secret: issued.secret), status: .created)
    }

    func listKeys(accountID: String?) throws -> Response {
        let now = Date()
        return try Self.json(ListView(data: authCache.keys(accountID: accountID).map {
            KeyView($0, spent: meter.spend.spent(keyID: $0.id, period: $0.limits.budgetPeriod, now: now))
        }))
    }

    /// Changes a key's name, limits or expiry. `owner` restricts the change to one account's keys.
    func updateKey(id: String, owner: String?, _ request: Request) async throws -> Response {
        let body = try await Self.body(KeyBody.self, request)
        var key = try ownedKey(id, owner: owner)
        if let name = body.name { key.name = name }
        if let limits = body.limits { key.limits = try Self.validated(limits) }
        if let expiresAt = body.expiresAt { key.expiresAt = Date(timeIntervalSince1970: TimeInterval(expiresAt)) }
        if let scope = body.scope {
            guard owner == nil else { throw GatewayError.invalidValue("scope", "Only the admin changes a key's scope.") }
            key.scope = scope
        }
        try await store.updateAPIKey(key)
        authCache.upsert(key: key)
        return try Self.json(KeyView(key, spent: meter.spend.spent(keyID: key.id, period: key.limits.budgetPeriod, now: Date())))
    }

    /// Revokes a key: the next request with it is refused (here at once, on other instances within a second).
    func revokeKey(id: String, owner: String?) async throws -> Response {
        var key = try ownedKey(id, owner: owner)
        key.revoked = true
        try await store.updateAPIKey(key)
        authCache.upsert(key: key)
        return try Self.json(KeyView(key, spent: meter.spend.spent(keyID: key.id, period: key.limits.budgetPeriod, now: Date())))
    }

    /// A key of `owner`'s account; another account's key is "not found", never "forbidden", so ids reveal nothing.
    private func ownedKey(_ id: String, owner: String?) throws -> APIKeyRecord {
        guard let key = authCache.key(id), owner == nil || key.accountID == owner else { throw GatewayError.notFound("API key", id: id) }
        return key
    }

    static func validated(_ limits: KeyLimits) throws -> KeyLimits {
        if let rpm = limits.requestsPerMinute, rpm < 0 { throw GatewayError.invalidValue("limits.requests_per_minute", "Must be 0 or more.") }
        if let tpm = limits.tokensPerMinute, tpm < 0 { throw GatewayError.invalidValue("limits.tokens_per_minute", "Must be 0 or more.") }
        if let budget = limits.budget, budget < .zero { throw GatewayError.invalidValue("limits.budget", "Must be 0 or more.") }
        return limits
    }

    // MARK: Helpers

    static func json(_ value: some Encodable, status: HTTPResponse.Status = .ok) throws -> Response {
        var response = try ModelsController.json(value)
        response.status = status
        return response
    }

    /// Decodes a JSON body of at most 64 KiB; nil for an empty body when `emptyAllowed`.
    static func body<T: Decodable>(_ type: T.Type, _ request: Request, emptyAllowed: Bool = false) async throws -> T? {
        let bytes = Array(try await request.body.collect(upTo: 64 << 10).readableBytesView)
        if bytes.allSatisfy({ [0x20, 0x0A, 0x0D, 0x09].contains($0) }) {
            if emptyAllowed { return nil }
            throw GatewayError.invalidJSON("The request body is empty; send a JSON object.")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw GatewayError(decoding: error)
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw GatewayError(decoding: error)
        }
    }

    static func body<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        guard let value = try await body(type, request, emptyAllowed: false) else { throw GatewayError.invalidJSON("The request body is empty.") }
        return value
    }
}

/// A USD amount in a request: a decimal string (`"12.50"`, exact) or a JSON number.
struct MoneyInput: Decodable {
    var amount: Picodollars

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self), let amount = Picodollars(usd: text) {
            self.amount = amount
        } else if let number = try? container.decode(Double.self), number.isFinite, let amount = Picodollars(usd: String(format: "%.12f", number)) {
            self.amount = amount
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "Expected a USD amount such as \"12.50\" (at most 12 decimal places).")
        }
    }
}
