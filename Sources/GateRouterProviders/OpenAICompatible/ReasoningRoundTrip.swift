import GateRouterWire

/// What DeepSeek's and Kimi's thinking modes need back on the next turn: the `reasoning_content` of every assistant
/// message that made tool calls ("The `reasoning_content` in the thinking mode must be passed back to the API").
///
/// Clients that follow OpenRouter send it back as `reasoning`; clients that drop unknown fields send nothing. The
/// first is renamed, the second gets `""` (what the providers document for an empty reasoning), so a tool loop never
/// fails on a field the client could not know about.
enum ReasoningRoundTrip {
    /// Providers whose thinking models require `reasoning_content` on assistant tool-call turns.
    static let providers: Set<String> = ["deepseek", "moonshotai"]

    /// The rewritten `messages` array, or nil when nothing needs to change (the common case: no tool calls).
    static func messages(_ raw: [UInt8]?, provider: String) -> [UInt8]? {
        guard providers.contains(provider), let raw, contains(raw, "\"tool_calls\""),
              case .array(var messages)? = try? JSONValue.parse(raw) else { return nil }
        var changed = false
        for index in messages.indices {
            guard case .object(var message) = messages[index], message["role"] == "assistant",
                  let calls = message["tool_calls"]?.arrayValue, !calls.isEmpty, message["reasoning_content"]?.stringValue == nil
            else { continue }
            message["reasoning_content"] = .string(message["reasoning"]?.stringValue ?? "")
            message["reasoning"] = nil
            messages[index] = .object(message)
            changed = true
        }
        return changed ? JSONValue.array(messages).serialized() : nil
    }

    static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let needle = Array(needle.utf8)
        guard haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { start in
            haystack[start] == needle[0] && haystack[start..<(start + needle.count)].elementsEqual(needle)
        }
    }
}
