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

    /// A field's value: text, or a number written in decimal.
    enum Value {
        case text(String)
        case number(Int)
    }

    /// Every field the line has, keys in byte order: the one list both ``metadata`` and ``appendPairs(to:)`` read, so a
    /// new field goes in its place here only.
    func forEachField(_ body: (String, Value) -> Void) {
        if let client { body("gr.client", .text(client)) }
        if clientDisconnected { body("gr.client_disconnected", .text("true")) }
        body("gr.duration_ms", .number(durationMilliseconds))
        if let value = fields.errorCode { body("gr.error", .text(value)) }
        if let value = fields.keyID { body("gr.key.id", .text(value)) }
        body("gr.method", .text(method))
        if let value = fields.model { body("gr.model", .text(value)) }
        if let value = fields.provider { body("gr.provider", .text(value)) }
        if let requestID { body("gr.request.id", .text(requestID)) }
        body("gr.route", .text(route))
        if let value = fields.attempts { body("gr.routing.attempts", .number(value)) }
        if let value = fields.route { body("gr.routing.decision", .text(value)) }
        if !fields.failedAttempts.isEmpty { body("gr.routing.failed", .text(fields.failedAttempts.joined(separator: "; "))) }
        if let value = fields.tier { body("gr.routing.tier", .text(value)) }
        body("gr.status", .number(status))
        if fields.streamError { body("gr.stream_error", .text("true")) }
        if let value = fields.completionTokens { body("gr.tokens.completion", .number(value)) }
        if let value = fields.promptTokens { body("gr.tokens.prompt", .number(value)) }
        if let value = fields.upstreamModel { body("gr.upstream_model", .text(value)) }
    }

    /// The line as `Logger` metadata.
    public var metadata: Logger.Metadata {
        // Sized for every field up front: growing a dictionary rehashes what it holds.
        var metadata = Logger.Metadata(minimumCapacity: 20)
        forEachField { key, value in
            switch value {
            case .text(let text): metadata[key] = .string(text)
            case .number(let number): metadata[key] = .stringConvertible(number)
            }
        }
        return metadata
    }

    /// Appends ` key=value` for every field the line has, keys in byte order: what a handler that sorts its metadata
    /// (as the gateway's writer and swift-log's `StreamLogHandler` do) writes for ``metadata``. Tested against it.
    public func appendPairs(to buffer: inout [UInt8]) {
        forEachField { key, value in
            buffer.append(UInt8(ascii: " "))
            buffer.append(contentsOf: key.utf8)
            buffer.append(UInt8(ascii: "="))
            switch value {
            case .text(let text): buffer.append(contentsOf: text.utf8)
            case .number(let number): Self.appendDecimal(number, to: &buffer)
            }
        }
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
