import Foundation
import GateRouterMockProvider
import Testing

/// The mock's dialects are judged by SDKs no one here wrote: the official `anthropic` Python SDK talks to the mock's
/// Anthropic dialect directly (plain, streamed, tools, thinking, validation errors, error classes).
@Suite struct MockFidelityTests {
    @Test(.enabled(if: OpenAISDKConformanceTests.isCI || OpenAISDKConformanceTests.python != nil, "no Python with the SDKs; run scripts/test.sh"))
    func officialAnthropicSDKAcceptsTheMock() async throws {
        let python = try #require(OpenAISDKConformanceTests.python, "CI=true but no Python for the SDK fidelity test")
        let mock = MockProvider(options: .init(apiKey: "mock-key"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            let (ports, continuation) = AsyncStream<Int>.makeStream()
            let app = mock.buildApplication(port: 0, logger: quietLogger) { continuation.yield($0) }
            group.addTask { try await app.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())

            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [OpenAISDKConformanceTests.packageRoot.appendingPathComponent("Tests/Conformance/anthropic_mock_fidelity.py").path]
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
