import Logging

/// Takes request log lines as values. `gaterouter serve` gives one to the gateway: its stderr writer formats the lines
/// itself, on its own thread, into the same text a `Logger` would write. Without one, lines go through the `Logger`.
///
/// Why: for a request answered in about 60 µs of CPU, building the line's `Logger.Metadata` (a dictionary of a dozen
/// string keys, hashed and then sorted again by the handler) and formatting it on the event loop cost about 5% of it.
public protocol RequestLogSink: Sendable {
    /// Called on the request's event loop, once per request: must return at once.
    func write(_ line: RequestLogLine)
}

/// One request's log line: what it did, with no prompt text, keys or upstream bodies.
public struct RequestLogLine: Sendable {
    public var method: String
    /// The route's pattern (`/openai/v1/chat/completions`), or `unmatched`.
    public var route: String
    public var status: Int
    public var duration: Duration
    public var client: String?
    public var fields: RequestReport.Fields
    public var clientDisconnected: Bool
    /// Set when the logger does not carry the id already (the fast path has no per-request logger).
    public var requestID: String?

    /// The `Logger` line's source and message, which a sink writes the same way.
    public static let source = "GateRouterServer"
    public static let message = "request"

    public init(
        method: String, route: String, status: Int, duration: Duration, client: String?, fields: RequestReport.Fields, clientDisconnected: Bool,
        requestID: String?
    ) {
        self.method = method
        self.route = route
        self.status = status
        self.duration = duration
        self.client = client
        self.fields = fields
        self.clientDisconnected = clientDisconnected
        self.requestID = requestID
    }

    var durationMilliseconds: Int { Int(duration / .milliseconds(1)) }

    /// The line as `Logger` metadata.
    public var metadata: Logger.Metadata {
        // Sized for every field up front: growing a dictionary rehashes what it holds.
        var metadata = Logger.Metadata(minimumCapacity: 20)
        metadata["gr.method"] = .string(method)
        metadata["gr.route"] = .string(route)
        metadata["gr.status"] = .stringConvertible(status)
        metadata["gr.duration_ms"] = .stringConvertible(durationMilliseconds)
        if let client { metadata["gr.client"] = .string(client) }
        if let value = fields.keyID { metadata["gr.key.id"] = .string(value) }
        if let value = fields.model { metadata["gr.model"] = .string(value) }
        if let value = fields.provider { metadata["gr.provider"] = .string(value) }
        if let value = fields.upstreamModel { metadata["gr.upstream_model"] = .string(value) }
        if let value = fields.promptTokens { metadata["gr.tokens.prompt"] = .stringConvertible(value) }
        if let value = fields.completionTokens { metadata["gr.tokens.completion"] = .stringConvertible(value) }
        if let value = fields.errorCode { metadata["gr.error"] = .string(value) }
        if fields.streamError { metadata["gr.stream_error"] = "true" }
        if let value = fields.tier { metadata["gr.routing.tier"] = .string(value) }
        if let value = fields.route { metadata["gr.routing.decision"] = .string(value) }
        if let value = fields.attempts { metadata["gr.routing.attempts"] = .stringConvertible(value) }
        if !fields.failedAttempts.isEmpty { metadata["gr.routing.failed"] = .string(fields.failedAttempts.joined(separator: "; ")) }
        if clientDisconnected { metadata["gr.client_disconnected"] = "true" }
        if let requestID { metadata["gr.request.id"] = .string(requestID) }
        return metadata
    }

    /// Appends ` key=value` for every field the line has, keys in byte order: what a handler that sorts its metadata
    /// (as the gateway's writer and swift-log's `StreamLogHandler` do) writes for ``metadata``. Tested against it.
    public func appendPairs(to buffer: inout [UInt8]) {
        func pair(_ key: StaticString, _ value: String) {
            buffer.append(UInt8(ascii: " "))
            key.withUTF8Buffer { buffer.append(contentsOf: $0) }
            buffer.append(UInt8(ascii: "="))
            buffer.append(contentsOf: value.utf8)
        }
        func pair(_ key: StaticString, _ value: Int) {
            buffer.append(UInt8(ascii: " "))
            key.withUTF8Buffer { buffer.append(contentsOf: $0) }
            buffer.append(UInt8(ascii: "="))
            Self.appendDecimal(value, to: &buffer)
        }
        // In byte order of the keys; a new field goes in its place here and in `metadata`.
        if let client { pair("gr.client", client) }
        if clientDisconnected { pair("gr.client_disconnected", "true") }
        pair("gr.duration_ms", durationMilliseconds)
        if let value = fields.errorCode { pair("gr.error", value) }
        if let value = fields.keyID { pair("gr.key.id", value) }
        pair("gr.method", method)
        if let value = fields.model { pair("gr.model", value) }
        if let value = fields.provider { pair("gr.provider", value) }
        if let requestID { pair("gr.request.id", requestID) }
        pair("gr.route", route)
        if let value = fields.attempts { pair("gr.routing.attempts", value) }
        if let value = fields.route { pair("gr.routing.decision", value) }
        if !fields.failedAttempts.isEmpty { pair("gr.routing.failed", fields.failedAttempts.joined(separator: "; ")) }
        if let value = fields.tier { pair("gr.routing.tier", value) }
        pair("gr.status", status)
        if fields.streamError { pair("gr.stream_error", "true") }
        if let value = fields.completionTokens { pair("gr.tokens.completion", value) }
        if let value = fields.promptTokens { pair("gr.tokens.prompt", value) }
        if let value = fields.upstreamModel { pair("gr.upstream_model", value) }
    }

    /// `value` in decimal, as `String(value)` writes it, without making the string.
    static func appendDecimal(_ value: Int, to buffer: inout [UInt8]) {
        guard value != 0 else { return buffer.append(UInt8(ascii: "0")) }
        if value < 0 { buffer.append(UInt8(ascii: "-")) }
        // Digits from the lowest; `magnitude` keeps Int.min exact.
        var remaining = value.magnitude
        let start = buffer.count
        while remaining > 0 {
            buffer.append(UInt8(ascii: "0") + UInt8(remaining % 10))
            remaining /= 10
        }
        buffer[start...].reverse()
    }
}
