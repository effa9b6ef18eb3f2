import AsyncHTTPClient
import Foundation
import NIOCore
import Testing

/// The real `gaterouter` binary under sustained load keeps a flat footprint: once warm, thousands more requests and
/// streams add next to nothing to its resident memory or its open sockets.
///
/// Run on the binary, not in this process: the gateway runs Swift concurrency on NIO's event loops (the CLI installs
/// them as the global executor), and the leak this guards against showed only there. Each request through the
/// controller kept about 0.8 KB, and each stream 3 KB, for the 300 s of an attempt's time limit (`LoopTimer`).
@Suite struct MemoryUnderLoadTests {
    static let requests = 8_000
    static let streams = 1_000
    /// The leak above grew the process by about 9 MB over these requests and streams; a warm gateway grows by under 1 MB.
    static let allowance = 3 * 1024 * 1024

    @Test(
        .enabled(if: FileManager.default.isExecutableFile(atPath: CommandLineTests.binary) || ProcessInfo.processInfo.environment["CI"] == "true"),
        .timeLimit(.minutes(5)),
        arguments: ["0", "1"]
    )
    func residentMemoryStaysFlat(fastPath: String) async throws {
        #expect(FileManager.default.isExecutableFile(atPath: CommandLineTests.binary), "build the package first: swift build")
        try await withMocks(1) { mocks in
            let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("gr-memory-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
            var environment = CommandLineTests.cleanEnvironment
            environment["GATEROUTER_LOG_LEVEL"] = "warning"
            // 0: every request through Hummingbird's router and the controller (as with any HTTPS provider); 1: the
            // event-loop fast path that plain-HTTP OpenAI-compatible upstreams take.
            environment["GATEROUTER_FAST_PATH"] = fastPath
            environment["OPENAI_API_KEY"] = "test"
            environment["OPENAI_BASE_URL"] = mocks[0].url + "/v1"
            let gateway = try CommandLineTests.RunningCommand(
                arguments: ["serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", dataDirectory], environment: environment
            )
            let banner = try await gateway.wait(for: "API key:")
            let baseURL = try #require(CommandLineTests.value(after: "Base URL:", in: banner))
            let key = try #require(CommandLineTests.value(after: "API key:", in: banner))
            let pid = gateway.process.processIdentifier

            let status = try await gateway.serving { client in
                // Warm-up: pools, caches and the allocator's arenas reach their working size.
                try await Self.load(client, baseURL: baseURL, key: key, requests: Self.requests / 2, streams: Self.streams / 2)
                try await Task.sleep(for: .milliseconds(300))
                let before = try Self.residentBytes(pid)
                let descriptorsBefore = try Self.openDescriptors(pid)
                try await Self.load(client, baseURL: baseURL, key: key, requests: Self.requests, streams: Self.streams)
                try await Task.sleep(for: .milliseconds(300))
                let after = try Self.residentBytes(pid)
                #expect(
                    after - before < Self.allowance,
                    "fast path \(fastPath): \(Self.requests) requests and \(Self.streams) streams grew the gateway from \(before >> 10) to \(after >> 10) KB"
                )
                // Client and upstream connections are reused or closed: the same 16 clients need no more sockets.
                let descriptorsAfter = try Self.openDescriptors(pid)
                #expect(descriptorsAfter - descriptorsBefore < 32, "fast path \(fastPath): open descriptors went from \(descriptorsBefore) to \(descriptorsAfter)")
            }
            #expect(status == 0)
        }
    }

    /// `requests` whole answers and `streams` streams, 16 at a time; every one must succeed.
    static func load(_ client: HTTPClient, baseURL: String, key: String, requests: Int, streams: Int) async throws {
        let concurrency = 16
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var index = worker
                    while index < requests + streams {
                        let stream = index >= requests
                        var request = HTTPClientRequest(url: baseURL + "/chat/completions")
                        request.method = .POST
                        request.headers.add(name: "authorization", value: "Bearer \(key)")
                        request.headers.add(name: "content-type", value: "application/json")
                        request.body = .bytes(ByteBuffer(string: #"{"model":"openai/gpt-4.1-nano","stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#))
                        let response = try await client.execute(request, timeout: .seconds(30))
                        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
                        guard response.status.code == 200, !stream || body.contains("data: [DONE]") else {
                            throw LoadError(status: Int(response.status.code), body: body)
                        }
                        index += concurrency
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    struct LoadError: Error, CustomStringConvertible {
        let status: Int
        let body: String
        var description: String { "HTTP \(status): \(body.prefix(300))" }
    }

    /// How many files and sockets the process holds open.
    static func openDescriptors(_ pid: Int32) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    }

    /// The process's resident memory, from `/proc/<pid>/status`.
    static func residentBytes(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let kilobytes = try #require(line.split(separator: " ").dropFirst().first.flatMap { Int($0) })
        return kilobytes * 1024
    }
}
