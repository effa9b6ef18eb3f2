import AsyncHTTPClient
import GateRouterMockProvider
import GateRouterSQLite
import NIOCore
import NIOHTTP1
import Foundation
import GateRouterWire
import Testing

@Suite struct ChatCompletionsTests {
    let body = #"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"hello gateway"}],"custom_field":{"keep":1.50,"list":[1,2e3]}}"#

    @Test func nonStreamingAnswerNamesTheCatalogModelAndCarriesUsage() async throws {
        try await withGateway { gateway in
            let reply = try await gateway.chat(body)
            #expect(reply.status == 200)
            let json = try #require(reply.json)
            #expect(json["model"] as? String == "deepseek/deepseek-v3.2")
            #expect(json["object"] as? String == "chat.completion")
            #expect(reply.headers["x-gaterouter-upstream-model"] == "deepseek-chat")
            #expect(reply.headers["x-request-id"]?.hasPrefix("req_") == true)
            let usage = try #require(json["usage"] as? [String: Any])
            #expect((usage["total_tokens"] as? Int ?? 0) > 0)
            let choices = try #require(json["choices"] as? [[String: Any]])
            let content = (choices.first?["message"] as? [String: Any])?["content"] as? String
            #expect(content?.contains("hello gateway") == true)
        }
    }

    @Test func upstreamGetsTheUpstreamIDTheProviderKeyAndUnknownFieldsByteForByte() async throws {
        try await withGateway { gateway in
            _ = try await gateway.chat(body)
            let received = try #require(gateway.mock.receivedRequests.last)
            let json = try #require(received.json)
            #expect(json.string("model") == "deepseek-chat")
            #expect(json[raw: "custom_field"] == Array(#"{"keep":1.50,"list":[1,2e3]}"#.utf8))
            #expect(received.authorization == "Bearer upstream-key")
            #expect(received.authorization?.contains(gateway.apiKey) == false)
        }
    }

