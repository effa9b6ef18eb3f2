import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// One connection's share of the fast path: it collects a `POST /openai/v1/chat/completions`, asks
/// ``FastChatCompletions`` to answer it on this event loop, and hands every request it does not answer (other routes,
/// streams, anything unusual) to Hummingbird unchanged.
///
/// Order is kept: a request is answered here only when Hummingbird owes no response on this connection, and requests
/// that arrive while an answer is in flight wait for it.
final class FastChatHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private enum Mode {
        case idle
        case collecting(HTTPRequest, ByteBuffer)
        case passing
        case answering
    }

    private let engine: FastChatCompletions
    private let peer: SocketAddress?
    private var mode = Mode.idle
    /// Requests handed to Hummingbird whose response has not ended yet.
    private var owedByHummingbird = 0
    /// Parts that arrived while an answer was in flight.
    private var waiting: [HTTPRequestPart] = []

    init(engine: FastChatCompletions, peer: SocketAddress?) {
        self.engine = engine
        self.peer = peer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        read(unwrapInboundIn(data), context: context)
    }

    private func read(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch (mode, part) {
        case (.answering, _):
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
            guard let answer = engine.answer(head, body: body, peer: peer, on: context.eventLoop) else {
                pass(.head(head), context: context)
                if body.readableBytes > 0 { pass(.body(body), context: context) }
                pass(.end(trailers), context: context)
                mode = .idle
                return
            }
            mode = .answering
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            answer.whenComplete { result in
                let (handler, context) = loopBound.value
                handler.write(result, context: context)
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

    private func write(_ result: Result<FastChatCompletions.Answer, any Error>, context: ChannelHandlerContext) {
        switch result {
        case .success(let answer):
            context.write(wrapOutboundOut(.head(answer.head)), promise: nil)
            context.write(wrapOutboundOut(.body(answer.body)), promise: nil)
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
            written.futureResult.whenComplete { outcome in
                if case .failure = outcome { answer.written(false) } else { answer.written(true) }
            }
        case .failure:
            // The engine turns every failure into an answer; a failed future means the channel is unusable.
            context.close(promise: nil)
        }
        mode = .idle
        let parts = waiting
        waiting = []
        for part in parts { read(part, context: context) }
        if !parts.isEmpty { context.fireChannelReadComplete() }
    }

    /// A client that leaves mid-request: what arrived goes to Hummingbird, which handles (and meters) a request cut
    /// short as it always has.
    func channelInactive(context: ChannelHandlerContext) {
        if case .collecting(let head, let body) = mode {
            pass(.head(head), context: context)
            if body.readableBytes > 0 { pass(.body(body), context: context) }
            mode = .passing
        }
        context.fireChannelInactive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { owedByHummingbird = max(0, owedByHummingbird - 1) }
        context.write(data, promise: promise)
    }
}
