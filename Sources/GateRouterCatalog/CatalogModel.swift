import Foundation

/// One model of the catalog: what clients call it, where it goes, what it costs and what it can do.
///
/// The schema is shared by the adapters (upstream id, token parameter), the router (use case, context, capabilities,
/// prices) and the ledger (prices); its YAML form is `Resources/catalog.yaml`.
public struct CatalogModel: Sendable, Equatable, Codable {
    /// `provider/name`, the id clients send and the gateway reports back.
    public var id: String
    public var name: String
    /// The provider that serves it (`openai`, `anthropic`, a custom provider from the config file, …).
    public var provider: String
    /// The model string the provider's own API expects.
    public var upstreamID: String
    /// Bare ids clients may send instead of `id` (e.g. `gpt-4.1`).
    public var aliases: [String]
    public var description: String
    public var useCase: UseCase
    public var contextLength: Int
    public var maxOutputTokens: Int
    /// Release date, unix seconds (OpenAI's `created`).
    public var created: Int
    public var pricing: Pricing
    public var capabilities: [Capability]
    /// Which output limit parameter the upstream accepts.
    public var maxTokensParam: MaxTokensParam
    /// Set when the model accepts only this temperature (OpenAI's gpt-5 family fixes it at 1).
    public var fixedTemperature: Double?

    enum CodingKeys: String, CodingKey {
        case id, name, provider, aliases, description, created, pricing, capabilities
        case upstreamID = "upstream_id"
        case useCase = "use_case"
        case contextLength = "context_length"
        case maxOutputTokens = "max_output_tokens"
        case maxTokensParam = "max_tokens_param"
        case fixedTemperature = "fixed_temperature"
    }

    public func supports(_ capability: Capability) -> Bool { capabilities.contains(capability) }

    public init(
        id: String, name: String, provider: String, upstreamID: String, aliases: [String] = [], description: String = "",
        useCase: UseCase = .general, contextLength: Int = 128_000, maxOutputTokens: Int = 16_384, created: Int = 0,
        pricing: Pricing = .unpriced, capabilities: [Capability] = [.streaming], maxTokensParam: MaxTokensParam = .maxTokens,
        fixedTemperature: Double? = nil
    ) {
        self.id = id
        self.name = name
        self.provider = provider
        self.upstreamID = upstreamID
        self.aliases = aliases
        self.description = description
        self.useCase = useCase
        self.contextLength = contextLength
        self.maxOutputTokens = maxOutputTokens
        self.created = created
        self.pricing = pricing
        self.capabilities = capabilities
        self.maxTokensParam = maxTokensParam
        self.fixedTemperature = fixedTemperature
    }
}

/// The kind of request a model is best at; auto routing maps each request to one of these.
public enum UseCase: String, Sendable, Codable, CaseIterable {
    case simple, general, coding, reasoning
    case longContext = "long_context"
    case fast
}

public enum Capability: String, Sendable, Codable, CaseIterable {
    case tools, vision, reasoning, streaming
    case jsonSchema = "json_schema"
}

public enum MaxTokensParam: String, Sendable, Codable {
    case maxTokens = "max_tokens"
    case maxCompletionTokens = "max_completion_tokens"
}

/// Prices in USD per million tokens, kept as exact decimals.
public struct Pricing: Sendable, Equatable, Codable {
    public var input: Decimal { didSet { perToken = Self.exactPerToken(self) } }
    public var output: Decimal { didSet { perToken = Self.exactPerToken(self) } }
    public var cachedInput: Decimal { didSet { perToken = Self.exactPerToken(self) } }
    public var cacheWrite: Decimal { didSet { perToken = Self.exactPerToken(self) } }
    /// Price of reasoning tokens where a provider bills them apart from output; nil bills them as output.
    public var reasoning: Decimal? { didSet { perToken = Self.exactPerToken(self) } }
    /// The same prices in whole picodollars per token, when every one of them is a whole number of picodollars
    /// (any price with at most six decimals in USD per million): costs are then integer products on the request
    /// path. Nil otherwise, and costs are computed in `Decimal`.
    public private(set) var perToken: TokenPrices?
    /// When the price took effect (`YYYY-MM-DD`).
    public var effectiveDate: String
    /// Where the figure came from.
    public var source: String
    /// False for models the config adds without prices: their cost is reported as unpriced.
    public var isPriced: Bool

