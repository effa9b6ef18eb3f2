import Foundation
import GateRouterStorage
import GateRouterWire
import Hummingbird

/// The operator API under `/admin/v1`, enabled only when `GATEROUTER_ADMIN_TOKEN` is set: every account.
///
/// Writes go to the store first and then to the in-memory cache, so the request path sees them at once and a restart
/// keeps them.
struct AdminController: Sendable {
    let operations: ManagementOperations

    func addRoutes(to group: RouterGroup<GatewayRequestContext>) {
        group.post("/accounts") { request, _ in try await operations.createAccount(request) }
        group.get("/accounts") { _, _ in try operations.listAccounts() }
        group.get("/accounts/:id") { _, context in try operations.account(try context.parameters.require("id")) }
        group.patch("/accounts/:id") { request, context in try await operations.updateAccount(accountID: try context.parameters.require("id"), request) }
        group.post("/accounts/:id/credits") { request, context in
            try await operations.addCredits(accountID: try context.parameters.require("id"), request)
        }
        group.post("/keys") { request, _ in try await operations.createKey(request, accountID: nil) }
        group.get("/keys") { request, _ in try operations.listKeys(accountID: request.uri.queryParameters["account_id"].map(String.init)) }
        group.patch("/keys/:id") { request, context in try await operations.updateKey(id: try context.parameters.require("id"), owner: nil, request) }
        group.delete("/keys/:id") { _, context in try await operations.revokeKey(id: try context.parameters.require("id"), owner: nil) }
        group.get("/settings") { request, _ in try operations.settings(accountID: Self.accountID(request)) }
        group.patch("/settings") { request, _ in try await operations.updateSettings(request, accountID: Self.accountID(request)) }
        group.get("/usage") { request, _ in try await operations.usage(request, accountID: nil) }
    }

    /// `?account_id=`, the default account when absent.
    static func accountID(_ request: Request) -> String {
        request.uri.queryParameters["account_id"].map(String.init).flatMap { $0.isEmpty ? nil : $0 } ?? Account.defaultAccountID
    }
}

/// The account API under `/api/v1` for a key holder (the key as bearer): its own account, usage and keys only.
/// `manage` keys may also create and revoke the account's keys and change its settings, so the console works without
/// the admin token; `inference` keys only read.
struct AccountAPIController: Sendable {
    let operations: ManagementOperations

    func addRoutes(to group: RouterGroup<GatewayRequestContext>) {
        group.get("/account") { _, context in try operations.account(try Self.identity(context).account.id) }
        group.get("/usage") { request, context in try await operations.usage(request, accountID: try Self.identity(context).account.id) }
        group.get("/keys") { _, context in try operations.listKeys(accountID: try Self.identity(context).account.id) }
        group.get("/settings") { _, context in try operations.settings(accountID: try Self.identity(context).account.id) }
        group.post("/keys") { request, context in
            try await operations.createKey(request, accountID: try Self.manager(context).account.id)
        }
        group.patch("/keys/:id") { request, context in
            try await operations.updateKey(id: try context.parameters.require("id"), owner: try Self.manager(context).account.id, request)
        }
        group.delete("/keys/:id") { _, context in
            try await operations.revokeKey(id: try context.parameters.require("id"), owner: try Self.manager(context).account.id)
        }
        group.patch("/settings") { request, context in
            try await operations.updateSettings(request, accountID: try Self.manager(context).account.id)
        }
    }

    static func identity(_ context: GatewayRequestContext) throws -> AuthCache.Identity {
        guard let identity = context.identity else { throw GatewayError.missingAPIKey }
        return identity
    }

    static func manager(_ context: GatewayRequestContext) throws -> AuthCache.Identity {
        let identity = try identity(context)
        guard identity.key.scope == .manage else { throw GatewayError.insufficientScope }
        return identity
    }
}