    /// A key given twice: the gateway reads the first, and only the first goes upstream, so the model that runs is
    /// the model routed and billed whatever the upstream's JSON parser keeps.
    @Test func aModelGivenTwiceRunsTheFirstOnly() async throws {
        try await withGateway { gateway in
            let reply = try await gateway.chat(#"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"x"}],"model":"deepseek/deepseek-reasoner","messages":[]}"#)
            #expect(reply.status == 200)
            #expect(reply.headers["x-gaterouter-model"] == "deepseek/deepseek-v3.2")
            let upstream = try #require(gateway.mock.receivedRequests.last?.json)
            #expect(upstream.fields.filter { $0.key == "model" }.map { String(decoding: $0.value, as: UTF8.self) } == [#""deepseek-chat""#])
            #expect(upstream.fields.filter { $0.key == "messages" }.count == 1)
        }
    }

    @Test func streamingPassesChunksWithTheCatalogModelAndEndsWithDone() async throws {
        try await withGateway { gateway in
            let reply = try await gateway.chat(#"{"model":"deepseek-v3.2","stream":true,"messages":[{"role":"user","content":"stream me"}]}"#)
            #expect(reply.status == 200)
            #expect(reply.headers["content-type"]?.hasPrefix("text/event-stream") == true)
            let events = reply.events
            #expect(events.last == "[DONE]")
            let chunks = events.dropLast().compactMap(\.jsonObject)
            #expect(chunks.count == events.count - 1)
            #expect(chunks.allSatisfy { $0["model"] as? String == "deepseek/deepseek-v3.2" })
            // The client did not ask for usage: no usage chunk and no usage field, though the gateway asked upstream.
            #expect(chunks.allSatisfy { $0["usage"] == nil })
            let text = chunks.compactMap { (($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["content"] as? String }.joined()
            #expect(text.contains("stream me"))
            let upstream = try #require(gateway.mock.receivedRequests.last?.json)
            #expect(upstream[raw: "stream_options"] == Array(#"{"include_usage":true}"#.utf8))
        }
    }

    @Test func streamingWithIncludeUsageEndsWithAUsageChunk() async throws {
        try await withGateway { gateway in
            let reply = try await gateway.chat(#"{"model":"deepseek/deepseek-v3.2","stream":true,"stream_options":{"include_usage":true},"messages":[{"role":"user","content":"hi"}]}"#)
            let events = reply.events
            #expect(events.last == "[DONE]")
            let usageChunk = try #require(events.dropLast().last?.jsonObject)
            #expect((usageChunk["choices"] as? [Any])?.isEmpty == true)
            let usage = try #require(usageChunk["usage"] as? [String: Any])
            #expect((usage["completion_tokens"] as? Int ?? 0) > 0)
        }
    }

    @Test func streamedChunksArriveAsTheUpstreamSendsThem() async throws {
        try await withGateway { gateway in
            // 8 tokens, 150 ms apart: a buffering gateway would deliver the first token only at the very end.
            let request = gateway.rawChatRequest(#"{"model":"deepseek/deepseek-v3.2","stream":true,"messages":[{"role":"user","content":"x"}],"mock":{"reply":"a b c d e f g h","token_delay_ms":150}}"#)
            let start = ContinuousClock.now
            let response = try await gateway.client.execute(request, timeout: .seconds(30))
            var firstContentAt: Duration?
            var received = ""
            for try await buffer in response.body {
                received += String(buffer: buffer)
                if firstContentAt == nil, received.contains(#""content":"a "#) { firstContentAt = ContinuousClock.now - start }
            }
            let total = ContinuousClock.now - start
            let first = try #require(firstContentAt)
            #expect(first < total - .milliseconds(600), "first content at \(first), stream done at \(total)")
        }
    }

    @Test func fixedTemperatureModelsGetTheirMaxTokensParameterAndNoTemperature() async throws {
        try await withGateway(environment: ["OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "$MOCK/v1"]) { gateway in
            let reply = try await gateway.chat(#"{"model":"openai/gpt-5-mini","max_tokens":64,"temperature":0.2,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(reply.status == 200)
            let upstream = try #require(gateway.mock.receivedRequests.last?.json)
            #expect(upstream[raw: "max_completion_tokens"] == Array("64".utf8))
            #expect(upstream[raw: "max_tokens"] == nil)
            #expect(upstream[raw: "temperature"] == nil)
        }
    }

    @Test func strictParamsRefusesWhatTheDefaultAdaptsAndTheSettingPersists() async throws {
        try await withGateway(environment: ["OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "$MOCK/v1", "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": "$MOCK"]) { gateway in
            let gpt = #"{"model":"openai/gpt-5-mini","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#
            let claude = #"{"model":"anthropic/claude-sonnet-4.6","logprobs":true,"messages":[{"role":"user","content":"hi"}]}"#
            let adapted = try await gateway.chat(gpt)
            #expect(adapted.status == 200)
            #expect(adapted.headers["x-gaterouter-adapted"] == "max_tokens->max_completion_tokens")
            #expect(try await gateway.chat(claude).headers["x-gaterouter-adapted"] == "logprobs dropped")
            let received = gateway.mock.receivedRequests.count

            let on = try await gateway.request(.PATCH, "/admin/v1/settings", body: #"{"strict_params":true}"#, key: gateway.adminToken)
            #expect(on.status == 200 && on.json?["strict_params"] as? Bool == true)
            let refused = try await gateway.chat(gpt)
            #expect(refused.status == 400)
            #expect(refused.errorMessage == "unsupported parameter: max_tokens")
            #expect(refused.error?["param"] as? String == "max_tokens" && refused.error?["code"] as? String == "unsupported_parameter")
            let refusedClaude = try await gateway.chat(claude)
            #expect(refusedClaude.status == 400 && refusedClaude.errorMessage == "unsupported parameter: logprobs")
            #expect(gateway.mock.receivedRequests.count == received, "a refused request never reaches the upstream")
            // What needs no adapting still goes through in strict mode.
            let fine = try await gateway.chat(#"{"model":"openai/gpt-5-mini","max_completion_tokens":64,"messages":[{"role":"user","content":"hi"}]}"#)
            #expect(fine.status == 200 && fine.headers["x-gaterouter-adapted"] == nil)

            let stored = try await SQLiteStore(path: gateway.dataDirectory + "/gaterouter.sqlite").accounts()
            #expect(stored.first?.strictParams == true, "the setting is stored, not only cached")
        }
    }

    @Test func configuredCustomProviderAndPassthroughModelIDs() async throws {
        let config = """
        providers:
          ollama: { kind: openai-compatible, base_url: "$MOCK/v1" }
        models:
          - { id: ollama/llama3.2, context_length: 131072, use_case: simple }
        """
        try await withGateway(environment: [:], configYAML: config) { gateway in
            let listed = try await gateway.chat(#"{"model":"ollama/llama3.2","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(listed.status == 200)
            #expect(listed.json?["model"] as? String == "ollama/llama3.2")
            #expect(gateway.mock.receivedRequests.last?.json?.string("model") == "llama3.2")
            // Not in the catalog, but its provider is configured: passed through as is.
            let passthrough = try await gateway.chat(#"{"model":"ollama/qwen3:8b","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(passthrough.status == 200)
            #expect(passthrough.json?["model"] as? String == "ollama/qwen3:8b")
            #expect(gateway.mock.receivedRequests.last?.json?.string("model") == "qwen3:8b")
        }
    }
}


@Suite struct StreamLifecycleTests {
    @Test func clientDisconnectCancelsTheUpstreamStream() async throws {
        try await withGateway { gateway in
            let reply = String(repeating: "word ", count: 600)
            let request = gateway.rawChatRequest(#"{"model":"deepseek/deepseek-v3.2","stream":true,"messages":[{"role":"user","content":"x"}],"mock":{"reply":"\#(reply)","token_delay_ms":20}}"#)
            // Read the first chunks, then walk away: leaving the loop drops the response, which closes the connection.
            let reader = Task {
                let response = try await gateway.client.execute(request, timeout: .seconds(30))
                var seen = 0
                for try await _ in response.body {
                    seen += 1
                    if seen == 3 { break }
                }
            }
            _ = await reader.result
            // The stream would run 12 s if nobody cancelled it; a cancelled one stops within a few writes.
            let deadline = ContinuousClock.now + .seconds(8)
            while gateway.mock.abandonedStreams == 0, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(gateway.mock.abandonedStreams == 1, "the upstream stream must stop when the client goes away")
        }
    }
}
