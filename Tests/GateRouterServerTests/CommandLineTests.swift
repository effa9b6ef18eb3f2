import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import Testing

/// The README's first command, as a user runs it: the real `gaterouter` binary, started and stopped by signal.
@Suite struct CommandLineTests {
    static let binary = OpenAISDKConformanceTests.packageRoot.appendingPathComponent(".build/debug/gaterouter").path

    /// A child process whose stdout is collected as it arrives.
    final class RunningCommand: Sendable {
        let process: Process
        private let output = OutputBuffer()
        private let errors = OutputBuffer()

        final class OutputBuffer: Sendable {
            private let text = Mutex("")
            func append(_ data: Data) { text.withLock { $0 += String(decoding: data, as: UTF8.self) } }
            var value: String { text.withLock { $0 } }
        }

        init(arguments: [String], environment: [String: String]) throws {
            process = Process()
            process.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
            process.arguments = arguments
            process.environment = environment
            let pipe = Pipe(), errorPipe = Pipe()
            process.standardOutput = pipe
            process.standardError = errorPipe
            let output = self.output, errors = self.errors
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                output.append(data)
            }
            errorPipe.fileHandleForReading.readabilityHandler = { handle in errors.append(handle.availableData) }
            try process.run()
        }

        var text: String { output.value }
        /// What the process logged (stderr) so far.
        var log: String { errors.value }

        /// Waits until stdout contains `marker`, for at most `timeout`.
        func wait(for marker: String, timeout: Duration = .seconds(60)) async throws -> String {
            let deadline = ContinuousClock.now + timeout
            while ContinuousClock.now < deadline {
                if text.contains(marker) { return text }
                try await Task.sleep(for: .milliseconds(50))
            }
            Issue.record("timed out waiting for \(marker); output so far:\n\(text)")
            return text
        }

        /// Runs `body` with an HTTP client, then shuts the client down and stops the process by SIGTERM, also when `body`
        /// throws. Returns the process's exit status.
        func serving(_ body: (HTTPClient) async throws -> Void) async throws -> Int32 {
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                try await body(client)
            } catch {
                try? await client.shutdown()
                _ = await terminate()
                throw error
            }
            try await client.shutdown()
            return await terminate()
        }

        func terminate() async -> Int32 {
            process.terminate()  // SIGTERM: graceful shutdown
            let deadline = ContinuousClock.now + .seconds(15)
            while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(50)) }
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    /// This process's environment without provider keys or gateway settings: a child gateway starts from what the test
    /// sets, not from the machine it runs on.
    static var cleanEnvironment: [String: String] {
        ProcessInfo.processInfo.environment.filter { !$0.key.hasSuffix("_API_KEY") && !$0.key.hasPrefix("GATEROUTER_") }
    }

    static func value(after label: String, in text: String) -> String? {
        text.split(separator: "\n").first { $0.contains(label) }
            .flatMap { $0.components(separatedBy: label).last?.trimmingCharacters(in: .whitespaces).split(separator: " ").first.map(String.init) }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: binary) || ProcessInfo.processInfo.environment["CI"] == "true"))
    func serveDemoPrintsOnceAnswersAndShutsDownGracefully() async throws {
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary), "build the package first: swift build")
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("gr-cli-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        var environment = Self.cleanEnvironment
        environment["GATEROUTER_LOG_LEVEL"] = "warning"
        let arguments = ["serve", "--demo", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDirectory]

        var loud = environment
        loud["GATEROUTER_LOG_LEVEL"] = "info"
        let first = try RunningCommand(arguments: arguments, environment: loud)
        let banner = try await first.wait(for: "Models:")
        #expect(banner.contains("DEMO MODE"))
        let baseURL = try #require(Self.value(after: "Base URL:", in: banner))
        let key = try #require(Self.value(after: "API key:", in: banner))
        #expect(baseURL.hasPrefix("http://127.0.0.1:") && baseURL.hasSuffix("/openai/v1"))
        #expect(key.hasPrefix("gr-"))

        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            for model in ["anthropic/claude-sonnet-4.6", "google/gemini-3.1-pro", "openai/gpt-5"] {
                var request = HTTPClientRequest(url: baseURL + "/chat/completions")
                request.method = .POST
                request.headers.add(name: "authorization", value: "Bearer \(key)")
                request.headers.add(name: "content-type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: #"{"model":"\#(model)","messages":[{"role":"user","content":"hi"}]}"#))
                let response = try await client.execute(request, timeout: .seconds(30))
                let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
                #expect(response.status.code == 200, "\(model): \(body)")
                #expect(body.contains(#""model":"\#(model)""#))
            }
        } catch {
            try? await client.shutdown()
            throw error
        }
        try await client.shutdown()
        #expect(await first.terminate() == 0, "SIGTERM must shut down cleanly")
        // One line per request, written in batches from a background thread and flushed on the way out.
        try await Task.sleep(for: .milliseconds(200))
        // A graceful stop is a quiet one: no error lines, the demo's mock upstream included.
        let errorLines = first.log.split(separator: "\n").filter { $0.contains(" error ") }
        #expect(errorLines.isEmpty, "\(errorLines)")
        let requestLines = first.log.split(separator: "\n").filter { $0.contains("[GateRouterServer] request") }
        #expect(requestLines.count == 3, "\(first.log)")
        for line in requestLines {
            #expect(line.contains(" info gaterouter: ") && line.contains("gr.status=200") && line.contains("gr.key.id=key_"), "\(line)")
            #expect(!line.contains(key), "never the key")
            // `<timestamp> info gaterouter: k=v k=v … [GateRouterServer] request`, the keys in order.
            let stamp = line.prefix(24)
            #expect(stamp.count == 24 && stamp.hasSuffix("+0000") && stamp.dropFirst(10).hasPrefix("T"), "\(line)")
            if let start = line.range(of: " info gaterouter: "), let end = line.range(of: " [GateRouterServer] request") {
                let pairs = line[start.upperBound..<end.lowerBound].split(separator: " ")
                let keys = pairs.map { String($0.prefix { $0 != "=" }) }
                #expect(pairs.allSatisfy { $0.contains("=") } && keys == keys.sorted() && keys.contains("gr.duration_ms"), "\(line)")
            }
        }

        // The key is printed once: a second start on the same data folder does not print a new one.
        let second = try RunningCommand(arguments: arguments, environment: environment)
        let secondBanner = try await second.wait(for: "Models:")
        #expect(Self.value(after: "API key:", in: secondBanner)?.hasPrefix("gr-") == false)
        #expect(!secondBanner.contains(key))
        #expect(await second.terminate() == 0)
    }
}
