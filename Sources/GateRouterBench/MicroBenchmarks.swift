import CAllocationCounter
import Foundation
import GateRouterCatalog
import GateRouterProviders
import GateRouterServer
import GateRouterStorage
import GateRouterWire
import Logging

/// Times the hot path's functions one by one and counts their heap allocations: `gaterouter-bench micro`.
enum MicroBenchmarks {
    struct Result {
        var name: String
        var nanoseconds: Double
        var allocations: Double
    }

    /// Runs `body` `iterations` times after a warm-up; returns time and allocations per call (median of 5 trials).
    static func measure(_ name: String, iterations: Int = 20_000, _ body: () throws -> Int) rethrows -> Result {
        var sink = 0
        for _ in 0..<200 { sink &+= try body() }
        var trials: [(Double, Double)] = []
        let clock = ContinuousClock()
        for _ in 0..<5 {
            let allocationsBefore = gaterouter_allocation_count()
            var inner = 0
            let elapsed = try clock.measure {
                for _ in 0..<iterations { inner &+= try body() }
            }
            let allocations = gaterouter_allocation_count() - allocationsBefore
            sink &+= inner
            trials.append((nanoseconds(elapsed) / Double(iterations), Double(allocations) / Double(iterations)))
        }
        trials.sort { $0.0 < $1.0 }
        if sink == 42 { print("") }  // keeps the work observable
        return Result(name: name, nanoseconds: trials[2].0, allocations: trials[2].1)
    }

