import AsyncHTTPClient
import Foundation
import GateRouterMockProvider
import GateRouterServer
import NIOCore
import NIOHTTP1
import Testing

/// The console's pages, sessions and CSRF protection over plain HTTP (what a browser would send), against a live
/// gateway. The same flows in a real Chromium are in ConsoleBrowserTests.
@Suite struct ConsoleTests {
    static let pages = ["", "keys", "settings", "models", "logs", "playground", "integrations"]

    @Test func pagesNeedASessionAndStayUnder100KB() async throws {
        try await withConsole { gateway, console in
            let anonymous = try await console.get("/console/keys")
            #expect(anonymous.status == 303 && anonymous.headers["location"] == "/console/login")

            let session = try await console.signIn(gateway.apiKey)
            let cookie = try #require(session.setCookie)
            for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] { #expect(cookie.contains(attribute), "\(cookie)") }
            #expect(!cookie.contains("Secure"), "plain HTTP: a Secure cookie would never come back")
            #expect(!cookie.contains(gateway.apiKey), "the cookie names the key, never carries it")

            _ = try await gateway.chat(#"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"hi"}]}"#)
            for page in Self.pages {
                let reply = try await console.get("/console/" + page, cookie: session.cookie)
                #expect(reply.status == 200, "\(page): \(reply.status)")
                #expect(reply.headers["content-type"] == "text/html; charset=utf-8")
                #expect(reply.headers["content-security-policy"]?.contains("script-src 'self'") == true)
                #expect(reply.body.utf8.count < 100_000, "\(page) is \(reply.body.utf8.count) bytes")
                #expect(reply.body.contains(#"<meta name="csrf-token" content=""#))
            }
            let css = try await console.get("/console/static/console.css")
            #expect(css.status == 200 && css.headers["content-type"]?.hasPrefix("text/css") == true)
            #expect(try await console.get("/console/static/nothing.js").status == 404)
        }
    }

    @Test func changesNeedTheCSRFTokenReadsDoNot() async throws {
        try await withConsole { gateway, console in
            let session = try await console.signIn(gateway.apiKey)
            let read = try await console.send(.GET, "/api/v1/settings", cookie: session.cookie)
            #expect(read.status == 200 && read.json?["auto_routing"] as? Bool == true)

            let forged = try await console.send(.PATCH, "/api/v1/settings", body: #"{"auto_routing":false}"#, cookie: session.cookie)
            #expect(forged.status == 403 && forged.error?["code"] as? String == "csrf_token_invalid", "\(forged.body)")
            let wrong = try await console.send(.PATCH, "/api/v1/settings", body: #"{"auto_routing":false}"#, cookie: session.cookie, csrf: "0000")
            #expect(wrong.status == 403)
            #expect(try await console.send(.GET, "/api/v1/settings", cookie: session.cookie).json?["auto_routing"] as? Bool == true, "nothing changed")

            let token = try #require(try await console.csrfToken(cookie: session.cookie))
            let allowed = try await console.send(.PATCH, "/api/v1/settings", body: #"{"auto_routing":false}"#, cookie: session.cookie, csrf: token)
            #expect(allowed.status == 200 && allowed.json?["auto_routing"] as? Bool == false)
            let refused = try await gateway.chat(#"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(refused.errorMessage?.contains("auto routing is not enabled") == true, "the next request sees it")

            // The playground's call: the session stands in for the key, with the token.
            let chat = #"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"hi"}]}"#
            #expect(try await console.send(.POST, "/openai/v1/chat/completions", body: chat, cookie: session.cookie).status == 403)
            #expect(try await console.send(.POST, "/openai/v1/chat/completions", body: chat, cookie: session.cookie, csrf: token).status == 200)
        }
    }

    @Test func signInFromAnotherSiteOrWithAForgedCookieIsRefused() async throws {
        try await withConsole { gateway, console in
            let crossSite = try await console.signIn(gateway.apiKey, headers: ["origin": "http://evil.example"])
            #expect(crossSite.status == 403 && crossSite.setCookie == nil)
            let fetched = try await console.signIn(gateway.apiKey, headers: ["sec-fetch-site": "cross-site"])
            #expect(fetched.status == 403 && fetched.setCookie == nil)
            let wrong = try await console.signIn("gr-wrong")
            #expect(wrong.status == 401 && wrong.body.contains("not a valid"))

            let session = try await console.signIn(gateway.apiKey)
            var tampered = session.cookie
            tampered.removeLast()
            tampered.append(session.cookie.hasSuffix("0") ? "1" : "0")
            #expect(try await console.get("/console/", cookie: tampered).status == 303)
            // Claiming to be the admin with a key's signature does not work either.
            let parts = session.cookie.split(separator: "|").map(String.init)
            let promoted = ([parts[0], "admin"] + parts[2...]).joined(separator: "|")
            #expect(try await console.get("/console/accounts", cookie: promoted).status == 303)
        }
    }

    @Test func revokingTheKeyOrSigningOutEndsTheSession() async throws {
        try await withConsole { gateway, console in
            let created = try await gateway.admin(.POST, "/keys", body: #"{"name":"console"}"#)
            let secret = try #require(created.json?["key"] as? String), id = try #require(created.json?["id"] as? String)
            let session = try await console.signIn(secret)
            #expect(try await console.get("/console/keys", cookie: session.cookie).status == 200)
            _ = try await gateway.admin(.DELETE, "/keys/\(id)")
            #expect(try await console.get("/console/keys", cookie: session.cookie).status == 303, "a revoked key's session ends")

            let other = try await console.signIn(gateway.apiKey)
            let token = try #require(try await console.csrfToken(cookie: other.cookie))
            let out = try await console.form("/console/logout", fields: ["csrf": token], cookie: other.cookie)
            #expect(out.status == 303 && out.setCookie?.contains("Max-Age=0") == true)
            #expect(try await console.get("/console/", cookie: other.cookie).status == 303, "the old cookie no longer works")
        }
    }

    @Test func accountKeysCannotReachAdminPagesTheAdminTokenCan() async throws {
        try await withConsole { gateway, console in
            let account = try await console.signIn(gateway.apiKey)
            let page = try await console.get("/console/accounts", cookie: account.cookie)
            #expect(page.status == 403 && page.body.contains("page-error"))
            #expect(!(try await console.get("/console/", cookie: account.cookie).body.contains(#"href="/console/accounts""#)))
            let api = try await console.send(.GET, "/admin/v1/accounts", cookie: account.cookie)
            #expect(api.status == 403 && api.error?["code"] as? String == "admin_only")

            let admin = try await console.signIn(try #require(gateway.adminToken))
            #expect(admin.status == 303 && admin.headers["location"] == "/console/accounts")
            let accounts = try await console.get("/console/accounts", cookie: admin.cookie)
            #expect(accounts.status == 200 && accounts.body.contains(#"data-account-id="default""#))
            #expect(try await console.send(.GET, "/admin/v1/accounts", cookie: admin.cookie).status == 200)
            // The admin's playground calls as the default account, recorded under the console's own key id.
            let token = try #require(try await console.csrfToken(cookie: admin.cookie))
            let chat = try await console.send(
                .POST, "/openai/v1/chat/completions", body: #"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"hi"}]}"#,
                cookie: admin.cookie, csrf: token
            )
            #expect(chat.status == 200)
            let records = try await gateway.ledger(account: "default", count: 1)
            #expect(records.first?["key_id"] as? String == "console_admin")
        }
    }
}

/// A browser's view of the console: no redirects followed, cookies passed by hand.
struct ConsoleClient: Sendable {
    let root: String
    let client: HTTPClient

    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: String
        var setCookie: String? { headers["set-cookie"] }
        /// The `name=value` part of the session cookie set by this reply.
        var cookie: String { setCookie.map { String($0.split(separator: ";")[0]) } ?? "" }
        var json: [String: Any]? { body.jsonObject }
        var error: [String: Any]? { json?["error"] as? [String: Any] }
    }

    func get(_ path: String, cookie: String? = nil) async throws -> Reply {
        try await send(.GET, path, cookie: cookie)
    }

    func send(_ method: HTTPMethod, _ path: String, body: String? = nil, cookie: String? = nil, csrf: String? = nil, headers: [String: String] = [:], contentType: String = "application/json") async throws -> Reply {
        var request = HTTPClientRequest(url: root + path)
        request.method = method
        if let cookie { request.headers.add(name: "cookie", value: cookie) }
        if let csrf { request.headers.add(name: "x-csrf-token", value: csrf) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "content-type", value: contentType)
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 4 << 20)
        var map: [String: String] = [:]
        for header in response.headers { map[header.name.lowercased()] = header.value }
        return Reply(status: Int(response.status.code), headers: map, body: String(buffer: bytes))
    }

    func form(_ path: String, fields: [String: String], cookie: String? = nil, headers: [String: String] = [:]) async throws -> Reply {
        let body = fields.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        return try await send(.POST, path, body: body, cookie: cookie, headers: headers, contentType: "application/x-www-form-urlencoded")
    }

    func signIn(_ secret: String, headers: [String: String] = [:]) async throws -> Reply {
        try await form("/console/login", fields: ["key": secret], headers: headers)
    }

    /// The CSRF token a page carries for its session.
    func csrfToken(cookie: String) async throws -> String? {
        let page = try await get("/console/settings", cookie: cookie).body
        guard let start = page.range(of: #"<meta name="csrf-token" content=""#)?.upperBound, let end = page[start...].firstIndex(of: "\"") else { return nil }
        return String(page[start..<end])
    }
}

func withConsole(mockOptions: MockProvider.Options = .init(), _ body: @Sendable (GatewayHarness, ConsoleClient) async throws -> Void) async throws {
    try await withGateway(mockOptions: mockOptions) { gateway in
        // A browser's client: redirects are looked at, not followed.
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            try await body(gateway, ConsoleClient(root: gateway.root, client: client))
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }
}