    public static let unpriced = Pricing(input: 0, output: 0, cachedInput: 0, cacheWrite: 0, effectiveDate: "", source: "unpriced", isPriced: false)

    public init(
        input: Decimal, output: Decimal, cachedInput: Decimal, cacheWrite: Decimal, reasoning: Decimal? = nil, effectiveDate: String, source: String,
        isPriced: Bool = true
    ) {
        self.reasoning = reasoning
        self.input = input
        self.output = output
        self.cachedInput = cachedInput
        self.cacheWrite = cacheWrite
        self.effectiveDate = effectiveDate
        self.source = source
        self.isPriced = isPriced
        self.perToken = Self.exactPerToken(self)
    }

    /// Picodollars per token for uncached input, cache reads, cache writes, output and reasoning.
    public struct TokenPrices: Sendable, Equatable {
        public var input: Int64
        public var cachedInput: Int64
        public var cacheWrite: Int64
        public var output: Int64
        public var reasoning: Int64
    }

    static func exactPerToken(_ pricing: Pricing) -> TokenPrices? {
        func whole(_ price: Decimal) -> Int64? {
            var scaled = price * Decimal(1_000_000)
            var rounded = Decimal()
            NSDecimalRound(&rounded, &scaled, 0, .plain)
            guard rounded == scaled, rounded >= 0, rounded < Decimal(Int64(1) << 40) else { return nil }
            return Int64("\(rounded)")
        }
        guard let input = whole(pricing.input), let cachedInput = whole(pricing.cachedInput), let cacheWrite = whole(pricing.cacheWrite),
              let output = whole(pricing.output), let reasoning = whole(pricing.reasoning ?? pricing.output)
        else { return nil }
        return TokenPrices(input: input, cachedInput: cachedInput, cacheWrite: cacheWrite, output: output, reasoning: reasoning)
    }

    enum CodingKeys: String, CodingKey {
        case input, output, source
        case cachedInput = "cached_input"
        case cacheWrite = "cache_write"
        case reasoning
        case effectiveDate = "effective_date"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        func price(_ key: CodingKeys) throws -> Decimal {
            let text = try container.decode(String.self, forKey: key)
            guard let value = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), value >= 0 else {
                throw DecodingError.dataCorruptedError(forKey: key, in: container, debugDescription: "'\(text)' is not a non-negative decimal price")
            }
            return value
        }
        input = try price(.input)
        output = try price(.output)
        cachedInput = try price(.cachedInput)
        cacheWrite = try price(.cacheWrite)
        reasoning = container.contains(.reasoning) ? try price(.reasoning) : nil
        effectiveDate = try container.decode(String.self, forKey: .effectiveDate)
        source = try container.decode(String.self, forKey: .source)
        isPriced = true
        perToken = Self.exactPerToken(self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(Self.format(input), forKey: .input)
        try container.encode(Self.format(output), forKey: .output)
        try container.encode(Self.format(cachedInput), forKey: .cachedInput)
        try container.encode(Self.format(cacheWrite), forKey: .cacheWrite)
        try container.encodeIfPresent(reasoning.map(Self.format), forKey: .reasoning)
        try container.encode(effectiveDate, forKey: .effectiveDate)
        try container.encode(source, forKey: .source)
    }

    /// A decimal as plain text (`"1.75"`), the form prices are written in.
    public static func format(_ value: Decimal) -> String {
        var value = value
        var rounded = Decimal()
        NSDecimalRound(&rounded, &value, 10, .plain)
        return "\(rounded)"
    }

    /// The cost of a completion in USD.
    public func cost(promptTokens: Int, completionTokens: Int, cachedTokens: Int = 0) -> Decimal {
        let million = Decimal(1_000_000)
        let uncached = Decimal(max(0, promptTokens - cachedTokens))
        return (uncached * input + Decimal(cachedTokens) * cachedInput + Decimal(completionTokens) * output) / million
    }
}
