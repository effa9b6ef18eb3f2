import AsyncHTTPClient
import Foundation
import GateRouterMockProvider
import GateRouterServer
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Testing

/// A live gateway and a live mock upstream, both on 127.0.0.1 with free ports, plus a client to talk to them.
struct GatewayHarness: Sendable {
    let root: String
    let apiKey: String
    let mock: MockProvider
    let mockURL: String
    let client: HTTPClient
    let dataDirectory: String
    let adminToken: String?

    struct Reply: Sendable {
        var status: Int
        var headers: [String: String]
        var body: String
        var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(body.utf8))) as? [String: Any] }
        var error: [String: Any]? { json?["error"] as? [String: Any] }
        var errorMessage: String? { error?["message"] as? String }
        /// The `data:` payloads of an SSE body, in order.
        var events: [String] {
            body.components(separatedBy: "\n\n").compactMap { block in
                block.hasPrefix("data: ") ? String(block.dropFirst(6)) : nil
            }
        }
    }

    func request(_ method: HTTPMethod, _ path: String, body: String? = nil, key: String?? = .none, headers: [String: String] = [:]) async throws -> Reply {
        var request = HTTPClientRequest(url: root + path)
        request.method = method
        switch key {
        case .none: request.headers.add(name: "authorization", value: "Bearer \(apiKey)")
        case .some(.some(let explicit)): request.headers.add(name: "authorization", value: "Bearer \(explicit)")
        case .some(.none): break
        }
        for (name, value) in headers { request.headers.replaceOrAdd(name: name, value: value) }
        if let body {
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await client.execute(request, timeout: .seconds(30))
        let bytes = try await response.body.collect(upTo: 16 << 20)
        var headerMap: [String: String] = [:]
        for header in response.headers { headerMap[header.name.lowercased()] = header.value }
        return Reply(status: Int(response.status.code), headers: headerMap, body: String(buffer: bytes))
    }

    /// A chat request to run by hand (for reading a stream as it arrives).
    func rawChatRequest(_ body: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: root + "/openai/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "authorization", value: "Bearer \(apiKey)")
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        return request
    }

    func chat(_ body: String, key: String?? = .none) async throws -> Reply {
        try await request(.POST, "/openai/v1/chat/completions", body: body, key: key)
    }
}

let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// Starts a mock upstream and a gateway configured by `environment` and `configYAML` (the mock's base URL replaces
/// `$MOCK` in both), runs `body`, and stops both.
func withGateway(
    environment: [String: String] = ["DEEPSEEK_API_KEY": "upstream-key", "DEEPSEEK_BASE_URL": "$MOCK/v1"],
    configYAML: String = "",
    adminToken: String? = "test-admin-token",
    mockOptions: MockProvider.Options = .init(),
    logger: Logger = quietLogger,
    _ body: @Sendable (GatewayHarness) async throws -> Void
) async throws {
    let mock = MockProvider(options: mockOptions)
    let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("gaterouter-test-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
    let client = makeUpstreamClient(limits: GatewayConfiguration.Limits())

    do {
        try await withThrowingTaskGroup(of: Void.self) { group in
            let (mockPorts, mockPortContinuation) = AsyncStream<Int>.makeStream()
            let mockApp = mock.buildApplication(port: 0, logger: quietLogger) { port in
                mockPortContinuation.yield(port)
            }
            group.addTask { try await mockApp.run() }
            var mockIterator = mockPorts.makeAsyncIterator()
            let mockPort = try #require(await mockIterator.next())
            let mockURL = "http://127.0.0.1:\(mockPort)"

            var env = environment.mapValues { $0.replacingOccurrences(of: "$MOCK", with: mockURL) }
            if let adminToken { env["GATEROUTER_ADMIN_TOKEN"] = adminToken }
            let configuration = try GatewayConfiguration.resolve(
                file: try ConfigFile(yaml: configYAML.replacingOccurrences(of: "$MOCK", with: mockURL)),
                commandLine: CommandLineSettings(host: "127.0.0.1", port: 0, dataDirectory: dataDirectory),
                environment: env
            )
            let state = try await GatewayBootstrap.openSQLite(dataDirectory: dataDirectory, logger: quietLogger)
            let apiKey = try #require(state.firstStartKey)

            let (ports, portContinuation) = AsyncStream<Int>.makeStream()
            // The gateway makes its own upstream client, so its timeouts are the configuration's (as in `serve`).
            let app = buildApplication(configuration: configuration, state: state, logger: logger) { port in
                portContinuation.yield(port)
            }
            group.addTask { try await app.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())

            let harness = GatewayHarness(
                root: "http://127.0.0.1:\(port)", apiKey: apiKey, mock: mock, mockURL: mockURL,
                client: client, dataDirectory: dataDirectory, adminToken: adminToken
            )
            try await body(harness)
            group.cancelAll()
        }
    } catch {
        try? await client.shutdown()
        throw error
    }
    try await client.shutdown()
}

extension String {
    /// Parses a JSON object literal for assertions.
    var jsonObject: [String: Any]? { (try? JSONSerialization.jsonObject(with: Data(utf8))) as? [String: Any] }
}
