import ArgumentParser
import Foundation
import GateRouterMockProvider
import GateRouterServer
import Hummingbird
import Logging
import ServiceLifecycle

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway (SQLite in the data folder; no other set-up)."
    )

    @Option(help: "Address to bind (env GATEROUTER_HOST; default 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (env GATEROUTER_PORT; default 8090).")
    var port: Int?

    @Option(name: .customLong("data-dir"), help: "Folder for the embedded database (env GATEROUTER_DATA_DIR; default ./gaterouter-data).")
    var dataDir: String?

    @Option(help: "YAML config file (env GATEROUTER_CONFIG).")
    var config: String?

    @Flag(help: "Simulate every provider with the built-in mock, so all features work offline. Answers are not real.")
    var demo = false

    @Option(help: "PostgreSQL URL (postgres://user:password@host:5432/db) for several instances sharing one state (env GATEROUTER_DATABASE_URL; default: SQLite in the data folder).")
    var database: String?

    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (env GATEROUTER_LOG_LEVEL; default info).")
    var logLevel: String?

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        // A line per request: written in batches from a background thread, never by the event loops.
        let writer = LogWriter()
        defer { writer.flush() }
        let logger = makeLogger(label: "gaterouter", level: logLevel ?? environment["GATEROUTER_LOG_LEVEL"], writer: writer)
        // The fast path's request lines go to the writer as values, formatted on its thread.
        let requestLog = RequestLineWriter(writer: writer, label: "gaterouter")
        let configuration: GatewayConfiguration
        do {
            configuration = try GatewayConfiguration.load(
                commandLine: CommandLineSettings(host: host, port: port, dataDirectory: dataDir, configFile: config, isDemo: demo),
                environment: environment
            )
        } catch {
            throw ValidationError("\(error)")
        }
        let databaseURL = database ?? environment["GATEROUTER_DATABASE_URL"]
        try await GatewayBootstrap.withState(databaseURL: databaseURL, dataDirectory: configuration.dataDirectory, logger: logger) { state in
            try await run(configuration: configuration, state: state, logger: logger, requestLog: requestLog)
        }
    }

    private func run(configuration: GatewayConfiguration, state: GatewayBootstrap.Result, logger: Logger, requestLog: RequestLineWriter) async throws {
        var configuration = configuration
        guard demo else {
            try await serve(configuration, state: state, logger: logger, requestLog: requestLog)
            return
        }
        // Demo: a mock upstream on a free loopback port stands in for every provider.
        let mock = MockProvider(options: .init(latency: .milliseconds(120), tokenDelay: .milliseconds(25)))
        let (ports, portContinuation) = AsyncStream<Int>.makeStream()
        let mockApp = mock.buildApplication(host: "127.0.0.1", port: 0, logger: logger) { port in
            portContinuation.yield(port)
            portContinuation.finish()
        }
        // The mock stops the way the gateway does, gracefully, once the gateway has: cancelled instead, Hummingbird
        // logged an error ("Waiting on child channel") on every demo shutdown.
        let mockService = ServiceGroup(configuration: .init(services: [mockApp], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await mockService.run() }
            var iterator = ports.makeAsyncIterator()
            guard let mockPort = await iterator.next() else { throw ValidationError("the demo upstream did not start") }
            configuration = configuration.simulatingProviders(at: "http://127.0.0.1:\(mockPort)")
            try await serve(configuration, state: state, logger: logger, requestLog: requestLog)
            await mockService.triggerGracefulShutdown()
            try await group.waitForAll()
        }
    }

    private func serve(_ configuration: GatewayConfiguration, state: GatewayBootstrap.Result, logger: Logger, requestLog: RequestLineWriter) async throws {
        let app = buildApplication(configuration: configuration, state: state, logger: logger, requestLog: requestLog) { port in
            printBanner(configuration: configuration, port: port, firstStartKey: state.firstStartKey)
        }
        try await app.runService()
    }

    private func printBanner(configuration: GatewayConfiguration, port: Int, firstStartKey: String?) {
        let host = configuration.host == "0.0.0.0" ? "127.0.0.1" : configuration.host
        let root = "http://\(host):\(port)"
        let (available, total) = configuration.modelAvailability
        var lines = [String]()
        if configuration.isDemo {
            lines += [
                "",
                "*** DEMO MODE: every provider is SIMULATED by the built-in mock. Answers are NOT real model output. ***",
            ]
        }
        lines += [
            "",
            "GateRouter is running.",
            "  Base URL:  \(root)/openai/v1",
        ]
        if let firstStartKey {
            lines.append("  API key:   \(firstStartKey)")
            lines.append("             (shown once, now: store it. Only its hash is kept.)")
        } else {
            lines.append("  API key:   issued on first start; create another with `gaterouter keys create --data-dir \(configuration.dataDirectory)`")
        }
        lines += [
            "  Console:   \(root)/console/ (sign in with the API key\(configuration.adminToken == nil ? "" : " or the admin token"))",
            "  Data:      \(configuration.dataDirectory)",
            "  Models:    \(available) of \(total) catalog models available (set provider keys such as OPENAI_API_KEY to enable more)",
            "",
        ]
        FileHandle.standardOutput.write(Data(lines.joined(separator: "\n").utf8 + [0x0A]))
    }
}

/// A stderr logger at the requested level; batched through `writer` when given (the caller flushes it before exiting).
func makeLogger(label: String, level: String?, writer: LogWriter? = nil) -> Logger {
    var logger = Logger(label: label) { label in
        if let writer { BufferedStderrLogHandler(label: label, writer: writer) } else { StreamLogHandler.standardError(label: label) }
    }
    logger.logLevel = level.flatMap { Logger.Level(rawValue: $0.lowercased()) } ?? .info
    return logger
}
