import Foundation
import GateRouterCatalog
import GateRouterWire

/// OpenAI Chat Completions request → Anthropic Messages request.
///
/// Follows Anthropic's rules that most often break translators: every system/developer message goes to the top-level
/// `system`; consecutive `tool` messages become one user turn of `tool_result` blocks, placed before any text;
/// `max_tokens` is always sent; sampling fits the model (temperature clamped to 0–1, and not with `top_p`).
/// Parameters with no Anthropic equivalent are dropped and listed in `adapted`.
public enum AnthropicRequestTranslation {
    public struct Result: Sendable {
        public var body: JSONValue
        /// What was changed to fit the model (`logprobs dropped`, …), for the `x-gaterouter-adapted` header.
        public var adapted: [String]
    }

    /// Thinking budgets for OpenAI's `reasoning_effort` levels.
    static let thinkingBudgets: [String: Int] = ["minimal": 1024, "low": 2048, "medium": 8192, "high": 24576, "xhigh": 32768, "max": 32768]

    public static func translate(_ request: JSONValue, upstreamModel: String, model: CatalogModel?, stream: Bool) throws(GatewayError) -> Result {
        var adapted: [String] = []
        var body: [String: JSONValue] = ["model": .string(upstreamModel)]
        let messages = request["messages"]?.arrayValue ?? []

        var systemTexts: [String] = []
        var conversation = ConversationTurns()
        for (index, message) in messages.enumerated() {
            let role = message["role"]?.stringValue ?? ""
            let param = "messages[\(index)]"
            switch role {
            case "system", "developer":
                systemTexts.append(try MessageText.of(message["content"], param: param + ".content"))
            case "user":
                conversation.append("user", try userBlocks(message["content"], param: param + ".content"))
            case "assistant":
                conversation.append("assistant", try assistantBlocks(message, param: param))
            case "tool", "function":
                let id = message["tool_call_id"]?.stringValue ?? message["name"]?.stringValue ?? ""
                var result: [String: JSONValue] = ["type": "tool_result", "tool_use_id": .string(id)]
                switch message["content"] {
                case .string(let text): result["content"] = .string(text)
                case .array(let parts):
                    var blocks: [JSONValue] = []
                    for (partIndex, part) in parts.enumerated() { blocks.append(try textBlock(part, param: "\(param).content[\(partIndex)]")) }
                    result["content"] = .array(blocks)
                default: result["content"] = ""
                }
                conversation.append("user", [.object(result)])
            default:
                throw .invalidValue(param + ".role", "Invalid value for '\(param).role': '\(role)'.")
            }
        }
        let turns = conversation.turns
        guard !turns.isEmpty else {
            throw .invalidValue("messages", "Anthropic models need at least one user or assistant message besides system messages.")
        }
        if !systemTexts.isEmpty { body["system"] = .string(systemTexts.joined(separator: "\n\n")) }
        body["messages"] = .array(turns.map { ["role": .string($0.role), "content": .array($0.parts)] })

        // Output limit: always sent, as Anthropic requires.
        var maxTokens = request["max_completion_tokens"]?.intValue ?? request["max_tokens"]?.intValue ?? model?.maxOutputTokens ?? 4096
        if let model, maxTokens > model.maxOutputTokens { maxTokens = model.maxOutputTokens }

        // Reasoning effort → extended thinking, where the model can think.
        var thinking = false
        if let effort = request["reasoning_effort"]?.stringValue, effort != "none" {
            if model?.supports(.reasoning) ?? true, let budget = thinkingBudgets[effort], !toolLoopLacksSignedThinking(turns) {
                thinking = true
                if maxTokens <= budget { maxTokens = budget + 4096 }
                body["thinking"] = ["type": "enabled", "budget_tokens": .number(Double(budget))]
            } else {
                adapted.append("reasoning_effort dropped")
            }
        }
        body["max_tokens"] = .number(Double(maxTokens))

        // Sampling.
        if let temperature = request["temperature"]?.doubleValue {
            if thinking {
                adapted.append("temperature dropped")
            } else {
                if temperature > 1 { adapted.append("temperature clamped") }
                body["temperature"] = .number(min(max(temperature, 0), 1))
            }
        }
        if let topP = request["top_p"]?.doubleValue {
            if body["temperature"] != nil || thinking {
                adapted.append("top_p dropped")  // newer Claude models take only one of the two
            } else {
                body["top_p"] = .number(topP)
            }
        }
        switch request["stop"] {
        case .string(let stop): body["stop_sequences"] = [.string(stop)]
        case .array(let stops): body["stop_sequences"] = .array(stops)
        default: break
        }
        if let user = request["user"]?.stringValue { body["metadata"] = ["user_id": .string(user)] }
        if stream { body["stream"] = true }

        // Tools.
        if let tools = request["tools"]?.arrayValue, !tools.isEmpty {
            var translated: [JSONValue] = []
            for (index, tool) in tools.enumerated() {
                guard let function = tool["function"], let name = function["name"]?.stringValue else {
                    throw .invalidValue("tools[\(index)]", "Invalid 'tools[\(index)]': only function tools are supported.")
                }
                var schema = function["parameters"]?.objectValue ?? [:]
                schema["type"] = "object"
                if schema["properties"] == nil { schema["properties"] = [:] }
                translated.append(.object(["name": .string(name), "description": function["description"], "input_schema": .object(schema)]))
            }
            body["tools"] = .array(translated)
        }
        var toolChoice: [String: JSONValue]?
        switch request["tool_choice"] {
        case .string("auto"): toolChoice = ["type": "auto"]
        case .string("required"): toolChoice = ["type": "any"]
        case .string("none"): toolChoice = ["type": "none"]
        case .object(let choice):
            if let name = choice["function"]?["name"]?.stringValue { toolChoice = ["type": "tool", "name": .string(name)] }
        default: break
        }
        if thinking, let type = toolChoice?["type"], type == "any" || type == "tool" {
            toolChoice = ["type": "auto"]  // Anthropic refuses forced tool use while thinking
            adapted.append("tool_choice relaxed to auto")
        }
        if request["parallel_tool_calls"]?.boolValue == false, body["tools"] != nil {
            toolChoice = toolChoice ?? ["type": "auto"]
            if toolChoice?["type"] != "none" { toolChoice?["disable_parallel_tool_use"] = true }
        }
        if let toolChoice, body["tools"] != nil { body["tool_choice"] = .object(toolChoice) }

        // Structured output.
        if let format = request["response_format"] {
            switch format["type"]?.stringValue {
            case "json_schema":
                if let schema = format["json_schema"]?["schema"] {
                    body["output_config"] = ["format": ["type": "json_schema", "schema": schema]]
                }
            case "json_object":
                let instruction = "Respond with a single valid JSON object and nothing else."
                body["system"] = .string(((body["system"]?.stringValue).map { $0 + "\n\n" } ?? "") + instruction)
            default: break
            }
        }

        for unsupported in ["logprobs", "top_logprobs", "logit_bias", "presence_penalty", "frequency_penalty", "seed"] where request[unsupported] != nil {
            adapted.append("\(unsupported) dropped")
        }
        if let n = request["n"]?.intValue, n > 1 {
            throw .unsupportedParameter("n")
        }
        return Result(body: .object(body), adapted: adapted)
    }

