import Foundation
import GateRouterWire
import Hummingbird
import NIOCore

/// The mock's Anthropic Messages dialect (`POST /v1/messages`): validates requests the way Anthropic does and answers
/// with text, tool calls, thinking blocks and structured output, as JSON or as Anthropic's event stream.
extension MockProvider {
    func anthropicMessages(_ request: Request, bytes: [UInt8]) async throws -> Response {
        // Anthropic takes `x-api-key` or, as its newer SDKs send, `Authorization: Bearer`.
        if let expected = options.apiKey, request.headers[.init("x-api-key")!] != expected, request.headers[.authorization] != "Bearer \(expected)" {
            return Self.anthropicError(401, type: "authentication_error", message: "invalid x-api-key")
        }
        guard request.headers[.init("anthropic-version")!] != nil else {
            return Self.anthropicError(400, type: "invalid_request_error", message: "anthropic-version: header is required")
        }
        guard let body = try? JSONValue.parse(bytes), body.objectValue != nil else {
            return Self.anthropicError(400, type: "invalid_request_error", message: "There was an error parsing the body of your request")
        }
        if let problem = Self.anthropicValidationProblem(body) {
            return Self.anthropicError(400, type: "invalid_request_error", message: problem)
        }
        let lastUserText = (body["messages"]?.arrayValue ?? []).last { $0["role"]?.stringValue == "user" }.map { message in
            message["content"]?.stringValue ?? (message["content"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined(separator: " ")
        } ?? ""
        let directives = body["mock"] ?? MockProvider.inlineDirectives(in: lastUserText)
        if let latency = directives?["latency_ms"]?.intValue ?? (options.latency > .zero ? Int(options.latency / .milliseconds(1)) : nil) {
            try await Task.sleep(for: .milliseconds(latency))
        }
        if let status = directives?["status"]?.intValue {
            let type = [400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error", 429: "rate_limit_error", 529: "overloaded_error"][status] ?? "api_error"
            return Self.anthropicError(status, type: type, message: "mock: injected error \(status)")
        }

        let plan = AnthropicAnswerPlan(request: body)
        let id = "msg_mock_\(UInt32.random(in: .min ... .max))"
        let model = body["model"]?.stringValue ?? "claude-mock"
        let inputTokens = max(1, bytes.count / 8)
        guard body["stream"]?.boolValue == true else {
            let message: JSONValue = [
                "id": .string(id), "type": "message", "role": "assistant", "model": .string(model),
                "content": .array(plan.blocks), "stop_reason": .string(plan.stopReason), "stop_sequence": .null,
                "usage": ["input_tokens": .number(Double(inputTokens)), "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": .number(Double(plan.outputTokens))],
            ]
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: message.serialized())))
        }
        let tokenDelay = directives?["token_delay_ms"]?.intValue.map { Duration.milliseconds($0) } ?? options.tokenDelay
        let errorAfter = directives?["error_after"]?.intValue
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: ResponseBody { writer in
            var sent = 0
            func send(_ type: String, _ data: JSONValue) async throws {
                var frame = Array("event: \(type)\ndata: ".utf8)
                frame += data.serialized()
                frame += [0x0A, 0x0A]
                try await writer.write(ByteBuffer(bytes: frame))
            }
            try await send("message_start", ["type": "message_start", "message": [
                "id": .string(id), "type": "message", "role": "assistant", "model": .string(model), "content": [],
                "stop_reason": .null, "stop_sequence": .null,
                "usage": ["input_tokens": .number(Double(inputTokens)), "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0, "output_tokens": 1],
            ]])
            try await send("ping", ["type": "ping"])
            for (index, block) in plan.blocks.enumerated() {
                let i: JSONValue = .number(Double(index))
                switch block["type"]?.stringValue {
                case "text":
                    try await send("content_block_start", ["type": "content_block_start", "index": i, "content_block": ["type": "text", "text": ""]])
                    for piece in MockProvider.tokens(of: block["text"]?.stringValue ?? "") {
                        if let errorAfter, sent == errorAfter {
                            try await send("error", ["type": "error", "error": ["type": "overloaded_error", "message": "mock: injected mid-stream error"]])
                            try await writer.finish(nil)
                            return
                        }
                        if tokenDelay > .zero { try await Task.sleep(for: tokenDelay) }
                        try await send("content_block_delta", ["type": "content_block_delta", "index": i, "delta": ["type": "text_delta", "text": .string(piece)]])
                        sent += 1
                    }
                case "thinking":
                    try await send("content_block_start", ["type": "content_block_start", "index": i, "content_block": ["type": "thinking", "thinking": ""]])
                    try await send("content_block_delta", ["type": "content_block_delta", "index": i, "delta": ["type": "thinking_delta", "thinking": block["thinking"] ?? ""]])
                    try await send("content_block_delta", ["type": "content_block_delta", "index": i, "delta": ["type": "signature_delta", "signature": block["signature"] ?? ""]])
                case "tool_use":
                    try await send("content_block_start", ["type": "content_block_start", "index": i, "content_block": [
                        "type": "tool_use", "id": block["id"] ?? "", "name": block["name"] ?? "", "input": [:],
                    ]])
                    // Split the arguments in two, as Anthropic streams partial JSON.
                    let json = String(decoding: (block["input"] ?? [:]).serialized(), as: UTF8.self)
                    let half = json.index(json.startIndex, offsetBy: json.count / 2)
                    for part in [String(json[..<half]), String(json[half...])] {
                        try await send("content_block_delta", ["type": "content_block_delta", "index": i, "delta": ["type": "input_json_delta", "partial_json": .string(part)]])
                    }
                default: break
                }
                try await send("content_block_stop", ["type": "content_block_stop", "index": i])
            }
            try await send("message_delta", ["type": "message_delta", "delta": ["stop_reason": .string(plan.stopReason), "stop_sequence": .null], "usage": ["output_tokens": .number(Double(plan.outputTokens))]])
            try await send("message_stop", ["type": "message_stop"])
            try await writer.finish(nil)
        })
    }

