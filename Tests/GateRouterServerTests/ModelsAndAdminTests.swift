import AsyncHTTPClient
import GateRouterMockProvider
import NIOCore
import NIOHTTP1
import Foundation
import GateRouterServer
import GateRouterStorage
import Testing

@Suite struct ModelsAndAdminTests {
    @Test func modelsListIsTheCatalogInOpenAIsShapeWithAvailability() async throws {
        try await withGateway { gateway in
            let reply = try await gateway.request(.GET, "/openai/v1/models")
            #expect(reply.status == 200)
            let json = try #require(reply.json)
            #expect(json["object"] as? String == "list")
            let data = try #require(json["data"] as? [[String: Any]])
            #expect(data.count >= 21)
            for model in data {
                #expect(model["object"] as? String == "model")
                #expect(model["id"] is String && model["created"] is Int && model["owned_by"] is String)
                for field in ["name", "provider", "upstream_id", "aliases", "description", "use_case", "context_length", "max_output_tokens", "pricing", "capabilities", "max_tokens_param", "available"] {
                    #expect(model[field] != nil, "\(model["id"] ?? "?") lacks \(field)")
                }
            }
            let available = Set(data.filter { $0["available"] as? Bool == true }.compactMap { $0["id"] as? String })
            #expect(available == ["deepseek/deepseek-v3.2", "deepseek/deepseek-v3.1"])
        }
    }

    @Test(arguments: ["/openai/v1/models/deepseek%2Fdeepseek-v3.2", "/openai/v1/models/deepseek/deepseek-v3.2", "/openai/v1/models/deepseek-chat"])
    func oneModelByIdInEitherForm(_ path: String) async throws {
        try await withGateway { gateway in
            let reply = try await gateway.request(.GET, path)
            #expect(reply.status == 200)
            #expect(reply.json?["id"] as? String == "deepseek/deepseek-v3.2")
            let pricing = try #require(reply.json?["pricing"] as? [String: Any])
            #expect(pricing["input"] is String)
        }
    }

    @Test func unknownModelIs404ModelNotFound() async throws {
        try await withGateway { gateway in
            let reply = try await gateway.request(.GET, "/openai/v1/models/nope%2Fnothing")
            #expect(reply.status == 404)
            #expect(reply.error?["code"] as? String == "model_not_found")
        }
    }

    @Test func adminAPIIsOffWithoutAToken() async throws {
        try await withGateway(adminToken: nil) { gateway in
            let reply = try await gateway.request(.POST, "/admin/v1/keys", body: "{}", key: "anything")
            #expect(reply.status == 404)
            #expect(reply.errorMessage == "404 page not found")
        }
    }

    @Test func adminAPIRejectsWrongTokens() async throws {
        try await withGateway { gateway in
            let wrong = try await gateway.request(.POST, "/admin/v1/keys", body: "{}", key: "wrong")
            #expect(wrong.status == 401)
            // A customer API key is not an admin token.
            let customerKey = try await gateway.request(.POST, "/admin/v1/keys", body: "{}")
            #expect(customerKey.status == 401)
        }
    }

