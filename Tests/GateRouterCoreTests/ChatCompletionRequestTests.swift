import Foundation
@testable import GateRouterWire
import Testing

@Suite struct ChatCompletionRequestTests {
    func error(_ body: String) -> GatewayError? {
        do {
            _ = try ChatCompletionRequest.decode(from: Array(body.utf8))
            return nil
        } catch {
            return error
        }
    }

    @Test func decodesTheFieldsTheGatewayReads() throws {
        let request = try ChatCompletionRequest.decode(from: Array(#"{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1"}]},{"role":"user","content":[{"type":"text","text":"hi"}]}],"stream":true,"stream_options":{"include_usage":true},"max_tokens":9,"models":["a","b"],"unknown":{"x":1}}"#.utf8))
        #expect(request.model == "m")
        #expect(request.messages.count == 2)
        #expect(request.isStreaming && request.wantsStreamUsage)
        #expect(request.maxTokens == 9)
        #expect(request.models == ["a", "b"])
    }

    @Test func namesTheParameterAtFault() {
        #expect(error(#"{"messages":[]}"#)?.param == "model")
        #expect(error(#"{"model":"m"}"#)?.param == "messages")
        #expect(error(#"{"model":"m","messages":{}}"#)?.param == "messages")
        #expect(error(#"{"model":"m","messages":[{"role":"user","content":"x"},{"role":3}]}"#)?.param == "messages[1].role")
        #expect(error(#"{"model":"m","messages":[{"role":"user"}],"max_tokens":0}"#)?.param == "max_tokens")
        #expect(error(#"{"model":"m","messages":[{"role":"user"}],"stream_options":{"include_usage":"y"}}"#)?.param == "stream_options.include_usage")
        #expect(error(#"{"model":"m","messages":[{"role":"user"}]"#)?.code == "invalid_json")
        #expect(error(#"{"model":"m","messages":[{"role":"user"}]}"#) == nil)
    }
}

@Suite struct UsageTests {
    @Test func readsOpenAIUsageWithDetails() throws {
        let usage = try JSONDecoder().decode(Usage.self, from: Data(#"{"prompt_tokens":120,"completion_tokens":18,"total_tokens":138,"prompt_tokens_details":{"cached_tokens":64},"completion_tokens_details":{"reasoning_tokens":5}}"#.utf8))
        #expect(usage == Usage(promptTokens: 120, completionTokens: 18, totalTokens: 138, cachedTokens: 64, reasoningTokens: 5))
    }
}

/// The one-pass reader (`fastDecode`) must read every body exactly as `JSONDecoder` does, and hand anything it does
/// not expect to `JSONDecoder` (nil) rather than read it differently.
@Suite struct FastRequestDecodeTests {
    /// Whether two decodings agree on every field the gateway reads (`JSONValue` compared by value: key order in
    /// objects does not count).
    func same(_ a: ChatCompletionRequest, _ b: ChatCompletionRequest) -> Bool {
        guard a.messages.count == b.messages.count else { return false }
        for (x, y) in zip(a.messages, b.messages) {
            guard x.role == y.role, x.content == y.content, x.name == y.name, x.toolCalls == y.toolCalls, x.toolCallID == y.toolCallID else { return false }
        }
        return a.model == b.model && a.stream == b.stream && a.streamOptions?.includeUsage == b.streamOptions?.includeUsage
            && (a.streamOptions == nil) == (b.streamOptions == nil) && a.maxTokens == b.maxTokens && a.maxCompletionTokens == b.maxCompletionTokens
            && a.temperature == b.temperature && a.tools == b.tools && a.models == b.models
    }

    static let readBodies = [
        #"{"model":"m","messages":[{"role":"user","content":"hi"}]}"#,
        #" { "model" : "openai/gpt-4.1" , "messages" : [ { "role" : "system" , "content" : "be brief" } , { "role" : "user" , "content" : "hi\n\"there\" \u00e9" } ] } "#,
        #"{"model":"m","messages":[{"role":"assistant","content":null,"tool_calls":[{"id":"1","function":{"name":"f","arguments":"{}"}}]},{"role":"tool","tool_call_id":"1","content":"42","name":"f"}],"tools":[{"type":"function"}]}"#,
        #"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:x"}}]}],"stream":true,"stream_options":{"include_usage":true,"other":1}}"#,
        #"{"model":"m","messages":[{"role":"user","content":"x"}],"max_tokens":9,"max_completion_tokens":12,"temperature":0.25,"models":["a","b"],"top_p":1,"user":"u","response_format":{"type":"json_object"}}"#,
        #"{"model":"m","messages":[{"role":"user","content":"x"}],"stream":null,"stream_options":null,"max_tokens":null,"temperature":null,"tools":null,"models":null}"#,
        #"{"model":"m","messages":[{"role":"user","content":"x","extra":[1,{"a":null}]}],"unknown":{"deep":[[[]]]}}"#,
    ]

    @Test(arguments: readBodies)
    func readsLikeJSONDecoder(body: String) throws {
        let fast = try #require(ChatCompletionRequest.fastDecode(Array(body.utf8)))
        let reference = try JSONDecoder().decode(ChatCompletionRequest.self, from: Data(body.utf8))
        #expect(same(fast, reference), "\(fast) vs \(reference)")
    }

    static let surprises = [
        #"{"messages":[{"role":"user","content":"x"}]}"#,  // no model
        #"{"model":"m"}"#,  // no messages
        #"{"model":3,"messages":[{"role":"user","content":"x"}]}"#,
        #"{"model":"m","messages":{}}"#,
        #"{"model":"m","messages":[{"content":"x"}]}"#,  // no role
        #"{"model":"m","messages":[{"role":"user","name":3}]}"#,
        #"{"model":"m","messages":[{"role":"user"}],"stream":"yes"}"#,
        #"{"model":"m","messages":[{"role":"user"}],"max_tokens":1.5}"#,
        #"{"model":"m","messages":[{"role":"user"}],"stream_options":{"include_usage":"y"}}"#,
        #"{"model":"m","messages":[{"role":"user"}],"models":["a",1]}"#,
        #"{"model":"m","messages":[{"role":"user"}]"#,  // cut short
        #"{"model":"m","messages":[{"role":"user"}]} x"#,  // data after the value
        #"["model"]"#,
        // A field it reads, given twice: `JSONDecoder` keeps the first, so it decides.
        #"{"model":"first","messages":[{"role":"user","content":"x"}],"model":"second"}"#,
        #"{"model":"m","messages":[{"role":"user","content":"x","role":"system"}]}"#,
    ]

    @Test(arguments: surprises)
    func leavesSurprisesToJSONDecoder(body: String) {
        #expect(ChatCompletionRequest.fastDecode(Array(body.utf8)) == nil)
    }

    /// What the gateway did before `decodeForwarding` read both in one pass: split the body (a key given twice keeps
    /// its first value), then decode it; either step's error is the answer.
    func twoPasses(_ bytes: [UInt8]) -> Result<(ChatCompletionRequest, RawJSONObject), GatewayError> {
        var body: RawJSONObject
        do {
            body = try RawJSONObject(parsing: bytes)
        } catch {
            return .failure(.invalidJSON(error.description))
        }
        body.keepFirstOfRepeatedKeys()
        do {
            return .success((try ChatCompletionRequest.decode(from: bytes), body))
        } catch {
            return .failure(error)
        }
    }

    @Test(arguments: FastRequestDecodeTests.readBodies + FastRequestDecodeTests.surprises + [
        #"{"model":"m","messages":[{"role":"user","content":"x"}],"user":"a","user":"b","top_p":0.5}"#,  // a field it does not read, twice
        #"{"model":"m","messages":[{"role":"bot","content":"x"}]}"#,  // decodes, then fails validation
        "\u{FEFF}" + #"{"model":"m","messages":[{"role":"user","content":"x"}]}"#,  // a byte order mark: the two-pass path
        "not json", "",
    ])
    func decodingForForwardingReadsAndFailsAsTheTwoPassesDid(body: String) throws {
        let bytes = Array(body.utf8)
        let oneCall = Result { () throws(GatewayError) in try ChatCompletionRequest.decodeForwarding(bytes) }
        switch (oneCall, twoPasses(bytes)) {
        case (.success(let got), .success(let expected)):
            #expect(same(got.request, expected.0), "\(got.request) vs \(expected.0)")
            #expect(got.body == expected.1)
            #expect(got.body.serialized() == expected.1.serialized())
        case (.failure(let got), .failure(let expected)):
            #expect(got == expected)
        case (let got, let expected):
            Issue.record("one pass: \(got), two passes: \(expected)")
        }
    }

    @Test func aRepeatedFieldReadsAsJSONDecoderReadsIt() throws {
        let body = #"{"model":"first","messages":[{"role":"user","content":"x"}],"model":"second"}"#
        let reference = try JSONDecoder().decode(ChatCompletionRequest.self, from: Data(body.utf8))
        #expect(try ChatCompletionRequest.decode(from: Array(body.utf8)).model == reference.model)
    }
}