    static func anthropicError(_ status: Int, type: String, message: String) -> Response {
        let body: JSONValue = ["type": "error", "error": ["type": .string(type), "message": .string(message)], "request_id": "req_mock"]
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == 429 || status == 529 { headers[.retryAfter] = "1" }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body.serialized())))
    }

    /// The checks Anthropic's API makes that translators most often fail.
    static func anthropicValidationProblem(_ body: JSONValue) -> String? {
        guard body["model"]?.stringValue != nil else { return "model: Field required" }
        guard let maxTokens = body["max_tokens"]?.intValue else { return "max_tokens: Field required" }
        guard maxTokens >= 1 else { return "max_tokens: Input should be greater than or equal to 1" }
        guard let messages = body["messages"]?.arrayValue else { return "messages: Field required" }
        guard !messages.isEmpty else { return "messages: at least one message is required" }
        if body["temperature"] != nil, body["top_p"] != nil { return "`temperature` and `top_p` cannot both be specified for this model." }
        if let temperature = body["temperature"]?.doubleValue, !(0...1).contains(temperature) { return "temperature: Input should be less than or equal to 1" }
        let thinking = body["thinking"]?["type"]?.stringValue == "enabled"
        if thinking {
            guard let budget = body["thinking"]?["budget_tokens"]?.intValue, budget >= 1024, budget < maxTokens else {
                return "thinking.budget_tokens: must be at least 1024 and less than max_tokens"
            }
            if let choice = body["tool_choice"]?["type"]?.stringValue, choice == "any" || choice == "tool" {
                return "Thinking may not be enabled when tool_choice forces tool use."
            }
        }
        var pendingToolUses: Set<String> = []
        for (index, message) in messages.enumerated() {
            guard let role = message["role"]?.stringValue, role == "user" || role == "assistant" else {
                return "messages.\(index).role: Input should be 'user' or 'assistant'"
            }
            let blocks: [JSONValue]
            switch message["content"] {
            case .string(let text):
                if text.isEmpty { return "messages.\(index): text content blocks must be non-empty" }
                blocks = []
            case .array(let array):
                if array.isEmpty { return "messages.\(index): all messages must have non-empty content" }
                blocks = array
            default: return "messages.\(index).content: Field required"
            }
            if role == "user" {
                let results = Set(blocks.compactMap { $0["type"]?.stringValue == "tool_result" ? $0["tool_use_id"]?.stringValue : nil })
                if !pendingToolUses.isEmpty, !pendingToolUses.isSubset(of: results) {
                    return "messages.\(index): `tool_use` ids were found without `tool_result` blocks immediately after: \(pendingToolUses.sorted().joined(separator: ", "))"
                }
                if let unexpected = results.subtracting(pendingToolUses).first {
                    return "messages.\(index).content: unexpected `tool_use_id` found in `tool_result` blocks: \(unexpected)"
                }
                if let firstText = blocks.firstIndex(where: { $0["type"]?.stringValue != "tool_result" }),
                   blocks[firstText...].contains(where: { $0["type"]?.stringValue == "tool_result" }) {
                    return "messages.\(index): tool_result blocks must come before any other content"
                }
                pendingToolUses = []
            } else {
                pendingToolUses = Set(blocks.compactMap { $0["type"]?.stringValue == "tool_use" ? $0["id"]?.stringValue : nil })
                if thinking, !pendingToolUses.isEmpty, index == messages.count - 2 || index == messages.count - 1,
                   blocks.first?["type"]?.stringValue != "thinking", blocks.first?["type"]?.stringValue != "redacted_thinking" {
                    return "messages.\(index).content.0.type: Expected `thinking` or `redacted_thinking`, but found `\(blocks.first?["type"]?.stringValue ?? "?")`. When `thinking` is enabled, a final `assistant` message must start with a thinking block."
                }
            }
            for block in blocks {
                switch block["type"]?.stringValue {
                case "text": if (block["text"]?.stringValue ?? "").isEmpty { return "messages.\(index): text content blocks must be non-empty" }
                case "image":
                    let source = block["source"]
                    switch source?["type"]?.stringValue {
                    case "base64": if source?["media_type"]?.stringValue == nil || source?["data"]?.stringValue == nil { return "messages.\(index): image source needs media_type and data" }
                    case "url": if source?["url"]?.stringValue == nil { return "messages.\(index): image source needs url" }
                    default: return "messages.\(index): image source type must be base64 or url"
                    }
                case "tool_use": if block["input"]?.objectValue == nil { return "messages.\(index): tool_use.input must be an object" }
                case "tool_result", "thinking", "redacted_thinking", "document": break
                default: return "messages.\(index): unknown content block type '\(block["type"]?.stringValue ?? "?")'"
                }
            }
        }
        if let last = messages.last, last["role"]?.stringValue == "assistant", !pendingToolUses.isEmpty {
            return "the final assistant message's tool_use blocks need tool_result blocks in a following user message"
        }
        for (index, tool) in (body["tools"]?.arrayValue ?? []).enumerated() {
            if tool["name"]?.stringValue == nil { return "tools.\(index).name: Field required" }
            if tool["input_schema"]?["type"]?.stringValue != "object" { return "tools.\(index).input_schema.type: Input should be 'object'" }
        }
        return nil
    }
}

