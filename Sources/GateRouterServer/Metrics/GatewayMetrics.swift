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
    private struct ModelLabels: Hashable {
        var model: String
        var provider: String
    }
    private struct ErrorLabels: Hashable {
        var model: String
        var provider: String
        var status: Int
    }
    private struct RequestMetrics {
        var count: Counter
        var duration: DurationHistogram
    }
    private struct TokenCounters {
        var prompt: Counter
        var completion: Counter
    }
    private let requestMetrics = LabelledMetrics<RequestLabels, RequestMetrics>()
    private let firstTokenHistograms = LabelledMetrics<ModelLabels, DurationHistogram>()
    private let tokenCounters = LabelledMetrics<ModelLabels, TokenCounters>()
    private let upstreamErrorCounters = LabelledMetrics<ErrorLabels, Counter>()

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
        let metrics = requestMetrics.get(RequestLabels(route: route, model: model, provider: provider, status: status)) { key in
            let labels = [("route", key.route), ("model", key.model), ("provider", key.provider), ("status", String(key.status))]
            return RequestMetrics(
                count: registry.makeCounter(
                    descriptor: .init(namespace: "gaterouter", metricName: "requests", unitName: "total", helpText: "Requests handled, by model, provider and HTTP status."),
                    labels: labels
                ),
                duration: registry.makeDurationHistogram(
                    descriptor: .init(namespace: "gaterouter", metricName: "request_duration", unitName: "seconds", helpText: "Time from request to the end of the response."),
                    labels: labels,
                    buckets: Self.durationBuckets
                )
            )
        }
        metrics.count.increment()
        metrics.duration.record(duration)
    }

    func recordTimeToFirstToken(model: String, provider: String, duration: Duration) {
        firstTokenHistograms.get(ModelLabels(model: model, provider: provider)) { key in
            registry.makeDurationHistogram(
                descriptor: .init(namespace: "gaterouter", metricName: "time_to_first_token", unitName: "seconds", helpText: "Time from request to the first streamed chunk."),
                labels: [("model", key.model), ("provider", key.provider)],
                buckets: Self.durationBuckets
            )
        }.record(duration)
    }

    func recordTokens(model: String, provider: String, prompt: Int, completion: Int) {
        let counters = tokenCounters.get(ModelLabels(model: model, provider: provider)) { key in
            let descriptor = MetricNameDescriptor(namespace: "gaterouter", metricName: "tokens", unitName: "total", helpText: "Tokens metered, by kind.")
            return TokenCounters(
                prompt: registry.makeCounter(descriptor: descriptor, labels: [("model", key.model), ("provider", key.provider), ("kind", "prompt")]),
                completion: registry.makeCounter(descriptor: descriptor, labels: [("model", key.model), ("provider", key.provider), ("kind", "completion")])
            )
        }
        counters.prompt.increment(by: Int64(prompt))
        counters.completion.increment(by: Int64(completion))
    }

    func recordUpstreamError(model: String, provider: String, status: Int) {
        upstreamErrorCounters.get(ErrorLabels(model: model, provider: provider, status: status)) { key in
            registry.makeCounter(
                descriptor: .init(
                    namespace: "gaterouter", metricName: "upstream_errors", unitName: "total", helpText: "Upstream failures, by model, provider and the status sent to the client."
                ),
                labels: [("model", key.model), ("provider", key.provider), ("status", String(key.status))]
            )
        }.increment()
    }

    /// The exposition text for `GET /metrics`.
    public func render() -> [UInt8] { registry.emitToBuffer() }
}

/// The metrics of each label set, made on first use. The registry looks a metric up by name and labels under its lock
/// on every call; a request's metrics are found here by one hash instead.
private final class LabelledMetrics<Labels: Hashable & Sendable, Metrics: Sendable>: Sendable {
    private let made = Mutex<[Labels: Metrics]>([:])

    func get(_ labels: Labels, make: (Labels) -> Metrics) -> Metrics {
        made.withLock { made in
            if let found = made[labels] { return found }
            let metrics = make(labels)
            made[labels] = metrics
            return metrics
        }
    }
}
