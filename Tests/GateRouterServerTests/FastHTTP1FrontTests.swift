import Foundation
import GateRouterProviders
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The connection's first handler, which reads chat completion requests from the socket's bytes itself: requests cut
/// anywhere, streams framed in chunks, the client idle timeout, and everything it leaves to Hummingbird.
// Serialized: the 8 MB answer's parsing (a debug build) starves the idle-timeout test's timing if they overlap.
@Suite(.serialized) struct FastHTTP1FrontTests {
    /// A client connection on loopback that writes raw bytes and keeps everything it reads.
    final class RawConnection: Sendable {
        let channel: any Channel
        let collected = FastPathTests.Collected()
        final class Flag: Sendable {
            let value = Mutex(false)
        }
        let closed = Flag()

        /// - Parameter reading: false to leave the answer unread (the socket fills) until ``startReading()``.
        init(port: Int, reading: Bool = true) async throws {
            let collected = collected
            channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelOption(.autoRead, value: reading)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(FastPathTests.Collector(collected: collected)) }
                }
                .connect(host: "127.0.0.1", port: port).get()
            channel.closeFuture.whenComplete { [closed] _ in closed.value.withLock { $0 = true } }
        }

        func startReading() async throws {
            try await channel.setOption(.autoRead, value: true)
            channel.read()
        }

        func send(_ text: String) async throws {
            try await channel.writeAndFlush(ByteBuffer(string: text))
        }

        var text: String { String(decoding: collected.bytes.withLock { $0 }, as: UTF8.self) }
        var isClosed: Bool { closed.value.withLock { $0 } }

        /// Waits until what was read satisfies `done`, or `timeout` passes.
        func read(until done: (String) -> Bool, timeout: Duration = .seconds(10)) async throws -> String {
            let deadline = ContinuousClock.now + timeout
            while !done(text), ContinuousClock.now < deadline, !isClosed { try await Task.sleep(for: .milliseconds(10)) }
            return text
        }

        func answers(_ text: String) -> Int { text.components(separatedBy: "HTTP/1.1 ").count - 1 }
    }

    static func port(_ gateway: GatewayHarness) throws -> Int { try #require(URL(string: gateway.root)?.port) }

    static func post(_ body: String, key: String, extraHeaders: String = "") -> String {
        "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(key)\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\(extraHeaders)\r\n\(body)"
    }

    @Test func aRequestArrivingInPiecesIsAnsweredOnceAndTheNextOneToo() async throws {
        try await withGateway { gateway in
            let connection = try await RawConnection(port: try Self.port(gateway))
            // Header names in any case; the request split inside the request line, a header, the blank line and the body.
            let request = Self.post(FastPathTests.chat, key: gateway.apiKey).replacingOccurrences(of: "Authorization:", with: "AUTHORIZATION:")
            let bytes = Array(request.utf8)
            for cut in [[0, 7], [7, 60], [60, bytes.count - 40], [bytes.count - 40, bytes.count - 3], [bytes.count - 3, bytes.count]] {
                try await connection.send(String(decoding: bytes[cut[0]..<cut[1]], as: UTF8.self))
                try await Task.sleep(for: .milliseconds(40))
                if cut[1] < bytes.count { #expect(connection.answers(connection.text) == 0, "answered before the whole request arrived") }
            }
            let first = try await connection.read { $0.contains("\"choices\"") }
            #expect(first.hasPrefix("HTTP/1.1 200 OK\r\n"), "\(first.prefix(300))")
            #expect(first.lowercased().contains("content-length: "))
            try await connection.send(Self.post(FastPathTests.chat, key: gateway.apiKey, extraHeaders: "Connection: close\r\n"))
            let both = try await connection.read(until: { _ in false }, timeout: .seconds(30))
            // Failed once in a clean-clone CI run: both answers read, no close within 10 s. Not reproduced since (one
            // more CI run, six local runs of the suite, two of them under extra CPU load). The wait is now 30 s, in case
            // it was a starved machine, and the message keeps what arrived, in case it was not.
            #expect(connection.isClosed, "Connection: close was not honoured; read: \(both.suffix(900))")
            #expect(connection.answers(both) == 2)
            #expect(try await FastPathTests.fastPathCount(gateway) == 2)
        }
    }

    @Test func aLargeAnswerBeforeConnectionCloseArrivesWhole() async throws {
        try await withGateway { gateway in
            // 8 MB: more than the socket buffers hold while the client reads nothing, so NIO still holds the rest of
            // the answer when the fast path is done with it; the close must wait for it.
            let reply = String(repeating: "a", count: 8 << 20)
            let body = #"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"big"}],"mock":{"reply":"\#(reply)"}}"#
            let connection = try await RawConnection(port: try Self.port(gateway), reading: false)
            try await connection.send(Self.post(body, key: gateway.apiKey, extraHeaders: "Connection: close\r\n"))
            try await Task.sleep(for: .milliseconds(500))
            try await connection.startReading()
            let received = try await connection.read(until: { _ in false }, timeout: .seconds(30))
            #expect(connection.isClosed)
            let bytes = Array(received.utf8)
            let headLength = try #require(bytes.withUnsafeBytes { HTTPSyntax.headLength($0) })
            let head = String(decoding: bytes[..<headLength], as: UTF8.self).lowercased()
            let length = try #require(head.split(separator: "\r\n").first { $0.hasPrefix("content-length:") }.flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespaces)) })
            #expect(head.hasPrefix("http/1.1 200"))
            #expect(bytes.count - headLength == length, "the whole body arrived before the close")
            #expect(length > 8 << 20)
        }
    }

    @Test func aStreamFromTheFrontIsFramedInChunksAndEnds() async throws {
        try await withGateway { gateway in
            let connection = try await RawConnection(port: try Self.port(gateway))
            let body = FastPathTests.chat.replacingOccurrences(of: "\"messages\"", with: "\"stream\":true,\"messages\"")
            try await connection.send(Self.post(body, key: gateway.apiKey, extraHeaders: "Connection: close\r\n"))
            let received = try await connection.read { _ in false }
            // Bytes, not characters: "\r\n" is one Character in Swift.
            let bytes = Array(received.utf8)
            let blank = try #require(bytes.indices.first { Array(bytes[$0..<min($0 + 4, bytes.count)]) == Array("\r\n\r\n".utf8) })
            let head = String(decoding: bytes[..<blank], as: UTF8.self).lowercased()
            #expect(head.hasPrefix("http/1.1 200 ok") && head.contains("transfer-encoding: chunked") && head.contains("text/event-stream"))
            // Decode the chunks by hand: every size line must match its data, and the last chunk is empty.
            var rest = bytes[(blank + 4)...]
            var payload = ""
            var sawEnd = false
            while let lineEnd = rest.indices.first(where: { rest[$0] == UInt8(ascii: "\r") }) {
                let size = try #require(Int(String(decoding: rest[..<lineEnd], as: UTF8.self), radix: 16), "bad chunk size")
                rest = rest[(lineEnd + 2)...]
                if size == 0 {
                    sawEnd = Array(rest) == Array("\r\n".utf8)
                    break
                }
                payload += String(decoding: rest.prefix(size), as: UTF8.self)
                rest = rest.dropFirst(size)
                #expect(Array(rest.prefix(2)) == Array("\r\n".utf8))
                rest = rest.dropFirst(2)
            }
            #expect(sawEnd, "the stream ends with an empty chunk")
            #expect(payload.contains("\"chat.completion.chunk\"") && payload.hasSuffix("data: [DONE]\n\n"))
        }
    }

    @Test func aConnectionIdleLongerThanTheClientIdleTimeoutIsClosedAndABusyOneIsNot() async throws {
        // Three seconds, so that a test slowed by the others running beside it keeps a wide margin: the busy
        // connection is never silent for more than about 0.2 s.
        try await withGateway(configYAML: "server:\n  client_idle_timeout_seconds: 3\n") { gateway in
            let port = try Self.port(gateway)
            let idle = try await RawConnection(port: port)
            try await idle.send(Self.post(FastPathTests.chat, key: gateway.apiKey))
            let busy = try await RawConnection(port: port)
            _ = try await idle.read { $0.contains("\"choices\"") }
            let start = ContinuousClock.now
            var rounds = 0
            while ContinuousClock.now - start < .seconds(5) {
                rounds += 1
                try await busy.send(Self.post(FastPathTests.chat, key: gateway.apiKey))
                _ = try await busy.read { busy.answers($0) == rounds }
                try await Task.sleep(for: .milliseconds(200))
            }
            // Closed three seconds after its answer; allow for a machine busy with the other suites.
            let waitingSince = ContinuousClock.now
            while !idle.isClosed, ContinuousClock.now - waitingSince < .seconds(5) { try await Task.sleep(for: .milliseconds(20)) }
            #expect(idle.isClosed, "the idle connection was closed")
            #expect(!busy.isClosed, "the busy connection stayed open")
            #expect(busy.answers(busy.text) == rounds)
            #expect(idle.answers(idle.text) == 1)
        }
    }

    @Test func requestsTheFrontDoesNotTakeAreAnsweredByHummingbird() async throws {
        try await withGateway { gateway in
            let port = try Self.port(gateway)
            // A chunked body: Hummingbird reads it, and the fast path behind Hummingbird's decoder may still answer it.
            let chunked = try await RawConnection(port: port)
            let body = FastPathTests.chat
            try await chunked.send(
                "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(gateway.apiKey)\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
                    + "\(String(body.utf8.count - 10, radix: 16))\r\n\(String(body.dropLast(10)))\r\na\r\n\(String(body.suffix(10)))\r\n0\r\n\r\n"
            )
            let chunkedAnswer = try await chunked.read { _ in false }
            #expect(chunkedAnswer.hasPrefix("HTTP/1.1 200") && chunkedAnswer.contains("\"choices\""), "\(chunkedAnswer.prefix(300))")

            // A header line without a colon: Hummingbird's parser refuses it.
            let malformed = try await RawConnection(port: port)
            try await malformed.send("POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nno colon\r\nContent-Length: 2\r\n\r\n{}")
            let refused = try await malformed.read { _ in false }
            #expect(refused.hasPrefix("HTTP/1.1 400"), "\(refused.prefix(200))")

            // No key: the fast path's front leaves it, and the router's 401 comes back in OpenAI's envelope.
            let anonymous = try await RawConnection(port: port)
            try await anonymous.send(
                "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
            )
            let unauthorized = try await anonymous.read { _ in false }
            #expect(unauthorized.hasPrefix("HTTP/1.1 401") && unauthorized.contains("\"error\""), "\(unauthorized.prefix(300))")
        }
    }
}
