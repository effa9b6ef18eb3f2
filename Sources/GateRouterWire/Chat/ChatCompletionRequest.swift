import Foundation

/// The fields of an OpenAI `POST /chat/completions` body that the gateway reads.
///
/// This is a validating view, not the body that goes upstream: the raw body travels as a ``RawJSONObject`` so unknown
/// fields pass through unchanged. Decoding this view checks that the fields the gateway relies on have the right
/// types and turns mistakes into a 400 that names the parameter.
public struct ChatCompletionRequest: Sendable, Decodable {
    public var model: String
    public var messages: [ChatMessage]
    public var stream: Bool?
    public var streamOptions: StreamOptions?
    public var maxTokens: Int?
    public var maxCompletionTokens: Int?
    public var temperature: Double?
    public var tools: [JSONValue]?
    /// OpenRouter's extension: an ordered list of fallback models.
    public var models: [String]?

    public struct StreamOptions: Sendable, Decodable {
        public var includeUsage: Bool?
        enum CodingKeys: String, CodingKey { case includeUsage = "include_usage" }
    }

    enum CodingKeys: String, CodingKey {
        case model, messages, stream, temperature, tools, models
        case streamOptions = "stream_options"
        case maxTokens = "max_tokens"
        case maxCompletionTokens = "max_completion_tokens"
    }

    /// Whether the client asked for a streamed response.
    public var isStreaming: Bool { stream ?? false }

    /// Whether the client asked for the final usage chunk of a stream.
    public var wantsStreamUsage: Bool { streamOptions?.includeUsage ?? false }
}

/// One entry of `messages`.
public struct ChatMessage: Sendable, Decodable {
    public var role: String
    /// A string, an array of content parts, or null (assistant turns with tool calls).
    public var content: JSONValue?
    public var name: String?
    public var toolCalls: [JSONValue]?
    public var toolCallID: String?

    enum CodingKeys: String, CodingKey {
        case role, content, name
        case toolCalls = "tool_calls"
        case toolCallID = "tool_call_id"
    }

    public static let knownRoles: Set<String> = ["system", "developer", "user", "assistant", "tool", "function"]
}

extension ChatCompletionRequest {
    /// Decodes and validates a request body.
    /// - Throws: ``GatewayError`` (400) naming the parameter at fault.
    public static func decode(from bytes: [UInt8]) throws(GatewayError) -> ChatCompletionRequest {
        if let request = fastDecode(bytes) {
            try request.validate()
            return request
        }
        let request: ChatCompletionRequest
        do {
            request = try JSONDecoder().decode(ChatCompletionRequest.self, from: Data(bytes))
        } catch let error as DecodingError {
            throw GatewayError(decoding: error)
        } catch {
            throw .invalidJSON("the body is not valid JSON")
        }
        try request.validate()
        return request
    }

    /// An optional field read the way `decodeIfPresent` reads it: absent or null is nil; the wrong type is a failure
    /// (the outer nil), left to `JSONDecoder` to describe.
    struct Present<Value> { var value: Value? }

    static func optionalString(_ value: JSONValue?) -> Present<String>? {
        switch value {
        case nil, .null?: Present(value: nil)
        case .string(let text)?: Present(value: text)
        default: nil
        }
    }

    static func optionalBool(_ value: JSONValue?) -> Present<Bool>? {
        switch value {
        case nil, .null?: Present(value: nil)
        case .bool(let flag)?: Present(value: flag)
        default: nil
        }
    }

    static func optionalDouble(_ value: JSONValue?) -> Present<Double>? {
        switch value {
        case nil, .null?: Present(value: nil)
        case .number(let number)?: Present(value: number)
        default: nil
        }
    }

    static func optionalInt(_ value: JSONValue?) -> Present<Int>? {
        switch value {
        case nil, .null?: Present(value: nil)
        case .number(let number)?: Int(exactly: number).map { Present(value: $0) }
        default: nil
        }
    }

    static func optionalArray(_ value: JSONValue?) -> Present<[JSONValue]>? {
        switch value {
        case nil, .null?: Present(value: nil)
        case .array(let elements)?: Present(value: elements)
        default: nil
        }
    }

    func validate() throws(GatewayError) {
        if model.isEmpty { throw .invalidValue("model", "Invalid value for 'model': it must not be empty.") }
        if messages.isEmpty {
            throw .invalidValue("messages", "Invalid 'messages': empty array. Expected an array with at least one message.")
        }
        for (index, message) in messages.enumerated() {
            guard ChatMessage.knownRoles.contains(message.role) else {
                throw .invalidValue(
                    "messages[\(index)].role",
                    "Invalid value for 'messages[\(index)].role': '\(message.role)'. Supported roles are system, developer, user, assistant and tool."
                )
            }
            switch message.content {
            case .none, .null, .string, .array: break
            case .some(let other):
                throw .invalidType("messages[\(index)].content", expected: "a string or an array of content parts, got \(other.typeName)")
            }
        }
        if let maxTokens, maxTokens < 1 { throw .invalidValue("max_tokens", "Invalid value for 'max_tokens': it must be at least 1.") }
        if let maxCompletionTokens, maxCompletionTokens < 1 {
            throw .invalidValue("max_completion_tokens", "Invalid value for 'max_completion_tokens': it must be at least 1.")
        }
    }
}

extension GatewayError {
    /// Maps a decoding failure of a request body to a 400 that names the parameter.
    public init(decoding error: DecodingError) {
        func path(_ codingPath: [any CodingKey], _ last: (any CodingKey)? = nil) -> String {
            var out = ""
            for key in codingPath + (last.map { [$0] } ?? []) {
                if let index = key.intValue {
                    out += "[\(index)]"
                } else {
                    out += out.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return out
        }
        switch error {
        case .keyNotFound(let key, let context):
            self = .missingParameter(path(context.codingPath, key))
        case .typeMismatch(let type, let context):
            let param = path(context.codingPath)
            if param.isEmpty {
                self = .invalidJSON("the body must be a JSON object")
            } else {
                self = .invalidType(param, expected: Self.describe(type))
            }
        case .valueNotFound(let type, let context):
            let param = path(context.codingPath)
            if param.isEmpty {
                self = .invalidJSON("the body must be a JSON object")
            } else {
                self = .invalidType(param, expected: "\(Self.describe(type)), got null")
            }
        case .dataCorrupted(let context):
            let param = path(context.codingPath)
            if param.isEmpty {
                self = .invalidJSON("the body is not valid JSON")
            } else {
                self = .invalidValue(param, "Invalid value for '\(param)'.")
            }
        @unknown default:
            self = .invalidJSON("the body is not valid JSON")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "a boolean"
        case is Int.Type, is Double.Type: "a number"
        case is [Any].Type, is [ChatMessage].Type, is [String].Type, is [JSONValue].Type: "an array"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }
}
