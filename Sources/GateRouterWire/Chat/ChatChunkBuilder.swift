/// Writes OpenAI `chat.completion.chunk` objects for adapters that translate another dialect's stream.
///
/// Hand-built bytes in OpenAI's key order (`id`, `object`, `created`, `model`, `choices`), because this runs once per
/// streamed token.
public struct ChatChunkBuilder: Sendable {
    public var id: String
    public var created: Int
    public var model: String

    public init(id: String, created: Int, model: String) {
        self.id = id
        self.created = created
        self.model = model
    }

    /// A chunk with one choice whose `delta` is the given JSON object text.
    public func chunk(delta: [UInt8], finishReason: String? = nil) -> [UInt8] {
        var out = prefix()
        out += Array(#","choices":[{"index":0,"delta":"#.utf8)
        out += delta
        out += Array(#","logprobs":null,"finish_reason":"#.utf8)
        JSONString.appendOptional(finishReason, to: &out)
        out += Array("}]}".utf8)
        return out
    }

    /// The first chunk: `{"role":"assistant","content":""}`.
    public func roleChunk() -> [UInt8] {
        chunk(delta: Array(#"{"role":"assistant","content":""}"#.utf8))
    }

    public func contentChunk(_ text: String) -> [UInt8] {
        var delta = Array(#"{"content":"#.utf8)
        JSONString.append(text, to: &delta)
        delta.append(UInt8(ascii: "}"))
        return chunk(delta: delta)
    }

    /// Reasoning text, in the `reasoning_content` field most clients read.
    public func reasoningChunk(_ text: String) -> [UInt8] {
        var delta = Array(#"{"reasoning_content":"#.utf8)
        JSONString.append(text, to: &delta)
        delta.append(UInt8(ascii: "}"))
        return chunk(delta: delta)
    }

    /// A delta carrying arbitrary extra fields (e.g. `reasoning_details`), given as a JSON object.
    public func deltaChunk(_ delta: JSONValue) -> [UInt8] {
        chunk(delta: delta.serialized())
    }

    /// The first fragment of a tool call: index, id, name and empty arguments.
    public func toolCallStartChunk(index: Int, id: String, name: String, extra: JSONValue? = nil) -> [UInt8] {
        var call: [String: JSONValue] = [
            "index": .number(Double(index)), "id": .string(id), "type": "function",
            "function": ["name": .string(name), "arguments": ""],
        ]
        if let extra, case .object(let fields) = extra { for (key, value) in fields { call[key] = value } }
        return chunk(delta: JSONValue.object(["tool_calls": .array([.object(call)])]).serialized())
    }

    /// A later fragment of a tool call's arguments.
    public func toolCallArgumentsChunk(index: Int, arguments: String) -> [UInt8] {
        var delta = Array(#"{"tool_calls":[{"index":\#(index),"function":{"arguments":"#.utf8)
        JSONString.append(arguments, to: &delta)
        delta += Array("}}]}".utf8)
        return chunk(delta: delta)
    }

    public func finishChunk(_ reason: String) -> [UInt8] {
        chunk(delta: Array("{}".utf8), finishReason: reason)
    }

    /// The `include_usage` chunk: no choices, the usage.
    public func usageChunk(_ usage: Usage) -> [UInt8] {
        var out = prefix()
        out += Array(#","choices":[],"usage":"#.utf8)
        out += usage.serialized()
        out.append(UInt8(ascii: "}"))
        return out
    }

    private func prefix() -> [UInt8] {
        var out = Array(#"{"id":"#.utf8)
        JSONString.append(id, to: &out)
        out += Array(#","object":"chat.completion.chunk","created":\#(created),"model":"#.utf8)
        JSONString.append(model, to: &out)
        return out
    }
}

extension Usage {
    /// OpenAI's usage object as JSON text.
    public func serialized() -> [UInt8] {
        var out = Array(#"{"prompt_tokens":\#(promptTokens),"completion_tokens":\#(completionTokens),"total_tokens":\#(totalTokens)"#.utf8)
        if cachedTokens != nil || cacheWriteTokens != nil {
            out += Array(#","prompt_tokens_details":{"cached_tokens":\#(cachedTokens ?? 0)"#.utf8)
            if let cacheWriteTokens { out += Array(#","cache_write_tokens":\#(cacheWriteTokens)"#.utf8) }
            out.append(UInt8(ascii: "}"))
        }
        if let reasoningTokens { out += Array(#","completion_tokens_details":{"reasoning_tokens":\#(reasoningTokens)}"#.utf8) }
        out.append(UInt8(ascii: "}"))
        return out
    }
}
