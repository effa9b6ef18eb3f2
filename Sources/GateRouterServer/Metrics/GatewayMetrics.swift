import Prometheus
import Synchronization

/// The gateway's Prometheus metrics, in a registry owned by one application (no global metrics system, so parallel
/// test apps do not share counters).
///
/// Labels are bounded: model (catalog ids; ids outside the catalog collapse to `<provider>/uncatalogued`),
/// provider, status. Never a key, a user or request text.
public final class GatewayMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()

    private static let durationBuckets: [Duration] = [
        .milliseconds(5), .milliseconds(25), .milliseconds(100), .milliseconds(250), .milliseconds(500),
        .seconds(1), .seconds(2), .seconds(5), .seconds(10), .seconds(30), .seconds(60), .seconds(120), .seconds(300),
    ]

    /// Requests answered on the event loop by ``FastChatCompletions``.
    let fastPathRequests: Counter
    /// Fast-path streams whose state is in memory: raised when a ``FastChatStream`` is made, lowered when it is
    /// freed. At rest it falls back to zero; a value that stays up is a leak.
    let fastPathStreams: Gauge
    private struct RequestLabels: Hashable {
        var route: String
        var model: String
        var provider: String
        var status: Int
    }
    /// The registry looks metrics up by name and labels under its lock on every call; a request's metrics are found
    /// here by one hash instead (here and in the caches below).
    private let requestMetrics = Mutex<[RequestLabels: (Counter, DurationHistogram)]>([:])

    public init() {
        fastPathRequests = registry.makeCounter(
            descriptor: .init(
                namespace: "gaterouter", metricName: "fast_path_requests", unitName: "total",
                helpText: "Chat completions answered on the event loop without the router (see FastChatCompletions)."
            )
        )
        fastPathStreams = registry.makeGauge(
            descriptor: .init(
                namespace: "gaterouter", metricName: "fast_path_streams",
                helpText: "Streamed chat completions held in memory by the event-loop fast path: open ones, and ended ones not yet freed."
            )
        )
    }

    /// One finished request to `/openai/v1/...`.
    func recordRequest(route: String, model: String, provider: String, status: Int, duration: Duration) {
        let key = RequestLabels(route: route, model: model, provider: provider, status: status)
        let (counter, histogram) = requestMetrics.withLock { cache in
            if let found = cache[key] { return found }
            let labels = [("route", route), ("model", model), ("provider", provider), ("status", String(status))]
            let made = (
                registry.makeCounter(
                    descriptor: .init(namespace: "gaterouter", metricName: "requests", unitName: "total", helpText: "Requests handled, by model, provider and HTTP status."),
                    labels: labels
                ),
                registry.makeDurationHistogram(
                    descriptor: .init(namespace: "gaterouter", metricName: "request_duration", unitName: "seconds", helpText: "Time from request to the end of the response."),
                    labels: labels,
                    buckets: Self.durationBuckets
                )
            )
            cache[key] = made
            return made
        }
        counter.increment()
        histogram.record(duration)
    }

    private struct ModelLabels: Hashable {
        var model: String
        var provider: String
    }
    private struct TokenCounters {
        var prompt: Counter
        var completion: Counter
    }
    private struct ErrorLabels: Hashable {
        var model: String
        var provider: String
        var status: Int
    }
    private let firstTokenHistograms = Mutex<[ModelLabels: DurationHistogram]>([:])
    private let tokenCounters = Mutex<[ModelLabels: TokenCounters]>([:])
    private let upstreamErrorCounters = Mutex<[ErrorLabels: Counter]>([:])

    func recordTimeToFirstToken(model: String, provider: String, duration: Duration) {
        let histogram = firstTokenHistograms.withLock { cache in
            let key = ModelLabels(model: model, provider: provider)
            if let found = cache[key] { return found }
            let made = registry.makeDurationHistogram(
                descriptor: .init(namespace: "gaterouter", metricName: "time_to_first_token", unitName: "seconds", helpText: "Time from request to the first streamed chunk."),
                labels: [("model", model), ("provider", provider)],
                buckets: Self.durationBuckets
            )
            cache[key] = made
            return made
        }
        histogram.record(duration)
    }

    func recordTokens(model: String, provider: String, prompt: Int, completion: Int) {
        let counters = tokenCounters.withLock { cache in
            let key = ModelLabels(model: model, provider: provider)
            if let found = cache[key] { return found }
            let descriptor = MetricNameDescriptor(namespace: "gaterouter", metricName: "tokens", unitName: "total", helpText: "Tokens metered, by kind.")
            let made = TokenCounters(
                prompt: registry.makeCounter(descriptor: descriptor, labels: [("model", model), ("provider", provider), ("kind", "prompt")]),
                completion: registry.makeCounter(descriptor: descriptor, labels: [("model", model), ("provider", provider), ("kind", "completion")])
            )
            cache[key] = made
            return made
        }
        counters.prompt.increment(by: Int64(prompt))
        counters.completion.increment(by: Int64(completion))
    }

    func recordUpstreamError(model: String, provider: String, status: Int) {
        let counter = upstreamErrorCounters.withLock { cache in
            let key = ErrorLabels(model: model, provider: provider, status: status)
            if let found = cache[key] { return found }
            let made = registry.makeCounter(
                descriptor: .init(
                    namespace: "gaterouter", metricName: "upstream_errors", unitName: "total", helpText: "Upstream failures, by model, provider and the status sent to the client."
                ),
                labels: [("model", model), ("provider", provider), ("status", String(status))]
            )
            cache[key] = made
            return made
        }
        counter.increment()
    }

    /// The exposition text for `GET /metrics`.
    public func render() -> [UInt8] { registry.emitToBuffer() }
}
