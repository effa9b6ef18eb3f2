import Foundation
import GateRouterWire

/// Gemini `GenerateContentResponse` → OpenAI `chat.completion`, and the vocabulary the stream shares.
public enum GeminiResponseTranslation {
    /// `finishReason` → `finish_reason`. Gemini has no tool-call reason: a function call ends with `STOP`.
    public static func finishReason(_ reason: String?, hasToolCalls: Bool) -> String {
        switch reason {
        case "MAX_TOKENS": "length"
        case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY", "IMAGE_PROHIBITED_CONTENT",
             "IMAGE_RECITATION", "LANGUAGE":
            "content_filter"
        default: hasToolCalls ? "tool_calls" : "stop"
        }
    }

    /// A finish reason that means the model produced an unusable function call; reported as an error rather than
    /// an empty `stop`, so a client does not take a broken turn for an answer.
    static func failure(_ reason: String?) -> GatewayError? {
        guard reason == "MALFORMED_FUNCTION_CALL" || reason == "UNEXPECTED_TOOL_CALL" else { return nil }
        return GatewayError(
            status: 502, message: "The upstream provider 'google' stopped with \(reason ?? "?"): the model produced a function call it could not complete.",
            type: "upstream_error", code: "upstream_malformed_function_call"
        )
    }

    /// Usage in OpenAI's terms: completion tokens include thoughts (Gemini's `candidatesTokenCount` does not), and
    /// prompt tokens already include cached ones.
    public static func usage(_ metadata: JSONValue?) -> Usage {
        let prompt = metadata?["promptTokenCount"]?.intValue ?? 0
        let thoughts = metadata?["thoughtsTokenCount"]?.intValue
        let completion = (metadata?["candidatesTokenCount"]?.intValue ?? 0) + (thoughts ?? 0)
        return Usage(
            promptTokens: prompt,
            completionTokens: completion,
            totalTokens: metadata?["totalTokenCount"]?.intValue ?? prompt + completion,
            cachedTokens: metadata?["cachedContentTokenCount"]?.intValue,
            reasoningTokens: thoughts
        )
    }

    /// One `functionCall` part as an OpenAI tool call; the part's thought signature rides along in Google's own
    /// `extra_content.google.thought_signature` convention (what Gemini's OpenAI endpoint returns), for the client to
    /// send back unchanged.
    static func toolCall(_ part: JSONValue, id: String) -> JSONValue {
        let call = part["functionCall"]
        var toolCall: [String: JSONValue] = [
            "id": .string(call?["id"]?.stringValue ?? id), "type": "function",
            "function": ["name": call?["name"] ?? "", "arguments": .string(arguments(of: part))],
        ]
        if let signature = part["thoughtSignature"]?.stringValue { toolCall["extra_content"] = ["google": ["thought_signature": .string(signature)]] }
        return .object(toolCall)
    }

    static func arguments(of part: JSONValue) -> String {
        String(decoding: (part["functionCall"]?["args"] ?? [:]).serialized(), as: UTF8.self)
    }

