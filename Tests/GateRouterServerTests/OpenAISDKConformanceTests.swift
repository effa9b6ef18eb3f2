import Foundation
import Synchronization
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

    /// One model per upstream dialect, each served by the mock speaking that dialect.
    static let dialects: [(model: String, environment: [String: String])] = [
        ("deepseek/deepseek-v3.2", ["DEEPSEEK_API_KEY": "upstream-key", "DEEPSEEK_BASE_URL": "$MOCK/v1"]),
        ("anthropic/claude-sonnet-4.6", ["ANTHROPIC_API_KEY": "upstream-key", "ANTHROPIC_BASE_URL": "$MOCK"]),
        ("google/gemini-3.1-pro", ["GEMINI_API_KEY": "upstream-key", "GEMINI_BASE_URL": "$MOCK"]),
    ]

    @Test(.enabled(if: isCI || python != nil, "no Python with the openai SDK; run scripts/test.sh"), arguments: dialects.map(\.model))
    func officialOpenAISDKWorksUnmodified(model: String) async throws {
        let python = try #require(Self.python, "CI=true but no Python for the SDK conformance test (set GATEROUTER_PYTHON or create .venv)")
        let environment = try #require(Self.dialects.first { $0.model == model }).environment
        try await withGateway(environment: environment) { gateway in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [Self.packageRoot.appendingPathComponent("Tests/Conformance/openai_sdk_conformance.py").path]
            var processEnvironment = ProcessInfo.processInfo.environment
            processEnvironment["GATEROUTER_BASE_URL"] = gateway.root + "/openai/v1"
            processEnvironment["GATEROUTER_API_KEY"] = gateway.apiKey
            processEnvironment["GATEROUTER_MODEL"] = model
            process.environment = processEnvironment
            // Never block a cooperative thread on the child: on 2 cores two blocked readers would starve the
            // in-process gateway the script is talking to. Output and exit arrive through Foundation's handlers.
            let (status, data) = try await Self.run(process)
            let text = String(decoding: data, as: UTF8.self)
            #expect(status == 0, "\(text)")
            #expect(text.contains(" 0 failed"), "\(text)")
            #expect(text.contains("ok   stream\n"), "\(text)")
        }
    }

    /// Runs `process` to completion, collecting stdout (and stderr, unless `standardError` is false) without blocking.
    static func run(_ process: Process, standardError: Bool = true) async throws -> (Int32, Data) {
        let output = Pipe()
        process.standardOutput = output
        process.standardError = standardError ? output : FileHandle.nullDevice
        let collected = OutputCollector()
        output.fileHandleForReading.readabilityHandler = { handle in collected.append(handle.availableData) }
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { finished in continuation.resume(returning: finished.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        output.fileHandleForReading.readabilityHandler = nil
        collected.append(output.fileHandleForReading.readDataToEndOfFile())
        return (status, collected.data)
    }
}

final class OutputCollector: Sendable {
    private let buffer = Mutex(Data())
    func append(_ data: Data) { buffer.withLock { $0.append(data) } }
    var data: Data { buffer.withLock { $0 } }
}
