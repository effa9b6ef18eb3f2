import GateRouterCatalog
import GateRouterProviders
import GateRouterWire
import Testing

/// Golden fixtures: OpenAI ↔ Anthropic, written from the providers' documented examples (OpenAI's
/// `chat/completion_create_params` and Anthropic's `message_create_params`, `message`, `raw_*_event` types as summarised
/// in shared/docs/provider-wire-formats.md §1.1, §2.1–2.6), then compared as JSON values.
@Suite struct AnthropicTranslationTests {
    func json(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    // Source: wire-format reference §1.1 (OpenAI request) and §2.1/§2.5 (the Anthropic request it maps to).
    @Test func requestWithSystemImageToolRoundTripAndLimits() throws {
        let openAI = try json(#"""
        {"model":"anthropic/claude-sonnet-4.5","messages":[
          {"role":"developer","content":"You are terse."},
          {"role":"user","name":"alice","content":[{"type":"text","text":"What is in this image?"},
            {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBOR","detail":"auto"}}]},
          {"role":"assistant","content":null,"tool_calls":[{"id":"call_abc","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
          {"role":"tool","tool_call_id":"call_abc","content":"{\"temp_c\":21}"},
          {"role":"user","content":"And tomorrow?"}],
         "tools":[{"type":"function","function":{"name":"get_weather","description":"Current weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],
         "tool_choice":"required","parallel_tool_calls":false,"stop":["\nEND"],"max_completion_tokens":1024,"temperature":0.2,"user":"u-123"}
        """#)
        let expected = try json(#"""
        {"model":"claude-sonnet-4-5","max_tokens":1024,"system":"You are terse.",
         "messages":[
          {"role":"user","content":[{"type":"text","text":"What is in this image?"},
            {"type":"image","source":{"type":"base64","media_type":"image/png","data":"iVBOR"}}]},
          {"role":"assistant","content":[{"type":"tool_use","id":"call_abc","name":"get_weather","input":{"city":"Paris"}}]},
          {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_abc","content":"{\"temp_c\":21}"},
            {"type":"text","text":"And tomorrow?"}]}],
         "tools":[{"name":"get_weather","description":"Current weather","input_schema":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}],
         "tool_choice":{"type":"any","disable_parallel_tool_use":true},
         "stop_sequences":["\nEND"],"temperature":0.2,"metadata":{"user_id":"u-123"}}
        """#)
        let result = try AnthropicRequestTranslation.translate(openAI, upstreamModel: "claude-sonnet-4-5", model: nil, stream: false)
        #expect(result.body == expected)
    }

    // Source: §2.5 (max_tokens required, default per model; reasoning_effort → thinking; sampling rules §2.1).
    @Test func defaultsAndThinking() throws {
        let model = CatalogModel(id: "anthropic/claude-x", name: "x", provider: "anthropic", upstreamID: "claude-x", maxOutputTokens: 64000, capabilities: [.reasoning, .tools])
        let plain = try AnthropicRequestTranslation.translate(try json(#"{"messages":[{"role":"user","content":"hi"}],"temperature":1.7,"top_p":0.9}"#), upstreamModel: "claude-x", model: model, stream: true)
        #expect(plain.body["max_tokens"] == 64000)
        #expect(plain.body["temperature"] == 1)
        #expect(plain.body["top_p"] == nil)
        #expect(plain.body["stream"] == true)
        #expect(plain.adapted.contains("temperature clamped") && plain.adapted.contains("top_p dropped"))

        let thinking = try AnthropicRequestTranslation.translate(
            try json(#"{"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"low","max_tokens":1000,"temperature":0.3,"tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":{"type":"function","function":{"name":"f"}}}"#),
            upstreamModel: "claude-x", model: model, stream: false
        )
        #expect(thinking.body["thinking"] == ["type": "enabled", "budget_tokens": 2048])
        #expect((thinking.body["max_tokens"]?.intValue ?? 0) > 2048, "budget_tokens must stay below max_tokens")
        #expect(thinking.body["temperature"] == nil)
        #expect(thinking.body["tool_choice"] == ["type": "auto"], "forced tool use is refused while thinking")
        #expect(thinking.body["tools"]?.arrayValue?.first?["input_schema"] == ["type": "object", "properties": [:]])
    }

    // Source: §2.5 (reasoning round trip: signed thinking blocks go back first in the assistant turn, unmodified).
    @Test func signedThinkingComesBackFromReasoningDetails() throws {
        let openAI = try json(#"""
        {"messages":[{"role":"user","content":"weather?"},
          {"role":"assistant","content":"Checking.","reasoning_details":[{"type":"reasoning.text","text":"I should call the tool.","signature":"EqQB","format":"anthropic-claude-v1","index":0}],
           "tool_calls":[{"id":"toolu_01A","type":"function","function":{"name":"get_weather","arguments":""}}]},
          {"role":"tool","tool_call_id":"toolu_01A","content":[{"type":"text","text":"21C"}]}]}
        """#)
        let body = try AnthropicRequestTranslation.translate(openAI, upstreamModel: "m", model: nil, stream: false).body
        let assistant = try #require(body["messages"]?.arrayValue?[1])
        #expect(assistant["content"] == [
            ["type": "thinking", "thinking": "I should call the tool.", "signature": "EqQB"],
            ["type": "text", "text": "Checking."],
            ["type": "tool_use", "id": "toolu_01A", "name": "get_weather", "input": [:]],
        ])
        #expect(body["messages"]?.arrayValue?[2]["content"] == [["type": "tool_result", "tool_use_id": "toolu_01A", "content": [["type": "text", "text": "21C"]]]])
    }

    @Test func refusesWhatCannotBeTranslated() throws {
        #expect(throws: GatewayError.self) {
            try AnthropicRequestTranslation.translate(try json(#"{"messages":[{"role":"assistant","tool_calls":[{"id":"1","function":{"name":"f","arguments":"{oops"}}]}]}"#), upstreamModel: "m", model: nil, stream: false)
        }
        #expect(throws: GatewayError.self) {
            try AnthropicRequestTranslation.translate(try json(#"{"messages":[{"role":"system","content":"only a system prompt"}]}"#), upstreamModel: "m", model: nil, stream: false)
        }
        #expect(throws: GatewayError.unsupportedParameter("n")) {
            try AnthropicRequestTranslation.translate(try json(#"{"n":2,"messages":[{"role":"user","content":"x"}]}"#), upstreamModel: "m", model: nil, stream: false)
        }
        #expect(throws: GatewayError.self) {
            try AnthropicRequestTranslation.translate(try json(#"{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/bmp;base64,AA"}}]}]}"#), upstreamModel: "m", model: nil, stream: false)
        }
    }

    // Source: §2.2 (Anthropic response example) and §2.6 (mapping to OpenAI, usage convention).
    @Test func responseWithTextToolUseAndCachedUsage() throws {
        let anthropic = try json(#"""
        {"id":"msg_01X","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929",
         "content":[{"type":"text","text":"Checking."},{"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{"city":"Paris"}}],
         "stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":40,"service_tier":"standard"}}
        """#)
        let expected = try json(#"""
        {"id":"msg_01X","object":"chat.completion","created":1741569952,"model":"anthropic/claude-sonnet-4.5",
         "choices":[{"index":0,"logprobs":null,"finish_reason":"tool_calls","message":{"role":"assistant","content":"Checking.","refusal":null,
           "tool_calls":[{"id":"toolu_01A","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]}}],
         "usage":{"prompt_tokens":2060,"completion_tokens":40,"total_tokens":2100,"prompt_tokens_details":{"cached_tokens":2048,"cache_write_tokens":0}}}
        """#)
        let (body, usage) = try AnthropicResponseTranslation.completion(anthropic, modelID: "anthropic/claude-sonnet-4.5", created: 1741569952)
        #expect(try JSONValue.parse(body) == expected)
        #expect(usage.promptTokens == 2060 && usage.cachedTokens == 2048)
    }

    @Test(arguments: [("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_calls"),
                      ("model_context_window_exceeded", "length"), ("refusal", "content_filter"), ("pause_turn", "stop")])
    func stopReasons(_ anthropic: String, _ openAI: String) {
        #expect(AnthropicResponseTranslation.finishReason(anthropic) == openAI)
    }

    // Source: §2.4 (Anthropic error types) and §1.4 (the status and type OpenAI uses for the same condition).
    @Test(arguments: [(400, "invalid_request_error", 400), (403, "permission_error", 403), (404, "not_found_error", 404),
                      (429, "rate_limit_error", 429), (500, "api_error", 502), (529, "overloaded_error", 503), (401, "authentication_error", 502)])
    func errorsMapToOpenAIsStatus(_ status: Int, _ type: String, _ expected: Int) {
        let body = Array(#"{"type":"error","error":{"type":"\#(type)","message":"boom"},"request_id":"req_1"}"#.utf8)
        let error = AnthropicResponseTranslation.error(status: status, body: body, retryAfter: "3")
        #expect(error.status == expected)
        if status == 429 { #expect(error.retryAfter == "3" && error.code == "rate_limit_exceeded") }
    }

    // Source: §2.3 (the event stream example, with a ping) and §2.6 (the stream transducer).
    static let documentedStream = """
    event: message_start
    data: {"type":"message_start","message":{"id":"msg_01X","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":2048,"output_tokens":1}}}

    event: content_block_start
    data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

    event: ping
    data: {"type":"ping"}

    event: content_block_delta
    data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Checking é."}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":0}

    event: content_block_start
    data: {"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"toolu_01A","name":"get_weather","input":{}}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\\"city\\": \\"Par"}}

    event: content_block_delta
    data: {"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"is\\"}"}}

    event: content_block_stop
    data: {"type":"content_block_stop","index":1}

    event: message_delta
    data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":40}}

    event: message_stop
    data: {"type":"message_stop"}


    """

    static let expectedChunks = [
        #"{"id":"msg_01X","object":"chat.completion.chunk","created":7,"model":"anthropic/claude-sonnet-4.5","choices":[{"index":0,"delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"msg_01X","object":"chat.completion.chunk","created":7,"model":"anthropic/claude-sonnet-4.5","choices":[{"index":0,"delta":{"content":"Checking é."},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"msg_01X","object":"chat.completion.chunk","created":7,"model":"anthropic/claude-sonnet-4.5","choices":[{"index":0,"delta":{"tool_calls":[{"function":{"arguments":"","name":"get_weather"},"id":"toolu_01A","index":0,"type":"function"}]},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"msg_01X","object":"chat.completion.chunk","created":7,"model":"anthropic/claude-sonnet-4.5","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\": \"Par"}}]},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"msg_01X","object":"chat.completion.chunk","created":7,"model":"anthropic/claude-sonnet-4.5","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"is\"}"}}]},"logprobs":null,"finish_reason":null}]}"#,
        #"{"id":"msg_01X","object":"chat.completion.chunk","created":7,"model":"anthropic/claude-sonnet-4.5","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"tool_calls"}]}"#,
        #"{"id":"msg_01X","object":"chat.completion.chunk","created":7,"model":"anthropic/claude-sonnet-4.5","choices":[],"usage":{"prompt_tokens":2060,"completion_tokens":40,"total_tokens":2100,"prompt_tokens_details":{"cached_tokens":2048,"cache_write_tokens":0}}}"#,
    ]

    /// Feeds the documented stream cut at every byte (inside UTF-8 characters and SSE lines) and expects the same chunks.
    @Test func streamTranscodesTheDocumentedEventsAtEveryCut() throws {
        let bytes = Array(Self.documentedStream.utf8)
        for cut in stride(from: 1, to: bytes.count, by: 1) {
            var parser = ServerSentEventParser()
            var transcoder = AnthropicStreamTranscoder(modelID: "anthropic/claude-sonnet-4.5", created: 7, forwardUsage: true)
            var events: [ChatStreamEvent] = []
            for piece in [bytes[..<cut], bytes[cut...]] {
                for event in try parser.feed(piece) { events += try transcoder.transcode(event) }
            }
            events += try transcoder.finish()
            let chunks = events.compactMap { event -> String? in
                if case .chunk(let json) = event { return String(decoding: json, as: UTF8.self) }
                return nil
            }
            #expect(chunks == Self.expectedChunks, "cut at byte \(cut)")
            #expect(events.last == .done)
            #expect(events.contains(.usage(Usage(promptTokens: 2060, completionTokens: 40, cachedTokens: 2048, cacheWriteTokens: 0))))
            if chunks != Self.expectedChunks { break }
        }
    }

    @Test func streamWithoutMessageStopIsTruncatedAndErrorEventsThrow() throws {
        var transcoder = AnthropicStreamTranscoder(modelID: "m", created: 0, forwardUsage: false)
        _ = try transcoder.transcode(ServerSentEvent(event: "message_start", data: Array(#"{"type":"message_start","message":{"id":"x","usage":{"input_tokens":1}}}"#.utf8)))
        #expect(throws: GatewayError.self) { try transcoder.finish() }
        do {
            _ = try transcoder.transcode(ServerSentEvent(event: "error", data: Array(#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#.utf8)))
            Issue.record("expected an error")
        } catch {
            #expect(error.status == 503 && error.message == "Overloaded")
        }
    }
}
