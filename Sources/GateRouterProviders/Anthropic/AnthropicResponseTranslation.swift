import Foundation
import GateRouterWire

/// Anthropic Messages response → OpenAI `chat.completion`, and the vocabulary both directions share.
public enum AnthropicResponseTranslation {
    /// `stop_reason` → `finish_reason`; OpenAI clients know five values, so nothing else may pass through.
    public static func finishReason(_ stopReason: String?) -> String {
        switch stopReason {
        case "max_tokens", "model_context_window_exceeded": "length"
        case "tool_use": "tool_calls"
        case "refusal": "content_filter"
        default: "stop"  // end_turn, stop_sequence, pause_turn
        }
    }

    /// Usage in OpenAI's terms: `prompt_tokens` includes cache reads and writes (Anthropic's `input_tokens` does not).
    public static func usage(_ usage: JSONValue?) -> Usage {
        let input = usage?["input_tokens"]?.intValue ?? 0
        let cacheRead = usage?["cache_read_input_tokens"]?.intValue ?? 0
        let cacheWrite = usage?["cache_creation_input_tokens"]?.intValue ?? 0
        let output = usage?["output_tokens"]?.intValue ?? 0
        return Usage(
            promptTokens: input + cacheRead + cacheWrite,
            completionTokens: output,
            cachedTokens: cacheRead,
            cacheWriteTokens: cacheWrite
        )
    }

    /// Anthropic's signed thinking block, as an OpenRouter-style `reasoning_details` entry the client sends back.
    static func reasoningDetail(text: String?, signature: String?, index: Int) -> JSONValue {
        .object([
            "type": "reasoning.text", "text": text.map { .string($0) }, "signature": signature.map { .string($0) },
            "format": "anthropic-claude-v1", "index": .number(Double(index)),
        ])
    }

    public static func completion(_ message: JSONValue, modelID: String, created: Int) throws(GatewayError) -> (body: [UInt8], usage: Usage) {
        guard message["type"]?.stringValue == "message", let blocks = message["content"]?.arrayValue else {
            throw .upstreamInvalidResponse(provider: "anthropic")
        }
        var texts: [String] = []
        var reasoning: [String] = []
        var details: [JSONValue] = []
        var toolCalls: [JSONValue] = []
        for block in blocks {
            switch block["type"]?.stringValue {
            case "text": texts.append(block["text"]?.stringValue ?? "")
            case "thinking":
                let text = block["thinking"]?.stringValue ?? ""
                reasoning.append(text)
                details.append(reasoningDetail(text: text, signature: block["signature"]?.stringValue, index: details.count))
            case "redacted_thinking":
                details.append(.object(["type": "reasoning.encrypted", "data": block["data"], "format": "anthropic-claude-v1", "index": .number(Double(details.count))]))
            case "tool_use":
                let arguments = String(decoding: (block["input"] ?? [:]).serialized(), as: UTF8.self)
                toolCalls.append([
                    "id": .string(block["id"]?.stringValue ?? ""), "type": "function",
                    "function": ["name": .string(block["name"]?.stringValue ?? ""), "arguments": .string(arguments)],
                ])
            default: break
            }
        }
        let usage = usage(message["usage"])
        var assistant: [String: JSONValue] = [
            "role": "assistant",
            "content": texts.isEmpty && !toolCalls.isEmpty ? .null : .string(texts.joined()),
            "refusal": .null,
        ]
        if !toolCalls.isEmpty { assistant["tool_calls"] = .array(toolCalls) }
        if !reasoning.isEmpty { assistant["reasoning_content"] = .string(reasoning.joined()) }
        if !details.isEmpty { assistant["reasoning_details"] = .array(details) }
        let body: JSONValue = [
            "id": .string(message["id"]?.stringValue ?? "msg"),
            "object": "chat.completion",
            "created": .number(Double(created)),
            "model": .string(modelID),
            "choices": [[
                "index": 0, "message": .object(assistant), "logprobs": .null,
                "finish_reason": .string(finishReason(message["stop_reason"]?.stringValue)),
            ]],
            "usage": (try? JSONValue.parse(usage.serialized())) ?? .null,
        ]
        return (body.serialized(), usage)
    }

    /// Maps an Anthropic error (status + `{"type":"error","error":{"type","message"}}`) to what OpenAI sends for the
    /// same condition, so OpenAI SDKs raise the matching exception and retry what is retryable.
    public static func error(status: Int, body: [UInt8], retryAfter: String?) -> GatewayError {
        let parsed = try? JSONValue.parse(body)
        let inner = parsed?["error"]
        let message = inner?["message"]?.stringValue ?? "The upstream provider 'anthropic' returned HTTP \(status)."
        return openAIEquivalent(status: status, anthropicType: inner?["type"]?.stringValue, message: message, retryAfter: retryAfter)
    }

    static func openAIEquivalent(status: Int, anthropicType: String?, message: String, retryAfter: String?) -> GatewayError {
        switch (status, anthropicType) {
        case (401, _), (_, "authentication_error"):
            return GatewayError(status: 502, message: "The upstream provider 'anthropic' rejected the gateway's credentials: \(message)", type: "upstream_error", code: "upstream_auth_failed")
        case (403, _), (_, "permission_error"):
            return GatewayError(status: 403, message: message, type: "request_forbidden", code: "permission_denied")
        case (404, _), (_, "not_found_error"):
            return GatewayError(status: 404, message: message, type: "invalid_request_error", code: "model_not_found")
        case (413, _), (_, "request_too_large"):
            return GatewayError(status: 413, message: message, type: "invalid_request_error", code: "request_too_large")
        case (429, _), (_, "rate_limit_error"):
            return GatewayError(status: 429, message: message, type: "requests", code: "rate_limit_exceeded", retryAfter: retryAfter)
        case (529, _), (_, "overloaded_error"):
            return GatewayError(status: 503, message: message, type: "service_unavailable_error", code: "server_is_overloaded", retryAfter: retryAfter)
        case (504, _), (_, "timeout_error"):
            return GatewayError(status: 504, message: message, type: "server_error", code: "upstream_timeout")
        case (500..., _), (_, "api_error"):
            return GatewayError(status: 502, message: message, type: "server_error", code: "upstream_error")
        default:
            return GatewayError(status: 400, message: message, type: "invalid_request_error", code: anthropicType == "billing_error" ? "insufficient_quota" : nil)
        }
    }
}
