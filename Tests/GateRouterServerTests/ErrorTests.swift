import AsyncHTTPClient
import GateRouterMockProvider
import NIOCore
import NIOHTTP1
import Foundation
import Testing

/// Every error a client can meet, in OpenAI's envelope with the messages users search for.
@Suite struct ErrorTests {
    let hello = #"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"hi"}]}"#

    @Test func envelopeHasAllFourKeys() async throws {
        try await withGateway { gateway in
            let reply = try await gateway.chat(hello, key: .some(nil))
            let error = try #require(reply.error)
            #expect(Set(error.keys) == ["message", "type", "param", "code"])
            #expect(error["param"] is NSNull)
        }
    }

    @Test func missingOrWrongKeyIs401() async throws {
        try await withGateway { gateway in
            let missing = try await gateway.chat(hello, key: .some(nil))
            #expect(missing.status == 401)
            #expect(missing.error?["code"] as? String == "invalid_api_key")
            let wrong = try await gateway.chat(hello, key: "gr-not-a-real-key")
            #expect(wrong.status == 401)
            #expect(wrong.error?["code"] as? String == "invalid_api_key")
            #expect(wrong.headers["x-request-id"] != nil)
            #expect(gateway.mock.receivedRequests.isEmpty)
        }
    }

    @Test func unknownModelSaysProviderRoutingIsNotConfigured() async throws {
        try await withGateway { gateway in
            let reply = try await gateway.chat(#"{"model":"mystery-model","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(reply.status == 400)
            #expect(reply.errorMessage?.hasPrefix("provider routing is not configured") == true)
            #expect(reply.error?["param"] as? String == "model")
            #expect(reply.error?["type"] as? String == "invalid_request_error")
        }
    }

    @Test func catalogModelWithoutProviderKeyNamesTheMissingVariable() async throws {
        try await withGateway { gateway in
            let reply = try await gateway.chat(#"{"model":"openai/gpt-4.1","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(reply.status == 400)
            #expect(reply.errorMessage?.contains("provider routing is not configured") == true)
            #expect(reply.errorMessage?.contains("OPENAI_API_KEY") == true)
            // A provider/name id of a known but unconfigured provider says the same.
            let passthrough = try await gateway.chat(#"{"model":"x-ai/grok-9","messages":[{"role":"user","content":"hi"}]}"#)
            #expect(passthrough.errorMessage?.contains("XAI_API_KEY") == true)
        }
    }

    @Test func autoFollowsTheAccountSetting() async throws {
        try await withGateway { gateway in
            let auto = #"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#
            let on = try await gateway.chat(auto)
            #expect(on.status == 200)
            #expect(on.json?["model"] as? String == "deepseek/deepseek-v3.2")

            let off = try await gateway.request(.PATCH, "/admin/v1/settings", body: #"{"auto_routing":false}"#, key: gateway.adminToken)
            #expect(off.status == 200)
            #expect(off.json?["auto_routing"] as? Bool == false)
            let refused = try await gateway.chat(auto)
            #expect(refused.status == 400)
            #expect(refused.errorMessage?.hasPrefix("auto routing is not enabled") == true)
            #expect(refused.error?["code"] as? String == "auto_routing_disabled")
            // Named models are unaffected.
            #expect(try await gateway.chat(hello).status == 200)
        }
    }

    @Test(arguments: [
        (#"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"hi"}"#, "invalid_json", nil),
        (#"[1,2,3]"#, "invalid_json", nil),
        (#"{"model":"deepseek/deepseek-v3.2"}"#, "missing_required_parameter", "messages"),
        (#"{"messages":[{"role":"user","content":"hi"}]}"#, "missing_required_parameter", "model"),
        (#"{"model":"deepseek/deepseek-v3.2","messages":"hi"}"#, "invalid_type", "messages"),
        (#"{"model":7,"messages":[{"role":"user","content":"hi"}]}"#, "invalid_type", "model"),
        (#"{"model":"deepseek/deepseek-v3.2","messages":[{"content":"hi"}]}"#, "missing_required_parameter", "messages[0].role"),
        (#"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"wizard","content":"hi"}]}"#, "invalid_value", "messages[0].role"),
        (#"{"model":"deepseek/deepseek-v3.2","messages":[]}"#, "invalid_value", "messages"),
        (#"{"model":"deepseek/deepseek-v3.2","stream":"yes","messages":[{"role":"user","content":"hi"}]}"#, "invalid_type", "stream"),
        (#"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":5}]}"#, "invalid_type", "messages[0].content"),
    ] as [(String, String, String?)])
    func badRequestsName(_ body: String, code: String, param: String?) async throws {
        try await withGateway { gateway in
            let reply = try await gateway.chat(body)
            #expect(reply.status == 400)
            #expect(reply.error?["code"] as? String == code)
            #expect(reply.error?["param"] as? String == param)
            #expect(gateway.mock.receivedRequests.isEmpty, "a bad request must not reach the upstream")
        }
    }

    @Test func oversizedBodyIs413() async throws {
        try await withGateway(configYAML: "server: { max_body_bytes: 1024 }") { gateway in
            let big = String(repeating: "x", count: 4096)
            let reply = try await gateway.chat(#"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"\#(big)"}]}"#)
            #expect(reply.status == 413)
            #expect(reply.error?["code"] as? String == "request_too_large")
        }
    }

    @Test(arguments: ["/v1/chat/completions", "/v1/models", "/openai/v1/embeddings", "/nothing/here"])
    func unknownPathsAre404PageNotFound(_ path: String) async throws {
        try await withGateway { gateway in
            let reply = try await gateway.request(.GET, path)
            #expect(reply.status == 404)
            #expect(reply.errorMessage == "404 page not found")
        }
    }

    @Test func upstreamErrorsKeepTheirStatusAndMessage() async throws {
        try await withGateway { gateway in
            let limited = try await gateway.chat(#"{"model":"deepseek/deepseek-v3.2","messages":[{"role":"user","content":"hi"}],"mock":{"status":429}}"#)
            #expect(limited.status == 429)
            #expect(limited.headers["retry-after"] == "1")
            #expect(limited.error?["code"] as? String == "rate_limit_exceeded")
            let down = try await gateway.chat(#"{"model":"deepseek/deepseek-v3.2","stream":true,"messages":[{"role":"user","content":"hi"}],"mock":{"status":503}}"#)
            #expect(down.status == 503)
            #expect(down.errorMessage?.contains("injected error 503") == true)
        }
    }

    @Test func unreachableUpstreamIs502NotAHang() async throws {
        // Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
        try await withGateway(environment: ["DEEPSEEK_API_KEY": "k", "DEEPSEEK_BASE_URL": "http://127.0.0.1:9/v1"]) { gateway in
            let start = ContinuousClock.now
            let reply = try await gateway.chat(hello)
            // Two attempts (the fixed model is retried once) against the 10 s connect timeout would take 20 s if a
            // refused connection were waited out; the bound leaves room for a busy 2-core machine running the suite.
            #expect(ContinuousClock.now - start < .seconds(8), "a refused connection must fail fast")
            #expect(reply.status == 502)
            #expect(reply.error?["code"] as? String == "upstream_unavailable")
            #expect(reply.headers["content-type"] == "application/json")
        }
    }

    @Test func upstreamAuthFailureIsNotReportedAsTheClientsBadKey() async throws {
        try await withGateway(mockOptions: .init(apiKey: "the-right-upstream-key")) { gateway in
            let reply = try await gateway.chat(hello)
            #expect(reply.status == 502)
            #expect(reply.error?["code"] as? String == "upstream_auth_failed")
            #expect(reply.errorMessage?.contains("deepseek") == true)
        }
    }

    @Test func failureAfterTheFirstChunkEndsTheStreamWithAnErrorEventAndNoDone() async throws {
        try await withGateway { gateway in
            for directive in [#""error_after":2"#, #""cut_after":2"#] {
                let reply = try await gateway.chat(#"{"model":"deepseek/deepseek-v3.2","stream":true,"messages":[{"role":"user","content":"hi"}],"mock":{\#(directive)}}"#)
                #expect(reply.status == 200)
                let events = reply.events
                #expect(!events.contains("[DONE]"), "\(directive)")
                let last = try #require(events.last?.jsonObject)
                let error = try #require(last["error"] as? [String: Any], "\(directive)")
                #expect(error["message"] is String)
            }
        }
    }
}