    public static func completion(_ response: JSONValue, modelID: String, created: Int, callIDPrefix: String) throws(GatewayError) -> (body: [UInt8], usage: Usage) {
        guard response.objectValue != nil else { throw .upstreamInvalidResponse(provider: "google") }
        var choices: [JSONValue] = []
        var callCount = 0
        for (position, candidate) in (response["candidates"]?.arrayValue ?? []).enumerated() {
            let reason = candidate["finishReason"]?.stringValue
            if let failure = failure(reason) { throw failure }
            var texts: [String] = []
            var thoughts: [String] = []
            var toolCalls: [JSONValue] = []
            for part in candidate["content"]?["parts"]?.arrayValue ?? [] {
                if part["functionCall"] != nil {
                    toolCalls.append(toolCall(part, id: "\(callIDPrefix)\(callCount)"))
                    callCount += 1
                } else if let text = part["text"]?.stringValue {
                    if part["thought"]?.boolValue == true { thoughts.append(text) } else { texts.append(text) }
                }
            }
            var message: [String: JSONValue] = [
                "role": "assistant",
                "content": texts.isEmpty && !toolCalls.isEmpty ? .null : .string(texts.joined()),
                "refusal": .null,
            ]
            if !thoughts.isEmpty { message["reasoning_content"] = .string(thoughts.joined()) }
            if !toolCalls.isEmpty { message["tool_calls"] = .array(toolCalls) }
            choices.append([
                "index": .number(Double(candidate["index"]?.intValue ?? position)), "message": .object(message), "logprobs": .null,
                "finish_reason": .string(finishReason(reason, hasToolCalls: !toolCalls.isEmpty)),
            ])
        }
        if choices.isEmpty {
            // A blocked prompt has no candidates, only `promptFeedback.blockReason`.
            guard response["promptFeedback"]?["blockReason"] != nil else { throw .upstreamInvalidResponse(provider: "google") }
            choices = [["index": 0, "message": ["role": "assistant", "content": "", "refusal": .null], "logprobs": .null, "finish_reason": "content_filter"]]
        }
        let usage = usage(response["usageMetadata"])
        let body: JSONValue = [
            "id": .string(response["responseId"]?.stringValue ?? "chatcmpl-gemini"),
            "object": "chat.completion",
            "created": .number(Double(created)),
            "model": .string(modelID),
            "choices": .array(choices),
            "usage": (try? JSONValue.parse(usage.serialized())) ?? .null,
        ]
        return (body.serialized(), usage)
    }

    /// Maps a Gemini error (status + `{"error":{"code","message","status","details"}}`) to what OpenAI sends for the
    /// same condition, so OpenAI SDKs raise the matching exception and retry what is retryable.
    public static func error(status: Int, body: [UInt8], retryAfter: String?) -> GatewayError {
        let parsed = try? JSONValue.parse(body)
        // Gemini's OpenAI-compatible endpoint wraps the envelope in an array.
        let inner = parsed?["error"] ?? parsed?.arrayValue?.first?["error"]
        let message = inner?["message"]?.stringValue ?? "The upstream provider 'google' returned HTTP \(status)."
        let details = inner?["details"]?.arrayValue ?? []
        let keyInvalid = details.contains { $0["reason"]?.stringValue == "API_KEY_INVALID" }
        if status == 401 || keyInvalid {
            // Gemini answers a bad key with 400; either way it is the gateway's provider key, not the client's.
            return GatewayError(status: 502, message: "The upstream provider 'google' rejected the gateway's credentials: \(message)", type: "upstream_error", code: "upstream_auth_failed")
        }
        switch status {
        case 403:
            return GatewayError(status: 403, message: message, type: "request_forbidden", code: "permission_denied")
        case 404:
            return GatewayError(status: 404, message: message, type: "invalid_request_error", code: "model_not_found")
        case 429:
            let delay = details.first { $0["@type"]?.stringValue?.hasSuffix("google.rpc.RetryInfo") == true }?["retryDelay"]?.stringValue
            return GatewayError(status: 429, message: message, type: "requests", code: "rate_limit_exceeded", retryAfter: retryAfter ?? delay.flatMap(retryAfterSeconds))
        case 503:
            return GatewayError(status: 503, message: message, type: "service_unavailable_error", code: "server_is_overloaded", retryAfter: retryAfter)
        case 504:
            return GatewayError(status: 504, message: message, type: "server_error", code: "upstream_timeout")
        case 500...:
            return GatewayError(status: 502, message: message, type: "server_error", code: "upstream_error")
        case 400..<500:
            return GatewayError(status: status, message: message, type: "invalid_request_error")
        default:
            return GatewayError(status: 502, message: message, type: "upstream_error", code: "upstream_error")
        }
    }

    /// Google's `Duration` text ("1.5s") as whole seconds for Retry-After, rounded up.
    static func retryAfterSeconds(_ duration: String) -> String? {
        guard duration.hasSuffix("s"), let seconds = Double(duration.dropLast()), seconds >= 0 else { return nil }
        return String(Int(seconds.rounded(.up)))
    }
}