/// What the mock Anthropic model answers: a thinking block when thinking is on, a tool call when tools are offered and
/// the last turn is not a tool result, structured output when a schema is asked for, else an echo.
struct AnthropicAnswerPlan {
    var blocks: [JSONValue] = []
    var stopReason = "end_turn"
    var outputTokens = 0

    init(request: JSONValue) {
        let messages = request["messages"]?.arrayValue ?? []
        let lastUser = messages.last { $0["role"]?.stringValue == "user" }
        let lastBlocks: [JSONValue] = lastUser?["content"]?.arrayValue ?? [["type": "text", "text": lastUser?["content"] ?? ""]]
        let toolResults = lastBlocks.filter { $0["type"]?.stringValue == "tool_result" }
        let images = messages.flatMap { $0["content"]?.arrayValue ?? [] }.filter { $0["type"]?.stringValue == "image" }.count
        let userText = lastBlocks.compactMap { $0["type"]?.stringValue == "text" ? $0["text"]?.stringValue : nil }.joined(separator: " ")

        if request["thinking"]?["type"]?.stringValue == "enabled" {
            blocks.append(["type": "thinking", "thinking": "Let me think about this.", "signature": .string("mock-signature-\(messages.count)")])
        }
        if let tools = request["tools"]?.arrayValue, let tool = tools.first, toolResults.isEmpty, request["tool_choice"]?["type"]?.stringValue != "none" {
            let input = request["mock"]?["tool_input"] ?? MockJSONSchema.instance(of: tool["input_schema"] ?? [:])
            blocks.append(["type": "text", "text": "Let me check."])
            blocks.append(["type": "tool_use", "id": .string("toolu_mock_\(messages.count)"), "name": tool["name"] ?? "", "input": input])
            stopReason = "tool_use"
        } else if let schema = request["output_config"]?["format"]?["schema"] {
            blocks.append(["type": "text", "text": .string(String(decoding: MockJSONSchema.instance(of: schema).serialized(), as: UTF8.self))])
        } else {
            var text = request["mock"]?["reply"]?.stringValue ?? "Hello from the mock Anthropic model (\(request["model"]?.stringValue ?? "?")). You said: \(userText.prefix(80))"
            if !toolResults.isEmpty {
                let results = toolResults.map { result -> String in
                    result["content"]?.stringValue ?? (result["content"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }.joined()
                }
                text = "The tool said: " + results.joined(separator: "; ")
            }
            if images > 0 { text += " I see \(images) image(s)." }
            blocks.append(["type": "text", "text": .string(text)])
        }
        outputTokens = blocks.reduce(0) { $0 + max(1, $1.serialized().count / 4) }
    }
}

/// Makes a value that satisfies a (simple) JSON Schema, so structured-output answers validate.
enum MockJSONSchema {
    static func instance(of schema: JSONValue) -> JSONValue {
        if let values = schema["enum"]?.arrayValue, let first = values.first { return first }
        switch schema["type"]?.stringValue {
        case "object":
            var object: [String: JSONValue] = [:]
            for (key, property) in schema["properties"]?.objectValue ?? [:] { object[key] = instance(of: property) }
            return .object(object)
        case "array": return .array([instance(of: schema["items"] ?? ["type": "string"])])
        case "integer", "number": return 1
        case "boolean": return true
        case "null": return .null
        default: return "mock"
        }
    }
}