    @Test func createdKeysWorkAtOnceAndAreStoredOnlyAsHashes() async throws {
        try await withGateway { gateway in
            let created = try await gateway.request(.POST, "/admin/v1/keys", body: #"{"name":"ci"}"#, key: gateway.adminToken)
            #expect(created.status == 201)
            let key = try #require(created.json?["key"] as? String)
            #expect(key.hasPrefix("gr-") && key.count >= 40)
            let reply = try await gateway.chat(#"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"hi"}]}"#, key: key)
            #expect(reply.status == 200)

            let listed = try await gateway.request(.GET, "/admin/v1/keys", key: gateway.adminToken)
            #expect(listed.body.contains(key) == false)
            #expect((listed.json?["data"] as? [Any])?.count == 2)
            let database = try Data(contentsOf: URL(fileURLWithPath: gateway.dataDirectory + "/gaterouter.sqlite"))
            #expect(database.range(of: Data(key.utf8)) == nil, "the secret must never be written to disk")
        }
    }

    @Test func settingsPatchValidatesItsInput() async throws {
        try await withGateway { gateway in
            let wrongType = try await gateway.request(.PATCH, "/admin/v1/settings", body: #"{"auto_routing":"yes"}"#, key: gateway.adminToken)
            #expect(wrongType.status == 400)
            #expect(wrongType.error?["param"] as? String == "auto_routing")
            let unknown = try await gateway.request(.PATCH, "/admin/v1/settings", body: #"{"autorouting":false}"#, key: gateway.adminToken)
            #expect(unknown.status == 400)
            let broken = try await gateway.request(.PATCH, "/admin/v1/settings", body: #"{"auto_routing":"#, key: gateway.adminToken)
            #expect(broken.status == 400)
            // Nothing was lost: the setting is still on.
            let settings = try await gateway.request(.GET, "/admin/v1/settings", key: gateway.adminToken)
            #expect(settings.json?["auto_routing"] as? Bool == true)
        }
    }

    @Test func healthAndMetrics() async throws {
        try await withGateway { gateway in
            let health = try await gateway.request(.GET, "/health", key: .some(nil))
            #expect(health.status == 200)
            _ = try await gateway.chat(#"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"a secret prompt"}]}"#)
            _ = try await gateway.chat(#"{"model":"deepseek/deepseek-v3.2","stream":true,"messages":[{"role":"user","content":"hi"}]}"#)
            _ = try await gateway.chat(#"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"hi"}],"mock":{"status":500}}"#)
            let metrics = try await gateway.request(.GET, "/metrics", key: .some(nil))
            #expect(metrics.status == 200)
            let text = metrics.body
            #expect(text.contains(#"gaterouter_requests_total{route="/openai/v1/chat/completions",model="deepseek/deepseek-v3.2",provider="deepseek",status="200"} 2"#))
            #expect(text.contains("gaterouter_request_duration_seconds_bucket"))
            #expect(text.contains("gaterouter_time_to_first_token_seconds_bucket"))
            #expect(text.contains(#"gaterouter_tokens_total{model="deepseek/deepseek-v3.2",provider="deepseek",kind="completion"}"#))
            #expect(text.contains(#"gaterouter_upstream_errors_total{model="deepseek/deepseek-v3.2",provider="deepseek",status="502"} 2"#), "an upstream 500 reaches the client as 502, after one retry of the fixed model")
            #expect(!text.contains(gateway.apiKey) && !text.contains("secret prompt"))
        }
    }

    @Test func corsIsOffUnlessConfigured() async throws {
        try await withGateway { gateway in
            let reply = try await gateway.request(.GET, "/openai/v1/models", headers: ["origin": "https://app.example"])
            #expect(reply.headers["access-control-allow-origin"] == nil)
        }
        try await withGateway(configYAML: #"server: { cors_allowed_origins: ["https://app.example"] }"#) { gateway in
            let allowed = try await gateway.request(.GET, "/openai/v1/models", headers: ["origin": "https://app.example"])
            #expect(allowed.headers["access-control-allow-origin"] == "https://app.example")
            let preflight = try await gateway.request(.OPTIONS, "/openai/v1/chat/completions", key: .some(nil), headers: ["origin": "https://app.example", "access-control-request-method": "POST"])
            #expect(preflight.status == 204)
            let other = try await gateway.request(.GET, "/openai/v1/models", headers: ["origin": "https://evil.example"])
            #expect(other.headers["access-control-allow-origin"] == nil)
        }
    }
}

@Suite struct BootstrapTests {
    @Test func firstStartCreatesTheDefaultAccountAndOneKeyOnlyOnce() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaterouter-boot-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await GatewayBootstrap.openSQLite(dataDirectory: directory, logger: quietLogger)
        let key = try #require(first.firstStartKey)
        let account = try #require(first.authCache.account(Account.defaultAccountID))
        #expect(account.autoRouting == true)
        #expect(account.spendLimit == nil)

        let second = try await GatewayBootstrap.openSQLite(dataDirectory: directory, logger: quietLogger)
        #expect(second.firstStartKey == nil)
        #expect(second.authCache.authenticate(key)?.account.id == Account.defaultAccountID)
        #expect(try await second.store.apiKeys().count == 1)
    }

    @Test func configurationPrecedenceIsFlagsThenEnvironmentThenFile() throws {
        let file = try ConfigFile(yaml: "server: { host: 0.0.0.0, port: 7000, data_dir: /tmp/from-file }")
        let fromFile = try GatewayConfiguration.resolve(file: file, commandLine: .init(), environment: [:])
        #expect(fromFile.host == "0.0.0.0" && fromFile.port == 7000 && fromFile.dataDirectory == "/tmp/from-file")
        let fromEnv = try GatewayConfiguration.resolve(file: file, commandLine: .init(), environment: ["GATEROUTER_PORT": "7001", "GATEROUTER_DATA_DIR": "/tmp/env"])
        #expect(fromEnv.port == 7001 && fromEnv.dataDirectory == "/tmp/env")
        let fromFlags = try GatewayConfiguration.resolve(file: file, commandLine: .init(port: 7002), environment: ["GATEROUTER_PORT": "7001"])
        #expect(fromFlags.port == 7002)
        let defaults = try GatewayConfiguration.resolve(file: ConfigFile(), commandLine: .init(), environment: [:])
        #expect(defaults.host == "127.0.0.1" && defaults.port == 8090 && defaults.dataDirectory == "./gaterouter-data")
        #expect(throws: ConfigurationError.self) {
            try GatewayConfiguration.resolve(file: file, commandLine: .init(), environment: ["GATEROUTER_PORT": "eighty"])
        }
        #expect(throws: ConfigurationError.self) { try ConfigFile(yaml: "server: [not, a, map]") }
    }

    @Test func demoConfigurationMakesEveryModelAvailable() throws {
        let configuration = try GatewayConfiguration.resolve(file: ConfigFile(), commandLine: .init(isDemo: true), environment: [:])
        #expect(configuration.modelAvailability.available == 0)
        let demo = configuration.simulatingProviders(at: "http://127.0.0.1:1")
        #expect(demo.modelAvailability.available == demo.modelAvailability.total)
        #expect(demo.isDemo)
    }
}
