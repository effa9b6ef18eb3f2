import GateRouterWire
import Hummingbird
import Logging
import NIOCore
import Synchronization
import Foundation

/// A fake OpenAI-compatible upstream for tests, demos and benchmarks: JSON and streamed answers, fixed latency,
/// per-token delay and error injection, all on loopback.
///
/// Besides the server-wide ``Options``, one request can steer its own answer through a `mock` object in its body
/// (the gateway passes unknown fields through, so this also exercises passthrough):
/// `{"mock": {"status": 429, "reply": "hi", "latency_ms": 50, "token_delay_ms": 5, "error_after": 2, "cut_after": 2,
/// "silence_after": 1, "silence_ms": 4000, "no_usage": true}}`.
public final class MockProvider: Sendable {
    public struct Options: Sendable {
        /// Delay before the response head.
        public var latency: Duration
        /// Delay between streamed chunks.
        public var tokenDelay: Duration
        /// Share of requests (0…1) answered with `errorStatus`.
        public var errorRate: Double
        public var errorStatus: Int
        /// When set, requests must carry the key (`Authorization: Bearer`, `x-api-key` or `x-goog-api-key`, per dialect).
        public var apiKey: String?
        /// The API dialects served.
        public var dialects: Set<Dialect>
        /// When set, every OpenAI-dialect answer is this many words (streamed one chunk per word), for benchmarks that
        /// want many small chunks.
        public var replyWords: Int?

        public init(
            latency: Duration = .zero, tokenDelay: Duration = .zero, errorRate: Double = 0, errorStatus: Int = 500, apiKey: String? = nil,
            dialects: Set<Dialect> = Set(Dialect.allCases), replyWords: Int? = nil
        ) {
            self.latency = latency
            self.tokenDelay = tokenDelay
            self.errorRate = errorRate
            self.errorStatus = errorStatus
            self.apiKey = apiKey
            self.dialects = dialects
            self.replyWords = replyWords
        }
    }

    /// An upstream API the mock can speak.
    public enum Dialect: String, Sendable, CaseIterable {
        /// `POST /v1/chat/completions`, also under Gemini's OpenAI-compatible path.
        case openai
        /// `POST /v1/messages`.
        case anthropic
        /// `POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`.
        case gemini
    }

    /// A request as the mock received it, for tests to inspect.
    public struct ReceivedRequest: Sendable {
        public var path: String
        public var query: String?
        public var authorization: String?
        public var body: [UInt8]
        public var json: RawJSONObject? { try? RawJSONObject(parsing: body) }
    }

    public let options: Options

    /// A failure the whole mock shows until cleared, for fault and failover tests (OpenAI dialect).
    public enum Fault: Sendable, Equatable {
        /// Every request gets this HTTP status.
        case status(Int)
        /// Every request waits this long before its response head.
        case latency(Duration)
        /// Streams close after the preamble, before any content.
        case cutBeforeContent
        /// Streams send an in-band error after the preamble, before any content.
        case errorBeforeContent
    }

    private let fault = Mutex<Fault?>(nil)

    /// Starts (or, with nil, ends) a failure on every following request.
    public func inject(_ fault: Fault?) {
        self.fault.withLock { $0 = fault }
    }
    static let pixelPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
    private let log = Mutex<[ReceivedRequest]>([])
    private let abandoned = Mutex(0)
    private let reported = Mutex<[Usage]>([])

    public init(options: Options = .init()) {
        self.options = options
    }

    /// Every request received so far, oldest first.
    public var receivedRequests: [ReceivedRequest] { log.withLock { $0 } }

    /// How many streams stopped early because the reader went away (a gateway that cancels upstream work when its
    /// client disconnects makes this go up).
    public var abandonedStreams: Int { abandoned.withLock { $0 } }

    /// The usage of every OpenAI-dialect response the mock sent whole with a usage object (for ledger tests: what the
    /// gateway bills must add up to this).
    public var reportedUsage: [Usage] { reported.withLock { $0 } }

