/// One event of a `text/event-stream`.
public struct ServerSentEvent: Sendable, Equatable {
    /// The `event:` field, when the stream names its events (Anthropic does; OpenAI does not).
    public var event: String?
    /// The `data:` lines joined with `\n`.
    public var data: [UInt8]

    public init(event: String? = nil, data: [UInt8]) {
        self.event = event
        self.data = data
    }

    /// Whether this is OpenAI's `data: [DONE]` terminator.
    public var isDone: Bool { data.starts(with: "[DONE]".utf8) }
}

/// An incremental Server-Sent Events parser, following the WHATWG algorithm the OpenAI SDK implements.
///
/// Feed it bytes as they arrive, in pieces of any size; it returns the events completed so far. Lines may end in
/// `\r\n`, `\n` or `\r` (Gemini frames with CRLF), comment lines (`: keep-alive`) are dropped, `data:` loses at most
/// one leading space, and a leading byte order mark is ignored. There is no line-length limit beyond `maxEventSize`,
/// which bounds memory when an upstream never ends an event.
public struct ServerSentEventParser: Sendable {
    private var line: [UInt8] = []
    private var data: [UInt8] = []
    private var hasData = false
    private var eventName: String?
    private var lastByteWasCR = false
    private var sawFirstBytes = false
    public let maxEventSize: Int

    public init(maxEventSize: Int = 16 << 20) {
        self.maxEventSize = maxEventSize
    }

    /// Consumes `bytes` and returns the events they complete.
    public mutating func feed(_ bytes: some Sequence<UInt8>) throws(ServerSentEventError) -> [ServerSentEvent] {
        // One contiguous pass: iterating a generic sequence from another module byte by byte went through witness
        // tables and allocated per byte.
        let result: Result<[ServerSentEvent], ServerSentEventError>? = bytes.withContiguousStorageIfAvailable { buffer in
            do throws(ServerSentEventError) {
                return .success(try feed(buffer: buffer))
            } catch {
                return .failure(error)
            }
        }
        if let result { return try result.get() }
        return try Array(bytes).withUnsafeBufferPointer { buffer throws(ServerSentEventError) in try feed(buffer: buffer) }
    }

    mutating func feed(buffer bytes: UnsafeBufferPointer<UInt8>) throws(ServerSentEventError) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if !sawFirstBytes {
                sawFirstBytes = true
                if byte == 0xEF { skipBOM = 2; continue }
            }
            if skipBOM > 0 { skipBOM -= 1; continue }
            if lastByteWasCR {
                lastByteWasCR = false
                if byte == 0x0A { continue }
            }
            switch byte {
            case 0x0D:
                lastByteWasCR = true
                if let event = endLine() { events.append(event) }
            case 0x0A:
                if let event = endLine() { events.append(event) }
            default:
                line.append(byte)
                if line.count + data.count > maxEventSize { throw ServerSentEventError.eventTooLarge }
            }
        }
        return events
    }

    private var skipBOM = 0

    /// Ends the stream: returns a final event that was not followed by a blank line, if any.
    public mutating func finish() -> ServerSentEvent? {
        if !line.isEmpty { _ = endLine() }
        return dispatch()
    }

    private mutating func endLine() -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty { return dispatch() }
        if line[0] == UInt8(ascii: ":") { return nil }  // comment
        let colon = line.firstIndex(of: UInt8(ascii: ":"))
        let field = colon.map { line[..<$0] } ?? line[...]
        var value = colon.map { line[($0 + 1)...] } ?? []
        if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        if field.elementsEqual("data".utf8) {
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        } else if field.elementsEqual("event".utf8) {
            eventName = String(decoding: value, as: UTF8.self)
        }
        // `id:`, `retry:` and unknown fields are ignored.
        return nil
    }

    private mutating func dispatch() -> ServerSentEvent? {
        defer {
            data.removeAll(keepingCapacity: true)
            hasData = false
            eventName = nil
        }
        guard hasData else { return nil }
        return ServerSentEvent(event: eventName, data: data)
    }
}

public enum ServerSentEventError: Error, Sendable {
    /// One event grew past the parser's `maxEventSize`.
    case eventTooLarge
}

extension ServerSentEvent {
    /// Frames a one-line JSON payload as an OpenAI-dialect event: `data: <json>\n\n`.
    public static func frame(data json: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(json.count + 8)
        out.append(contentsOf: "data: ".utf8)
        out.append(contentsOf: json)
        out.append(contentsOf: [0x0A, 0x0A])
        return out
    }

    /// OpenAI's stream terminator.
    public static let doneFrame: [UInt8] = Array("data: [DONE]\n\n".utf8)

    /// An SSE comment: clients ignore it, proxies see traffic on a silent stream.
    public static let keepAliveFrame: [UInt8] = Array(": keep-alive\n\n".utf8)
}