    static let requestBody = Array(#"""
    {"model":"openai/gpt-4.1-nano","stream":false,"max_tokens":128,"temperature":0.2,"messages":[{"role":"system","content":"You are a concise assistant. Answer in one short paragraph and cite no sources."},{"role":"user","content":"What is the capital of France, and why did it become the capital? Keep it brief."}],"custom_field":{"keep":1.50}}
    """#.utf8)

    static func run() throws {
        var results: [Result] = []
        results.append(try measure("request: RawJSONObject parse") { try RawJSONObject(parsing: requestBody).fields.count })
        results.append(try measure("request: ChatCompletionRequest decode") { try ChatCompletionRequest.decode(from: requestBody).messages.count })
        results.append(try measure("request: one-pass decode + fields") { try ChatCompletionRequest.decodeForwarding(requestBody).body.fields.count })
        let parsed = try RawJSONObject(parsing: requestBody)
        results.append(measure("model-id rewrite + serialize") {
            var body = parsed
            body.set("model", string: "gpt-4.1-nano")
            return body.serialized().count
        })

        let openAIChunk = Array(#"data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1764000000,"model":"gpt-4.1-nano","choices":[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}"#.utf8) + [10, 10]
        // One parser and transcoder per stream, as in the gateway: each call is one more chunk of a running stream.
        var openAIParser = ServerSentEventParser()
        var openAITranscoder = OpenAIChunkTranscoder(modelID: "openai/gpt-4.1-nano", provider: "openai", forwardUsage: false)
        results.append(try measure("SSE chunk: OpenAI-compatible") {
            var count = 0
            for event in try openAIParser.feed(openAIChunk) { count += try openAITranscoder.transcode(event).count }
            return count
        })
        let anthropicChunk = Array(#"event: content_block_delta"#.utf8) + [10] + Array(#"data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"word "}}"#.utf8) + [10, 10]
        var anthropicParser = ServerSentEventParser()
        var anthropicTranscoder = AnthropicStreamTranscoder(modelID: "anthropic/claude-sonnet-4.6", created: 0, forwardUsage: false)
        results.append(try measure("SSE chunk: Anthropic") {
            var count = 0
            for event in try anthropicParser.feed(anthropicChunk) { count += try anthropicTranscoder.transcode(event).count }
            return count
        })
        let geminiChunk = Array(#"data: {"candidates":[{"content":{"role":"model","parts":[{"text":"word "}]},"index":0}],"modelVersion":"gemini-2.5-pro","responseId":"r1"}"#.utf8) + [13, 10, 13, 10]
        var geminiParser = ServerSentEventParser()
        var geminiTranscoder = GeminiStreamTranscoder(modelID: "google/gemini-2.5-pro", created: 0, forwardUsage: false, callIDPrefix: "call_")
        results.append(try measure("SSE chunk: Gemini") {
            var count = 0
            for event in try geminiParser.feed(geminiChunk) { count += try geminiTranscoder.transcode(event).count }
            return count
        })

        let key = APIKeyHasher.generate()
        let account = Account(id: Account.defaultAccountID, name: "bench")
        let record = APIKeyRecord(id: "k1", accountID: account.id, name: "bench", displayPrefix: APIKeyHasher.displayPrefix(key), hash: APIKeyHasher.hash(key))
        let cache = AuthCache(accounts: [account], keys: [record])
        results.append(measure("key lookup (hash + cache)") { cache.authenticate(key) == nil ? 0 : 1 })

        // Pricing a completion: whole picodollars per token for catalog prices, Decimal for a sub-picodollar one.
        let catalogPricing = try ModelCatalog.bundled().model(named: "openai/gpt-4.1-nano")?.pricing ?? .unpriced
        var usage = Usage(promptTokens: 1_234, completionTokens: 567)
        usage.cachedTokens = 200
        results.append(measure("cost: catalog price (integer)") { Int(CostCalculator.cost(of: usage, pricing: catalogPricing).value & 1) })
        var finePricing = catalogPricing
        finePricing.input = Decimal(string: "0.0000001") ?? 0
        results.append(measure("cost: sub-picodollar price (Decimal)") { Int(CostCalculator.cost(of: usage, pricing: finePricing).value & 1) })

        results += requestLogLine()

        print("hot-path functions (median of 5 trials of 20,000 calls; allocations counted by wrapping malloc)")
        for result in results {
            let label = result.name.padding(toLength: 40, withPad: " ", startingAt: 0)
            print("  \(label) \(String(format: "%8.0f", result.nanoseconds)) ns/op  \(String(format: "%6.1f", result.allocations)) allocations/op")
        }
    }

    /// A fast-path request's log line, the old way and the new: the event loop built `Logger` metadata and the writer
    /// sorted and formatted it under its lock; now the event loop queues a value and the writer thread formats it.
    static func requestLogLine() -> [Result] {
        var fields = RequestReport.Fields()
        fields.model = "openai/gpt-4.1-nano"
        fields.provider = "openai"
        fields.keyID = "key_0123456789abcdef"
        fields.upstreamModel = "gpt-4.1-mini"
        fields.promptTokens = 57
        fields.completionTokens = 21
        fields.attempts = 1
        fields.route = "openai/gpt-4.1-nano score=11.10 cost=55.90u$ eta=0.04s; openai/gpt-5-mini score=7.39 cost=267.75u$ eta=2.30s"
        fields.tier = "general"
        func line() -> RequestLogLine {
            RequestLogLine(
                method: "POST", route: "/openai/v1/chat/completions", status: 200, duration: .microseconds(2_400), client: "127.0.0.1", fields: fields,
                clientDisconnected: false, requestID: "req_01a217c4850aec9e2c778dc9d208c599"
            )
        }
        var buffer: [UInt8] = []
        buffer.reserveCapacity(1 << 16)
        var queue: [RequestLogLine] = []
        queue.reserveCapacity(1_024)
        return [
            measure("log line: Logger metadata + format") {
                if buffer.count > 60_000 { buffer.removeAll(keepingCapacity: true) }
                // Sorted as the gateway's writer sorts `Logger` metadata.
                let pairs = line().metadata.sorted { $0.key < $1.key }
                for (key, value) in pairs {
                    buffer.append(UInt8(ascii: " "))
                    buffer.append(contentsOf: key.utf8)
                    buffer.append(UInt8(ascii: "="))
                    switch value {
                    case .string(let text): buffer.append(contentsOf: text.utf8)
                    default: buffer.append(contentsOf: value.description.utf8)
                    }
                }
                return buffer.count
            },
            measure("log line: queue value (event loop)") {
                if queue.count == 1_024 { queue.removeAll(keepingCapacity: true) }
                queue.append(line())
                return queue.count
            },
            measure("log line: format value (writer)") {
                if buffer.count > 60_000 { buffer.removeAll(keepingCapacity: true) }
                line().appendPairs(to: &buffer)
                return buffer.count
            },
        ]
    }
}
