import GateRouterCatalog
import GateRouterProviders
import GateRouterWire

/// Decides where a request's `model` goes: a pure function of the catalog and provider settings, no I/O.
///
/// - A catalog id or alias goes to its model's provider.
/// - `provider/name` with a configured provider but no catalog entry goes to that provider as is (unpriced).
/// - `auto` goes to the configured default model until auto routing proper lands.
public struct ModelResolver: Sendable {
    public let catalog: ModelCatalog
    public let providers: [String: ProviderSettings]
    /// The model `auto` uses; when nil, the first available catalog model of the `general` use case.
    public let defaultModel: String?

    public static let autoModelID = "auto"

    /// Where each catalog model goes (or why it cannot), in catalog order: settled once, since neither the catalog
    /// nor the providers change while the resolver lives, so a request copies a ready target instead of looking up
    /// and copying the model and its provider.
    private let catalogTargets: [Result<UpstreamTarget, GatewayError>]

    public init(catalog: ModelCatalog, providers: [String: ProviderSettings], defaultModel: String? = nil) {
        self.catalog = catalog
        self.providers = providers
        self.defaultModel = defaultModel
        self.catalogTargets = catalog.models.map { model in
            Result { () throws(GatewayError) in try Self.target(for: model, providers: providers) }
        }
    }

    /// Whether a catalog model's provider is configured.
    public func isAvailable(_ model: CatalogModel) -> Bool {
        providers[model.provider]?.isConfigured ?? false
    }

    public func resolve(_ requested: String, autoRoutingEnabled: Bool) throws(GatewayError) -> UpstreamTarget {
        if requested == Self.autoModelID {
            guard autoRoutingEnabled else { throw .autoRoutingNotEnabled }
            return try resolveAuto()
        }
        if let index = catalog.index(named: requested) {
            return try target(forCatalogIndex: index)
        }
        let parts = requested.split(separator: "/", maxSplits: 1)
        if parts.count == 2, let provider = providers[String(parts[0])] {
            guard provider.isConfigured else { throw Self.missingKey(model: requested, provider: provider) }
            return UpstreamTarget(modelID: requested, upstreamModel: String(parts[1]), provider: provider, catalogModel: nil)
        }
        throw .providerRoutingNotConfigured(
            model: requested,
            detail: "model '\(requested)' is not in the catalog and is not a provider/name id of a configured provider (see GET /openai/v1/models)"
        )
    }

    /// The target of the catalog model at `index` (as ``ModelCatalog/models`` orders them).
    public func target(forCatalogIndex index: Int) throws(GatewayError) -> UpstreamTarget {
        try catalogTargets[index].get()
    }

    private static func target(for model: CatalogModel, providers: [String: ProviderSettings]) throws(GatewayError) -> UpstreamTarget {
        guard let provider = providers[model.provider] else {
            throw .providerRoutingNotConfigured(model: model.id, detail: "model '\(model.id)' needs provider '\(model.provider)', which the config file does not define")
        }
        guard provider.isConfigured else { throw Self.missingKey(model: model.id, provider: provider) }
        return UpstreamTarget(modelID: model.id, upstreamModel: model.upstreamID, provider: provider, catalogModel: model)
    }

    private func resolveAuto() throws(GatewayError) -> UpstreamTarget {
        if let defaultModel {
            return try resolve(defaultModel, autoRoutingEnabled: false)
        }
        let available = catalog.models.filter(isAvailable)
        guard let choice = available.first(where: { $0.useCase == .general }) ?? available.first else {
            throw .providerRoutingNotConfigured(model: Self.autoModelID, detail: "no provider is configured, so 'auto' has no model to use; set a provider key such as OPENAI_API_KEY")
        }
        return try Self.target(for: choice, providers: providers)
    }

    static func missingKey(model: String, provider: ProviderSettings) -> GatewayError {
        let variable = provider.keyVariable ?? "its api_key"
        return .providerRoutingNotConfigured(
            model: model,
            detail: "model '\(model)' needs provider '\(provider.id)', which has no API key; set \(variable) (or providers.\(provider.id).api_key in the config file)"
        )
    }
}
