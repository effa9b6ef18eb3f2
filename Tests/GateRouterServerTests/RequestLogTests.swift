import NIOHTTP1
import Foundation
import Logging
import Synchronization
import Testing

/// Records log lines in memory so tests can read what the gateway logged.
final class LogRecorder: Sendable {
    struct Line: Sendable {
        var level: Logger.Level
        var message: String
        var metadata: [String: String]
    }

    private let lines = Mutex<[Line]>([])
    var recorded: [Line] { lines.withLock { $0 } }

    var logger: Logger {
        var logger = Logger(label: "recorder") { _ in Handler(recorder: self) }
        logger.logLevel = .trace
        return logger
    }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            var merged = metadata
            for (key, value) in event.metadata ?? [:] { merged[key] = value }
            let line = Line(level: event.level, message: "\(event.message)", metadata: merged.mapValues { "\($0)" })
            recorder.lines.withLock { $0.append(line) }
        }
    }
}

@Suite struct RequestLogTests {
    @Test func eachRequestLogsOneLineAtTheEndWithoutPromptTextOrSecrets() async throws {
        let recorder = LogRecorder()
        try await withGateway(logger: recorder.logger) { gateway in
            _ = try await gateway.chat(#"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"my secret plan"}]}"#)
            _ = try await gateway.chat(#"{"model":"deepseek/deepseek-v3.2","stream":true,"messages":[{"role":"user","content":"my secret plan"}]}"#)
            _ = try await gateway.chat(#"{"model":"deepseek/deepseek-v3.2","messages":[]}"#, key: "gr-wrong-key-value")
            try await Task.sleep(for: .milliseconds(100))

            let requestLines = recorder.recorded.filter { $0.message == "request" }
            #expect(requestLines.count == 3)
            let streamed = try #require(requestLines.dropFirst().first)
            #expect(streamed.metadata["gr.status"] == "200")
            #expect(streamed.metadata["gr.model"] == "deepseek/deepseek-v3.2")
            #expect(streamed.metadata["gr.provider"] == "deepseek")
            #expect(Int(streamed.metadata["gr.tokens.completion"] ?? "") ?? 0 > 0, "a stream's line is written after its usage arrived")
            #expect(requestLines.allSatisfy { $0.metadata["gr.request.id"]?.hasPrefix("req_") == true })
            #expect(requestLines.last?.metadata["gr.status"] == "401")

            let everything = recorder.recorded.map { "\($0.message) \($0.metadata)" }.joined(separator: "\n")
            #expect(!everything.contains("secret plan"))
            #expect(!everything.contains(gateway.apiKey))
            #expect(!everything.contains("gr-wrong-key-value"))
            #expect(!everything.contains("upstream-key"))
        }
    }

    @Test func forwardedClientAddressIsTrustedOnlyWhenConfigured() async throws {
        for trust in [false, true] {
            let recorder = LogRecorder()
            try await withGateway(configYAML: "server: { trust_forwarded_headers: \(trust) }", logger: recorder.logger) { gateway in
                let forwarded = ["x-forwarded-for": "203.0.113.7, 10.0.0.1"]
                // A Hummingbird route, then a chat completion the event-loop fast path answers.
                _ = try await gateway.request(.GET, "/health", key: .some(nil), headers: forwarded)
                let reply = try await gateway.request(.POST, "/openai/v1/chat/completions", body: FastPathTests.chat, headers: forwarded)
                #expect(reply.status == 200)
                #expect(try await FastPathTests.fastPathCount(gateway) == 1)
                try await Task.sleep(for: .milliseconds(50))
                let lines = recorder.recorded.filter { $0.message == "request" && $0.metadata["gr.route"] != "/metrics" }
                #expect(lines.count == 2)
                for line in lines { #expect(line.metadata["gr.client"] == (trust ? "203.0.113.7" : "127.0.0.1"), "\(line.metadata)") }
            }
        }
    }

    @Test func autoRoutingLogsItsDecisionAndFailedAttempts() async throws {
        let recorder = LogRecorder()
        try await withMocks(1) { mocks in
            let environment = ["DEEPSEEK_API_KEY": "k", "DEEPSEEK_BASE_URL": mocks[0].url + "/v1", "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "http://127.0.0.1:1/v1"]
            try await withGateway(environment: environment, logger: recorder.logger) { gateway in
                let reply = try await gateway.chat(#"{"model":"auto","messages":[{"role":"user","content":"hi!"}]}"#)
                #expect(reply.status == 200)
                try await Task.sleep(for: .milliseconds(100))
                let line = try #require(recorder.recorded.last { $0.message == "request" })
                #expect(line.metadata["gr.routing.tier"] == "simple")
                #expect(line.metadata["gr.routing.decision"]?.contains("score=") == true)
                #expect(line.metadata["gr.routing.attempts"] == reply.headers["x-gaterouter-attempts"])
                #expect(line.metadata["gr.routing.failed"]?.contains("openai/") == true, "\(line.metadata)")
                #expect(line.metadata["gr.model"] == reply.headers["x-gaterouter-model"])
            }
        }
    }
}
