import Foundation
import GateRouterMockProvider
import GateRouterWire
import Synchronization
import Testing

/// Starts `count` mock upstreams on loopback, runs `body` with them and their root URLs, and stops them.
func withMocks(_ count: Int, _ body: @Sendable ([(mock: MockProvider, url: String)]) async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        var started: [(MockProvider, String)] = []
        for _ in 0..<count {
            let mock = MockProvider()
            let (ports, continuation) = AsyncStream<Int>.makeStream()
            let app = mock.buildApplication(port: 0, logger: quietLogger) { continuation.yield($0) }
            group.addTask { try await app.run() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            started.append((mock, "http://127.0.0.1:\(port)"))
        }
        try await body(started)
        group.cancelAll()
    }
}

/// `model: "auto"` end to end against several mock providers with different prices and injected failures.
///
/// Three providers are configured, each on its own mock: `openai` (whose cheap, fast nano models win simple prompts),
/// `deepseek` and `anthropic`; every other provider has no key, so its models are never candidates.
@Suite struct AutoRoutingTests {
    static let routingYAML = """
    routing:
      breaker_failures: 2
      breaker_cooldown_seconds: 0.4
      stall_timeout_seconds: 0.5
      keep_alive_seconds: 0.2
    """

    func environment(_ mocks: [(mock: MockProvider, url: String)]) -> [String: String] {
        [
            "OPENAI_API_KEY": "k", "OPENAI_BASE_URL": mocks[0].url + "/v1",
            "DEEPSEEK_API_KEY": "k", "DEEPSEEK_BASE_URL": mocks[1].url + "/v1",
            "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": mocks[2].url,
        ]
    }

    func auto(_ text: String, stream: Bool = false, extra: String = "") -> String {
        let content = String(decoding: JSONValue.string(text).serialized(), as: UTF8.self)
        return #"{"model":"auto","stream":\#(stream),"messages":[{"role":"user","content":\#(content)}]\#(extra)}"#
    }

    static let cheapModels: Set<String> = ["openai/gpt-5-nano", "openai/gpt-4.1-nano"]

    static let proof = "Prove that there are infinitely many primes of the form 4k + 3, and show rigorously that the sum of their reciprocals diverges."

    @Test func simplePromptsGoCheapHardOnesToAStrongerTierAndHeadersExplain() async throws {
        try await withMocks(3) { mocks in
            try await withGateway(environment: environment(mocks), configYAML: Self.routingYAML) { gateway in
                let simple = try await gateway.chat(auto("hi!"))
                #expect(simple.status == 200, "\(simple.body)")
                let chosen = try #require(simple.headers["x-gaterouter-model"])
                #expect(Self.cheapModels.contains(chosen), "\(chosen)")
                #expect(simple.json?["model"] as? String == chosen, "the body names the model that answered")
                #expect(simple.headers["x-gaterouter-tier"] == "simple")
                #expect(simple.headers["x-gaterouter-strategy"] == "balanced")
                #expect(simple.headers["x-gaterouter-attempts"] == "1")
                #expect(simple.headers["x-gaterouter-route"]?.hasPrefix("\(chosen) score=") == true)
                #expect(simple.headers["x-gaterouter-route"]?.contains("; ") == true, "the runner-up is named too")

                let hard = try await gateway.chat(auto(Self.proof))
                #expect(hard.status == 200)
                #expect(hard.headers["x-gaterouter-tier"] == "reasoning")
                let model = try #require(hard.headers["x-gaterouter-model"])
                #expect(["openai/gpt-5", "openai/gpt-5.2", "anthropic/claude-opus-4.6"].contains(model), "\(model)")
            }
        }
    }

