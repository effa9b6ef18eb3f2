import Foundation
import GateRouterCatalog
import GateRouterProviders
import GateRouterRouting
import GateRouterWire

/// Benchmarks that print numbers: `swift run -c release gaterouter-bench routing` and `… micro`.
///
/// `micro` times the hot path's functions and counts their allocations (see `MicroBenchmarks`). `routing` times one
/// auto-routing decision (request classification, token estimate, candidate filtering and scoring
/// over the full catalog with every provider configured) for four requests; `routing PREFIX` only for those whose name
/// starts with PREFIX (`routing scripts`: the benchmark's prompt, for profiling one case).

func nanoseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e9 + Double(duration.components.attoseconds) * 1e-9
}

func request(_ messages: [JSONValue]) throws -> ChatCompletionRequest {
    try ChatCompletionRequest.decode(from: JSONValue.object(["model": "auto", "messages": .array(messages)]).serialized())
}

func routingBenchmark() throws {
    let environment = [
        "OPENAI_API_KEY": "k", "ANTHROPIC_API_KEY": "k", "GEMINI_API_KEY": "k", "DEEPSEEK_API_KEY": "k", "XAI_API_KEY": "k",
        "MOONSHOT_API_KEY": "k", "ZAI_API_KEY": "k", "MINIMAX_API_KEY": "k",
    ]
    let catalog = try ModelCatalog.bundled()
    let router = AutoRouter(catalog: catalog, providers: try ProviderSettings.resolveAll(config: [:], environment: environment), health: ModelHealth())
    let classifier = RequestClassifier(difficulty: try DifficultyClassifier.bundled())
    // Live traffic has taught the health tracker about every model: decisions read real averages, not the empty fast path.
    for model in catalog.models {
        router.health.recordSuccess(model: model.id, provider: model.provider, timeToFirstToken: .milliseconds(300), tokensPerSecond: 80)
    }

    var conversation: [JSONValue] = [["role": "system", "content": "You are a helpful assistant."]]
    for turn in 0..<10 {
        conversation.append(["role": "user", "content": .string("Question \(turn): how do I configure a reverse proxy in front of a web service so that it forwards the client address and handles TLS?")])
        conversation.append(["role": "assistant", "content": .string(String(repeating: "Here is a detailed answer with configuration examples. ", count: 12))])
    }
    let document = String(repeating: "The committee reviewed the quarterly figures and noted a steady rise in costs. ", count: 5_000)  // ~100k tokens
    let benchPrompt = try request([
        ["role": "system", "content": "You are a concise assistant. Answer in one short paragraph and cite no sources."],
        ["role": "user", "content": "What is the capital of France, and why did it become the capital? Keep it brief."],
    ])
    var openAIOnly = RoutingPolicy()
    openAIOnly.allowedProviders = ["openai"]
    let cases: [(String, ChatCompletionRequest, RoutingPolicy)] = [
        ("scripts/bench.sh prompt", benchPrompt, openAIOnly),
        ("short chat", try request([["role": "user", "content": "hi! what's a good name for a cat?"]]), RoutingPolicy()),
        ("20-message conversation", try request(conversation), RoutingPolicy()),
        ("100k-token document", try request([["role": "user", "content": .string("Summarise this report:\n" + document)]]), RoutingPolicy()),
    ]
    print("routing decision over \(catalog.models.count) catalog models (classification + token estimate + filter + score)")
    let only = CommandLine.arguments.dropFirst(2).first
    for (name, request, policy) in cases where only.map(name.hasPrefix) ?? true {
        var sink = 0
        for _ in 0..<500 { sink &+= router.route(classifier.profile(request), policy: policy).count }
        // Five timed trials of 20,000 decisions each: the median is the figure, the spread shows the noise.
        let iterations = 20_000
        let clock = ContinuousClock()
        var trials: [Double] = []
        for _ in 0..<5 {
            let elapsed = clock.measure {
                for _ in 0..<iterations { sink &+= router.route(classifier.profile(request), policy: policy).count }
            }
            trials.append(nanoseconds(elapsed) / Double(iterations))
        }
        trials.sort()
        let profile = classifier.profile(request)
        let decision = router.route(profile, policy: policy)
        let profileOnly = clock.measure { for _ in 0..<iterations { sink &+= classifier.profile(request).estimatedPromptTokens } }
        let routeOnly = clock.measure { for _ in 0..<iterations { sink &+= router.route(profile, policy: policy).count } }
        let summaryOnly = clock.measure { for _ in 0..<iterations { sink &+= decision.summary.utf8.count } }
        let label = name.padding(toLength: 26, withPad: " ", startingAt: 0)
        print("  \(label) \(String(format: "%7.0f", trials[2])) ns/decision median (min \(Int(trials[0])), max \(Int(trials[4])); classify \(Int(nanoseconds(profileOnly) / Double(iterations))) ns, route \(Int(nanoseconds(routeOnly) / Double(iterations))) ns; route summary \(Int(nanoseconds(summaryOnly) / Double(iterations))) ns)")
        print("  \(String(repeating: " ", count: 26)) ~\(profile.estimatedPromptTokens) tokens, tier \(profile.tier.rawValue), choice \(decision.top(1).first?.model.id ?? "-") (sink \(sink % 7))")
    }
}

let command = CommandLine.arguments.dropFirst().first ?? "routing"
switch command {
case "routing":
    try routingBenchmark()
case "micro":
    try MicroBenchmarks.run()
case "passthrough":
    let arguments = Array(CommandLine.arguments.dropFirst(2))
    guard arguments.count == 2, let port = Int(arguments[0]) else {
        print("usage: gaterouter-bench passthrough PORT UPSTREAM_URL")
        exit(2)
    }
    try await Passthrough.run(port: port, upstream: arguments[1])
case "relay":
    let arguments = Array(CommandLine.arguments.dropFirst(2))
    guard arguments.count == 2, let port = Int(arguments[0]), let upstreamPort = Int(arguments[1]) else {
        print("usage: gaterouter-bench relay PORT UPSTREAM_PORT  (upstream on 127.0.0.1)")
        exit(2)
    }
    try await Relay.run(port: port, upstreamHost: "127.0.0.1", upstreamPort: upstreamPort)
default:
    print("usage: gaterouter-bench routing [CASE PREFIX]|micro|passthrough PORT UPSTREAM_URL|relay PORT UPSTREAM_PORT")
    exit(2)
}
