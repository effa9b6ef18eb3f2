/// A catalog model as `GET /models` shows it: OpenAI's `object`, `id`, `created`, `owned_by`, then the catalog
/// fields, in the spirit of OpenRouter's catalog.
public struct ModelObject: Sendable, Encodable {
    public var model: CatalogModel
    /// Whether the model's provider is configured, so requests for it can be served.
    public var available: Bool

    public init(model: CatalogModel, available: Bool) {
        self.model = model
        self.available = available
    }

    enum CodingKeys: String, CodingKey {
        case object, id, created, name, provider, aliases, description, pricing, capabilities, available
        case ownedBy = "owned_by"
        case upstreamID = "upstream_id"
        case useCase = "use_case"
        case contextLength = "context_length"
        case maxOutputTokens = "max_output_tokens"
        case maxTokensParam = "max_tokens_param"
    }

    struct PricingObject: Encodable {
        var pricing: Pricing
        func encode(to encoder: any Encoder) throws {
            if pricing.isPriced {
                try pricing.encode(to: encoder)
            } else {
                var container = encoder.singleValueContainer()
                try container.encodeNil()
            }
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("model", forKey: .object)
        try container.encode(model.id, forKey: .id)
        try container.encode(model.created, forKey: .created)
        try container.encode(model.provider, forKey: .ownedBy)
        try container.encode(model.name, forKey: .name)
        try container.encode(model.provider, forKey: .provider)
        try container.encode(model.upstreamID, forKey: .upstreamID)
        try container.encode(model.aliases, forKey: .aliases)
        try container.encode(model.description, forKey: .description)
        try container.encode(model.useCase, forKey: .useCase)
        try container.encode(model.contextLength, forKey: .contextLength)
        try container.encode(model.maxOutputTokens, forKey: .maxOutputTokens)
        try container.encode(PricingObject(pricing: model.pricing), forKey: .pricing)
        try container.encode(model.capabilities, forKey: .capabilities)
        try container.encode(model.maxTokensParam, forKey: .maxTokensParam)
        try container.encode(available, forKey: .available)
    }
}

/// OpenAI's list shape: `{"object":"list","data":[…]}`.
public struct ModelList: Sendable, Encodable {
    public var object = "list"
    public var data: [ModelObject]
    public init(data: [ModelObject]) { self.data = data }
}
