import Foundation
import GateRouterMockProvider
import Testing

/// The mock's dialects are judged by SDKs no one here wrote: the official `anthropic` and `google-genai` Python SDKs
/// talk to the mock's Anthropic and Gemini dialects directly (plain, streamed, tools, thinking and signatures,
/// validation errors, error classes).
@Suite struct MockFidelityTests {
    static let scripts: [(dialect: MockProvider.Dialect, script: String)] = [
        (.anthropic, "anthropic_mock_fidelity.py"),
        (.gemini, "gemini_mock_fidelity.py"),
    ]

    @Test(
        .enabled(if: OpenAISDKConformanceTests.isCI || OpenAISDKConformanceTests.python != nil, "no Python with the SDKs; run scripts/test.sh"),
        arguments: scripts.map(\.script)
    )
    func officialSDKAcceptsTheMock(script: String) async throws {
        let python = try #require(OpenAISDKConformanceTests.python, "CI=true but no Python for the SDK fidelity test")
        let dialect = try #require(Self.scripts.first { $0.script == script }).dialect
        let mock = MockProvider(options: .init(apiKey: "mock-key", dialects: [dialect]))
        try await withThrowingTaskGroup(of: Void.self) { group in
            let (ports, continuation) = AsyncStream<Int>.makeStream()
            let app = mock.buildApplication(port: 0, logger: quietLogger) { continuation.yield($0) }
            group.addTask { try await app.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())

            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [OpenAISDKConformanceTests.packageRoot.appendingPathComponent("Tests/Conformance/\(script)").path]
            var environment = ProcessInfo.processInfo.environment
            environment["GATEROUTER_MOCK_URL"] = "http://127.0.0.1:\(port)"
            environment["GATEROUTER_MOCK_REQUIRES_KEY"] = "1"
            process.environment = environment
            let (status, data) = try await OpenAISDKConformanceTests.run(process)
            let text = String(decoding: data, as: UTF8.self)
            #expect(status == 0, "\(text)")
            #expect(text.contains(" 0 failed"), "\(text)")
            group.cancelAll()
        }
    }
}
