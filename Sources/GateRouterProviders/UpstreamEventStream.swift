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

    /// An error met after some events of the same read: those events go out first, then this is thrown.
    private var deferredError: (any Error)?

    /// The next event, or nil after `.done`/end of stream.
    /// - Throws: ``GatewayError`` for an in-band upstream error, a cut or malformed stream, or a network failure.
    public mutating func next() async throws -> ChatStreamEvent? {
        try await fill()
        guard pendingIndex < pending.count else { return nil }
        defer { pendingIndex += 1 }
        return pending[pendingIndex]
    }

    /// Every event not yet returned from the latest network read (at least one), or nil after `.done`/end of stream.
    /// Events that arrive together can then be written to the client together, with one write instead of one each.
    /// - Throws: as ``next()``.
    public mutating func nextBatch() async throws -> [ChatStreamEvent]? {
        try await fill()
        guard pendingIndex < pending.count else { return nil }
        let batch = Array(pending[pendingIndex...])
        pending.removeAll(keepingCapacity: true)
        pendingIndex = 0
        return batch
    }

    /// Reads until an event is pending or the stream has ended.
    private mutating func fill() async throws {
        while pendingIndex >= pending.count {
            pending.removeAll(keepingCapacity: true)
            pendingIndex = 0
            if let error = deferredError {
                deferredError = nil
                finished = true
                throw error
            }
            if finished { return }
            let buffer: ByteBuffer?
            do {
                buffer = try await body.next()
            } catch {
                throw UpstreamErrorMapping.transportError(error, provider: "upstream")
            }
            do {
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
            } catch {
                // The events decoded before the failure still reach the client; the error follows them.
                if pending.isEmpty { throw error }
                deferredError = error
            }
        }
    }
}