    @Test func theAccountStrategyChangesTheChoice() async throws {
        // Each strategy on a fresh gateway: live latency learnt from the (instant) mocks would otherwise dominate.
        let prompt = auto("Summarise the main causes of the French Revolution in a few paragraphs for a school essay.")
        let choices = Mutex<[String: [String]]>([:])
        for strategy in ["price", "latency"] {
            try await withMocks(3) { mocks in
                try await withGateway(environment: environment(mocks), configYAML: Self.routingYAML) { gateway in
                    let patch = try await gateway.request(.PATCH, "/admin/v1/settings", body: #"{"routing_strategy":"\#(strategy)"}"#, key: gateway.adminToken)
                    #expect(patch.status == 200 && patch.json?["routing_strategy"] as? String == strategy)
                    let reply = try await gateway.chat(prompt)
                    #expect(reply.headers["x-gaterouter-strategy"] == strategy)
                    let chosen = [try #require(reply.headers["x-gaterouter-model"]), try #require(reply.headers["x-gaterouter-route"])]
                    choices.withLock { $0[strategy] = chosen }
                }
            }
        }
        let price = try #require(choices.withLock { $0["price"] })
        let latency = try #require(choices.withLock { $0["latency"] })
        #expect(price[0] != latency[0], "price \(price[1]) / latency \(latency[1])")
    }

    @Test func routingSettingsAreValidatedAndApplyOnTheNextRequest() async throws {
        try await withMocks(3) { mocks in
            try await withGateway(environment: environment(mocks), configYAML: Self.routingYAML) { gateway in
                let bad = try await gateway.request(.PATCH, "/admin/v1/settings", body: #"{"routing_strategy":"cheapest"}"#, key: gateway.adminToken)
                #expect(bad.status == 400)
                let badHedge = try await gateway.request(.PATCH, "/admin/v1/settings", body: #"{"hedging_percent":250}"#, key: gateway.adminToken)
                #expect(badHedge.status == 400 && badHedge.error?["param"] as? String == "hedging_percent")
                let badPrice = try await gateway.request(.PATCH, "/admin/v1/settings", body: #"{"max_output_price":"cheap"}"#, key: gateway.adminToken)
                #expect(badPrice.status == 400)
                let allowed = try await gateway.request(.PATCH, "/admin/v1/settings", body: #"{"allowed_providers":["deepseek"],"max_output_price":"1.00"}"#, key: gateway.adminToken)
                #expect(allowed.status == 200 && allowed.json?["max_output_price"] as? String == "1")
                let reply = try await gateway.chat(auto("hi!"))
                #expect(reply.headers["x-gaterouter-provider"] == "deepseek")
                let none = try await gateway.request(.PATCH, "/admin/v1/settings", body: #"{"allowed_models":["anthropic/claude-opus-4.6"]}"#, key: gateway.adminToken)
                #expect(none.status == 200)
                let refused = try await gateway.chat(auto("hi!"))
                #expect(refused.status == 503 && refused.error?["code"] as? String == "no_model_available", "\(refused.body)")
                #expect(refused.errorMessage?.contains("anthropic/claude-opus-4.6: provider not allowed") == true, "\(refused.body)")
            }
        }
    }

    @Test func aFailingProviderIsAvoidedEveryRequestSucceedsAndItComesBackAfterRecovery() async throws {
        try await withMocks(3) { mocks in
            // A cooldown long enough that the open phase below fits inside it even on a busy machine.
            let yaml = "routing:\n  breaker_failures: 2\n  breaker_cooldown_seconds: 3\n"
            try await withGateway(environment: environment(mocks), configYAML: yaml) { gateway in
                mocks[0].mock.inject(.status(500))
                mocks[1].mock.inject(.latency(.milliseconds(300)))  // a realistic speed for what deepseek learns while it stands in
                var attempts: [String] = []
                var hitsWhenOpen: Int?
                for _ in 0..<8 {
                    let reply = try await gateway.chat(auto("hi!"))
                    #expect(reply.status == 200, "\(reply.body)")
                    #expect(reply.headers["x-gaterouter-provider"] != "openai")
                    attempts.append(reply.headers["x-gaterouter-attempts"] ?? "?")
                    if attempts.suffix(2) == ["1", "1"] {
                        hitsWhenOpen = mocks[0].mock.receivedRequests.count
                        break
                    }
                }
                #expect(attempts.first != "1", "the first failures fail over: \(attempts)")
                let hitsWhileOpen = try #require(hitsWhenOpen, "open circuits keep traffic away after a few failures: \(attempts)")
                for _ in 0..<3 { _ = try await gateway.chat(auto("hi!")) }
                #expect(mocks[0].mock.receivedRequests.count == hitsWhileOpen, "no traffic reaches the failing provider while its circuit is open")

                mocks[0].mock.inject(nil)
                try await Task.sleep(for: .milliseconds(3200))
                let recovered = try await gateway.chat(auto("hi!"))
                #expect(recovered.headers["x-gaterouter-provider"] == "openai", "after the cooldown a probe goes through and closes the circuit: \(recovered.headers)")
                #expect(mocks[0].mock.receivedRequests.count == hitsWhileOpen + 1)
                #expect(try await gateway.chat(auto("hi!")).headers["x-gaterouter-provider"] == "openai")
            }
        }
    }

    @Test func longContextNeverGoesToASmallWindow() async throws {
        try await withMocks(3) { mocks in
            let env = ["DEEPSEEK_API_KEY": "k", "DEEPSEEK_BASE_URL": mocks[1].url + "/v1", "ANTHROPIC_API_KEY": "k", "ANTHROPIC_BASE_URL": mocks[2].url]
            try await withGateway(environment: env, configYAML: Self.routingYAML) { gateway in
                let document = String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 14_000)  // ~150k tokens
                let reply = try await gateway.chat(auto("Summarise this document:\n" + document))
                #expect(reply.status == 200, "\(reply.body.prefix(300))")
                #expect(reply.headers["x-gaterouter-provider"] == "anthropic")
                #expect(mocks[1].mock.receivedRequests.isEmpty, "deepseek's 128k window cannot take it")
            }
        }
    }

    @Test func allCandidatesDownIsA503NamingWhatWasTried() async throws {
        try await withMocks(3) { mocks in
            try await withGateway(environment: environment(mocks), configYAML: Self.routingYAML) { gateway in
                for entry in mocks { entry.mock.inject(.status(503)) }
                let reply = try await gateway.chat(auto("hi!"))
                #expect(reply.status == 503)
                #expect(reply.error?["code"] as? String == "all_upstreams_failed")
                let message = try #require(reply.errorMessage)
                #expect(message.contains("openai/") && message.split(separator: ";").count == 3, "\(message)")
            }
        }
    }

    @Test(arguments: [MockProvider.Fault.status(500), .status(429), .latency(.seconds(2)), .cutBeforeContent, .errorBeforeContent])
    func streamsFailOverBeforeFirstContent(fault: MockProvider.Fault) async throws {
        try await withMocks(3) { mocks in
            try await withGateway(environment: environment(mocks), configYAML: Self.routingYAML) { gateway in
                mocks[0].mock.inject(fault)
                let reply = try await gateway.chat(auto("hi!", stream: true))
                #expect(reply.status == 200, "\(reply.body)")
                #expect(reply.headers["x-gaterouter-attempts"] == "2" || reply.events.contains { $0.contains("deepseek") || $0.contains("anthropic") })
                #expect(reply.events.last == "[DONE]", "\(reply.body)")
                let chunks = reply.events.dropLast().compactMap(\.jsonObject)
                #expect(!chunks.isEmpty && chunks.allSatisfy { $0["error"] == nil && ($0["model"] as? String)?.hasPrefix("openai/") == false })
                let roles = chunks.filter { ((($0["choices"] as? [[String: Any]])?.first?["delta"] as? [String: Any])?["role"]) != nil }
                #expect(roles.count == 1, "only the answering attempt's preamble reaches the client")
                #expect(mocks[0].mock.receivedRequests.count >= 1, "the first choice was tried")
            }
        }
    }

    @Test(arguments: [MockProvider.Fault.status(500), .status(429)])
    func jsonRequestsFailOverToo(fault: MockProvider.Fault) async throws {
        try await withMocks(3) { mocks in
            try await withGateway(environment: environment(mocks), configYAML: Self.routingYAML) { gateway in
                mocks[0].mock.inject(fault)
                let reply = try await gateway.chat(auto("hi!"))
                #expect(reply.status == 200)
                #expect(Int(reply.headers["x-gaterouter-attempts"] ?? "") ?? 0 >= 2)
                #expect(reply.headers["x-gaterouter-provider"] != "openai")
            }
        }
    }

    @Test func aJSONAttemptThatTakesTooLongFailsOver() async throws {
        try await withMocks(3) { mocks in
            let yaml = Self.routingYAML + "\n  attempt_timeout_seconds: 0.5\n"
            try await withGateway(environment: environment(mocks), configYAML: yaml) { gateway in
                mocks[0].mock.inject(.latency(.seconds(3)))
                let clock = ContinuousClock()
                var reply: GatewayHarness.Reply?
                let elapsed = try await clock.measure { reply = try await gateway.chat(auto("hi!")) }
                #expect(reply?.status == 200)
                #expect(reply?.headers["x-gaterouter-provider"] != "openai")
                #expect(elapsed < .seconds(3), "the slow attempt was abandoned, not awaited")
            }
        }
    }

    @Test(arguments: [false, true])
    func anUnreachableProviderFailsOver(stream: Bool) async throws {
        try await withMocks(3) { mocks in
            var environment = environment(mocks)
            environment["OPENAI_BASE_URL"] = "http://127.0.0.1:1/v1"  // nothing listens on port 1: connection refused
            try await withGateway(environment: environment, configYAML: Self.routingYAML) { gateway in
                let reply = try await gateway.chat(auto("hi!", stream: stream))
                #expect(reply.status == 200, "\(reply.body)")
                #expect(reply.headers["x-gaterouter-provider"] != "openai")
                #expect(Int(reply.headers["x-gaterouter-attempts"] ?? "") ?? 0 >= 2)
                if stream { #expect(reply.events.last == "[DONE]") }
            }
        }
    }

    @Test func aFixedModelIsRetriedThenFallsBackToTheRequestsOwnList() async throws {
        try await withMocks(3) { mocks in
            try await withGateway(environment: environment(mocks), configYAML: Self.routingYAML) { gateway in
                mocks[0].mock.inject(.status(502))
                let reply = try await gateway.chat(#"{"model":"openai/gpt-5-mini","models":["deepseek/deepseek-v3.2"],"messages":[{"role":"user","content":"hi"}]}"#)
                #expect(reply.status == 200)
                #expect(reply.json?["model"] as? String == "deepseek/deepseek-v3.2")
                #expect(reply.headers["x-gaterouter-attempts"] == "3", "primary, its retry, then the fallback")
                #expect(mocks[0].mock.receivedRequests.count == 2)
                let upstream = try #require(mocks[1].mock.receivedRequests.last?.json)
                #expect(upstream[raw: "models"] == nil, "the fallback list is the gateway's, not the upstream's")
            }
        }
    }

    @Test func aCutAfterContentEndsWithAnErrorEventAndNoDone() async throws {
        try await withMocks(3) { mocks in
            try await withGateway(environment: environment(mocks), configYAML: Self.routingYAML) { gateway in
                let reply = try await gateway.chat(auto("one two three four five [[mock cut_after=2]]", stream: true))
                #expect(reply.status == 200)
                #expect(reply.events.last != "[DONE]")
                let last = try #require(reply.events.last?.jsonObject?["error"] as? [String: Any])
                #expect(last["code"] as? String == "upstream_stream_truncated")
            }
        }
    }

    @Test func silentUpstreamsGetKeepAliveCommentsWhileTheyThink() async throws {
        try await withMocks(3) { mocks in
            let yaml = "routing:\n  stall_timeout_seconds: 5\n  keep_alive_seconds: 0.1\n"
            try await withGateway(environment: environment(mocks), configYAML: yaml) { gateway in
                let reply = try await gateway.chat(auto("one two three [[mock token_delay_ms=250]]", stream: true))
                #expect(reply.status == 200)
                #expect(reply.body.contains(": keep-alive\n\n"))
                #expect(reply.events.last == "[DONE]")
            }
        }
    }

    @Test func hedgingRacesASlowFirstTokenAndNeverExceedsItsCap() async throws {
        try await withMocks(3) { mocks in
            let yaml = "routing:\n  stall_timeout_seconds: 10\n  keep_alive_seconds: 5\n"
            try await withGateway(environment: environment(mocks), configYAML: yaml) { gateway in
                let settings = #"{"hedging_percent":10,"allowed_models":["openai/gpt-5-nano","deepseek/deepseek-v3.2"]}"#
                #expect(try await gateway.request(.PATCH, "/admin/v1/settings", body: settings, key: gateway.adminToken).status == 200)
                for _ in 0..<10 {
                    let warm = try await gateway.chat(auto("hi!", stream: true))
                    #expect(warm.headers["x-gaterouter-model"] == "openai/gpt-5-nano" && warm.headers["x-gaterouter-attempts"] == "1")
                }
                #expect(mocks[1].mock.receivedRequests.isEmpty, "no hedge while first tokens come on time")

                mocks[0].mock.inject(.latency(.milliseconds(1500)))
                let clock = ContinuousClock()
                var hedged: GatewayHarness.Reply?
                let hedgedTime = try await clock.measure { hedged = try await gateway.chat(auto("hi!", stream: true)) }
                let reply = try #require(hedged)
                #expect(reply.status == 200)
                #expect(reply.headers["x-gaterouter-model"] == "deepseek/deepseek-v3.2", "the hedge produced content first")
                #expect(reply.headers["x-gaterouter-attempts"] == "2")
                #expect(reply.events.last == "[DONE]")
                #expect(hedgedTime < .milliseconds(1500), "the answer did not wait for the slow primary")
                #expect(mocks[1].mock.receivedRequests.count == 1)

                // 10% of 12 requests leaves no room for a second hedge: the slow primary answers.
                let capped = try await gateway.chat(auto("hi!", stream: true))
                #expect(capped.headers["x-gaterouter-model"] == "openai/gpt-5-nano")
                #expect(capped.headers["x-gaterouter-attempts"] == "1")
                #expect(mocks[1].mock.receivedRequests.count == 1, "the cap holds")
            }
        }
    }
}
