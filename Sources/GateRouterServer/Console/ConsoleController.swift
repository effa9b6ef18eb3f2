import Foundation
import GateRouterCatalog
import GateRouterRouting
import GateRouterStorage
import GateRouterWire
import Hummingbird
import Mustache
import NIOCore

/// The web console at `/console`: server-rendered pages (Mustache templates) for people, over the same operations the
/// admin and account APIs run. Changes are made by the pages' script calling those APIs with the session cookie and
/// its CSRF token, so scripts and the console share one source of truth.
struct ConsoleController: Sendable {
    let sessions: ConsoleSessions
    let operations: ManagementOperations
    let configuration: GatewayConfiguration
    let resolver: ModelResolver
    let health: ModelHealth
    let assets: ConsoleAssets

    /// A page: its file name under `/console/`, its title and its navigation label.
    enum Page: String, CaseIterable {
        case dashboard = "", keys, settings, models, logs, playground, integrations, accounts

        var title: String {
            switch self {
            case .dashboard: "Dashboard"
            case .keys: "API keys"
            case .settings: "Routing settings"
            case .models: "Models"
            case .logs: "Logs"
            case .playground: "Playground"
            case .integrations: "Integrations"
            case .accounts: "Accounts"
            }
        }
        var navLabel: String { self == .settings ? "Settings" : title }
        var path: String { "/console/" + rawValue }
        var adminOnly: Bool { self == .accounts }
    }

    func addRoutes(to router: Router<GatewayRequestContext>) {
        router.get("/console/login") { request, _ in
            if sessions.session(request) != nil { return Self.redirect("/console/") }
            return try render("login", ["title": "Sign in", "adminEnabled": configuration.adminToken != nil], status: .ok)
        }
        router.post("/console/login") { request, _ in try await signIn(request) }
        router.post("/console/logout") { request, _ in try await signOut(request) }
        router.get("/console/static/:file") { _, context in
            let name = try context.parameters.require("file")
            guard let file = assets.staticFiles[name] else { throw GatewayError.pageNotFound }
            return Response(
                status: .ok,
                headers: [.contentType: file.contentType, .cacheControl: "public, max-age=86400", .xContentTypeOptions: "nosniff"],
                body: .init(byteBuffer: ByteBuffer(bytes: file.bytes))
            )
        }
        for page in Page.allCases {
            router.get(RouterPath(page.path)) { request, _ in try await show(page, request) }
        }
    }

    // MARK: Signing in and out

    private func signIn(_ request: Request) async throws -> Response {
        guard Self.isSameOrigin(request) else {
            return try render("login", ["title": "Sign in", "error": "This sign-in came from another site and was refused."], status: .forbidden)
        }
        let form = try await Self.form(request)
        guard let (cookie, session) = sessions.signIn(secret: form["key"] ?? "") else {
            return try render("login", ["title": "Sign in", "error": "That is not a valid API key or admin token.", "adminEnabled": configuration.adminToken != nil], status: .unauthorized)
        }
        var response = Self.redirect(session.user.isAdmin ? "/console/accounts" : "/console/")
        response.headers[.setCookie] = ConsoleSessions.setCookie(cookie, secure: isSecure(request))
        return response
    }

    private func signOut(_ request: Request) async throws -> Response {
        let form = try await Self.form(request)
        if let session = sessions.session(request) {
            guard Self.isSameOrigin(request), let token = form["csrf"], APIKeyHasher.constantTimeEquals(token, session.csrfToken) else {
                throw GatewayError.csrfTokenInvalid
            }
            sessions.signOut(session)
        }
        var response = Self.redirect("/console/login")
        response.headers[.setCookie] = ConsoleSessions.setCookie(nil, secure: isSecure(request))
        return response
    }

    // MARK: Pages

    private func show(_ page: Page, _ request: Request) async throws -> Response {
        guard let session = sessions.session(request) else { return Self.redirect("/console/login") }
        if page.adminOnly, !session.user.isAdmin {
            return try render("error", base(page, session, request, accountID: nil).merging([
                "title": "Admin only", "message": GatewayError.adminOnly.message,
            ]) { $1 }, status: .forbidden)
        }
        let accountID = selectedAccount(session, request)
        var values = base(page, session, request, accountID: accountID)
        switch page {
        case .dashboard: values.merge(try await dashboard(session, request, accountID: accountID)) { $1 }
        case .keys: values.merge(keys(session, accountID: accountID ?? Account.defaultAccountID)) { $1 }
        case .settings: values.merge(settings(session, accountID: accountID ?? Account.defaultAccountID)) { $1 }
        case .models: values.merge(models()) { $1 }
        case .logs: values.merge(try await logs(request, accountID: accountID)) { $1 }
        case .playground: values.merge(playground(session, accountID: accountID ?? Account.defaultAccountID)) { $1 }
        case .integrations: values.merge(integrations(session, request)) { $1 }
        case .accounts: values.merge(accounts()) { $1 }
        }
        return try render(page == .dashboard ? "dashboard" : page.rawValue, values, status: .ok)
    }

