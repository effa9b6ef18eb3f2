/// Token counts for one completion, in OpenAI's terms.
///
/// `promptTokens` includes `cachedTokens`, and `completionTokens` includes `reasoningTokens`, as OpenAI reports them.
public struct Usage: Sendable, Equatable, Codable {
    public var promptTokens: Int
    public var completionTokens: Int
    public var totalTokens: Int
    public var cachedTokens: Int?
    /// Tokens written to a provider's prompt cache (Anthropic's `cache_creation_input_tokens`), part of `promptTokens`.
    public var cacheWriteTokens: Int?
    public var reasoningTokens: Int?

    public init(promptTokens: Int, completionTokens: Int, totalTokens: Int? = nil, cachedTokens: Int? = nil, cacheWriteTokens: Int? = nil, reasoningTokens: Int? = nil) {
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.totalTokens = totalTokens ?? promptTokens + completionTokens
        self.cachedTokens = cachedTokens
        self.cacheWriteTokens = cacheWriteTokens
        self.reasoningTokens = reasoningTokens
    }

    enum CodingKeys: String, CodingKey {
        case promptTokens = "prompt_tokens"
        case completionTokens = "completion_tokens"
        case totalTokens = "total_tokens"
        case promptDetails = "prompt_tokens_details"
        case completionDetails = "completion_tokens_details"
    }

    enum PromptDetailsKeys: String, CodingKey {
        case cachedTokens = "cached_tokens"
        case cacheWriteTokens = "cache_write_tokens"
    }
    enum CompletionDetailsKeys: String, CodingKey { case reasoningTokens = "reasoning_tokens" }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        promptTokens = try container.decodeIfPresent(Int.self, forKey: .promptTokens) ?? 0
        completionTokens = try container.decodeIfPresent(Int.self, forKey: .completionTokens) ?? 0
        totalTokens = try container.decodeIfPresent(Int.self, forKey: .totalTokens) ?? promptTokens + completionTokens
        if let details = try? container.nestedContainer(keyedBy: PromptDetailsKeys.self, forKey: .promptDetails) {
            cachedTokens = try? details.decodeIfPresent(Int.self, forKey: .cachedTokens)
            cacheWriteTokens = try? details.decodeIfPresent(Int.self, forKey: .cacheWriteTokens)
        }
        if let details = try? container.nestedContainer(keyedBy: CompletionDetailsKeys.self, forKey: .completionDetails) {
            reasoningTokens = try? details.decodeIfPresent(Int.self, forKey: .reasoningTokens)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(promptTokens, forKey: .promptTokens)
        try container.encode(completionTokens, forKey: .completionTokens)
        try container.encode(totalTokens, forKey: .totalTokens)
        if cachedTokens != nil || cacheWriteTokens != nil {
            var details = container.nestedContainer(keyedBy: PromptDetailsKeys.self, forKey: .promptDetails)
            try details.encode(cachedTokens ?? 0, forKey: .cachedTokens)
            try details.encodeIfPresent(cacheWriteTokens, forKey: .cacheWriteTokens)
        }
        if let reasoningTokens {
            var details = container.nestedContainer(keyedBy: CompletionDetailsKeys.self, forKey: .completionDetails)
            try details.encode(reasoningTokens, forKey: .reasoningTokens)
        }
    }
}

extension Usage {
    /// Reads OpenAI's usage object from its JSON text without `JSONDecoder` (it runs once per request and stream),
    /// with the same leniency as the `Decodable` conformance: missing counts are 0, missing details are nil.
    public init?(json bytes: [UInt8]) {
        guard case .object(let fields)? = try? JSONValue.parse(bytes) else { return nil }
        let prompt = fields["prompt_tokens"]?.intValue ?? 0
        let completion = fields["completion_tokens"]?.intValue ?? 0
        self.init(
            promptTokens: prompt,
            completionTokens: completion,
            totalTokens: fields["total_tokens"]?.intValue ?? prompt + completion,
            cachedTokens: fields["prompt_tokens_details"]?["cached_tokens"]?.intValue,
            cacheWriteTokens: fields["prompt_tokens_details"]?["cache_write_tokens"]?.intValue,
            reasoningTokens: fields["completion_tokens_details"]?["reasoning_tokens"]?.intValue
        )
    }
}
