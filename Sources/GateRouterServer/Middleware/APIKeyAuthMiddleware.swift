import Foundation
import GateRouterStorage
import Logging
import GateRouterWire
import Hummingbird

/// Authenticates `/openai/v1` requests by `Authorization: Bearer <key>` (or `x-api-key`, as Anthropic's SDKs send
/// it) against the in-memory key cache: no database round trip on the request path.
struct APIKeyAuthMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let cache: AuthCache

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let key = Self.presentedKey(request) else { throw GatewayError.missingAPIKey }
        guard let identity = cache.authenticate(key) else { throw GatewayError.invalidAPIKey }
        if identity.key.isExpired(at: Date()) { throw GatewayError.expiredAPIKey }
        if identity.account.suspended { throw GatewayError.accountSuspended }
        var context = context
        context.identity = identity
        context.logger[metadataKey: "gr.key.id"] = .string(identity.key.id)
        context.report.update {
            $0.keyID = identity.key.id
            $0.accountID = identity.account.id
        }
        return try await next(request, context)
    }

    static func presentedKey(_ request: Request) -> String? {
        if let header = request.headers[.authorization] {
            let parts = header.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
            let key = parts[1].trimmingCharacters(in: .whitespaces)
            return key.isEmpty ? nil : key
        }
        if let key = request.headers[.xAPIKey], !key.isEmpty { return key }
        return nil
    }
}

/// Guards `/admin/v1` with the operator's `GATEROUTER_ADMIN_TOKEN`, compared in constant time.
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = GatewayRequestContext
    let token: String

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let presented = APIKeyAuthMiddleware.presentedKey(request),
              APIKeyHasher.constantTimeEquals(APIKeyHasher.hash(presented), APIKeyHasher.hash(token))
        else { throw GatewayError.adminUnauthorized }
        return try await next(request, context)
    }
}
