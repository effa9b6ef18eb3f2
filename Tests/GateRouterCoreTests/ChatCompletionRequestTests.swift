import Foundation
import GateRouterWire
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
