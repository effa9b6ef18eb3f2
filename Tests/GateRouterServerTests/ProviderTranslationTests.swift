import Foundation
import GateRouterMockProvider
import GateRouterWire
import Testing

/// End to end through the gateway to the mock speaking Anthropic's and Gemini's own APIs: each test asserts on the
/// body the mock received as well as on the OpenAI-shaped answer.
@Suite struct ProviderTranslationTests {
    static let anthropic = ["ANTHROPIC_API_KEY": "upstream-key", "ANTHROPIC_BASE_URL": "$MOCK"]
    static let gemini = ["GEMINI_API_KEY": "upstream-key", "GEMINI_BASE_URL": "$MOCK"]

    func message(_ reply: GatewayHarness.Reply) -> [String: Any]? {
        ((reply.json?["choices"] as? [[String: Any]])?.first?["message"]) as? [String: Any]
    }

    @Test func anthropicGetsMessagesAPIWithSystemMaxTokensAndHeaders() async throws {
        try await withGateway(environment: Self.anthropic) { gateway in
            let reply = try await gateway.chat(#"""
            {"model":"anthropic/claude-sonnet-4.6","max_tokens":300,"stop":"END","logprobs":true,
             "messages":[{"role":"system","content":"Be terse."},{"role":"user","content":"hello claude"}]}
            """#)
            #expect(reply.status == 200, "\(reply.body)")
            #expect((message(reply)?["content"] as? String)?.contains("hello claude") == true)
            #expect(reply.headers["x-gaterouter-adapted"] == "logprobs dropped")
            let received = try #require(gateway.mock.receivedRequests.last)
            #expect(received.path == "/v1/messages")
            #expect(received.authorization == "upstream-key", "x-api-key carries the provider key")
            let body = try JSONValue.parse(received.body)
            #expect(body["model"] == "claude-sonnet-4-6")
            #expect(body["system"] == "Be terse.")
            #expect(body["max_tokens"] == 300)
            #expect(body["stop_sequences"] == ["END"])
            #expect(body["logprobs"] == nil)
            #expect(body["messages"] == [["role": "user", "content": [["type": "text", "text": "hello claude"]]]])
        }
    }

    @Test func geminiGetsGenerateContentWithSystemInstructionConfigAndKeyHeader() async throws {
        try await withGateway(environment: Self.gemini) { gateway in
            let reply = try await gateway.chat(#"""
            {"model":"google/gemini-2.5-pro","max_completion_tokens":300,"temperature":0.4,"stop":["END"],"logit_bias":{"1":2},
             "messages":[{"role":"developer","content":"Be terse."},{"role":"user","content":"hello gemini"}]}
            """#)
            #expect(reply.status == 200, "\(reply.body)")
            #expect(reply.json?["model"] as? String == "google/gemini-2.5-pro")
            #expect((message(reply)?["content"] as? String)?.contains("hello gemini") == true)
            #expect(reply.headers["x-gaterouter-adapted"] == "logit_bias dropped")
            #expect(reply.headers["x-gaterouter-upstream-model"] == "gemini-2.5-pro")
            let usage = try #require(reply.json?["usage"] as? [String: Any])
            #expect((usage["total_tokens"] as? Int ?? 0) > 0)
            let received = try #require(gateway.mock.receivedRequests.last)
            #expect(received.path == "/v1beta/models/gemini-2.5-pro:generateContent")
            #expect(received.authorization == "upstream-key", "x-goog-api-key carries the provider key")
            let body = try JSONValue.parse(received.body)
            #expect(body["systemInstruction"] == ["parts": [["text": "Be terse."]]])
            #expect(body["contents"] == [["role": "user", "parts": [["text": "hello gemini"]]]])
            #expect(body["generationConfig"] == ["maxOutputTokens": 300, "temperature": 0.4, "stopSequences": ["END"]])
            #expect(body["model"] == nil && body["messages"] == nil && body["logit_bias"] == nil)
        }
    }

    @Test func geminiStreamIsTranscodedWithToolCallsAndUsage() async throws {
        try await withGateway(environment: Self.gemini) { gateway in
            let reply = try await gateway.chat(#"""
            {"model":"google/gemini-3.1-pro","stream":true,"stream_options":{"include_usage":true},
             "tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"additionalProperties":false}}}],
             "messages":[{"role":"user","content":"weather?"}]}
            """#)
            #expect(reply.status == 200, "\(reply.body)")
            let received = try #require(gateway.mock.receivedRequests.last)
            #expect(received.path == "/v1beta/models/gemini-3.1-pro-preview:streamGenerateContent")
            #expect(received.query == "alt=sse")
            let body = try JSONValue.parse(received.body)
            #expect(body["tools"]?[0]?["functionDeclarations"]?[0]?["parametersJsonSchema"]?["additionalProperties"] == false)

            #expect(reply.events.last == "[DONE]")
            let chunks = reply.events.dropLast().compactMap { try? JSONValue.parse(Array($0.utf8)) }
            #expect(chunks.allSatisfy { $0["model"] == "google/gemini-3.1-pro" })
            let calls = chunks.compactMap { $0["choices"]?[0]?["delta"]?["tool_calls"]?[0] }
            let start = try #require(calls.first)
            #expect(start["index"] == 0 && start["function"]?["name"] == "get_weather")
            #expect(start["id"]?.stringValue?.hasPrefix("call_") == true)
            #expect(start["extra_content"]?["google"]?["thought_signature"]?.stringValue?.isEmpty == false, "Gemini 3's signature reaches the client")
            #expect(calls.compactMap { $0["function"]?["arguments"]?.stringValue }.joined() == #"{"city":"mock"}"#)
            #expect(chunks.contains { $0["choices"]?[0]?["finish_reason"] == "tool_calls" })
            let last = try #require(chunks.last)
            #expect(last["choices"] == [] && (last["usage"]?["total_tokens"]?.intValue ?? 0) > 0)
        }
    }

    @Test func geminiThoughtSignatureRoundTripsThroughTheClient() async throws {
        try await withGateway(environment: Self.gemini) { gateway in
            let tools = #"[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}]"#
            let first = try await gateway.chat(#"{"model":"google/gemini-3.1-pro","tools":\#(tools),"messages":[{"role":"user","content":"weather?"}]}"#)
            #expect(first.status == 200, "\(first.body)")
            let assistant = try #require(try JSONValue.parse(Array(first.body.utf8))["choices"]?[0]?["message"])
            let call = try #require(assistant["tool_calls"]?[0])
            let signature = try #require(call["extra_content"]?["google"]?["thought_signature"]?.stringValue)
            let callID = try #require(call["id"]?.stringValue)
            let history = String(decoding: assistant.serialized(), as: UTF8.self)
            let second = try await gateway.chat(#"""
            {"model":"google/gemini-3.1-pro","tools":\#(tools),"messages":[{"role":"user","content":"weather?"},\#(history),
             {"role":"tool","tool_call_id":"\#(callID)","content":"21C"}]}
            """#)
            #expect(second.status == 200, "\(second.body)")
            #expect((message(second)?["content"] as? String)?.contains("21C") == true)
            let sent = try JSONValue.parse(try #require(gateway.mock.receivedRequests.last).body)
            #expect(sent["contents"]?[1]?["parts"]?[0]?["thoughtSignature"]?.stringValue == signature, "the signature goes back byte for byte")
            #expect(sent["contents"]?[2] == ["role": "user", "parts": [["functionResponse": ["name": "get_weather", "response": ["result": "21C"]]]]])
        }
    }

    @Test func geminiDownloadsRemoteImagesAndSendsThemInline() async throws {
        try await withGateway(environment: Self.gemini) { gateway in
            let reply = try await gateway.chat(#"""
            {"model":"google/gemini-2.5-pro","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},
             {"type":"image_url","image_url":{"url":"\#(gateway.mockURL)/images/pixel.png"}}]}]}
            """#)
            #expect(reply.status == 200, "\(reply.body)")
            #expect((message(reply)?["content"] as? String)?.contains("I see 1 image(s)") == true)
            let body = try JSONValue.parse(try #require(gateway.mock.receivedRequests.last).body)
            let image = try #require(body["contents"]?[0]?["parts"]?[1]?["inlineData"])
            #expect(image["mimeType"] == "image/png")
            #expect(image["data"]?.stringValue?.hasPrefix("iVBORw0KGgo") == true)

            let missing = try await gateway.chat(#"""
            {"model":"google/gemini-2.5-pro","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"\#(gateway.mockURL)/images/none.png"}}]}]}
            """#)
            #expect(missing.status == 400)
            #expect(missing.errorMessage?.contains("Could not download the image") == true)
        }
    }

    @Test(arguments: [(429, 429, "rate_limit_exceeded"), (503, 503, "server_is_overloaded"), (403, 403, "permission_denied"), (500, 502, "upstream_error"), (404, 404, "model_not_found")])
    func geminiErrorsBecomeOpenAIErrors(upstream: Int, expected: Int, code: String) async throws {
        try await withGateway(environment: Self.gemini) { gateway in
            let reply = try await gateway.chat(#"{"model":"google/gemini-2.5-pro","messages":[{"role":"user","content":"x [[mock status=\#(upstream)]]"}]}"#)
            #expect(reply.status == expected, "\(reply.body)")
            #expect(reply.error?["code"] as? String == code)
            if upstream == 429 { #expect(reply.headers["retry-after"] == "1") }
        }
    }

    @Test func geminiRejectingTheGatewayKeyIsABadGatewayNotTheClientsFault() async throws {
        try await withGateway(environment: ["GEMINI_API_KEY": "wrong", "GEMINI_BASE_URL": "$MOCK"], mockOptions: .init(apiKey: "right")) { gateway in
            let reply = try await gateway.chat(#"{"model":"google/gemini-2.5-pro","messages":[{"role":"user","content":"x"}]}"#)
            #expect(reply.status == 502)
            #expect(reply.error?["code"] as? String == "upstream_auth_failed")
            #expect(reply.errorMessage?.contains("API key not valid") == true)
        }
    }

    @Test func deepSeekToolTurnsAlwaysCarryReasoningContentBack() async throws {
        try await withGateway { gateway in
            let call = #"{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}"#
            let reply = try await gateway.chat(#"""
            {"model":"deepseek/deepseek-v3.2","reasoning_effort":"high","tools":[{"type":"function","function":{"name":"f"}}],"tool_choice":"none",
             "messages":[{"role":"user","content":"go"},
              {"role":"assistant","content":null,"reasoning":"I will call f.","tool_calls":[\#(call)]},{"role":"tool","tool_call_id":"call_1","content":"1"},
              {"role":"assistant","content":"","tool_calls":[\#(call)]},{"role":"tool","tool_call_id":"call_1","content":"2"},
              {"role":"assistant","content":"done","reasoning_content":"kept as sent","tool_calls":[\#(call)]},{"role":"tool","tool_call_id":"call_1","content":"3"}]}
            """#)
            #expect(reply.status == 200, "\(reply.body)")
            #expect((message(reply)?["reasoning_content"] as? String)?.isEmpty == false, "DeepSeek's reasoning reaches the client")
            let sent = try JSONValue.parse(try #require(gateway.mock.receivedRequests.last).body)["messages"]
            #expect(sent?[1]?["reasoning_content"] == "I will call f." && sent?[1]?["reasoning"] == nil, "OpenRouter's `reasoning` is renamed")
            #expect(sent?[3]?["reasoning_content"] == "", "a client that dropped it gets the documented empty value")
            #expect(sent?[5]?["reasoning_content"] == "kept as sent")
        }
    }

    @Test func geminiStreamCutShortIsReportedInBand() async throws {
        try await withGateway(environment: Self.gemini) { gateway in
            let reply = try await gateway.chat(#"{"model":"google/gemini-2.5-pro","stream":true,"messages":[{"role":"user","content":"one two three four [[mock cut_after=2]]"}]}"#)
            #expect(reply.status == 200)
            let error = try #require(reply.events.last.flatMap { try? JSONValue.parse(Array($0.utf8)) }?["error"])
            #expect(error["code"] == "upstream_stream_truncated")
        }
    }
}