    public func buildRouter() -> Router<BasicRequestContext> {
        let router = Router()
        if options.dialects.contains(.openai) {
            let handler: @Sendable (Request, BasicRequestContext) async throws -> Response = { request, context in
                try await self.chatCompletions(request, context: context)
            }
            router.post("/v1/chat/completions", use: handler)
            router.post("/chat/completions", use: handler)
            // Gemini's OpenAI-compatible path, so the demo can stand in for Google too.
            router.post("/v1beta/openai/chat/completions", use: handler)
        }
        if options.dialects.contains(.anthropic) {
            router.post("/v1/messages") { request, _ in
                try await self.anthropicMessages(request, bytes: try await self.record(request))
            }
        }
        if options.dialects.contains(.gemini) {
            router.post("/v1beta/models/:target") { request, context in
                try await self.geminiGenerate(request, target: context.parameters.get("target") ?? "", bytes: try await self.record(request))
            }
        }
        // A 1x1 PNG, for tests of image URLs a gateway must download itself (Gemini cannot fetch them).
        router.get("/images/pixel.png") { _, _ in
            Response(status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: ByteBuffer(bytes: Array(Data(base64Encoded: Self.pixelPNG) ?? Data()))))
        }
        router.get("/v1/models") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"object":"list","data":[{"id":"mock-model","object":"model","created":0,"owned_by":"mock"}]}"#)))
        }
        return router
    }

    /// An application serving the mock on `host:port` (port 0 picks a free one, reported to `onServerRunning`).
    public func buildApplication(
        host: String = "127.0.0.1",
        port: Int = 0,
        logger: Logger = Logger(label: "gaterouter.mock-provider"),
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        Application(
            router: buildRouter(),
            configuration: .init(address: .hostname(host, port: port), serverName: "gaterouter-mock-provider", backlog: 4096),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    private struct Directives: Decodable {
        var status: Int?
        var reply: String?
        var latencyMS: Int?
        var tokenDelayMS: Int?
        var errorAfter: Int?
        var cutAfter: Int?
        /// Goes silent for `silenceMS` before token `silenceAfter`, keeping the connection open (an upstream that
        /// stalls mid-answer).
        var silenceAfter: Int?
        var silenceMS: Int?
        var noUsage: Bool?
        enum CodingKeys: String, CodingKey {
            case status, reply
            case latencyMS = "latency_ms"
            case tokenDelayMS = "token_delay_ms"
            case errorAfter = "error_after"
            case cutAfter = "cut_after"
            case silenceAfter = "silence_after"
            case silenceMS = "silence_ms"
            case noUsage = "no_usage"
        }
    }

    private struct Body: Decodable {
        var model: String?
        var messages: [JSONValue]?
        var stream: Bool?
        var streamOptions: StreamOptions?
        var mock: Directives?
        struct StreamOptions: Decodable {
            var includeUsage: Bool?
            enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
        }
        enum CodingKeys: String, CodingKey {
            case model, messages, stream, mock
            case streamOptions = "stream_options"
        }
    }

    /// Reads and logs a request body.
    func record(_ request: Request) async throws -> [UInt8] {
        let bytes = Array(try await request.body.collect(upTo: 32 << 20).readableBytesView)
        let authorization = request.headers[.authorization] ?? request.headers[.init("x-api-key")!] ?? request.headers[.init("x-goog-api-key")!]
        log.withLock { $0.append(ReceivedRequest(path: request.uri.path, query: request.uri.query, authorization: authorization, body: bytes)) }
        return bytes
    }

    private func chatCompletions(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let bytes = try await record(request)
        let authorization = request.headers[.authorization]

        if let expected = options.apiKey, authorization != "Bearer \(expected)" {
            return Self.error(401, message: "Incorrect API key provided.", type: "invalid_request_error", code: "invalid_api_key")
        }
        guard let body = try? JSONDecoder().decode(Body.self, from: Data(bytes)), let messages = body.messages else {
            return Self.error(400, message: "mock: the body must be a chat completion request", type: "invalid_request_error", code: nil)
        }
        var steering = body.mock ?? MockProvider.inlineDirectives(in: Self.lastUserText(messages)).flatMap {
            try? JSONDecoder().decode(Directives.self, from: Data($0.serialized()))
        }
        switch fault.withLock({ $0 }) {
        case .status(let status)?: return Self.error(status, message: "mock: injected fault \(status)", type: status == 429 ? "requests" : "server_error", code: nil)
        case .latency(let delay)?: try await Task.sleep(for: delay)
        case .cutBeforeContent?: steering = steering ?? Directives(); steering?.cutAfter = 0
        case .errorBeforeContent?: steering = steering ?? Directives(); steering?.errorAfter = 0
        case nil: break
        }
        let directives = steering
        let latency = directives?.latencyMS.map { Duration.milliseconds($0) } ?? options.latency
        if latency > .zero { try await Task.sleep(for: latency) }
        if let status = directives?.status {
            return Self.error(status, message: "mock: injected error \(status)", type: status == 429 ? "requests" : "server_error", code: status == 429 ? "rate_limit_exceeded" : nil)
        }
        if options.errorRate > 0, Double.random(in: 0..<1) < options.errorRate {
            return Self.error(options.errorStatus, message: "mock: injected error \(options.errorStatus)", type: "server_error", code: nil)
        }

        let model = body.model ?? "mock-model"
        let request = (try? JSONValue.parse(bytes)) ?? [:]
        let thinking = (request["reasoning_effort"] != nil && request["reasoning_effort"] != "none") || request["thinking"]?["type"] == "enabled"
        if thinking, model.contains("deepseek") || model.contains("kimi"),
           let index = messages.firstIndex(where: { $0["role"] == "assistant" && $0["tool_calls"] != nil && $0["reasoning_content"]?.stringValue == nil }) {
            // DeepSeek's and Kimi's thinking modes refuse a tool-call turn whose reasoning was not passed back.
            return Self.error(400, message: "The `reasoning_content` in the thinking mode must be passed back to the API. (messages[\(index)])", type: "invalid_request_error", code: "invalid_request_error")
        }
        let reasoning = thinking ? "Let me think about this." : nil
        var answer = OpenAIAnswerPlan(request: request, model: model)
        if let words = options.replyWords, answer.toolCall == nil {
            answer.text = String(repeating: "word ", count: max(1, words))
        }
        let plan = answer
        let reply = plan.text
        let tokens = Self.tokens(of: reply)
        let promptTokens = max(1, messages.reduce(0) { $0 + Self.text(of: $1).utf8.count } / 4)
        let usage = Usage(promptTokens: promptTokens, completionTokens: tokens.count)
        let id = "chatcmpl-mock-\(UInt32.random(in: .min ... .max))"
        let created = Int(Date().timeIntervalSince1970)

        guard body.stream == true else {
            var out: [UInt8] = Array(#"{"id":"#.utf8)
            JSONString.append(id, to: &out)
            out += Array(#","object":"chat.completion","created":\#(created),"model":"#.utf8)
            JSONString.append(model, to: &out)
            out += Array(#","choices":[{"index":0,"message":{"role":"assistant","content":"#.utf8)
            JSONString.append(reply, to: &out)
            if let reasoning { out += Array(#","reasoning_content":"#.utf8) + JSONString.encode(reasoning) }
            if let call = plan.toolCall {
                out += Array(#","tool_calls":[{"id":"#.utf8) + JSONString.encode(call.id) + Array(#","type":"function","function":{"name":"#.utf8)
                out += JSONString.encode(call.name) + Array(#","arguments":"#.utf8) + JSONString.encode(call.arguments) + Array("}}]".utf8)
            }
            out += Array(#"},"finish_reason":"#.utf8) + JSONString.encode(plan.finishReason) + Array("}]".utf8)
            if directives?.noUsage != true {
                out += Array(",\"usage\":".utf8) + Self.encode(usage)
                reported.withLock { $0.append(usage) }
            }
            out += Array("}".utf8)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: out)))
        }

        let includeUsage = body.streamOptions?.includeUsage == true && directives?.noUsage != true
        let tokenDelay = directives?.tokenDelayMS.map { Duration.milliseconds($0) } ?? options.tokenDelay
        let prefix = Array(#"{"id":"#.utf8) + JSONString.encode(id) + Array(#","object":"chat.completion.chunk","created":\#(created),"model":"#.utf8) + JSONString.encode(model)
        let usageSuffix = includeUsage ? Array(#","usage":null}"#.utf8) : Array("}".utf8)
        return Response(
            status: .ok,
            headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"],
            body: ResponseBody { writer in
                func send(_ json: [UInt8]) async throws {
                    do {
                        try await writer.write(ByteBuffer(bytes: ServerSentEvent.frame(data: json)))
                    } catch {
                        self.abandoned.withLock { $0 += 1 }
                        throw error
                    }
                }
                try await send(prefix + Array(#","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]"#.utf8) + usageSuffix)
                if let reasoning {
                    try await send(prefix + Array(#","choices":[{"index":0,"delta":{"reasoning_content":"#.utf8) + JSONString.encode(reasoning) + Array(#"},"finish_reason":null}]"#.utf8) + usageSuffix)
                }
                for (index, token) in tokens.enumerated() {
                    if let errorAfter = directives?.errorAfter, index == errorAfter {
                        try await send(Array(#"{"error":{"message":"mock: injected mid-stream error","type":"server_error","param":null,"code":null}}"#.utf8))
                        try await writer.finish(nil)
                        return
                    }
                    if let cutAfter = directives?.cutAfter, index == cutAfter {
                        try await writer.finish(nil)
                        return
                    }
                    var pause = tokenDelay
                    if let silenceAfter = directives?.silenceAfter, index == silenceAfter, let silence = directives?.silenceMS {
                        pause += .milliseconds(silence)
                    }
                    if pause > .zero {
                        do {
                            try await Task.sleep(for: pause)
                        } catch {
                            self.abandoned.withLock { $0 += 1 }
                            throw error
                        }
                    }
                    try await send(prefix + Array(#","choices":[{"index":0,"delta":{"content":"#.utf8) + JSONString.encode(token) + Array(#"},"finish_reason":null}]"#.utf8) + usageSuffix)
                }
                if let call = plan.toolCall {
                    try await send(prefix + Array(#","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"#.utf8) + JSONString.encode(call.id) + Array(#","type":"function","function":{"name":"#.utf8) + JSONString.encode(call.name) + Array(#","arguments":""}}]},"finish_reason":null}]"#.utf8) + usageSuffix)
                    let half = call.arguments.index(call.arguments.startIndex, offsetBy: call.arguments.count / 2)
                    for part in [String(call.arguments[..<half]), String(call.arguments[half...])] {
                        try await send(prefix + Array(#","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"#.utf8) + JSONString.encode(part) + Array(#"}}]},"finish_reason":null}]"#.utf8) + usageSuffix)
                    }
                }
                try await send(prefix + Array(#","choices":[{"index":0,"delta":{},"finish_reason":"#.utf8) + JSONString.encode(plan.finishReason) + Array("}]".utf8) + usageSuffix)
                if includeUsage {
                    try await send(prefix + Array(#","choices":[],"usage":"#.utf8) + Self.encode(usage) + Array("}".utf8))
                    self.reported.withLock { $0.append(usage) }
                }
                try await writer.write(ByteBuffer(bytes: ServerSentEvent.doneFrame))
                try await writer.finish(nil)
            }
        )
    }

    static func error(_ status: Int, message: String, type: String, code: String?) -> Response {
        let error = GatewayError(status: status, message: message, type: type, code: code)
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == 429 { headers[.retryAfter] = "1" }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: error.envelope)))
    }

    static func encode(_ usage: Usage) -> [UInt8] {
        (try? JSONEncoder().encode(usage)).map { Array($0) } ?? Array("null".utf8)
    }

    /// Splits a reply into word-sized pieces, keeping the spaces, so streamed deltas concatenate back to the reply.
    static func tokens(of text: String) -> [String] {
        var out: [String] = []
        var current = ""
        for character in text {
            current.append(character)
            if character == " " {
                out.append(current)
                current = ""
            }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    static func text(of message: JSONValue) -> String {
        guard case .object(let fields) = message else { return "" }
        switch fields["content"] {
        case .string(let text): return text
        case .array(let parts):
            return parts.compactMap { part -> String? in
                if case .object(let p) = part, case .string(let t) = p["text"] { return t }
                return nil
            }.joined(separator: " ")
        default: return ""
        }
    }

    static func lastUserText(_ messages: [JSONValue]) -> String {
        for message in messages.reversed() {
            if case .object(let fields) = message, fields["role"] == .string("user") { return text(of: message) }
        }
        return ""
    }
}

/// What the mock OpenAI model answers: a tool call when tools are offered and the last turn is not a tool result,
/// structured output when a JSON schema is asked for, the tool's result after a tool turn, else an echo.
struct OpenAIAnswerPlan {
    struct ToolCall {
        var id: String
        var name: String
        var arguments: String
    }

    var text: String
    var toolCall: ToolCall?
    var finishReason = "stop"

    init(request: JSONValue, model: String) {
        let messages = request["messages"]?.arrayValue ?? []
        let last = messages.last
        let images = messages.flatMap { $0["content"]?.arrayValue ?? [] }.filter { $0["type"]?.stringValue == "image_url" }.count
        let userText = MockProvider.lastUserText(messages)
        if let tool = request["tools"]?.arrayValue?.first, last?["role"]?.stringValue != "tool", request["tool_choice"] != "none" {
            let arguments = request["mock"]?["tool_input"] ?? MockJSONSchema.instance(of: tool["function"]?["parameters"] ?? [:])
            text = ""
            toolCall = ToolCall(id: "call_mock_\(messages.count)", name: tool["function"]?["name"]?.stringValue ?? "tool", arguments: String(decoding: arguments.serialized(), as: UTF8.self))
            finishReason = "tool_calls"
        } else if last?["role"]?.stringValue == "tool" {
            text = "The tool said: " + MockProvider.text(of: last ?? [:])
        } else if request["response_format"]?["type"]?.stringValue == "json_schema", let schema = request["response_format"]?["json_schema"]?["schema"] {
            text = String(decoding: MockJSONSchema.instance(of: schema).serialized(), as: UTF8.self)
        } else {
            text = request["mock"]?["reply"]?.stringValue ?? "Hello from the mock provider (\(model)). You said: \(userText.prefix(80))"
        }
        if images > 0, toolCall == nil { text += " I see \(images) image(s)." }
    }
}

extension MockProvider {
    /// Directives written into a user message as `[[mock status=429 error_after=2]]`: they survive any translation the
    /// gateway makes (a `mock` body field reaches only OpenAI-dialect upstreams).
    static func inlineDirectives(in text: String) -> JSONValue? {
        guard let start = text.range(of: "[[mock"), let end = text.range(of: "]]", range: start.upperBound..<text.endIndex) else { return nil }
        var fields: [String: JSONValue] = [:]
        for pair in text[start.upperBound..<end.lowerBound].split(separator: " ") {
            let parts = pair.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { continue }
            fields[String(parts[0])] = Int(parts[1]).map { .number(Double($0)) } ?? .string(String(parts[1]))
        }
        return .object(fields)
    }
}
