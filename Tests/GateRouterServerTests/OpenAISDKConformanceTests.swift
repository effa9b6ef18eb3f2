import Foundation
import Testing

/// The official `openai` Python SDK, which no one here wrote, drives a live gateway: create, stream, models, errors.
///
/// Needs a Python with `openai` installed (`scripts/test.sh` makes `.venv`). Outside CI a missing SDK skips the test;
/// under `CI=true` it fails it.
@Suite struct OpenAISDKConformanceTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static var python: String? {
        let candidates: [String?] = [ProcessInfo.processInfo.environment["GATEROUTER_PYTHON"], packageRoot.appendingPathComponent(".venv/bin/python").path]
        return candidates.compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var isCI: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

    @Test(.enabled(if: isCI || python != nil, "no Python with the openai SDK; run scripts/test.sh"))
    func officialOpenAISDKWorksUnmodified() async throws {
        let python = try #require(Self.python, "CI=true but no Python for the SDK conformance test (set GATEROUTER_PYTHON or create .venv)")
        try await withGateway { gateway in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [Self.packageRoot.appendingPathComponent("Tests/Conformance/openai_sdk_conformance.py").path]
            var environment = ProcessInfo.processInfo.environment
            environment["GATEROUTER_BASE_URL"] = gateway.root + "/openai/v1"
            environment["GATEROUTER_API_KEY"] = gateway.apiKey
            environment["GATEROUTER_MODEL"] = "deepseek/deepseek-v3.2"
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            // Read on a detached thread-free path: the pipe is drained before waiting so a full buffer cannot deadlock.
            let data = try await Task.detached { try output.fileHandleForReading.readToEnd() ?? Data() }.value
            process.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            #expect(process.terminationStatus == 0, "\(text)")
            #expect(text.contains(" 0 failed"), "\(text)")
            #expect(text.contains("ok   stream\n"), "\(text)")
        }
    }
}
