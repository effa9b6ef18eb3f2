import GateRouterProviders
import GateRouterWire
import Testing

/// Golden fixtures: Gemini `streamGenerateContent?alt=sse` → OpenAI `chat.completion.chunk`s, fed through the real SSE
/// parser, including at every byte boundary. Requests and non-streamed responses are in GeminiTranslationTests.swift.
@Suite struct GeminiStreamTranslationTests {
    static func json(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    static let responseID = "mZ3xaN7kKcm4nvgP2rmW6Qs"

    // Source: stream shape per wire-format reference §3.3 (each `data:` is one GenerateContentResponse holding only new
    // parts, framed with CRLF CRLF; a functionCall arrives whole in one chunk; the last chunk has finishReason and the final
    // usageMetadata, earlier ones partial usage; no end sentinel) and https://ai.google.dev/gemini-api/docs/text-generation
    // (streaming with `alt=sse`); `thought: true` summary parts while streaming per
    // https://ai.google.dev/gemini-api/docs/thinking; a signed functionCall part per
    // https://ai.google.dev/gemini-api/docs/thought-signatures; usage numbers from the §3.2 example.
    static let events = [
        #"{"candidates":[{"content":{"parts":[{"text":"The user wants the current temperature in Paris.","thought":true}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":120,"totalTokenCount":120},"modelVersion":"gemini-2.5-flash","responseId":"mZ3xaN7kKcm4nvgP2rmW6Qs"}"#,
        #"{"candidates":[{"content":{"parts":[{"text":"héllo 🌍, "}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":120,"totalTokenCount":120},"modelVersion":"gemini-2.5-flash","responseId":"mZ3xaN7kKcm4nvgP2rmW6Qs"}"#,
        #"{"candidates":[{"content":{"parts":[{"text":"checking Paris now."}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":120,"totalTokenCount":120},"modelVersion":"gemini-2.5-flash","responseId":"mZ3xaN7kKcm4nvgP2rmW6Qs"}"#,
        #"{"candidates":[{"content":{"parts":[{"functionCall":{"name":"get_current_temperature","args":{"location":"Paris"}},"thoughtSignature":"CiQBVKhc7vB+Zxk="}],"role":"model"},"index":0}],"usageMetadata":{"promptTokenCount":120,"totalTokenCount":120},"modelVersion":"gemini-2.5-flash","responseId":"mZ3xaN7kKcm4nvgP2rmW6Qs"}"#,
        #"{"candidates":[{"content":{"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":120,"candidatesTokenCount":18,"totalTokenCount":438,"cachedContentTokenCount":64,"thoughtsTokenCount":300},"modelVersion":"gemini-2.5-flash","responseId":"mZ3xaN7kKcm4nvgP2rmW6Qs"}"#,
    ]

    /// The raw body as Gemini sends it: `data: <json>` + CRLF CRLF per event, and nothing after the last one.
    static func sse(_ events: [String]) -> String { events.map { "data: \($0)\r\n\r\n" }.joined() }

    /// OpenAI side per openai/openai-python src/openai/types/chat/chat_completion_chunk.py (ChoiceDelta, ChoiceDeltaToolCall:
    /// `index`, then `id`/`type`/`function.name` on a call's first fragment only) and wire-format reference §1.3;
    /// `extra_content.google.thought_signature` as Google's OpenAI endpoint returns it (thought-signatures page).
    static let expectedDeltas: [(delta: String, finishReason: String?)] = [
        (#"{"role":"assistant","content":""}"#, nil),
        (#"{"reasoning_content":"The user wants the current temperature in Paris."}"#, nil),
        (#"{"content":"héllo 🌍, "}"#, nil),
        (#"{"content":"checking Paris now."}"#, nil),
        (#"{"tool_calls":[{"index":0,"id":"call_gm_0","type":"function","function":{"name":"get_current_temperature","arguments":""},"extra_content":{"google":{"thought_signature":"CiQBVKhc7vB+Zxk="}}}]}"#, nil),
        (#"{"tool_calls":[{"index":0,"function":{"arguments":"{\"location\":\"Paris\"}"}}]}"#, nil),
        ("{}", "tool_calls"),
    ]

    static let expectedUsage = Usage(promptTokens: 120, completionTokens: 318, totalTokens: 438, cachedTokens: 64, reasoningTokens: 300)

    /// Feeds `pieces` of raw body through a fresh parser and transcoder, then ends both.
    static func run(_ pieces: [ArraySlice<UInt8>], forwardUsage: Bool = true) throws -> [ChatStreamEvent] {
        var parser = ServerSentEventParser()
        var transcoder = GeminiStreamTranscoder(modelID: "google/gemini-2.5-flash", created: 7, forwardUsage: forwardUsage, callIDPrefix: "call_gm_")
        var out: [ChatStreamEvent] = []
        for piece in pieces {
            for event in try parser.feed(piece) { out += try transcoder.transcode(event) }
        }
        if let last = parser.finish() { out += try transcoder.transcode(last) }
        out += try transcoder.finish()
        return out
    }

    static func chunks(_ events: [ChatStreamEvent]) throws -> [JSONValue] {
        try events.compactMap { event -> JSONValue? in
            if case .chunk(let bytes) = event { return try JSONValue.parse(bytes) }
            return nil
        }
    }

    static func kinds(_ events: [ChatStreamEvent]) -> [String] {
        events.map { (event) -> String in
            switch event {
            case .chunk: "chunk"
            case .usage: "usage"
            case .done: "done"
            }
        }
    }

    /// All `content` deltas joined, as a client would assemble the message.
    static func content(_ chunks: [JSONValue]) -> String {
        chunks.compactMap { $0["choices"]?.arrayValue?.first?["delta"]?["content"]?.stringValue }.joined()
    }

    @Test func documentedStreamBecomesOpenAIChunks() throws {
        let events = try Self.run([Array(Self.sse(Self.events).utf8)[...]])
        #expect(Self.kinds(events) == Array(repeating: "chunk", count: Self.expectedDeltas.count) + ["usage", "chunk", "done"])
        let chunks = try Self.chunks(events)
        try #require(chunks.count == Self.expectedDeltas.count + 1)
        for (index, (chunk, want)) in zip(chunks, Self.expectedDeltas).enumerated() {
            #expect(chunk["id"] == .string(Self.responseID) && chunk["object"] == "chat.completion.chunk", "chunk \(index)")
            #expect(chunk["created"] == 7 && chunk["model"] == "google/gemini-2.5-flash", "chunk \(index)")
            let choice = chunk["choices"]?.arrayValue?.first
            let delta = try Self.json(want.delta)
            #expect(choice?["delta"] == delta, "chunk \(index)")
            #expect(choice?["finish_reason"] == (want.finishReason.map(JSONValue.string) ?? .null), "chunk \(index)")
        }
        #expect(events.contains(.usage(Self.expectedUsage)))
        // The include_usage chunk: no choices, the usage as Usage.serialized() writes it.
        let usageChunk = try #require(chunks.last)
        let usageJSON = try JSONValue.parse(Self.expectedUsage.serialized())
        #expect(usageChunk["choices"] == .array([]) && usageChunk["usage"] == usageJSON && usageChunk["id"] == .string(Self.responseID))
        let documentedUsage = try Self.json(#"{"prompt_tokens":120,"completion_tokens":318,"total_tokens":438,"prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":300}}"#)
        #expect(usageJSON == documentedUsage)

        // Without stream_options.include_usage the gateway still learns the usage, but the client gets no usage chunk.
        let quiet = try Self.run([Array(Self.sse(Self.events).utf8)[...]], forwardUsage: false)
        #expect(Self.kinds(quiet) == Array(repeating: "chunk", count: Self.expectedDeltas.count) + ["usage", "done"])
        #expect(quiet.contains(.usage(Self.expectedUsage)))
    }

    /// The documented stream cut into two fragments at every byte: inside `data:`, between CR and LF, inside the UTF-8 of
    /// "é" and "🌍". The parser must reassemble it and the transcoder must produce the very same events each time.
    @Test func documentedStreamCutAtEveryByteGivesTheSameEvents() throws {
        let bytes = Array(Self.sse(Self.events).utf8)
        let reference = try Self.run([bytes[...]])
        let referenceChunks = try Self.chunks(reference)
        #expect(Self.content(referenceChunks) == "héllo 🌍, checking Paris now.")
        for cut in 1..<bytes.count {
            let events = try Self.run([bytes[..<cut], bytes[cut...]])
            let chunks = try Self.chunks(events)
            #expect(Self.content(chunks) == "héllo 🌍, checking Paris now.", "cut at byte \(cut)")
            #expect(events == reference, "cut at byte \(cut)")
            if events != reference { break }
        }
    }

    // Source: https://ai.google.dev/gemini-api/docs/thought-signatures, FAQ 3 — when streaming a reply without a function
    // call, "the model may return the thought signature in a part with an empty text content part"; parse until the
    // finish reason. Such a part must not change the text a client assembles.
    @Test func emptySignedTextPartBeforeTheFinishChangesNothing() throws {
        let body = Self.sse([
            #"{"candidates":[{"content":{"parts":[{"text":"It is 15C in Paris."}],"role":"model"},"index":0}],"modelVersion":"gemini-3-pro-preview","responseId":"r1"}"#,
            #"{"candidates":[{"content":{"parts":[{"text":"","thoughtSignature":"Cs4BAdHtim9"}],"role":"model"},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":40,"candidatesTokenCount":7,"thoughtsTokenCount":90,"totalTokenCount":137},"modelVersion":"gemini-3-pro-preview","responseId":"r1"}"#,
        ])
        let events = try Self.run([Array(body.utf8)[...]], forwardUsage: false)
        let chunks = try Self.chunks(events)
        #expect(Self.content(chunks) == "It is 15C in Paris.")
        #expect(chunks.last?["choices"]?.arrayValue?.first?["finish_reason"] == "stop")
        #expect(Array(events.suffix(2)) == [.usage(Usage(promptTokens: 40, completionTokens: 97, totalTokens: 137, reasoningTokens: 90)), .done])
    }

    // Source: §3.3 — the body just ends, so only a finishReason proves the answer is complete; errors after the 200 arrive
    // as an `{"error":{…}}` event (Google's error envelope, §3.4).
    @Test func streamWithoutFinishReasonIsTruncatedAndErrorEventsThrow() throws {
        var cut = GeminiStreamTranscoder(modelID: "m", created: 0, forwardUsage: false, callIDPrefix: "call_gm_")
        _ = try cut.transcode(ServerSentEvent(data: Array(Self.events[1].utf8)))
        do {
            _ = try cut.finish()
            Issue.record("a stream that ends without a finishReason must not finish cleanly")
        } catch {
            #expect(error.status == 502 && error.code == "upstream_stream_truncated")
        }

        var failing = GeminiStreamTranscoder(modelID: "m", created: 0, forwardUsage: false, callIDPrefix: "call_gm_")
        _ = try failing.transcode(ServerSentEvent(data: Array(Self.events[1].utf8)))
        do {
            _ = try failing.transcode(ServerSentEvent(data: Array(#"{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"#.utf8)))
            Issue.record("an error event must throw")
        } catch {
            #expect(error.status == 503)
        }
    }
}