    /// Whether the conversation is inside a tool loop whose assistant turn carries no signed thinking block (the client
    /// did not send `reasoning_details` back). Anthropic refuses thinking then, so the request goes without it.
    static func toolLoopLacksSignedThinking(_ turns: [(role: String, parts: [JSONValue])]) -> Bool {
        guard let index = turns.lastIndex(where: { $0.role == "assistant" }), index >= turns.count - 2 else { return false }
        let blocks = turns[index].parts
        guard blocks.contains(where: { $0["type"]?.stringValue == "tool_use" }) else { return false }
        let first = blocks.first?["type"]?.stringValue
        return first != "thinking" && first != "redacted_thinking"
    }

    static func textBlock(_ part: JSONValue, param: String) throws(GatewayError) -> JSONValue {
        guard let text = part["text"]?.stringValue else {
            throw .invalidValue(param, "Invalid '\(param)': only text parts are allowed here.")
        }
        return ["type": "text", "text": .string(text)]
    }

    static func userBlocks(_ content: JSONValue?, param: String) throws(GatewayError) -> [JSONValue] {
        switch content {
        case .string(let text): return text.isEmpty ? [] : [["type": "text", "text": .string(text)]]
        case .array(let parts):
            var blocks: [JSONValue] = []
            for (index, part) in parts.enumerated() {
                let partParam = "\(param)[\(index)]"
                switch part["type"]?.stringValue {
                case "text":
                    if let text = part["text"]?.stringValue, !text.isEmpty { blocks.append(["type": "text", "text": .string(text)]) }
                case "image_url":
                    guard let url = part["image_url"]?["url"]?.stringValue ?? part["image_url"]?.stringValue else {
                        throw .missingParameter(partParam + ".image_url.url")
                    }
                    blocks.append(["type": "image", "source": try imageSource(url, param: partParam + ".image_url.url")])
                default:
                    throw .invalidValue(partParam + ".type", "Content part type '\(part["type"]?.stringValue ?? "?")' is not supported by Anthropic models.")
                }
            }
            return blocks
        case .none, .null: return []
        default: throw .invalidType(param, expected: "a string or an array of content parts")
        }
    }

