import GateRouterCatalog
import GateRouterProviders
import GateRouterWire
import Testing

/// Golden fixtures: OpenAI Chat Completions ↔ Gemini `generateContent`, written from the providers' documented examples
/// (ai.google.dev, googleapis/python-genai `google/genai/types.py`, openai/openai-python `src/openai/types/chat/`, as
/// summarised in shared/docs/provider-wire-formats.md §1 and §3), then compared as JSON values. Streaming is in
/// GeminiStreamTranslationTests.swift.
@Suite struct GeminiTranslationTests {
    func json(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    /// A catalog entry with every capability, so no mapping is skipped for want of one.
    static func model(_ upstream: String) -> CatalogModel {
        CatalogModel(id: "google/\(upstream)", name: upstream, provider: "google", upstreamID: upstream,
                     capabilities: [.tools, .vision, .reasoning, .streaming, .jsonSchema])
    }

    func translate(_ text: String, upstream: String = "gemini-2.5-flash") throws -> GeminiRequestTranslation.Result {
        try GeminiRequestTranslation.translate(try json(text), upstreamModel: upstream, model: Self.model(upstream))
    }

    /// The error a request is refused with, or nil when it translates.
    func refusal(_ text: String, upstream: String = "gemini-2.5-flash") throws -> GatewayError? {
        let request = try json(text)
        do {
            _ = try GeminiRequestTranslation.translate(request, upstreamModel: upstream, model: Self.model(upstream))
            return nil
        } catch {
            return error
        }
    }

    // MARK: Requests

    // Source: the "Parallel function calling example" under "Signatures for OpenAI compatibility" on
    // https://ai.google.dev/gemini-api/docs/thought-signatures (tool-call ids, `extra_content.google.thought_signature` on the
    // first call only, tool outputs {"temp":"15C"}/{"temp":"12C"}, get_current_temperature declaration) and its native twin
    // on the same page (one model turn of two functionCall parts, then one user turn of two functionResponse parts);
    // inline image per https://ai.google.dev/gemini-api/docs/image-understanding; functionResponse wrapping and
    // parametersJsonSchema per wire-format reference §3.1; named tool_choice → ANY + allowedFunctionNames per
    // https://ai.google.dev/gemini-api/docs/function-calling ("Function calling modes"); OpenAI request per
    // openai/openai-python src/openai/types/chat/completion_create_params.py.
    @Test func requestWithSystemImageSignedParallelCallsToolsAndSampling() throws {
        let openAI = try json(#"""
        {"model":"google/gemini-3-pro-preview","messages":[
          {"role":"system","content":"You are a helpful assistant."},
          {"role":"developer","content":"Answer in one sentence."},
          {"role":"user","content":[{"type":"text","text":"Check the weather in Paris and London. Is this coat warm enough?"},
            {"type":"image_url","image_url":{"url":"data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ","detail":"auto"}}]},
          {"role":"assistant","content":null,"tool_calls":[
            {"extra_content":{"google":{"thought_signature":"<Signature A>"}},"function":{"arguments":"{\"location\":\"Paris\"}","name":"get_current_temperature"},"id":"function-call-f3b9ecb3-d55f-4076-98c8-b13e9d1c0e01","type":"function"},
            {"function":{"arguments":"{\"location\":\"London\"}","name":"get_current_temperature"},"id":"function-call-335673ad-913e-42d1-bbf5-387c8ab80f44","type":"function"}]},
          {"role":"tool","tool_call_id":"function-call-f3b9ecb3-d55f-4076-98c8-b13e9d1c0e01","content":"{\"temp\":\"15C\"}"},
          {"role":"tool","tool_call_id":"function-call-335673ad-913e-42d1-bbf5-387c8ab80f44","content":"12C"}],
         "tools":[{"type":"function","function":{"name":"get_current_temperature","description":"Gets the current temperature for a given location.","strict":true,
           "parameters":{"type":"object","properties":{"location":{"type":"string","description":"The city name, e.g. San Francisco"}},"required":["location"],"additionalProperties":false}}}],
         "tool_choice":{"type":"function","function":{"name":"get_current_temperature"}},
         "temperature":0.2,"top_p":0.95,"max_completion_tokens":1024,"stop":"\nEND","seed":7,"user":"u-123","store":false}
        """#)
        let expected = try json(#"""
        {"systemInstruction":{"parts":[{"text":"You are a helpful assistant.\n\nAnswer in one sentence."}]},
         "contents":[
          {"role":"user","parts":[{"text":"Check the weather in Paris and London. Is this coat warm enough?"},
            {"inlineData":{"mimeType":"image/jpeg","data":"/9j/4AAQSkZJRgABAQ"}}]},
          {"role":"model","parts":[
            {"functionCall":{"name":"get_current_temperature","args":{"location":"Paris"}},"thoughtSignature":"<Signature A>"},
            {"functionCall":{"name":"get_current_temperature","args":{"location":"London"}}}]},
          {"role":"user","parts":[
            {"functionResponse":{"name":"get_current_temperature","response":{"temp":"15C"}}},
            {"functionResponse":{"name":"get_current_temperature","response":{"result":"12C"}}}]}],
         "tools":[{"functionDeclarations":[{"name":"get_current_temperature","description":"Gets the current temperature for a given location.",
           "parametersJsonSchema":{"type":"object","properties":{"location":{"type":"string","description":"The city name, e.g. San Francisco"}},"required":["location"],"additionalProperties":false}}]}],
         "toolConfig":{"functionCallingConfig":{"mode":"ANY","allowedFunctionNames":["get_current_temperature"]}},
         "generationConfig":{"temperature":0.2,"topP":0.95,"maxOutputTokens":1024,"stopSequences":["\nEND"],"seed":7}}
        """#)
        let result = try GeminiRequestTranslation.translate(openAI, upstreamModel: "gemini-3-pro-preview", model: Self.model("gemini-3-pro-preview"))
        #expect(result.body == expected)
    }

    // Source: response_format as in wire-format reference §1.1 (OpenAI's ResponseFormatJSONSchema); Gemini side per
    // https://ai.google.dev/gemini-api/docs/structured-output (responseMimeType "application/json" + responseJsonSchema, a
    // JSON Schema that may carry additionalProperties) and §3.5 (json_object → responseMimeType only).
    @Test func responseFormatsBecomeResponseMimeTypeAndJsonSchema() throws {
        let schema = #"{"type":"object","properties":{"a":{"type":"string"}},"required":["a"],"additionalProperties":false}"#
        let structured = try translate(#"{"messages":[{"role":"user","content":"Answer in JSON."}],"response_format":{"type":"json_schema","json_schema":{"name":"answer","strict":true,"schema":\#(schema)}}}"#)
        let structuredExpected = try json(#"""
        {"contents":[{"role":"user","parts":[{"text":"Answer in JSON."}]}],
         "generationConfig":{"responseMimeType":"application/json","responseJsonSchema":\#(schema)}}
        """#)
        #expect(structured.body == structuredExpected)
        let jsonMode = try translate(#"{"messages":[{"role":"user","content":"Answer in JSON."}],"response_format":{"type":"json_object"}}"#)
        let jsonModeExpected = try json(#"""
        {"contents":[{"role":"user","parts":[{"text":"Answer in JSON."}]}],"generationConfig":{"responseMimeType":"application/json"}}
        """#)
        #expect(jsonMode.body == jsonModeExpected)
    }

    // Source: https://ai.google.dev/gemini-api/docs/thinking (thinkingBudget, includeThoughts for 2.5) and
    // https://ai.google.dev/gemini-api/docs/gemini-3 (thinkingLevel; Pro: low/high, Flash: minimal/low/medium/high);
    // googleapis/python-genai google/genai/types.py ThinkingConfig and ThinkingLevel. Effort → budget/level table: the
    // adapter contract.
    @Test func reasoningEffortBecomesThinkingBudgetOrLevel() throws {
        let cases: [(upstream: String, effort: String, expected: JSONValue)] = [
            ("gemini-2.5-flash", "minimal", ["thinkingBudget": 512, "includeThoughts": true]),
            ("gemini-2.5-flash", "low", ["thinkingBudget": 1024, "includeThoughts": true]),
            ("gemini-2.5-flash", "medium", ["thinkingBudget": 8192, "includeThoughts": true]),
            ("gemini-2.5-pro", "high", ["thinkingBudget": 24576, "includeThoughts": true]),
            ("gemini-3-pro-preview", "minimal", ["thinkingLevel": "low", "includeThoughts": true]),
            ("gemini-3-pro-preview", "medium", ["thinkingLevel": "high", "includeThoughts": true]),
            ("gemini-3-flash-preview", "minimal", ["thinkingLevel": "minimal", "includeThoughts": true]),
            ("gemini-3-flash-preview", "low", ["thinkingLevel": "low", "includeThoughts": true]),
            ("gemini-3-flash-preview", "medium", ["thinkingLevel": "medium", "includeThoughts": true]),
            ("gemini-3-flash-preview", "xhigh", ["thinkingLevel": "high", "includeThoughts": true]),
        ]
        for (upstream, effort, expected) in cases {
            let body = try translate(#"{"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"\#(effort)"}"#, upstream: upstream).body
            #expect(body["generationConfig"] == ["thinkingConfig": expected], "\(upstream) reasoning_effort=\(effort)")
        }
        // `none`: thinking off where the model allows it, and never thought summaries.
        let budgetOff = try translate(#"{"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"none"}"#).body["generationConfig"]?["thinkingConfig"]
        #expect(budgetOff?["thinkingBudget"] == 0 && budgetOff?["includeThoughts"] != true)
        let levelOff = try translate(#"{"messages":[{"role":"user","content":"hi"}],"reasoning_effort":"none"}"#, upstream: "gemini-3-flash-preview").body["generationConfig"]?["thinkingConfig"]
        #expect(levelOff?["thinkingLevel"] == "minimal" && levelOff?["includeThoughts"] != true)
    }

    // Source: OpenAI params per completion_create_params.py (logprobs, top_logprobs, logit_bias, parallel_tool_calls, user,
    // store, metadata, stream_options, service_tier); Gemini's request has no place for them
    // (https://ai.google.dev/api/generate-content#request-body, GenerationConfig). Which are reported: the adapter contract.
    @Test func droppedParametersAreListedAndIgnoredOnesLeaveNoTrace() throws {
        let result = try translate(#"""
        {"messages":[{"role":"user","content":"hi"}],"logprobs":true,"top_logprobs":3,"logit_bias":{"50256":-100},"parallel_tool_calls":false,
         "user":"u-123","store":true,"metadata":{"k":"v"},"stream_options":{"include_usage":true},"service_tier":"auto"}
        """#)
        #expect(result.body == ["contents": [["role": "user", "parts": [["text": "hi"]]]]])
        for name in ["logprobs", "top_logprobs", "logit_bias", "parallel_tool_calls"] {
            #expect(result.adapted.contains("\(name) dropped"), "\(result.adapted)")
        }
        let parallelAllowed = try translate(#"{"messages":[{"role":"user","content":"hi"}],"parallel_tool_calls":true}"#)
        #expect(!parallelAllowed.adapted.contains("parallel_tool_calls dropped"))
    }

    // Source: https://ai.google.dev/gemini-api/docs/thought-signatures — the parallel example (only the first functionCall
    // part of a step carries a signature; "FC1 + signature, FC2, FR1, FR2"), FAQ 1 (dummy "skip_thought_signature_validator"
    // for histories not produced by Gemini) and "Thought signature behavior by model series" (2.5 does not require them).
    @Test func foreignToolHistoryGetsTheSkipSignatureOnGemini3Only() throws {
        let openAI = #"""
        {"messages":[{"role":"user","content":"Check the weather in Paris and London."},
          {"role":"assistant","content":"Let me check.","tool_calls":[
            {"id":"toolu_01","type":"function","function":{"name":"get_current_temperature","arguments":"{\"location\":\"Paris\"}"}},
            {"id":"toolu_02","type":"function","function":{"name":"get_current_temperature","arguments":"{\"location\":\"London\"}"}}]},
          {"role":"tool","tool_call_id":"toolu_01","content":"{\"temp\":\"15C\"}"},
          {"role":"tool","tool_call_id":"toolu_02","content":"{\"temp\":\"12C\"}"}]}
        """#
        func contents(firstCall: String) throws -> JSONValue {
            try json(#"""
            [{"role":"user","parts":[{"text":"Check the weather in Paris and London."}]},
             {"role":"model","parts":[{"text":"Let me check."},\#(firstCall),
               {"functionCall":{"name":"get_current_temperature","args":{"location":"London"}}}]},
             {"role":"user","parts":[{"functionResponse":{"name":"get_current_temperature","response":{"temp":"15C"}}},
               {"functionResponse":{"name":"get_current_temperature","response":{"temp":"12C"}}}]}]
            """#)
        }
        let skipped = try contents(firstCall: #"{"functionCall":{"name":"get_current_temperature","args":{"location":"Paris"}},"thoughtSignature":"skip_thought_signature_validator"}"#)
        #expect(try translate(openAI, upstream: "gemini-3-pro-preview").body == ["contents": skipped])
        let unsigned = try contents(firstCall: #"{"functionCall":{"name":"get_current_temperature","args":{"location":"Paris"}}}"#)
        #expect(try translate(openAI, upstream: "gemini-2.5-flash").body == ["contents": unsigned])
    }

    // Source: OpenAI user content parts per wire-format reference §1.1 (input_audio {data, format}, file {file_data});
    // Gemini parts per §3.1 (inlineData / fileData {mimeType, fileUri}) and
    // https://ai.google.dev/gemini-api/docs/image-understanding (inline_data / file_data).
    @Test func audioFilesAndImageURLs() throws {
        let request = try json(#"""
        {"messages":[{"role":"user","content":[
          {"type":"input_audio","input_audio":{"data":"UklGRiQAAABXQVZF","format":"wav"}},
          {"type":"file","file":{"filename":"a.pdf","file_data":"data:application/pdf;base64,JVBERi0xLjQ"}},
          {"type":"image_url","image_url":{"url":"https://example.com/dog.png"}},
          {"type":"image_url","image_url":{"url":"https://example.com/cat.webp"}},
          {"type":"image_url","image_url":{"url":"https://example.com/render?id=1"}},
          {"type":"text","text":"Describe all of these."}]}]}
        """#)
        // The adapter downloads http(s) images beforehand (§3.1: "download http(s) images and inline them").
        let fetched = ["https://example.com/dog.png": GeminiInlineImage(mimeType: "image/png", data: "iVBORw0KGgo")]
        let body = try GeminiRequestTranslation.translate(request, upstreamModel: "gemini-2.5-flash", model: Self.model("gemini-2.5-flash"), fetchedImages: fetched).body
        let expected = try json(#"""
        {"contents":[{"role":"user","parts":[
          {"inlineData":{"mimeType":"audio/wav","data":"UklGRiQAAABXQVZF"}},
          {"inlineData":{"mimeType":"application/pdf","data":"JVBERi0xLjQ"}},
          {"inlineData":{"mimeType":"image/png","data":"iVBORw0KGgo"}},
          {"fileData":{"fileUri":"https://example.com/cat.webp","mimeType":"image/webp"}},
          {"fileData":{"fileUri":"https://example.com/render?id=1"}},
          {"text":"Describe all of these."}]}]}
        """#)
        #expect(body == expected)
    }

    @Test func refusesWhatGeminiCannotExpress() throws {
        // Source: chat_completion_custom_tool_param.py (OpenAI's free-form `custom` tools); Gemini declares functions only.
        let custom = try refusal(#"{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"custom","custom":{"name":"grammar","description":"free-form"}}]}"#)
        #expect(custom?.status == 400)
        // Source: §3.1 — `contents` must hold at least one user/model turn; a system prompt alone has none.
        let systemOnly = try refusal(#"{"messages":[{"role":"system","content":"only a system prompt"}]}"#)
        #expect(systemOnly?.status == 400 && systemOnly?.param == "messages")
    }

    // MARK: Responses

    // Source: the GenerateContentResponse example of wire-format reference §3.2 (a `thought: true` summary part, a text
    // part, usageMetadata with thoughtsTokenCount and cachedContentTokenCount); thought summaries per
    // https://ai.google.dev/gemini-api/docs/thinking; usage fields per https://ai.google.dev/api/generate-content#UsageMetadata
    // and googleapis/python-genai types.py GenerateContentResponseUsageMetadata (prompt includes cached, candidates exclude
    // thoughts). OpenAI side per openai-python src/openai/types/chat/chat_completion.py and types/completion_usage.py.
    @Test func responseWithThoughtSummaryTextAndCachedThinkingUsage() throws {
        let gemini = try json(#"""
        {"candidates":[{"index":0,"finishReason":"STOP",
           "content":{"role":"model","parts":[{"text":"summary of thoughts","thought":true},{"text":"It is 21C."}]},
           "safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"NEGLIGIBLE"}]}],
         "usageMetadata":{"promptTokenCount":120,"candidatesTokenCount":18,"thoughtsTokenCount":300,"cachedContentTokenCount":64,"totalTokenCount":438},
         "modelVersion":"gemini-2.5-flash","responseId":"abc"}
        """#)
        let expected = try json(#"""
        {"id":"abc","object":"chat.completion","created":1741569952,"model":"google/gemini-2.5-flash",
         "choices":[{"index":0,"logprobs":null,"finish_reason":"stop",
           "message":{"role":"assistant","content":"It is 21C.","reasoning_content":"summary of thoughts","refusal":null}}],
         "usage":{"prompt_tokens":120,"completion_tokens":318,"total_tokens":438,
           "prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":300}}}
        """#)
        let (body, usage) = try GeminiResponseTranslation.completion(gemini, modelID: "google/gemini-2.5-flash", created: 1741569952, callIDPrefix: "call_gm_")
        #expect(try JSONValue.parse(body) == expected)
        #expect(usage == Usage(promptTokens: 120, completionTokens: 318, totalTokens: 438, cachedTokens: 64, reasoningTokens: 300))
        #expect(GeminiResponseTranslation.usage(gemini["usageMetadata"]) == usage)
        #expect(GeminiResponseTranslation.usage(["promptTokenCount": 10, "candidatesTokenCount": 5]) == Usage(promptTokens: 10, completionTokens: 5))
    }

    // Source: the parallel "Turn 1, Step 1 (Model response)" of https://ai.google.dev/gemini-api/docs/thought-signatures
    // (signature on the first functionCall part only) and its OpenAI-compatible rendering on the same page
    // (`extra_content.google.thought_signature` on that tool call only); §3.2 ("function calls carry no usable id: mint
    // ids"); OpenAI shape per chat_completion_message_tool_call.py (arguments is a JSON string).
    @Test func parallelFunctionCallsBecomeToolCallsWithMintedIDs() throws {
        let gemini = try json(#"""
        {"candidates":[{"index":0,"finishReason":"STOP","content":{"role":"model","parts":[
           {"functionCall":{"name":"get_current_temperature","args":{"location":"Paris"}},"thoughtSignature":"<Signature_A>"},
           {"functionCall":{"name":"get_current_temperature","args":{"location":"London"}}}]}}],
         "usageMetadata":{"promptTokenCount":60,"candidatesTokenCount":20,"totalTokenCount":80},"modelVersion":"gemini-3-pro-preview"}
        """#)
        let expected = try json(#"""
        {"id":"chatcmpl-gemini","object":"chat.completion","created":1741569952,"model":"google/gemini-3-pro-preview",
         "choices":[{"index":0,"logprobs":null,"finish_reason":"tool_calls","message":{"role":"assistant","content":null,"refusal":null,
           "tool_calls":[
             {"id":"call_gm_0","type":"function","function":{"name":"get_current_temperature","arguments":"{\"location\":\"Paris\"}"},
              "extra_content":{"google":{"thought_signature":"<Signature_A>"}}},
             {"id":"call_gm_1","type":"function","function":{"name":"get_current_temperature","arguments":"{\"location\":\"London\"}"}}]}}],
         "usage":{"prompt_tokens":60,"completion_tokens":20,"total_tokens":80}}
        """#)
        let (body, _) = try GeminiResponseTranslation.completion(gemini, modelID: "google/gemini-3-pro-preview", created: 1741569952, callIDPrefix: "call_gm_")
        #expect(try JSONValue.parse(body) == expected)

        // Source: https://ai.google.dev/gemini-api/docs/function-calling — set_light_values(brightness, color_temp) for "Turn the
        // lights down to a romantic level"; a functionCall that brings its own `id` keeps it; arguments use sorted keys.
        let own = try json(#"{"candidates":[{"index":0,"finishReason":"STOP","content":{"role":"model","parts":[{"functionCall":{"id":"fc-7","name":"set_light_values","args":{"color_temp":"warm","brightness":25}}}]}}]}"#)
        let call = try JSONValue.parse(GeminiResponseTranslation.completion(own, modelID: "m", created: 0, callIDPrefix: "call_gm_").body)["choices"]?.arrayValue?.first?["message"]?["tool_calls"]
        #expect(call == [["id": "fc-7", "type": "function", "function": ["name": "set_light_values", "arguments": #"{"brightness":25,"color_temp":"warm"}"#]]])
    }

    // Source: FinishReason enum per googleapis/python-genai types.py and https://ai.google.dev/api/generate-content#FinishReason;
    // OpenAI's finish_reason values per chat_completion.py (stop | length | tool_calls | content_filter | function_call).
    @Test(arguments: [("STOP", "stop"), ("MAX_TOKENS", "length"), ("SAFETY", "content_filter"), ("RECITATION", "content_filter"),
                      ("BLOCKLIST", "content_filter"), ("PROHIBITED_CONTENT", "content_filter"), ("SPII", "content_filter"),
                      ("IMAGE_SAFETY", "content_filter"), ("LANGUAGE", "content_filter"), ("OTHER", "stop"), ("FINISH_REASON_UNSPECIFIED", "stop")])
    func finishReasons(_ gemini: String, _ openAI: String) {
        #expect(GeminiResponseTranslation.finishReason(gemini, hasToolCalls: false) == openAI)
    }

    // Source: §3.2 (no tool-call reason: a function call ends with STOP; blocked prompt = no candidates +
    // promptFeedback.blockReason) and https://ai.google.dev/api/generate-content#PromptFeedback.
    @Test func toolCallStopsMalformedCallsAndBlockedPrompts() throws {
        #expect(GeminiResponseTranslation.finishReason("STOP", hasToolCalls: true) == "tool_calls")

        let malformed = try json(#"{"candidates":[{"index":0,"finishReason":"MALFORMED_FUNCTION_CALL"}],"usageMetadata":{"promptTokenCount":60,"totalTokenCount":60}}"#)
        do {
            _ = try GeminiResponseTranslation.completion(malformed, modelID: "m", created: 0, callIDPrefix: "call_gm_")
            Issue.record("MALFORMED_FUNCTION_CALL must not become a completion")
        } catch {
            #expect(error.status == 502 && error.code == "upstream_malformed_function_call")
        }

        let blocked = try json(#"""
        {"promptFeedback":{"blockReason":"SAFETY","safetyRatings":[{"category":"HARM_CATEGORY_DANGEROUS_CONTENT","probability":"HIGH"}]},
         "usageMetadata":{"promptTokenCount":8,"totalTokenCount":8},"modelVersion":"gemini-2.5-flash","responseId":"Xk2Z"}
        """#)
        let expected = try json(#"""
        {"id":"Xk2Z","object":"chat.completion","created":5,"model":"google/gemini-2.5-flash",
         "choices":[{"index":0,"logprobs":null,"finish_reason":"content_filter","message":{"role":"assistant","content":"","refusal":null}}],
         "usage":{"prompt_tokens":8,"completion_tokens":0,"total_tokens":8}}
        """#)
        let (body, _) = try GeminiResponseTranslation.completion(blocked, modelID: "google/gemini-2.5-flash", created: 5, callIDPrefix: "call_gm_")
        #expect(try JSONValue.parse(body) == expected)
    }

    // MARK: Errors

    // Source: statuses from https://ai.google.dev/gemini-api/docs/troubleshooting (backend error codes table); bodies:
    // API key — wire-format reference §3.4; 429 — as quoted in google-gemini/gemini-cli#8437 (QuotaFailure + Help details)
    // with a google.rpc.RetryInfo detail; 404 — as quoted in google/adk-python#200; 503 — §3.4 ("The model is overloaded").
    // OpenAI side: §1.4 (the status/type/code OpenAI SDKs expect). 401/500 policy: UpstreamErrorMapping.httpError.
    @Test func errorsMapToOpenAIsStatusTypeAndCode() {
        let apiKey = #"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID","domain":"googleapis.com","metadata":{"service":"generativelanguage.googleapis.com"}}]}}"#
        let quota = #"{"error":{"code":429,"message":"You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.","status":"RESOURCE_EXHAUSTED","details":[{"@type":"type.googleapis.com/google.rpc.QuotaFailure","violations":[{"quotaMetric":"generativelanguage.googleapis.com/generate_content_free_tier_requests","quotaId":"GenerateRequestsPerMinutePerProjectPerModel-FreeTier","quotaDimensions":{"location":"global","model":"gemini-2.5-flash"}}]},{"@type":"type.googleapis.com/google.rpc.Help","links":[{"description":"Learn more about Gemini API quotas","url":"https://ai.google.dev/gemini-api/docs/rate-limits"}]},{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"1.5s"}]}}"#
        let invalid = #"{"error":{"code":400,"message":"* GenerateContentRequest.contents: contents is not specified\n","status":"INVALID_ARGUMENT"}}"#
        let cases: [(status: Int, body: String, header: String?, expected: Int, type: String, code: String?, retry: String?)] = [
            (400, apiKey, nil, 502, "upstream_error", "upstream_auth_failed", nil),
            (401, #"{"error":{"code":401,"message":"Request had invalid authentication credentials.","status":"UNAUTHENTICATED"}}"#, nil, 502, "upstream_error", "upstream_auth_failed", nil),
            (400, invalid, nil, 400, "invalid_request_error", nil, nil),
            (403, #"{"error":{"code":403,"message":"Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.","status":"PERMISSION_DENIED"}}"#, nil, 403, "request_forbidden", "permission_denied", nil),
            (404, #"{"error":{"code":404,"message":"models/gemini-2.0-flash-live-001 is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.","status":"NOT_FOUND"}}"#, nil, 404, "invalid_request_error", "model_not_found", nil),
            (429, quota, nil, 429, "requests", "rate_limit_exceeded", "2"),
            (429, quota, "7", 429, "requests", "rate_limit_exceeded", "7"),
            (500, #"{"error":{"code":500,"message":"An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting","status":"INTERNAL"}}"#, nil, 502, "server_error", "upstream_error", nil),
            (503, #"{"error":{"code":503,"message":"The model is overloaded. Please try again later.","status":"UNAVAILABLE"}}"#, nil, 503, "service_unavailable_error", "server_is_overloaded", nil),
            (504, #"{"error":{"code":504,"message":"Deadline expired before operation could complete.","status":"DEADLINE_EXCEEDED"}}"#, nil, 504, "server_error", "upstream_timeout", nil),
        ]
        for c in cases {
            let error = GeminiResponseTranslation.error(status: c.status, body: Array(c.body.utf8), retryAfter: c.header)
            let label = "HTTP \(c.status) header=\(c.header ?? "-")"
            #expect(error.status == c.expected, "\(label)")
            #expect(error.type == c.type, "\(label)")
            if let code = c.code { #expect(error.code == code, "\(label)") }
            if let retry = c.retry { #expect(error.retryAfter == retry, "\(label)") }
        }
        let badRequest = GeminiResponseTranslation.error(status: 400, body: Array(invalid.utf8), retryAfter: nil)
        #expect(badRequest.message.contains("contents is not specified"), "a client's own 400 keeps Google's message")
    }
}
