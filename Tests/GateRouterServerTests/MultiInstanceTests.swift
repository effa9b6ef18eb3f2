import AsyncHTTPClient
import Foundation
import GateRouterMockProvider
import GateRouterServer
import Hummingbird
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

/// Two gateway instances on one PostgreSQL database behave as one gateway: keys, revocations and settings travel
/// between them within a second, balances stay exact under concurrent spending, and rate limits hold across both.
@Suite struct MultiInstanceTests {
    static let databaseURL = ProcessInfo.processInfo.environment["GATEROUTER_TEST_POSTGRES_URL"]
    static let enabled = databaseURL != nil || ProcessInfo.processInfo.environment["CI"] == "true"
    static let model = "deepseek/deepseek-v3.2"

    /// Runs `body` with two live gateways sharing the test database and one mock upstream.
    static func withTwoInstances(_ body: @Sendable (GatewayHarness, GatewayHarness) async throws -> Void) async throws {
        let url = try #require(databaseURL, "GATEROUTER_TEST_POSTGRES_URL is required under CI=true (.ci/run starts PostgreSQL)")
        let mock = MockProvider()
        let client = makeUpstreamClient(limits: GatewayConfiguration.Limits())
        defer { _ = client }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                let (mockPorts, mockContinuation) = AsyncStream<Int>.makeStream()
                let mockApp = mock.buildApplication(port: 0, logger: quietLogger) { mockContinuation.yield($0) }
                group.addTask { try await mockApp.run() }
                var mockIterator = mockPorts.makeAsyncIterator()
                let mockURL = "http://127.0.0.1:\(try #require(await mockIterator.next()))"
                let (ports, portContinuation) = AsyncStream<(Int, Int)>.makeStream()
                for index in 0..<2 {
                    let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("gr-multi-\(UUID().uuidString)").path
                    let configuration = try GatewayConfiguration.resolve(
                        file: try ConfigFile(yaml: ""),
                        commandLine: CommandLineSettings(host: "127.0.0.1", port: 0, dataDirectory: dataDirectory),
                        environment: ["DEEPSEEK_API_KEY": "upstream-key", "DEEPSEEK_BASE_URL": mockURL + "/v1", "GATEROUTER_ADMIN_TOKEN": "test-admin-token"]
                    )
                    group.addTask {
                        try await GatewayBootstrap.withState(databaseURL: url, dataDirectory: dataDirectory, logger: quietLogger) { state in
                            let app = buildApplication(configuration: configuration, state: state, httpClient: client, logger: quietLogger) {
                                portContinuation.yield((index, $0))
                            }
                            try await app.run()
                        }
                    }
                }
                var found: [Int: Int] = [:]
                for await (index, port) in ports {
                    found[index] = port
                    if found.count == 2 { break }
                }
                let harnesses = try (0..<2).map { index in
                    GatewayHarness(
                        root: "http://127.0.0.1:\(try #require(found[index]))", apiKey: "unused", mock: mock, mockURL: mockURL, client: client,
                        dataDirectory: "", adminToken: "test-admin-token"
                    )
                }
                try await body(harnesses[0], harnesses[1])
                group.cancelAll()
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    /// Polls `condition` for up to `limit`; returns how long it took to hold, or nil.
    static func within(_ limit: Duration, _ condition: () async throws -> Bool) async throws -> Duration? {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < limit {
            if try await condition() { return ContinuousClock.now - start }
            try await Task.sleep(for: .milliseconds(25))
        }
        return nil
    }

    static func chatBody(_ text: String = "hi") -> String {
        #"{"model":"\#(model)","messages":[{"role":"user","content":"\#(text)"}]}"#
    }

    @Test(.enabled(if: enabled))
    func keysRevocationsAndSettingsTravelBetweenInstancesWithinASecond() async throws {
        try await Self.withTwoInstances { a, b in
            let account = try await a.makeAccount(name: "multi", balance: nil)
            let visible = try await Self.within(.seconds(3)) { try await b.chat(Self.chatBody(), key: .some(account.key)).status == 200 }
            #expect(visible != nil && visible! < .seconds(1), "a key created on A works on B within a second (\(String(describing: visible)))")

            _ = try await b.admin(.PATCH, "/settings?account_id=\(account.id)", body: #"{"auto_routing":false}"#)
            let auto = #"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#
            let settled = try await Self.within(.seconds(3)) {
                try await a.chat(auto, key: .some(account.key)).errorMessage?.contains("auto routing is not enabled") == true
            }
            #expect(settled != nil && settled! < .seconds(1), "a setting changed on B applies on A within a second")

            #expect(try await b.admin(.DELETE, "/keys/\(account.keyID)").status == 200)
            let revoked = try await Self.within(.seconds(3)) { try await a.chat(Self.chatBody(), key: .some(account.key)).status == 401 }
            #expect(revoked != nil && revoked! < .seconds(1), "a key revoked on B stops on A within a second")
        }
    }

    @Test(.enabled(if: enabled))
    func balancesStayExactUnderConcurrentSpendingFromBothInstances() async throws {
        try await Self.withTwoInstances { a, b in
            let account = try await a.makeAccount(name: "spend", balance: "3")
            _ = try await Self.within(.seconds(3)) { try await b.chat(Self.chatBody(), key: .some(account.key)).status == 200 }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for index in 0..<40 {
                    group.addTask {
                        let gateway = index.isMultiple(of: 2) ? a : b
                        let reply = try await gateway.chat(Self.chatBody("spend \(index) " + String(repeating: "z", count: index * 13)), key: .some(account.key))
                        #expect(reply.status == 200)
                    }
                }
                try await group.waitForAll()
            }
            let records = try await a.ledger(account: account.id, count: 41)
            #expect(records.count == 41)
            let total = records.reduce(Decimal(0)) { $0 + usd($1["cost"]) }
            #expect(total > 0)
            try await Task.sleep(for: .milliseconds(1300))  // both instances reload balances every second
            for gateway in [a, b] {
                let balance = usd(try await gateway.admin(.GET, "/accounts/\(account.id)").json?["balance"])
                #expect(balance == Decimal(3) - total, "exact on every instance")
            }
        }
    }

    @Test(.enabled(if: enabled))
    func aRateLimitHoldsAcrossTwoInstances() async throws {
        try await Self.withTwoInstances { a, b in
            let limit = 40
            let account = try await a.makeAccount(name: "rate", balance: nil, limits: #"{"requests_per_minute":\#(limit)}"#)
            _ = try await Self.within(.seconds(3)) { try await b.request(.GET, "/api/v1/account", key: .some(account.key)).status == 200 }
            // Keep the load inside one fixed one-minute window.
            let second = Int(Date().timeIntervalSince1970) % 60
            if second > 50 { try await Task.sleep(for: .seconds(61 - second)) }
            try await Task.sleep(for: .milliseconds(300))  // both instances have exchanged counts for this window
            final class Count: Sendable { let ok = Mutex(0); let limited = Mutex(0) }
            let count = Count()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for round in 0..<15 {
                            let gateway = (worker + round).isMultiple(of: 2) ? a : b
                            let reply = try await gateway.chat(Self.chatBody(), key: .some(account.key))
                            if reply.status == 200 { count.ok.withLock { $0 += 1 } }
                            if reply.status == 429 { count.limited.withLock { $0 += 1 } }
                            // Load spread over a few seconds, as clients behind a load balancer send it.
                            try await Task.sleep(for: .milliseconds(150))
                        }
                    }
                }
                try await group.waitForAll()
            }
            let admitted = count.ok.withLock { $0 }
            #expect(admitted <= limit + limit / 100 + 1, "admitted \(admitted) of 120 with a limit of \(limit) over two instances")
            #expect(admitted >= limit * 3 / 4, "the limit is shared, not split into starvation: \(admitted)")
            #expect(count.limited.withLock { $0 } == 120 - admitted)
        }
    }
}
