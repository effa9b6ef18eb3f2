/// A catalog entry from the config file: every field but `id` is optional, so it can add a model (a local Ollama
/// server's) or change one field of a bundled model.
public struct CatalogModelOverride: Sendable, Decodable {
    public var id: String
    public var name: String?
    public var provider: String?
    public var upstreamID: String?
    public var aliases: [String]?
    public var description: String?
    public var useCase: UseCase?
    public var contextLength: Int?
    public var maxOutputTokens: Int?
    public var created: Int?
    public var pricing: Pricing?
    public var capabilities: [Capability]?
    public var maxTokensParam: MaxTokensParam?
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

    public init(id: String) { self.id = id }

    func applied(to model: CatalogModel) -> CatalogModel {
        var model = model
        if let name { model.name = name }
        if let provider { model.provider = provider }
        if let upstreamID { model.upstreamID = upstreamID }
        if let aliases { model.aliases = aliases }
        if let description { model.description = description }
        if let useCase { model.useCase = useCase }
        if let contextLength { model.contextLength = contextLength }
        if let maxOutputTokens { model.maxOutputTokens = maxOutputTokens }
        if let created { model.created = created }
        if let pricing { model.pricing = pricing }
        if let capabilities { model.capabilities = capabilities }
        if let maxTokensParam { model.maxTokensParam = maxTokensParam }
        if let fixedTemperature { model.fixedTemperature = fixedTemperature }
        return model
    }

    func newModel() throws(CatalogError) -> CatalogModel {
        let parts = id.split(separator: "/", maxSplits: 1)
        guard parts.count == 2 else { throw CatalogError("config model id '\(id)' must have the form provider/name") }
        let base = CatalogModel(
            id: id,
            name: String(parts[1]),
            provider: String(parts[0]),
            upstreamID: String(parts[1]),
            capabilities: [.streaming, .tools]
        )
        return applied(to: base)
    }
}
