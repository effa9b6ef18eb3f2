import Foundation
import GateRouterStorage
import GateRouterWire
import Hummingbird
import Logging

/// Authenticates `/openai/v1` and `/api/v1` requests by `Authorization: Bearer <key>` (or `x-api-key`, as Anthropic's
/// SDKs send it) against the in-memory key cache: no database round trip on the request path.
///
/// Without a key, a console session cookie stands in for the key that signed in (the console's pages call the same
/// APIs as scripts do); a session must then echo its CSRF token on anything but a read. On `/openai/v1` (the console's
/// playground) an admin session calls as the default account.
struct APIKeyAuthMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let cache: AuthCache
    var sessions: ConsoleSessions?
    var adminSessionsCallAsDefaultAccount = false

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let identity: AuthCache.Identity
        if let key = Self.presentedKey(request) {
            guard let found = cache.authenticate(key) else { throw GatewayError.invalidAPIKey }
            identity = found
        } else if let sessions, let session = sessions.session(request) {
            if !Self.isRead(request) { try sessions.checkCSRF(request, session: session) }
            switch session.user {
            case .key(let found):
                identity = found
            case .admin:
                guard adminSessionsCallAsDefaultAccount, let account = cache.account(Account.defaultAccountID) else { throw GatewayError.missingAPIKey }
                identity = AuthCache.Identity(key: Self.consoleAdminKey, account: account)
            }
        } else {
            throw GatewayError.missingAPIKey
        }
        if identity.key.isExpired(at: Date()) { throw GatewayError.expiredAPIKey }
        if identity.account.suspended { throw GatewayError.accountSuspended }
        var context = context
        context.identity = identity
        context.report.update {
            $0.keyID = identity.key.id
            $0.accountID = identity.account.id
        }
        return try await next(request, context)
    }

    /// The key the admin's playground requests are recorded under (in the default account's ledger).
    static let consoleAdminKey = APIKeyRecord(
        id: "console_admin", accountID: Account.defaultAccountID, name: "console (admin)", displayPrefix: "console", hash: "", scope: .manage
    )

    static func isRead(_ request: Request) -> Bool {
        request.method == .get || request.method == .head
    }

    static func presentedKey(_ request: Request) -> String? {
        if let header = request.headers[.authorization] { return presentedKey(authorization: header) }
        if let key = request.headers[.xAPIKey], !key.isEmpty { return key }
        return nil
    }

    /// The key in an `Authorization: Bearer …` header: the scheme in any case, then spaces, the key, and spaces or
    /// tabs around it dropped.
    static func presentedKey(authorization header: String?) -> String? {
        guard let header else { return nil }
        // On every request: read the header's UTF-8 bytes, without splitting it into strings or walking Characters.
        if let key = header.utf8.withContiguousStorageIfAvailable(bearerKey) { return key }
        var contiguous = header  // a bridged string: made native once, then read the same way
        return contiguous.withUTF8(bearerKey)
    }

    private static func bearerKey(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        let space = UInt8(ascii: " "), tab = UInt8(ascii: "\t")
        var start = 0
        while start < bytes.count, bytes[start] == space { start += 1 }
        for expected in "bearer".utf8 {
            // `| 0x20` lowers an ASCII capital; no other byte lands on a lowercase letter of "bearer" that way.
            guard start < bytes.count, bytes[start] | 0x20 == expected else { return nil }
            start += 1
        }
        guard start < bytes.count, bytes[start] == space else { return nil }
        var end = bytes.count
        while start < end, bytes[start] == space || bytes[start] == tab { start += 1 }
        while end > start, bytes[end - 1] == space || bytes[end - 1] == tab { end -= 1 }
        return start < end ? String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self) : nil
    }
}

/// Guards `/admin/v1` with the operator's `GATEROUTER_ADMIN_TOKEN`, compared in constant time, or an admin console
/// session (with its CSRF token on anything but a read).
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let token: String
    var sessions: ConsoleSessions?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let presented = APIKeyAuthMiddleware.presentedKey(request) {
            guard APIKeyHasher.constantTimeEquals(APIKeyHasher.hash(presented), APIKeyHasher.hash(token)) else { throw GatewayError.adminUnauthorized }
        } else if let sessions, let session = sessions.session(request) {
            guard session.user.isAdmin else { throw GatewayError.adminOnly }
            if !APIKeyAuthMiddleware.isRead(request) { try sessions.checkCSRF(request, session: session) }
        } else {
            throw GatewayError.adminUnauthorized
        }
        return try await next(request, context)
    }
}
