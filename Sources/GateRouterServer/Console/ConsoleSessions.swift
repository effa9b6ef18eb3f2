import Crypto
import Foundation
import GateRouterStorage
import GateRouterWire
import Hummingbird
import Synchronization

/// Who is signed in to the console.
enum ConsoleUser: Sendable, Equatable {
    /// Signed in with the admin token: every account.
    case admin
    /// Signed in with an account's API key: that account only, with the key's scope.
    case key(AuthCache.Identity)

    var isAdmin: Bool { if case .admin = self { true } else { false } }
}

/// A signed-in console session: the user, and the token the page must echo on every call that changes something.
struct ConsoleSession: Sendable {
    var user: ConsoleUser
    var csrfToken: String
    var expires: Date
    /// The cookie's random part: what signing out forgets.
    var nonce: String
}

/// Console sessions as signed cookies, so any gateway instance sharing the store accepts them and nothing is written
/// on sign-in.
///
/// A cookie names the admin or a key id, an expiry and a random nonce, and carries an HMAC over them. The HMAC key is
/// derived from what signing in proved: the admin token, or the stored hash of the API key (never the key itself). So
/// revoking the key, or changing the admin token, ends its sessions on every instance at once, and no separate secret
/// has to be shared. Signing out forgets the nonce on this instance (sessions last twelve hours).
final class ConsoleSessions: Sendable {
    static let cookieName = "gr_console"
    static let lifetime: TimeInterval = 12 * 3600

    let authCache: AuthCache
    let adminToken: String?
    private let signedOut = Mutex<[String: Date]>([:])

    init(authCache: AuthCache, adminToken: String?) {
        self.authCache = authCache
        self.adminToken = adminToken
    }

    /// Signs in with what the user typed: the admin token or an API key. Nil when it is neither.
    func signIn(secret: String, now: Date = Date()) -> (cookie: String, session: ConsoleSession)? {
        let trimmed = secret.trimmingCharacters(in: .whitespacesAndNewlines)
        let subject: String
        if let adminToken, APIKeyHasher.constantTimeEquals(APIKeyHasher.hash(trimmed), APIKeyHasher.hash(adminToken)) {
            subject = "admin"
        } else if let identity = authCache.authenticate(trimmed), !identity.key.isExpired(at: now), !identity.account.suspended {
            subject = "key:" + identity.key.id
        } else {
            return nil
        }
        let expires = Int64(now.addingTimeInterval(Self.lifetime).timeIntervalSince1970)
        let payload = "v1|\(subject)|\(expires)|\(RandomID.hex(16))"
        guard let (session, macKey) = resolve(payload: payload, now: now) else { return nil }
        return (payload + "|" + Self.hex(HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: macKey)), session)
    }

    /// The session a request's cookie proves, or nil (none, forged, expired, signed out, key revoked).
    func session(_ request: Request, now: Date = Date()) -> ConsoleSession? {
        guard let value = Self.cookie(Self.cookieName, in: request) else { return nil }
        guard let split = value.lastIndex(of: "|") else { return nil }
        let payload = String(value[..<split]), mac = String(value[value.index(after: split)...])
        guard let (session, macKey) = resolve(payload: payload, now: now) else { return nil }
        let expected = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(payload.utf8), using: macKey))
        guard APIKeyHasher.constantTimeEquals(expected, mac) else { return nil }
        return session
    }

    /// Forgets a session on this instance (its cookie is cleared by the response too).
    func signOut(_ session: ConsoleSession, now: Date = Date()) {
        signedOut.withLock { signedOut in
            signedOut = signedOut.filter { $0.value > now }
            signedOut[session.nonce] = session.expires
        }
    }

    /// Checks a state-changing call made with a session cookie: it must carry the page's CSRF token.
    func checkCSRF(_ request: Request, session: ConsoleSession) throws {
        guard let presented = request.headers[.csrfToken],
              APIKeyHasher.constantTimeEquals(presented, session.csrfToken)
        else { throw GatewayError.csrfTokenInvalid }
    }

    /// Reads a payload `v1|subject|expires|nonce` and finds the user and the HMAC key it must be signed with.
    private func resolve(payload: String, now: Date) -> (ConsoleSession, SymmetricKey)? {
        let parts = payload.split(separator: "|", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "v1", let expires = Int64(parts[2]) else { return nil }
        let expiry = Date(timeIntervalSince1970: TimeInterval(expires))
        guard expiry > now else { return nil }
        let nonce = String(parts[3])
        if signedOut.withLock({ $0[nonce] != nil }) { return nil }
        let user: ConsoleUser, proof: String
        if parts[1] == "admin" {
            guard let adminToken else { return nil }
            user = .admin
            proof = "admin:" + APIKeyHasher.hash(adminToken)
        } else if parts[1].hasPrefix("key:") {
            let keyID = String(parts[1].dropFirst(4))
            guard let key = authCache.key(keyID), !key.revoked, !key.isExpired(at: now),
                  let account = authCache.account(key.accountID), !account.suspended
            else { return nil }
            user = .key(AuthCache.Identity(key: key, account: account))
            proof = "key:" + key.hash
        } else {
            return nil
        }
        let macKey = SymmetricKey(data: SHA256.hash(data: Data(("gaterouter-console-session|" + proof).utf8)))
        let csrf = Self.hex(HMAC<SHA256>.authenticationCode(for: Data(("csrf|" + nonce).utf8), using: macKey)).prefix(32)
        return (ConsoleSession(user: user, csrfToken: String(csrf), expires: expiry, nonce: nonce), macKey)
    }

    /// The `Set-Cookie` value for a new session, or for clearing it (`value` nil).
    static func setCookie(_ value: String?, secure: Bool) -> String {
        var cookie = "\(cookieName)=\(value ?? ""); Path=/; HttpOnly; SameSite=Strict"
        cookie += value == nil ? "; Max-Age=0" : "; Max-Age=\(Int(lifetime))"
        if secure { cookie += "; Secure" }
        return cookie
    }

    static func cookie(_ name: String, in request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let trimmed = pair.trimmingCharacters(in: .whitespaces)
                guard let equals = trimmed.firstIndex(of: "="), trimmed[..<equals] == name else { continue }
                let value = String(trimmed[trimmed.index(after: equals)...])
                return value.isEmpty ? nil : value
            }
        }
        return nil
    }

    static func hex<Bytes: Sequence>(_ bytes: Bytes) -> String where Bytes.Element == UInt8 {
        bytes.map { String(format: "%02x", $0) }.joined()
    }

    static func hex(_ code: HashedAuthenticationCode<SHA256>) -> String { hex(Array(code)) }
}