    /// `data:<mime>;base64,<data>` → a base64 source; http(s) → a URL source.
    static func imageSource(_ url: String, param: String) throws(GatewayError) -> JSONValue {
        if url.hasPrefix("data:") {
            guard let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") else {
                throw .invalidValue(param, "Invalid image data URL in '\(param)': expected data:<type>;base64,<data>.")
            }
            let mediaType = String(url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(";base64".count))
            guard ["image/jpeg", "image/png", "image/gif", "image/webp"].contains(mediaType) else {
                throw .invalidValue(param, "Image type '\(mediaType)' is not supported by Anthropic models (jpeg, png, gif, webp).")
            }
            return ["type": "base64", "media_type": .string(mediaType), "data": .string(String(url[url.index(after: comma)...]))]
        }
        guard url.hasPrefix("https://") || url.hasPrefix("http://") else {
            throw .invalidValue(param, "Invalid image URL in '\(param)': expected an http(s) or data URL.")
        }
        return ["type": "url", "url": .string(url)]
    }

    static func assistantBlocks(_ message: JSONValue, param: String) throws(GatewayError) -> [JSONValue] {
        var blocks: [JSONValue] = []
        // Signed thinking blocks come back through OpenRouter's `reasoning_details` convention, unmodified.
        for detail in message["reasoning_details"]?.arrayValue ?? [] {
            switch detail["type"]?.stringValue {
            case "reasoning.text":
                if let signature = detail["signature"]?.stringValue {
                    blocks.append(["type": "thinking", "thinking": .string(detail["text"]?.stringValue ?? ""), "signature": .string(signature)])
                }
            case "reasoning.encrypted":
                if let data = detail["data"]?.stringValue { blocks.append(["type": "redacted_thinking", "data": .string(data)]) }
            default: break
            }
        }
        switch message["content"] {
        case .string(let text) where !text.isEmpty: blocks.append(["type": "text", "text": .string(text)])
        case .array(let parts):
            for part in parts where part["type"]?.stringValue == "text" {
                if let text = part["text"]?.stringValue, !text.isEmpty { blocks.append(["type": "text", "text": .string(text)]) }
            }
        default: break
        }
        for (index, call) in (message["tool_calls"]?.arrayValue ?? []).enumerated() {
            let callParam = "\(param).tool_calls[\(index)]"
            guard let id = call["id"]?.stringValue, let name = call["function"]?["name"]?.stringValue else {
                throw .missingParameter(callParam + ".function.name")
            }
            let input = try ToolCallArguments.object(of: call, param: callParam)
            blocks.append(["type": "tool_use", "id": .string(id), "name": .string(name), "input": input])
        }
        return blocks
    }
}
