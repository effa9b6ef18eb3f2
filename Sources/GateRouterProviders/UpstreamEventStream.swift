import AsyncHTTPClient
import GateRouterWire
import NIOCore

/// The events of one upstream stream, read as the client consumes them (no buffering beyond one network read).
///
/// Not `Sendable`: it owns the upstream body's iterator, so exactly one task reads it. Dropping it cancels the
/// upstream request, which is how a client disconnect reaches the provider.
public struct UpstreamEventStream {
    private var body: HTTPClientResponse.Body.AsyncIterator
    private var parser = ServerSentEventParser()
    private var transcoder: any ChatStreamTranscoder
    private var pending: [ChatStreamEvent] = []
    private var pendingIndex = 0
    private var finished = false
    /// The upstream's model string, when its response headers or first chunk named it.
    public let upstreamModel: String
    /// Changes made to the request to fit the model, for the `x-gaterouter-adapted` header.
    public let adapted: [String]

    public init(body: HTTPClientResponse.Body, transcoder: any ChatStreamTranscoder, upstreamModel: String, adapted: [String] = []) {
        self.body = body.makeAsyncIterator()
        self.transcoder = transcoder
        self.upstreamModel = upstreamModel
        self.adapted = adapted
    }

    /// The next event, or nil after `.done`/end of stream.
    /// - Throws: ``GatewayError`` for an in-band upstream error, a cut or malformed stream, or a network failure.
    public mutating func next() async throws -> ChatStreamEvent? {
        while true {
            if pendingIndex < pending.count {
                defer { pendingIndex += 1 }
                return pending[pendingIndex]
            }
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            if finished { return nil }
            let buffer: ByteBuffer?
            do {
                buffer = try await body.next()
            } catch {
                throw UpstreamErrorMapping.transportError(error, provider: "upstream")
            }
            guard let buffer else {
                finished = true
                if let last = parser.finish() { pending += try transcoder.transcode(last) }
                pending += try transcoder.finish()
                continue
            }
            let events: [ServerSentEvent]
            do {
                events = try parser.feed(buffer.readableBytesView)
            } catch {
                throw GatewayError.upstreamInvalidResponse(provider: "upstream")
            }
            for event in events {
                let produced = try transcoder.transcode(event)
                pending += produced
                if produced.last == .done {
                    finished = true
                    break
                }
            }
        }
    }
}
