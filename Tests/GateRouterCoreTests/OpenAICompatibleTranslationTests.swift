import AsyncHTTPClient
import GateRouterCatalog
@testable import GateRouterProviders
import GateRouterWire
import NIOCore
import Testing

@Suite struct OpenAIChunkTranscoderTests {
    func event(_ text: String) -> ServerSentEvent { ServerSentEvent(data: Array(text.utf8)) }

    @Test func rewritesModelAndHidesUsageTheClientDidNotAskFor() throws {
        var transcoder = OpenAIChunkTranscoder(modelID: "deepseek/deepseek-v3.2", provider: "deepseek", forwardUsage: false)
        let content = try transcoder.transcode(event(#"{"id":"1","model":"deepseek-chat","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}"#))
        #expect(content == [.chunk(Array(#"{"id":"1","model":"deepseek/deepseek-v3.2","choices":[{"index":0,"delta":{"content":"hi"}}]}"#.utf8))])
        let usage = try transcoder.transcode(event(#"{"id":"1","model":"deepseek-chat","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#))
        #expect(usage == [.usage(Usage(promptTokens: 3, completionTokens: 2))])
        #expect(try transcoder.transcode(event("[DONE]")) == [.done])
    }

    @Test func forwardsTheUsageChunkWhenAsked() throws {
        var transcoder = OpenAIChunkTranscoder(modelID: "m/x", provider: "p", forwardUsage: true)
        let events = try transcoder.transcode(event(#"{"model":"x","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#))
        #expect(events.count == 2)
        #expect(events.first == .usage(Usage(promptTokens: 3, completionTokens: 2)), "usage first: the gateway adds the cost to the chunk that follows")
        #expect(events.last == .chunk(Array(#"{"model":"m/x","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#.utf8)))
    }

    /// Chunks as servers write them: spacing, key order, duplicates, escapes, usage placements and finish reasons.
    static let varietyOfChunks = [
        #"{"id":"1","model":"deepseek-chat","choices":[{"index":0,"delta":{"content":"hi"}}],"usage":null}"#,
        #"{ "id" : "2" , "object":"chat.completion.chunk", "model" : "x", "choices" : [ { "delta" : { "content" : "a, \"b\" ✓" } } ] }"#,
        #"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"model":"x","usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#,
        #"{"model":"x","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#,
        #"{"model":"x","choices":[{"finish_reason":null,"delta":{"content":"finish_reason"}}]}"#,
        #"{"model":"first","model":"second","usage":null,"choices":[{"delta":{"role":"assistant"}}],"usage":{"prompt_tokens":1,"completion_tokens":1}}"#,
        #"{"mod\u0065l":"escaped key","choices":[{"delta":{"content":"e"}}]}"#,
        #"{"id":"no model","choices":[{"delta":{"content":"z"}}],"system_fingerprint":"fp_1"}"#,
        #"{}"#,
        "\u{FEFF}" + #"{"model":"bom","choices":[{"delta":{"content":"b"}}]}"#,
    ]

    @Test(arguments: [false, true])
    func chunksRewrittenInPlaceMatchTheFieldByFieldRewrite(forwardUsage: Bool) throws {
        for chunk in Self.varietyOfChunks {
            var inPlace = OpenAIChunkTranscoder(modelID: "p/m-1", provider: "p", forwardUsage: forwardUsage)
            var byFields = OpenAIChunkTranscoder(modelID: "p/m-1", provider: "p", forwardUsage: forwardUsage)
            let fast = try inPlace.transcode(event(chunk))
            let reference = try byFields.transcodeByFields(event(chunk))
            #expect(fast == reference, "\(chunk)")
            // Both see the same finish reasons and usage, so they agree on whether the stream ended whole.
            #expect((try? inPlace.finish()) == (try? byFields.finish()), "\(chunk)")
        }
        // The rewrite changes only `model`: every other byte of a spaced chunk stays as written.
        var transcoder = OpenAIChunkTranscoder(modelID: "p/m-1", provider: "p", forwardUsage: forwardUsage)
        let events = try transcoder.transcode(event(Self.varietyOfChunks[1]))
        #expect(events == [.chunk(Array(#"{"id":"2","object":"chat.completion.chunk","model":"p/m-1","choices":[ { "delta" : { "content" : "a, \"b\" ✓" } } ]}"#.utf8))])
    }

    @Test func inBandErrorsAndTruncationThrow() throws {
        var transcoder = OpenAIChunkTranscoder(modelID: "m/x", provider: "p", forwardUsage: false)
        #expect(throws: GatewayError.self) { try transcoder.transcode(event(#"{"error":{"message":"overloaded","type":"server_error"}}"#)) }
        #expect(throws: GatewayError.self) { try transcoder.transcode(event("not json")) }
        #expect(throws: GatewayError.self) { try transcoder.finish() }
        _ = try transcoder.transcode(event(#"{"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#))
        #expect(try transcoder.finish() == [.done], "a finished answer without [DONE] is complete")
    }

    @Test func streamReadsEventsAcrossArbitraryNetworkReads() async throws {
        let frames = #"data: {"model":"u","choices":[{"delta":{"content":"a"}}]}"# + "\n\n" + #"data: {"model":"u","choices":[{"delta":{},"finish_reason":"stop"}]}"# + "\n\ndata: [DONE]\n\n"
        let pieces = stride(from: 0, to: frames.utf8.count, by: 7).map { start in
            ByteBuffer(bytes: Array(frames.utf8)[start..<min(start + 7, frames.utf8.count)])
        }
        var stream = UpstreamEventStream(
            body: .stream(pieces.async),
            transcoder: OpenAIChunkTranscoder(modelID: "p/m", provider: "p", forwardUsage: false),
            upstreamModel: "u"
        )
        var kinds: [String] = []
        while let event = try await stream.next() {
            switch event {
            case .chunk(let json): kinds.append(String(decoding: json, as: UTF8.self).contains(#""model":"p/m""#) ? "chunk" : "bad")
            case .usage: kinds.append("usage")
            case .done: kinds.append("done")
            }
        }
        #expect(kinds == ["chunk", "chunk", "done"])
    }

    /// Events that arrive in one read come out as one batch (one write to the client); content read before an
    /// in-band error in the same read still comes out, and the error follows it.
    @Test func batchesFollowNetworkReadsAndAnErrorComesAfterTheEventsBeforeIt() async throws {
        let chunk = { (text: String) in #"data: {"model":"u","choices":[{"delta":{"content":"\#(text)"}}]}"# + "\n\n" }
        let reads = [chunk("a") + chunk("b"), chunk("c") + #"data: {"error":{"message":"overloaded","type":"server_error"}}"# + "\n\n"]
        var stream = UpstreamEventStream(
            body: .stream(reads.map { ByteBuffer(string: $0) }.async),
            transcoder: OpenAIChunkTranscoder(modelID: "p/m", provider: "p", forwardUsage: false),
            upstreamModel: "u"
        )
        func texts(_ events: [ChatStreamEvent]?) -> [String] {
            (events ?? []).map { event in
                guard case .chunk(let json) = event else { return "?" }
                return (try? JSONValue.parse(json))?["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue ?? "?"
            }
        }
        #expect(texts(try await stream.nextBatch()) == ["a", "b"])
        #expect(texts(try await stream.nextBatch()) == ["c"])
        await #expect(throws: GatewayError.self) { _ = try await stream.nextBatch() }
    }
}

@Suite struct UpstreamErrorMappingTests {
    @Test func keepsStatusAndMessageButNeverBlamesTheClientsKey() {
        let limited = UpstreamErrorMapping.httpError(status: 429, body: Array(#"{"error":{"message":"slow down","type":"requests","param":null,"code":"rate_limit_exceeded"}}"#.utf8), provider: "openai", retryAfter: "2")
        #expect(limited.status == 429 && limited.message == "slow down" && limited.code == "rate_limit_exceeded" && limited.retryAfter == "2")
        let anthropicStyle = UpstreamErrorMapping.httpError(status: 529, body: Array(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.utf8), provider: "anthropic", retryAfter: nil)
        #expect(anthropicStyle.status == 529 && anthropicStyle.message == "Overloaded")
        let html = UpstreamErrorMapping.httpError(status: 502, body: Array("<html>bad gateway</html>".utf8), provider: "x-ai", retryAfter: nil)
        #expect(html.status == 502 && !html.message.contains("<html>"))
        let auth = UpstreamErrorMapping.httpError(status: 401, body: [], provider: "openai", retryAfter: nil)
        #expect(auth.status == 502 && auth.code == "upstream_auth_failed")
    }
}

extension Array where Element == ByteBuffer {
    var async: AsyncStream<ByteBuffer> {
        AsyncStream { continuation in
            for buffer in self { continuation.yield(buffer) }
            continuation.finish()
        }
    }
}
