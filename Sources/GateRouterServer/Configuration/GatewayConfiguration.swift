import GateRouterCatalog
import GateRouterProviders
import GateRouterRouting
import Foundation

/// Everything the gateway needs to start, read once at the edge (CLI flags, environment, config file) and passed down.
public struct GatewayConfiguration: Sendable {
    public var host: String
    public var port: Int
    /// Where the embedded SQLite database lives.
    public var dataDirectory: String
    public var limits: Limits
    public var routing: RoutingLimits
    /// Origins allowed by CORS; empty means CORS is off.
    public var corsAllowedOrigins: [String]
    /// Trust `X-Forwarded-For`/`X-Forwarded-Proto` from a reverse proxy in front of the gateway.
    public var trustForwardedHeaders: Bool
    /// Enables the admin API when set.
    public var adminToken: String?
    /// The model `auto` uses until auto routing proper lands; nil picks the first available general model.
    public var defaultModel: String?
    public var providers: [String: ProviderSettings]
    public var catalog: ModelCatalog
    /// Whether the providers are simulated (`serve --demo`).
    public var isDemo: Bool
    /// Whether non-streaming chat completions to plain-HTTP OpenAI-compatible upstreams are answered on the event
    /// loop (``FastChatCompletions``); `GATEROUTER_FAST_PATH=0` sends everything through Hummingbird's router.
    public var fastPath = true

    /// Limits with defaults sized for LLM traffic.
    public struct Limits: Sendable {
        /// Largest request body accepted (images as data URLs make bodies big).
        public var maxRequestBodyBytes: Int = 32 << 20
        /// Time allowed to open a connection to an upstream.
        public var upstreamConnectTimeout: Duration = .seconds(10)
        /// Longest silence allowed from an upstream mid-response; generous because reasoning models think silently.
        public var upstreamIdleTimeout: Duration = .seconds(300)
        /// Longest a whole upstream request may take, streaming included.
        public var upstreamRequestTimeout: Duration = .seconds(900)
        /// Upstream connections per provider host; each in-flight request (a stream included) needs one.
        public var upstreamConnectionsPerHost = 4096
        /// How long an idle client connection is kept open.
        public var clientIdleTimeout: Duration = .seconds(120)

        public init() {}
    }

    /// Bounds on auto routing's attempts and failover.
    public struct RoutingLimits: Sendable {
        /// Upstream attempts per client request, fallbacks and retries included.
        public var maxAttempts = 3
        /// Longest silence allowed from an upstream before its first content (reasoning text counts); then the next
        /// candidate is tried. Generous, because some reasoning models think silently.
        public var stallTimeout: Duration = .seconds(90)
        /// While an upstream is silent, the client's stream gets an SSE comment this often.
        public var keepAliveInterval: Duration = .seconds(15)
        /// Time a non-streaming attempt has for its whole answer before the next candidate is tried.
        public var attemptTimeout: Duration = .seconds(300)
        /// Time allowed for all attempts together to produce first content (streams) or the answer (JSON).
        public var deadline: Duration = .seconds(600)
        /// Circuit breakers for models and providers.
        public var breaker = ModelHealth.Configuration()

        public init() {}
    }

    public init(
        host: String = "127.0.0.1",
        port: Int = 8090,
        dataDirectory: String = "./gaterouter-data",
        limits: Limits = Limits(),
        routing: RoutingLimits = RoutingLimits(),
        corsAllowedOrigins: [String] = [],
        trustForwardedHeaders: Bool = false,
        adminToken: String? = nil,
        defaultModel: String? = nil,
        providers: [String: ProviderSettings],
        catalog: ModelCatalog,
        isDemo: Bool = false
    ) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.limits = limits
        self.routing = routing
        self.corsAllowedOrigins = corsAllowedOrigins
        self.trustForwardedHeaders = trustForwardedHeaders
        self.adminToken = adminToken
        self.defaultModel = defaultModel
        self.providers = providers
        self.catalog = catalog
        self.isDemo = isDemo
    }
}

extension GatewayConfiguration {
    /// How many catalog models can be served with the configured providers, and how many there are.
    public var modelAvailability: (available: Int, total: Int) {
        let available = catalog.models.filter { providers[$0.provider]?.isConfigured ?? false }.count
        return (available, catalog.models.count)
    }
}
