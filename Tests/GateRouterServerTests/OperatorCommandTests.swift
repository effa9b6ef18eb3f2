import AsyncHTTPClient
import Foundation
import GateRouterSQLite
import GateRouterStorage
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// The operator commands and graceful shutdown, on the real `gaterouter` binary.
@Suite struct OperatorCommandTests {
    static let enabled = FileManager.default.isExecutableFile(atPath: CommandLineTests.binary) || ProcessInfo.processInfo.environment["CI"] == "true"

    /// Runs `gaterouter` to completion and returns its exit status and standard output.
    static func run(_ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("GATEROUTER_") }
        environment["GATEROUTER_LOG_LEVEL"] = "warning"
        process.environment = environment
        let (status, data) = try await OpenAISDKConformanceTests.run(process, standardError: false)
        return (status, String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    static func startDemo(dataDirectory: String) async throws -> (CommandLineTests.RunningCommand, baseURL: String, key: String) {
        var environment = CommandLineTests.cleanEnvironment
        environment["GATEROUTER_LOG_LEVEL"] = "warning"
        let command = try CommandLineTests.RunningCommand(
            arguments: ["serve", "--demo", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDirectory], environment: environment
        )
        let banner = try await command.wait(for: "Models:")
        let baseURL = try #require(CommandLineTests.value(after: "Base URL:", in: banner))
        let key = try #require(CommandLineTests.value(after: "API key:", in: banner))
        return (command, baseURL, key)
    }

    static func chat(_ client: HTTPClient, baseURL: String, key: String) async throws -> (status: Int, requestID: String?) {
        var request = HTTPClientRequest(url: baseURL + "/chat/completions")
        request.method = .POST
        request.headers.add(name: "authorization", value: "Bearer \(key)")
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"hi"}]}"#))
        let response = try await client.execute(request, timeout: .seconds(30))
        _ = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), response.headers.first(name: "x-request-id"))
    }

    @Test(.enabled(if: enabled))
    func cliChangesReachARunningGatewayWithinASecond() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("gr-ops-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let (gateway, baseURL, _) = try await Self.startDemo(dataDirectory: dataDirectory)
        let status = try await gateway.serving { client in
            let created = try await Self.run(["accounts", "create", "--name", "Ops", "--balance", "2", "--data-dir", dataDirectory])
            #expect(created.status == 0 && created.output.hasPrefix("acct_"))
            let key = try await Self.run(["keys", "create", "--account", created.output, "--rpm", "100", "--data-dir", dataDirectory])
            #expect(key.status == 0 && key.output.hasPrefix("gr-"))

            // The running gateway picks the new key up from the shared SQLite file within a second.
            let start = ContinuousClock.now
            var status = 0
            while ContinuousClock.now - start < .seconds(3) {
                status = try await Self.chat(client, baseURL: baseURL, key: key.output).status
                if status == 200 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(status == 200)
            #expect(ContinuousClock.now - start < .milliseconds(1500), "took \(ContinuousClock.now - start)")

            let listed = try await Self.run(["keys", "list", "--account", created.output, "--data-dir", dataDirectory])
            let keyID = try #require(listed.output.split(separator: "\n").dropFirst().first?.split(separator: " ").first.map(String.init))
            #expect(try await Self.run(["keys", "revoke", keyID, "--data-dir", dataDirectory]).status == 0)
            let revokedAt = ContinuousClock.now
            while ContinuousClock.now - revokedAt < .seconds(3) {
                status = try await Self.chat(client, baseURL: baseURL, key: key.output).status
                if status == 401 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(status == 401)
            #expect(ContinuousClock.now - revokedAt < .milliseconds(1500))

            let credited = try await Self.run(["accounts", "credit", created.output, "0.5", "--data-dir", dataDirectory])
            #expect(credited.status == 0 && Decimal(string: credited.output) ?? 0 > 2, "balance after a credit: \(credited.output)")
            #expect(try await Self.run(["accounts", "credit", "acct_missing", "1", "--data-dir", dataDirectory]).status != 0)
        }
        #expect(status == 0)
        let usage = try await Self.run(["usage", "--group-by", "model", "--csv", "--data-dir", dataDirectory])
        #expect(usage.output.contains("deepseek/deepseek-v3.2,"), "\(usage.output)")
    }

    @Test(.enabled(if: enabled))
    func sigtermUnderLoadLosesNoRecord() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("gr-term-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        let (gateway, baseURL, key) = try await Self.startDemo(dataDirectory: dataDirectory)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        final class Load: Sendable {
            let acknowledged = Mutex<[String]>([])
            let stopping = Atomic<Bool>(false)
        }
        let load = Load()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    // Each worker sends requests until the gateway stops accepting them.
                    while true {
                        guard let reply = try? await Self.chat(client, baseURL: baseURL, key: key) else { return }
                        if reply.status == 200, let id = reply.requestID { load.acknowledged.withLock { $0.append(id) } }
                        if load.stopping.load(ordering: .relaxed), reply.status != 200 { return }
                    }
                }
            }
            try await Task.sleep(for: .seconds(2))
            load.stopping.store(true, ordering: .relaxed)
            #expect(await gateway.terminate() == 0, "SIGTERM under load shuts down cleanly")
            try await group.waitForAll()
        }
        try await client.shutdown()

        let answered = load.acknowledged.withLock { $0 }
        #expect(answered.count > 5, "the load was real: \(answered.count) answered")
        let store = try SQLiteStore(path: dataDirectory + "/gaterouter.sqlite")
        let records = try await store.usage(UsageQuery(limit: 1_000_000))
        let recorded = Set(records.map(\.id))
        let missing = answered.filter { !recorded.contains($0) }
        #expect(missing.isEmpty, "\(missing.count) answered requests have no ledger record")
        #expect(recorded.count == records.count, "no record twice")
    }
}

