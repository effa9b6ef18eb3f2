import AsyncHTTPClient
import GateRouterProviders
import GateRouterRouting
import GateRouterStorage
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Builds the gateway application.
///
/// - Parameters:
///   - configuration: the merged configuration.
///   - state: the opened store and key cache (``GatewayBootstrap``).
///   - httpClient: the upstream client; when nil, one is created with the configured timeouts and shut down with the
///     application.
///   - logger: the application logger.
///   - requestLog: where the fast path's request lines go instead of `logger` (the CLI's stderr writer); nil: `logger`.
public func buildApplication(
    configuration: GatewayConfiguration,
    state: GatewayBootstrap.Result,
    httpClient: HTTPClient? = nil,
    logger: Logger,
    requestLog: (any RequestLogSink)? = nil,
    onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> GatewayApplication {
    var services: [any Service] = []
    let client: HTTPClient
    if let httpClient {
        client = httpClient
    } else {
        client = makeUpstreamClient(limits: configuration.limits)
        services.append(HTTPClientService(client: client))
    }
    let exchangePool = LoopLocalHTTPPool(
        configuration: .init(connectTimeout: .init(configuration.limits.upstreamConnectTimeout), idleReadTimeout: .init(configuration.limits.upstreamIdleTimeout))
    )
    services.append(ExchangePoolService(pool: exchangePool))
    let metrics = GatewayMetrics()
    let recorder = UsageRecorder(store: state.store, spend: state.spend, logger: logger)
    let meter = Meter(recorder: recorder, spend: state.spend, rateLimiter: RateLimiter(), authCache: state.authCache)
    // Shutdown runs in reverse: the server drains its requests, then the sync stops, then the recorder writes what
    // is still queued, then the upstream client closes.
    services.insert(recorder, at: 0)
    services.append(StoreSync(store: state.store, authCache: state.authCache, meter: meter, logger: logger))
    var console: ConsoleAssets?
    do {
        console = try ConsoleAssets.load()
    } catch {
        logger.error("web console disabled: its bundled templates could not be loaded", metadata: ["gr.error": "\(error)"])
    }
    let (router, fastPath) = buildRouter(
        configuration: configuration, state: state, httpClient: client, exchangePool: exchangePool, metrics: metrics, meter: meter, console: console,
        logger: logger, requestLog: requestLog
    )
    return GatewayApplication(
        responder: router.buildResponder(),
        idleTimeout: configuration.limits.clientIdleTimeout,
        fastPath: configuration.fastPath ? fastPath : nil,
        host: configuration.host,
        port: configuration.port,
        // A deep accept queue: agents and load balancers open connections in bursts (2,000 streams at once in the
        // benchmark), and with the default 256 a full queue drops handshakes, which clients see as 10-second stalls.
        backlog: 4096,
        serverName: "GateRouter",
        services: services,
        onServerRunning: onServerRunning,
        logger: logger
    )
}

/// An HTTP client for upstreams: pooled keep-alive connections, the configured connect and idle (read) timeouts.
public func makeUpstreamClient(limits: GatewayConfiguration.Limits) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.timeout = .init(connect: .init(limits.upstreamConnectTimeout), read: .init(limits.upstreamIdleTimeout))
    // One connection per in-flight upstream request: LLM streams hold theirs for seconds to minutes, so a small cap
    // would queue streams behind each other (the benchmark's 2,000 held streams stalled at 64 per host).
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: limits.upstreamConnectionsPerHost)
    // A refused connection fails the request at once instead of being retried until the connect timeout: the gateway
    // answers 502 quickly (and fallback, when configured, moves on) rather than holding the client for 10 s.
    configuration.connectionPool.retryConnectionEstablishment = false
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}