    /// The account a page shows: the session's own, or for the admin `?account=` (nil: all accounts, where a page
    /// can show them all).
    private func selectedAccount(_ session: ConsoleSession, _ request: Request) -> String? {
        switch session.user {
        case .key(let identity): return identity.account.id
        case .admin:
            guard let id = request.uri.queryParameters["account"].map(String.init), !id.isEmpty, operations.authCache.account(id) != nil else { return nil }
            return id
        }
    }

    /// What every page shows: navigation, who is signed in, the CSRF token and where the page's script calls.
    private func base(_ page: Page, _ session: ConsoleSession, _ request: Request, accountID: String?) -> [String: Any] {
        let isAdmin = session.user.isAdmin
        let query = isAdmin ? accountID.map { "?account=" + $0 } ?? "" : ""
        let nav: [[String: Any]] = Page.allCases.filter { !$0.adminOnly || isAdmin }.map { item in
            ["href": item.path + (item == .accounts ? "" : query), "label": item.navLabel, "current": item == page]
        }
        var values: [String: Any] = [
            "title": page.title, "nav": nav, "csrf": session.csrfToken, "isAdmin": isAdmin, "demo": configuration.isDemo,
            "apiBase": isAdmin ? "/admin/v1" : "/api/v1", "page": page == .dashboard ? "dashboard" : page.rawValue,
            "cssVersion": assets.version,
        ]
        switch session.user {
        case .admin:
            values["userLabel"] = "Admin"
            let accounts = operations.authCache.allAccounts()
            values["accountChoices"] = [["id": "", "name": page == .dashboard || page == .logs ? "All accounts" : "Default account", "selected": accountID == nil]]
                + accounts.map { ["id": $0.id, "name": "\($0.name) (\($0.id))", "selected": $0.id == accountID] as [String: Any] }
            values["accountID"] = accountID ?? Account.defaultAccountID
        case .key(let identity):
            values["userLabel"] = "\(identity.account.name) · \(identity.key.displayPrefix)…"
            values["accountID"] = identity.account.id
        }
        return values
    }

    // MARK: Rendering

    func render(_ template: String, _ values: [String: Any], status: HTTPResponse.Status) throws -> Response {
        guard let html = assets.templates.render(Self.withoutEmptyText(values), withTemplate: template) else { throw GatewayError.internalError }
        return Response(status: status, headers: Self.pageHeaders, body: .init(byteBuffer: ByteBuffer(string: html)))
    }

    /// Drops empty strings from the values, recursively: Mustache renders a section for any present value, so an
    /// empty field (no tier, no error, no limit) must be absent to read as "nothing".
    static func withoutEmptyText(_ value: Any) -> Any {
        switch value {
        case let dictionary as [String: Any]:
            var out: [String: Any] = [:]
            for (key, item) in dictionary where (item as? String) != "" { out[key] = withoutEmptyText(item) }
            return out
        case let array as [[String: Any]]:
            return array.map { withoutEmptyText($0) }
        default:
            return value
        }
    }

    /// Pages load only this gateway's own stylesheet and script, and are never framed.
    static let pageHeaders: HTTPFields = [
        .contentType: "text/html; charset=utf-8",
        .cacheControl: "no-store",
        .contentSecurityPolicy: "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        .xContentTypeOptions: "nosniff",
        .xFrameOptions: "DENY",
        .referrerPolicy: "same-origin",
    ]

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// The session cookie is `Secure` when the console is reached over TLS (through a proxy trusted to say so).
    func isSecure(_ request: Request) -> Bool {
        request.head.scheme == "https" || (configuration.trustForwardedHeaders && request.headers[.xForwardedProto]?.lowercased() == "https")
    }

    /// Refuses form posts made by another site: browsers send `Origin` (and `Sec-Fetch-Site`) on every POST.
    static func isSameOrigin(_ request: Request) -> Bool {
        if let site = request.headers[.secFetchSite], site != "same-origin", site != "none" { return false }
        guard let origin = request.headers[.origin] else { return true }
        guard let host = request.head.authority else { return false }
        return origin == "http://" + host || origin == "https://" + host
    }

    /// An `application/x-www-form-urlencoded` body of at most 16 KiB.
    static func form(_ request: Request) async throws -> [String: String] {
        let text = String(buffer: try await request.body.collect(upTo: 16 << 10))
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ part: Substring) -> String {
                part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(part)
            }
            fields[decode(parts[0])] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }
}
