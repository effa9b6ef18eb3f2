/// The common case of ``ChatCompletionRequest/decode(from:)`` without `JSONDecoder`, which costs tens of microseconds
/// and dozens of allocations per request.
///
/// One pass over the body that fills the fields as their keys come by: no dictionary is built for the body or for
/// each message (hashing every key cost more than reading it), and a field the gateway does not read is parsed only to
/// be stepped over. Returns nil at the first surprise (a wrong type, a missing field, a field it reads given twice,
/// anything not JSON), and the `JSONDecoder` path then produces its exact error or reading (it keeps the first of
/// two equal keys).
extension ChatCompletionRequest {
    static func fastDecode(_ bytes: [UInt8]) -> ChatCompletionRequest? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = FastRequestReader(reader: JSONValueParser.Reader(bytes: buffer))
            return try? reader.request()
        }
    }

    /// ``fastDecode(_:)`` that also keeps each top-level member as written, in order: the body's ``RawJSONObject``
    /// from the same pass.
    static func fastDecodeWithFields(_ bytes: [UInt8]) -> (ChatCompletionRequest, [RawJSONObject.Field])? {
        bytes.withUnsafeBufferPointer { buffer in
            var reader = FastRequestReader(reader: JSONValueParser.Reader(bytes: buffer), fields: [])
            guard let request = try? reader.request(), let fields = reader.fields else { return nil }
            return (request, fields)
        }
    }

    /// A request body read for forwarding: the typed request, and the body's top-level fields as the client wrote
    /// them, a key given twice keeping its first value (the one the typed request reads), so the upstream runs what
    /// was routed and billed.
    ///
    /// One pass over the bytes for the common body (the reader that fills the typed request keeps each member's raw
    /// bytes as it goes); anything else is split and decoded separately, with the same errors as before.
    /// - Throws: ``GatewayError`` (400): `invalid_json` when the body is not one JSON object, else the typed
    ///   decoder's error naming the parameter at fault.
    public static func decodeForwarding(_ bytes: [UInt8]) throws(GatewayError) -> (request: ChatCompletionRequest, body: RawJSONObject) {
        if let (request, fields) = fastDecodeWithFields(bytes) {
            try request.validate()
            var body = RawJSONObject(fields: fields)
            body.keepFirstOfRepeatedKeys()
            return (request, body)
        }
        var body: RawJSONObject
        do {
            body = try RawJSONObject(parsing: bytes)
        } catch {
            throw .invalidJSON(error.description)
        }
        body.keepFirstOfRepeatedKeys()
        return (try decode(from: bytes), body)
    }
}

private struct FastRequestReader {
    var reader: JSONValueParser.Reader
    /// The top-level members as written, when the caller asked for them (nil: not kept).
    var fields: [RawJSONObject.Field]?

    /// The whole body: one object and nothing after it.
    mutating func request() throws(JSONParseError) -> ChatCompletionRequest? {
        var model: String?
        var messages: [ChatMessage]?
        var stream: Bool?
        var streamOptions: ChatCompletionRequest.StreamOptions?
        var maxTokens: Int?
        var maxCompletionTokens: Int?
        var temperature: Double?
        var tools: [JSONValue]?
        var models: [String]?
        reader.skipWhitespace()
        var valid = true
        var seen: UInt16 = 0
        try members(depth: 1) { (this: inout FastRequestReader, key: String) throws(JSONParseError) -> Bool in
            let start = this.reader.index
            // Kept on every way out: after a failure the whole result is dropped, so a partial member does no harm.
            defer { this.fields?.append(RawJSONObject.Field(key: key, value: Array(this.reader.bytes[start..<this.reader.index]))) }
            let bit: UInt16 =
                switch key {
                case "model": 1
                case "messages": 2
                case "stream": 4
                case "stream_options": 8
                case "max_tokens": 16
                case "max_completion_tokens": 32
                case "temperature": 64
                case "tools": 128
                case "models": 256
                default: 0
                }
            guard seen & bit == 0 else { return false }
            seen |= bit
            switch key {
            case "model":
                guard case .string(let text) = try this.reader.value(depth: 1) else { return false }
                model = text
            case "messages":
                guard let list = try this.messages() else { return false }
                messages = list
            case "stream":
                guard let flag = Self.optionalBool(try this.reader.value(depth: 1)) else { return false }
                stream = flag.value
            case "stream_options":
                switch try this.reader.value(depth: 1) {
                case .null: streamOptions = nil
                case .object(let options):
                    guard let include = Self.optionalBool(options["include_usage"]) else { return false }
                    streamOptions = ChatCompletionRequest.StreamOptions(includeUsage: include.value)
                default: return false
                }
            case "max_tokens":
                guard let number = Self.optionalInt(try this.reader.value(depth: 1)) else { return false }
                maxTokens = number.value
            case "max_completion_tokens":
                guard let number = Self.optionalInt(try this.reader.value(depth: 1)) else { return false }
                maxCompletionTokens = number.value
            case "temperature":
                guard let number = Self.optionalDouble(try this.reader.value(depth: 1)) else { return false }
                temperature = number.value
            case "tools":
                guard let list = Self.optionalArray(try this.reader.value(depth: 1)) else { return false }
                tools = list.value
            case "models":
                guard let list = Self.optionalArray(try this.reader.value(depth: 1)) else { return false }
                guard let entries = list.value else {
                    models = nil
                    return true
                }
                var ids: [String] = []
                ids.reserveCapacity(entries.count)
                for entry in entries {
                    guard case .string(let id) = entry else { return false }
                    ids.append(id)
                }
                models = ids
            default:
                _ = try this.reader.value(depth: 1)
            }
            return true
        } invalid: {
            valid = false
        }
        reader.skipWhitespace()
        guard valid, reader.index == reader.bytes.count, let model, let messages else { return nil }
        return ChatCompletionRequest(
            model: model, messages: messages, stream: stream, streamOptions: streamOptions, maxTokens: maxTokens,
            maxCompletionTokens: maxCompletionTokens, temperature: temperature, tools: tools, models: models
        )
    }