/// The routes: `/openai/v1` behind API keys, `/admin/v1` behind the admin token, and the open probes.
func buildRouter(
    configuration: GatewayConfiguration,
    state: GatewayBootstrap.Result,
    httpClient: HTTPClient,
    exchangePool: LoopLocalHTTPPool,
    metrics: GatewayMetrics,
    meter: Meter,
    console: ConsoleAssets?,
    logger: Logger,
    requestLog: (any RequestLogSink)? = nil
) -> (Router<GatewayRequestContext>, FastChatCompletions) {
    let router = Router(context: GatewayRequestContext.self)
    if !configuration.corsAllowedOrigins.isEmpty {
        router.add(middleware: CORSPolicyMiddleware(allowedOrigins: Set(configuration.corsAllowedOrigins)))
    }
    router.add(middleware: RequestLogMiddleware(metrics: metrics, trustForwardedHeaders: configuration.trustForwardedHeaders))

    let resolver = ModelResolver(catalog: configuration.catalog, providers: configuration.providers, defaultModel: configuration.defaultModel)
    let health = ModelHealth(configuration: configuration.routing.breaker)
    let planner = RoutePlanner(
        resolver: resolver,
        router: AutoRouter(catalog: configuration.catalog, providers: configuration.providers, health: health),
        classifier: RequestClassifier(difficulty: try? DifficultyClassifier.bundled())
    )
    let adapters = ProviderAdapters(
        httpClient: httpClient,
        configuration: .init(requestTimeout: .init(configuration.limits.upstreamRequestTimeout)),
        exchangePool: exchangePool
    )
    let fastPath = FastChatCompletions(
        authCache: state.authCache, meter: meter, planner: planner, health: health, limits: configuration.routing, metrics: metrics, pool: exchangePool,
        requestTimeout: configuration.limits.upstreamRequestTimeout, maxResponseBytes: OpenAICompatibleAdapter.Configuration().maxResponseBytes,
        maxRequestBodyBytes: configuration.limits.maxRequestBodyBytes, trustForwardedHeaders: configuration.trustForwardedHeaders, serverName: "GateRouter",
        logger: logger, requestLog: requestLog
    )

    // Console sessions (cookies) stand in for a key or the admin token on the APIs the console's pages call.
    let sessions = ConsoleSessions(authCache: state.authCache, adminToken: configuration.adminToken)
    let openAI = router.group("openai/v1").add(
        middleware: APIKeyAuthMiddleware(cache: state.authCache, sessions: sessions, adminSessionsCallAsDefaultAccount: true)
    )
    ChatCompletionsController(
        planner: planner,
        adapters: adapters,
        health: health,
        hedgeBudget: HedgeBudget(),
        limits: configuration.routing,
        authCache: state.authCache,
        metrics: metrics,
        meter: meter,
        maxRequestBodyBytes: configuration.limits.maxRequestBodyBytes
    ).addRoutes(to: openAI)
    ModelsController(resolver: resolver).addRoutes(to: openAI)

    let operations = ManagementOperations(store: state.store, authCache: state.authCache, meter: meter)
    AccountAPIController(operations: operations).addRoutes(
        to: router.group("api/v1").add(middleware: APIKeyAuthMiddleware(cache: state.authCache, sessions: sessions))
    )
    if let token = configuration.adminToken {
        let admin = router.group("admin/v1").add(middleware: AdminAuthMiddleware(token: token, sessions: sessions))
        AdminController(operations: operations).addRoutes(to: admin)
    }
    if let console {
        ConsoleController(sessions: sessions, operations: operations, configuration: configuration, resolver: resolver, health: health, assets: console)
            .addRoutes(to: router)
    }
    ProbesController(metrics: metrics, configuration: configuration, resolver: resolver).addRoutes(to: router)
    return (router, fastPath)
}

/// Shuts the upstream client down after the HTTP server has stopped (services stop in reverse order).
struct HTTPClientService: Service {
    let client: HTTPClient

    func run() async throws {
        try? await gracefulShutdown()
        try await client.shutdown()
    }
}

/// Closes the event-loop-local pool's idle upstream connections after the HTTP server has stopped.
struct ExchangePoolService: Service {
    let pool: LoopLocalHTTPPool

    func run() async throws {
        try? await gracefulShutdown()
        await pool.shutdown()
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
