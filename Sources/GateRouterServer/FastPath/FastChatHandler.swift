import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// One connection's share of the fast path: it collects a `POST /openai/v1/chat/completions`, asks
/// ``FastChatCompletions`` to answer it on this event loop (whole, or as a ``FastChatStream`` writing through this
/// handler), and hands every request it does not answer (other routes, anything unusual) to Hummingbird unchanged.
///
/// Order is kept: a request is answered here only when Hummingbird owes no response on this connection, and requests
/// that arrive while an answer is in flight wait for it.
final class FastChatHandler: ChannelDuplexHandler, RemovableChannelHandler, FastStreamOutput {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Mode {
        case idle
        case collecting(HTTPRequest, ByteBuffer)
        case passing
        case answering
        case streaming(FastChatStream)
    }

    private let engine: FastChatCompletions
    /// The client's address as the log line writes it, formatted once per connection.
    private let peerAddress: String?
    private var mode = Mode.idle
    /// Requests handed to Hummingbird whose response has not ended yet.
    private var owedByHummingbird = 0
    /// Parts that arrived while an answer was in flight.
    private var waiting: [HTTPRequestPart] = []
    /// This handler's context, for a stream's writes.
    private var context: ChannelHandlerContext?
    /// The request being answered asked for `Connection: close` (Hummingbird's router loop honours it for its own
    /// requests; this path must for the ones it answers).
    private var closeAfterAnswer = false

    init(engine: FastChatCompletions, peer: SocketAddress?) {
        self.engine = engine
        self.peerAddress = peer?.ipAddress
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.channel.closeFuture.whenComplete { _ in handler.value.closed() }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        read(unwrapInboundIn(data), context: context)
    }

    private func read(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch (mode, part) {
        case (.answering, _), (.streaming, _):
            waiting.append(part)
        case (.idle, .head(let head)):
            if owedByHummingbird == 0, engine.mayAnswer(head) {
                mode = .collecting(head, context.channel.allocator.buffer(capacity: 0))
            } else {
                pass(.head(head), context: context)
                mode = .passing
            }
        case (.collecting(let head, var body), .body(var chunk)):
            mode = .idle  // drop the buffer's second reference before appending
            body.writeBuffer(&chunk)
            if body.readableBytes > engine.maxRequestBodyBytes {
                // Hummingbird answers the 413.
                pass(.head(head), context: context)
                pass(.body(body), context: context)
                mode = .passing
            } else {
                mode = .collecting(head, body)
            }
        case (.collecting(let head, let body), .end(let trailers)):
            closeAfterAnswer = head.headerFields[.connection]?.lowercased().contains("close") == true
            // Answering from here on: an answer ready at once (a refusal) is written, and the mode back to idle,
            // before `handle` returns.
            mode = .answering
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let handling = engine.handle(head, body: body, peerAddress: peerAddress, on: context.eventLoop, output: self) { answer in
                let (handler, context) = loopBound.value
                handler.write(answer, context: context)
            }
            switch handling {
            case nil:
                mode = .idle
                pass(.head(head), context: context)
                if body.readableBytes > 0 { pass(.body(body), context: context) }
                pass(.end(trailers), context: context)
            case .answering:
                break
            case .stream(let stream):
                // The stream may have answered already (a refusal): then the mode is idle again.
                if case .answering = mode { mode = .streaming(stream) }
            }
        case (.passing, .end):
            pass(part, context: context)
            mode = .idle
        case (.passing, _), (.idle, _), (.collecting, _):
            // Body without a head, or a head inside a body: Hummingbird reports the protocol error.
            pass(part, context: context)
        }
    }

    private func pass(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        if case .head = part { owedByHummingbird += 1 }
        context.fireChannelRead(wrapInboundOut(part))
    }

    private func write(_ answer: FastChatCompletions.Answer, context: ChannelHandlerContext) {
        context.write(wrapOutboundOut(.head(answer.head)), promise: nil)
        context.write(wrapOutboundOut(.body(answer.body)), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        written.futureResult.whenComplete { outcome in
            if case .failure = outcome { answer.written(false) } else { answer.written(true) }
        }
        if closeAfterAnswer { return context.close(promise: nil) }
        answered(context: context)
    }

    /// The answer in flight is out: read the requests that waited for it.
    private func answered(context: ChannelHandlerContext) {
        mode = .idle
        let parts = waiting
        waiting = []
        for part in parts { read(part, context: context) }
        if !parts.isEmpty { context.fireChannelReadComplete() }
    }

    // MARK: - A stream's output

    func writeHead(_ head: HTTPResponse) {
        context?.write(wrapOutboundOut(.head(head)), promise: nil)
    }

    func writeBody(_ body: ByteBuffer) {
        context?.writeAndFlush(wrapOutboundOut(.body(body)), promise: nil)
    }

    func endResponse() {
        guard let context else { return }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        if closeAfterAnswer {
            mode = .idle
            return context.close(promise: nil)
        }
        answered(context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .streaming(let stream) = mode { stream.clientWritabilityChanged(writable: context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    /// A client that leaves mid-request: what arrived goes to Hummingbird, which handles (and meters) a request cut
    /// short as it always has.
    /// The connection closed. Watched through the close future: Hummingbird's connection-state handler, which sits
    /// before this one, does not pass `channelInactive` on.
    private func closed() {
        guard case .streaming(let stream) = mode else { return }
        mode = .idle
        waiting = []
        stream.clientLeft()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { owedByHummingbird = max(0, owedByHummingbird - 1) }
        context.write(data, promise: promise)
    }
}