/// Two `gaterouter serve` processes on one PostgreSQL database act as one gateway.
@Suite struct TwoProcessTests {
    static let databaseURL = ProcessInfo.processInfo.environment["GATEROUTER_TEST_POSTGRES_URL"]
    static let enabled = OperatorCommandTests.enabled && (databaseURL != nil || ProcessInfo.processInfo.environment["CI"] == "true")

    struct Instance {
        var command: CommandLineTests.RunningCommand
        var root: String
    }

    static func start(databaseURL: String) async throws -> Instance {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("gr-two-\(UUID().uuidString)").path
        var environment = CommandLineTests.cleanEnvironment
        environment["GATEROUTER_LOG_LEVEL"] = "warning"
        environment["GATEROUTER_ADMIN_TOKEN"] = "two-process-admin"
        let command = try CommandLineTests.RunningCommand(
            arguments: ["serve", "--demo", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDirectory, "--database", databaseURL],
            environment: environment
        )
        let banner = try await command.wait(for: "Models:")
        let baseURL = try #require(CommandLineTests.value(after: "Base URL:", in: banner))
        return Instance(command: command, root: String(baseURL.dropLast("/openai/v1".count)))
    }

    static func call(_ client: HTTPClient, _ method: HTTPMethod, _ url: String, key: String, body: String? = nil) async throws -> (status: Int, json: [String: Any]?) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers.add(name: "authorization", value: "Bearer \(key)")
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), (try? JSONSerialization.jsonObject(with: Data(String(buffer: bytes).utf8))) as? [String: Any])
    }

    @Test(.enabled(if: enabled))
    func twoServeProcessesOnOnePostgresShareKeysAndBalances() async throws {
        let url = try #require(Self.databaseURL, "GATEROUTER_TEST_POSTGRES_URL is required under CI=true")
        let a = try await Self.start(databaseURL: url)
        let b = try await Self.start(databaseURL: url)
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let admin = "two-process-admin"
        let chat = #"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"hello from two processes"}]}"#
        do {
            let account = try await Self.call(client, .POST, a.root + "/admin/v1/accounts", key: admin, body: #"{"name":"two","prepaid":true,"balance":"2"}"#)
            let accountID = try #require(account.json?["id"] as? String)
            let created = try await Self.call(client, .POST, a.root + "/admin/v1/keys", key: admin, body: #"{"account_id":"\#(accountID)"}"#)
            let key = try #require(created.json?["key"] as? String)
            let keyID = try #require(created.json?["id"] as? String)

            var metered = 0
            let start = ContinuousClock.now
            var status = 0
            while ContinuousClock.now - start < .seconds(3), status != 200 {
                status = try await Self.call(client, .POST, b.root + "/openai/v1/chat/completions", key: key, body: chat).status
                if status != 401 { metered += 1 }
            }
            #expect(status == 200 && ContinuousClock.now - start < .milliseconds(1500), "a key made on process A works on process B")

            for index in 0..<20 {
                let reply = try await Self.call(client, .POST, (index.isMultiple(of: 2) ? a : b).root + "/openai/v1/chat/completions", key: key, body: chat)
                #expect(reply.status == 200)
                metered += 1
            }

            #expect(try await Self.call(client, .DELETE, b.root + "/admin/v1/keys/\(keyID)", key: admin).status == 200)
            let revokedAt = ContinuousClock.now
            status = 0
            while ContinuousClock.now - revokedAt < .seconds(3), status != 401 {
                status = try await Self.call(client, .POST, a.root + "/openai/v1/chat/completions", key: key, body: chat).status
                if status != 401 { metered += 1 }
            }
            #expect(status == 401 && ContinuousClock.now - revokedAt < .milliseconds(1500), "a key revoked on B stops on A")

            // Every metered request is in the shared ledger once, and both processes show the same exact balance.
            var records: [[String: Any]] = []
            let deadline = ContinuousClock.now + .seconds(10)
            while ContinuousClock.now < deadline {
                records = try await Self.call(client, .GET, a.root + "/admin/v1/usage?account_id=\(accountID)&limit=1000", key: admin).json?["data"] as? [[String: Any]] ?? []
                if records.count >= metered { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(records.count == metered)
            let total = records.reduce(Decimal(0)) { $0 + usd($1["cost"]) }
            try await Task.sleep(for: .milliseconds(1300))
            for instance in [a, b] {
                let balance = usd(try await Self.call(client, .GET, instance.root + "/admin/v1/accounts/\(accountID)", key: admin).json?["balance"])
                #expect(balance == Decimal(2) - total)
            }
        } catch {
            try? await client.shutdown()
            _ = await a.command.terminate()
            _ = await b.command.terminate()
            throw error
        }
        try await client.shutdown()
        #expect(await a.command.terminate() == 0)
        #expect(await b.command.terminate() == 0)
    }
}
