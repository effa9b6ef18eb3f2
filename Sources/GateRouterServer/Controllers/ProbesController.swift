import GateRouterCatalog
import GateRouterRouting
import Hummingbird
import NIOCore

/// `GET /health` for load balancers, `GET /metrics` for Prometheus, and `GET /` pointing people at the right places.
struct ProbesController: Sendable {
    let metrics: GatewayMetrics
    let configuration: GatewayConfiguration
    let resolver: ModelResolver

    func addRoutes(to router: Router<GatewayRequestContext>) {
        router.get("/health") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"status":"ok"}"#)))
        }
        router.get("/metrics") { _, _ in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: ByteBuffer(bytes: metrics.render()))
            )
        }
        router.get("/") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: landingPage())))
        }
    }

    /// A plain page until the console lands: what this is and how to call it.
    private func landingPage() -> String {
        let available = resolver.catalog.models.filter(resolver.isAvailable).count
        let demo = configuration.isDemo ? "<p><strong>Demo mode: every answer is simulated.</strong></p>" : ""
        return """
        <!doctype html><html><head><meta charset="utf-8"><title>GateRouter</title></head>
        <body style="font-family: system-ui, sans-serif; max-width: 44rem; margin: 3rem auto; line-height: 1.5">
        <h1>GateRouter</h1>\(demo)
        <p>OpenAI-compatible endpoint: <code>/openai/v1</code> (send <code>Authorization: Bearer &lt;key&gt;</code>).</p>
        <p>\(resolver.catalog.models.count) models in the catalog, \(available) available with the configured providers.
        List them with <code>GET /openai/v1/models</code>.</p>
        <p>The web console (dashboard, keys, routing settings, usage) will be served here.</p>
        </body></html>
        """
    }
}