    /// `messages`: an array of message objects; nil when it is anything else.
    mutating func messages() throws(JSONParseError) -> [ChatMessage]? {
        guard reader.index < reader.bytes.count, reader.bytes[reader.index] == UInt8(ascii: "[") else { return nil }
        reader.index += 1
        var list: [ChatMessage] = []
        reader.skipWhitespace()
        if reader.index < reader.bytes.count, reader.bytes[reader.index] == UInt8(ascii: "]") {
            reader.index += 1
            return list
        }
        while true {
            reader.skipWhitespace()
            guard let message = try message() else { return nil }
            list.append(message)
            reader.skipWhitespace()
            guard reader.index < reader.bytes.count else { throw reader.error("unexpected end of input") }
            switch reader.bytes[reader.index] {
            case UInt8(ascii: ","): reader.index += 1
            case UInt8(ascii: "]"):
                reader.index += 1
                return list
            default: throw reader.error("expected ',' or ']'")
            }
        }
    }

    /// One message object; nil when it is not one or a field the gateway reads has the wrong type.
    mutating func message() throws(JSONParseError) -> ChatMessage? {
        guard reader.index < reader.bytes.count, reader.bytes[reader.index] == UInt8(ascii: "{") else { return nil }
        var role: String?
        var content: JSONValue?
        var name: String?
        var toolCalls: [JSONValue]?
        var toolCallID: String?
        var valid = true
        var seen: UInt8 = 0
        try members(depth: 3) { (this: inout FastRequestReader, key: String) throws(JSONParseError) -> Bool in
            let bit: UInt8 =
                switch key {
                case "role": 1
                case "content": 2
                case "name": 4
                case "tool_calls": 8
                case "tool_call_id": 16
                default: 0
                }
            guard seen & bit == 0 else { return false }
            seen |= bit
            switch key {
            case "role":
                guard case .string(let text) = try this.reader.value(depth: 3) else { return false }
                role = text
            case "content":
                let value = try this.reader.value(depth: 3)
                content = value == .null ? nil : value
            case "name":
                guard let text = Self.optionalString(try this.reader.value(depth: 3)) else { return false }
                name = text.value
            case "tool_calls":
                guard let list = Self.optionalArray(try this.reader.value(depth: 3)) else { return false }
                toolCalls = list.value
            case "tool_call_id":
                guard let text = Self.optionalString(try this.reader.value(depth: 3)) else { return false }
                toolCallID = text.value
            default:
                _ = try this.reader.value(depth: 3)
            }
            return true
        } invalid: {
            valid = false
        }
        guard valid, let role else { return nil }
        return ChatMessage(role: role, content: content, name: name, toolCalls: toolCalls, toolCallID: toolCallID)
    }

    /// Walks the object at the reader (its `{`), handing each key to `member` with the reader at the value, which
    /// `member` must read. Stops at the first member that returns false and calls `invalid`.
    mutating func members(
        depth: Int, _ member: (inout FastRequestReader, String) throws(JSONParseError) -> Bool, invalid: () -> Void
    ) throws(JSONParseError) {
        guard depth <= JSONValueParser.maximumDepth else { throw reader.error("nesting too deep") }
        guard reader.index < reader.bytes.count, reader.bytes[reader.index] == UInt8(ascii: "{") else { return invalid() }
        reader.index += 1
        reader.skipWhitespace()
        if reader.index < reader.bytes.count, reader.bytes[reader.index] == UInt8(ascii: "}") {
            reader.index += 1
            return
        }
        while true {
            reader.skipWhitespace()
            guard reader.index < reader.bytes.count, reader.bytes[reader.index] == UInt8(ascii: "\"") else { throw reader.error("expected a string key") }
            let key = try reader.string()
            reader.skipWhitespace()
            guard reader.index < reader.bytes.count, reader.bytes[reader.index] == UInt8(ascii: ":") else { throw reader.error("expected ':'") }
            reader.index += 1
            reader.skipWhitespace()
            guard try member(&self, key) else { return invalid() }
            reader.skipWhitespace()
            guard reader.index < reader.bytes.count else { throw reader.error("unexpected end of input") }
            switch reader.bytes[reader.index] {
            case UInt8(ascii: ","): reader.index += 1
            case UInt8(ascii: "}"):
                reader.index += 1
                return
            default: throw reader.error("expected ',' or '}'")
            }
        }
    }

    static func optionalString(_ value: JSONValue?) -> ChatCompletionRequest.Present<String>? { ChatCompletionRequest.optionalString(value) }
    static func optionalBool(_ value: JSONValue?) -> ChatCompletionRequest.Present<Bool>? { ChatCompletionRequest.optionalBool(value) }
    static func optionalDouble(_ value: JSONValue?) -> ChatCompletionRequest.Present<Double>? { ChatCompletionRequest.optionalDouble(value) }
    static func optionalInt(_ value: JSONValue?) -> ChatCompletionRequest.Present<Int>? { ChatCompletionRequest.optionalInt(value) }
    static func optionalArray(_ value: JSONValue?) -> ChatCompletionRequest.Present<[JSONValue]>? { ChatCompletionRequest.optionalArray(value) }
}
