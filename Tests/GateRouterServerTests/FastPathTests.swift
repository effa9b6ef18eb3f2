import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing

/// The event-loop fast path (`FastChatCompletions`) answers like the router does, takes only what it can, and keeps
/// responses in request order on a shared keep-alive connection.
@Suite struct FastPathTests {
    static let chat = #"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"hello fast path"}]}"#

    /// The value of `gaterouter_fast_path_requests_total` in `/metrics`.
    static func fastPathCount(_ gateway: GatewayHarness) async throws -> Int {
        let metrics = try await gateway.request(.GET, "/metrics", key: .some(nil))
        let line = metrics.body.split(separator: "\n").first { $0.hasPrefix("gaterouter_fast_path_requests_total ") }
        return Int(line?.split(separator: " ").last ?? "") ?? -1
    }

    /// The value of an unlabelled metric in `/metrics`.
    static func metric(_ name: String, of gateway: GatewayHarness) async throws -> Double? {
        let metrics = try await gateway.request(.GET, "/metrics", key: .some(nil))
        let line = metrics.body.split(separator: "\n").first { $0.hasPrefix(name + " ") }
        return line.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    /// Status, header names (values of the per-request ones aside), and the body's fields that do not vary per call;
    /// for a stream, every event's.
    static func shape(_ reply: GatewayHarness.Reply) -> String {
        let varying: Set<String> = ["x-request-id", "date", "content-length", "transfer-encoding"]
        let headers = reply.headers.filter { !varying.contains($0.key) && !$0.key.hasPrefix("x-ratelimit-reset") }
            .map { "\($0.key)=\($0.value)" }.sorted()
        func stable(_ object: [String: Any]) -> String {
            var body = object
            body["id"] = nil
            body["created"] = nil
            if var usage = body["usage"] as? [String: Any] {
                usage["cost"] = usage["cost"].map { "\($0)" }
                body["usage"] = usage
            }
            return (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "?"
        }
        let text: String
        if reply.headers["content-type"]?.hasPrefix("text/event-stream") == true {
            text = reply.events.map { $0.jsonObject.map(stable) ?? $0 }.joined(separator: " | ")
        } else {
            text = reply.json.map(stable) ?? reply.body
        }
        return "\(reply.status) \(headers.joined(separator: ",")) \(text)"
    }

    @Test func theFastPathAnswersExactlyAsTheRouterDoes() async throws {
        let requests = [
            Self.chat,
            // An upstream error passed on as is, and one the key may not call.
            #"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"x"}],"mock":{"status":503}}"#,
            #"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"x"}],"max_tokens":5,"temperature":0.1,"stream":false}"#,
            #"{"model":"nobody/unknown","messages":[{"role":"user","content":"x"}]}"#,
            #"{"model":"deepseek/deepseek-v3.2","messages":"not a list"}"#,
            #"{"model":"deepseek/deepseek-v3.2""#,
            // Streams: plain, with usage, refused upstream before content, and cut by an in-band error after it.
            #"{"model":"deepseek/deepseek-v3.2","stream":true,"messages":[{"role":"user","content":"stream me"}]}"#,
            #"{"model":"deepseek/deepseek-v3.2","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"usage"}]}"#,
            #"{"model":"deepseek/deepseek-v3.2","stream":true,"messages":[{"role":"user","content":"x"}],"mock":{"status":503}}"#,
            #"{"model":"deepseek/deepseek-v3.2","stream":true,"messages":[{"role":"user","content":"x"}],"mock":{"error_after":2}}"#,
        ]
        let shapes = Collected.Shapes()
        for fast in [true, false] {
            var environment = ["DEEPSEEK_API_KEY": "upstream-key", "DEEPSEEK_BASE_URL": "$MOCK/v1"]
            if !fast { environment["GATEROUTER_FAST_PATH"] = "0" }
            try await withGateway(environment: environment) { gateway in
                var seen: [String] = []
                for body in requests {
                    let reply = try await gateway.chat(body)
                    // Both paths date and sign every answer (the router's through GatewayApplication).
                    #expect(reply.headers["date"]?.hasSuffix(" GMT") == true, "fast=\(fast) \(body)")
                    #expect(reply.headers["server"] == "GateRouter", "fast=\(fast) \(body)")
                    seen.append(Self.shape(reply))
                }
                // A bad key is the router's to answer either way.
                seen.append(Self.shape(try await gateway.chat(Self.chat, key: "gr-not-a-key")))
                let answered = try await Self.fastPathCount(gateway)
                // The fast path took the two that reached the upstream, the refused one it planned and the four
                // streams; the router the unknown model, the broken bodies and the bad key.
                #expect(answered == (fast ? 7 : 0), "fast=\(fast)")
                // Every authenticated request is in the ledger once (records are written behind the responses).
                var records = 0
                let deadline = ContinuousClock.now + .seconds(10)
                while ContinuousClock.now < deadline {
                    let usage = try await gateway.request(.GET, "/api/v1/usage?limit=50")
                    records = (usage.json?["data"] as? [Any])?.count ?? -1
                    if records >= 10 { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                try await Task.sleep(for: .milliseconds(200))
                let settled = try await gateway.request(.GET, "/api/v1/usage?limit=50")
                #expect((settled.json?["data"] as? [Any])?.count == 10, "fast=\(fast)")
                let answeredShapes = seen
                shapes.value.withLock { $0[fast] = answeredShapes }
            }
        }
        let fast = try #require(shapes.value.withLock { $0[true] }), routed = try #require(shapes.value.withLock { $0[false] })
        #expect(fast.count == routed.count)
        for (index, pair) in zip(fast, routed).enumerated() {
            #expect(pair.0 == pair.1, "request \(index)")
        }
    }

    /// A stream's state is freed once the stream ends, however it ends, so memory stays flat however many streams
    /// pass. (The upstream exchange and the stream used to hold each other: about 16 KB kept per stream.)
    @Test func everyFastPathStreamIsFreedWhenItEnds() async throws {
        try await withGateway { gateway in
            let stream = #"{"model":"deepseek/deepseek-v3.2","stream":true,"messages":[{"role":"user","content":"free me"}]"#
            let endings = [
                stream + "}",
                stream + #","stream_options":{"include_usage":true}}"#,
                stream + #","mock":{"status":503}}"#,
                stream + #","mock":{"error_after":2}}"#,
                stream + #","mock":{"cut_after":2}}"#,
            ]
            for _ in 0..<4 {
                for body in endings { #expect(try await gateway.chat(body).status != 0) }
            }
            // And a client that leaves in the middle.
            let slow = #","mock":{"reply":"\#(String(repeating: "slow words ", count: 100))","token_delay_ms":20}}"#
            let (reader, contentSeen) = gateway.readStream(stream + slow, key: gateway.apiKey, marker: "slow")
            for await _ in contentSeen { break }
            reader.cancel()
            _ = await reader.result
            #expect(try await Self.fastPathCount(gateway) == 21, "every stream took the fast path")
            var held: Double?
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline {
                held = try await Self.metric("gaterouter_fast_path_streams", of: gateway)
                if held == 0 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(held == 0, "stream states still in memory after every stream ended")
        }
    }

    /// `upstream.idle_timeout_seconds` holds on both paths: a stream whose upstream goes silent after content ends with
    /// an in-band timeout, and a whole answer that never comes is a 504, long before the upstream would have answered.
    @Test(arguments: [true, false]) func anUpstreamThatGoesSilentIsCutAtTheIdleTimeout(fast: Bool) async throws {
        var environment = ["DEEPSEEK_API_KEY": "upstream-key", "DEEPSEEK_BASE_URL": "$MOCK/v1"]
        if !fast { environment["GATEROUTER_FAST_PATH"] = "0" }
        try await withGateway(environment: environment, configYAML: "upstream:\n  idle_timeout_seconds: 1\n") { gateway in
            let clock = ContinuousClock()
            var streamReply: GatewayHarness.Reply?
            let streamed = try await clock.measure {
                // The first token comes at once, the next only after 4 s of silence.
                streamReply = try await gateway.chat(
                    #"{"model":"deepseek/deepseek-v3.2","stream":true,"messages":[{"role":"user","content":"x"}],"mock":{"reply":"one two three","silence_after":1,"silence_ms":4000}}"#
                )
            }
            let stream = try #require(streamReply)
            #expect(stream.status == 200)
            #expect(stream.events.contains { $0.contains("one") }, "the content before the silence arrived")
            #expect(stream.events.last != "[DONE]")
            #expect((stream.events.last?.jsonObject?["error"] as? [String: Any])?["code"] as? String == "upstream_timeout")
            #expect(streamed < .milliseconds(3500), "cut after \(streamed), not at the next token 4 s later")

            var wholeReply: GatewayHarness.Reply?
            let waited = try await clock.measure {
                wholeReply = try await gateway.chat(#"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"x"}],"mock":{"latency_ms":10000}}"#)
            }
            let whole = try #require(wholeReply)
            #expect(whole.status == 504)
            #expect(whole.error?["code"] as? String == "upstream_timeout")
            #expect(waited < .seconds(7), "every attempt was cut at 1 s, none waited for the 10 s answer (\(waited))")
            #expect(try await Self.fastPathCount(gateway) == (fast ? 2 : 0))
        }
    }

    @Test func pipelinedRequestsOnOneConnectionAreAnsweredInOrderWhoeverAnswersThem() async throws {
        try await withGateway { gateway in
            let port = try #require(URL(string: gateway.root)?.port)
            func post(_ body: String, close: Bool = false) -> String {
                "POST /openai/v1/chat/completions HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(gateway.apiKey)\r\nContent-Type: application/json\r\n"
                    + "Content-Length: \(body.utf8.count)\r\n\(close ? "Connection: close\r\n" : "")\r\n\(body)"
            }
            let models = "GET /openai/v1/models HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(gateway.apiKey)\r\n\r\n"
            let first = Self.chat.replacingOccurrences(of: "hello fast path", with: "first")
            let third = Self.chat.replacingOccurrences(of: "hello fast path", with: "third")
            // Fast, router, fast, router, fast: all written at once before any answer comes back.
            let wire = post(first) + models + post(third) + models + post(Self.chat.replacingOccurrences(of: "hello fast path", with: "fifth"), close: true)
            let received = try await Self.exchange(wire, port: port)
            let statuses = received.components(separatedBy: "HTTP/1.1 ").dropFirst().map { $0.prefix(3) }
            #expect(statuses == ["200", "200", "200", "200", "200"], "\(received.prefix(600))")
            let markers = ["first", "\"object\":\"list\"", "third", "\"object\":\"list\"", "fifth"]
            var position = received.startIndex
            for marker in markers {
                let found = try #require(received.range(of: marker, range: position..<received.endIndex), "\(marker) out of order")
                position = found.upperBound
            }
            #expect(try await Self.fastPathCount(gateway) >= 1)
        }
    }

    /// Writes `request` on a fresh connection and reads until the server closes it.
    static func exchange(_ request: String, port: Int) async throws -> String {
        let collected = Collected()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(collected: collected)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        try await channel.writeAndFlush(ByteBuffer(string: request))
        try await channel.closeFuture.get()
        return String(decoding: collected.bytes.withLock { $0 }, as: UTF8.self)
    }

    final class Collected: Sendable {
        let bytes = Mutex<[UInt8]>([])

        final class Shapes: Sendable {
            let value = Mutex<[Bool: [String]]>([:])
        }
    }

    final class Collector: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        let collected: Collected
        init(collected: Collected) { self.collected = collected }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            collected.bytes.withLock { $0 += buffer.readableBytesView }
        }
    }
}
