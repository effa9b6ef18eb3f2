import ArgumentParser
import Foundation
import GateRouterMockProvider
import Hummingbird

struct MockProviderCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mock-provider",
        abstract: "Serve a fake OpenAI-compatible upstream (JSON and streaming) for tests, demos and benchmarks."
    )

    @Option(help: "Address to bind.")
    var host = "127.0.0.1"

    @Option(help: "Port to listen on (0 picks a free one).")
    var port = 8091

    @Option(name: .customLong("latency-ms"), help: "Delay before each response, in milliseconds.")
    var latencyMS = 0

    @Option(name: .customLong("token-delay-ms"), help: "Delay between streamed chunks, in milliseconds.")
    var tokenDelayMS = 0

    @Option(name: .customLong("error-rate"), help: "Share of requests (0 to 1) answered with --error-status.")
    var errorRate = 0.0

    @Option(name: .customLong("error-status"), help: "HTTP status of injected errors.")
    var errorStatus = 500

    @Option(name: .customLong("api-key"), help: "Require this key (bearer, x-api-key or x-goog-api-key, per dialect).")
    var apiKey: String?

    @Option(help: "API dialect to speak: openai, anthropic, gemini or all.")
    var dialect = "all"

    @Option(name: .customLong("reply-words"), help: "Answer every OpenAI-dialect request with this many words (one streamed chunk each).")
    var replyWords: Int?

    func validate() throws {
        guard (0...1).contains(errorRate) else { throw ValidationError("--error-rate must be between 0 and 1") }
        guard (400...599).contains(errorStatus) else { throw ValidationError("--error-status must be an HTTP error status (400-599)") }
        guard dialect == "all" || MockProvider.Dialect(rawValue: dialect) != nil else {
            throw ValidationError("--dialect must be one of: all, \(MockProvider.Dialect.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() async throws {
        let logger = makeLogger(label: "gaterouter.mock-provider", level: ProcessInfo.processInfo.environment["GATEROUTER_LOG_LEVEL"])
        let mock = MockProvider(options: .init(
            latency: .milliseconds(latencyMS),
            tokenDelay: .milliseconds(tokenDelayMS),
            errorRate: errorRate,
            errorStatus: errorStatus,
            apiKey: apiKey,
            dialects: dialect == "all" ? Set(MockProvider.Dialect.allCases) : MockProvider.Dialect(rawValue: dialect).map { [$0] } ?? [],
            replyWords: replyWords
        ))
        let app = mock.buildApplication(host: host, port: port, logger: logger) { port in
            FileHandle.standardOutput.write(Data("mock provider listening on http://\(host):\(port)/v1\n".utf8))
        }
        try await app.runService()
    }
}
