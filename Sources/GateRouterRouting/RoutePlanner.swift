import GateRouterCatalog
import GateRouterProviders
import GateRouterWire

/// The upstreams to try for one request, in order, and why.
public struct RoutePlan: Sendable {
    public var attempts: [UpstreamTarget]
    /// The scored decision when `auto` chose the models.
    public var decision: RouteDecision?
    public var strategy: RoutingStrategy
    public var tier: UseCase?
}

/// Turns a request's `model` (and OpenRouter-style `models` fallback list) into the ordered attempts the gateway
/// makes: `auto` takes the best-scored candidates; a fixed model is tried, retried once when fallback is on, then
/// followed by the request's own fallbacks.
public struct RoutePlanner: Sendable {
    public let resolver: ModelResolver
    public let router: AutoRouter
    public let classifier: RequestClassifier

    public init(resolver: ModelResolver, router: AutoRouter, classifier: RequestClassifier) {
        // A decision names models by catalog index, and the resolver's targets are kept by the same index.
        precondition(resolver.catalog.models.map(\.id) == router.catalog.models.map(\.id), "the resolver and the router must share one catalog")
        self.resolver = resolver
        self.router = router
        self.classifier = classifier
    }

    public func plan(
        _ request: ChatCompletionRequest, responseFormatType: String?, autoRoutingEnabled: Bool, policy: RoutingPolicy, maxAttempts: Int
    ) throws(GatewayError) -> RoutePlan {
        // The requested models are `model`, then each of `models` that differs from it; walked in place rather than
        // gathered into an array, as are the attempts (sized once): this runs on every request.
        let fallbacks = request.models ?? []
        let requestedCount = 1 + fallbacks.reduce(0) { $0 + ($1 == request.model ? 0 : 1) }
        var attempts: [UpstreamTarget] = []
        attempts.reserveCapacity(maxAttempts + requestedCount)
        var decision: RouteDecision?
        var tier: UseCase?
        var position = 0
        for slot in 0...fallbacks.count {
            let model = slot == 0 ? request.model : fallbacks[slot - 1]
            if slot > 0, model == request.model { continue }
            defer { position += 1 }
            if model == ModelResolver.autoModelID, resolver.defaultModel == nil {
                guard autoRoutingEnabled else { throw .autoRoutingNotEnabled }
                let profile = classifier.profile(request, responseFormatType: responseFormatType)
                let routed = router.route(profile, policy: policy)
                decision = decision ?? routed
                tier = tier ?? profile.tier
                if routed.count == 0, position == 0, requestedCount == 1 {
                    throw GatewayError(
                        status: 503,
                        message: "No model can take this request right now. Considered: \(routed.excluded.joined(separator: "; ")).",
                        type: "service_unavailable_error",
                        code: "no_model_available"
                    )
                }
                let slots = policy.fallback ? maxAttempts : 1
                for ranked in routed.ranking.prefix(slots) {
                    guard let target = try? resolver.target(forCatalogIndex: ranked.index) else { continue }
                    attempts.append(target)
                }
            } else {
                let target = try resolver.resolve(model, autoRoutingEnabled: autoRoutingEnabled)
                attempts.append(target)
                // One retry of a fixed primary model (after a backoff) before moving on.
                if position == 0, policy.fallback, maxAttempts > 1 { attempts.append(target) }
            }
        }
        let limit = policy.fallback ? max(1, maxAttempts + (request.models?.count ?? 0)) : 1
        if attempts.count > limit { attempts.removeLast(attempts.count - limit) }
        return RoutePlan(attempts: attempts, decision: decision, strategy: policy.strategy, tier: tier)
    }
}
