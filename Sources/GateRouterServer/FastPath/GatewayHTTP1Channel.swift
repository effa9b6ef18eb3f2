import HTTPTypes
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1

/// Hummingbird's HTTP/1.1 child channel with one handler more: ``FastChatHandler``, placed after Hummingbird's
/// connection-state handler (so idle timeouts, `Connection: close` and graceful shutdown see the requests it answers)
/// and before the async channel that feeds Hummingbird's router.
///
/// The pipeline is HTTP1Channel's own, in the same order with the same limits; only the fast path is added.
struct GatewayHTTP1Channel: ServerChildChannel, HTTPChannelHandler {
    typealias Value = NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>

    let responder: HTTPChannelHandler.Responder
    let idleTimeout: Duration?
    let fastPath: FastChatCompletions?

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            let pipeline = channel.pipeline.syncOperations
            if let fastPath {
                // The fast path reads the connection first; Hummingbird's handlers go in behind it once a request
                // needs them (usually never, for a client of the chat route only).
                let front = FastHTTP1Front(engine: fastPath, peer: channel.remoteAddress, idleTimeout: idleTimeout.map(TimeAmount.init)) { context in
                    try Self.addHTTPHandlers(
                        to: context.pipeline.syncOperations, after: context.handler, idleTimeout: idleTimeout, fastPath: fastPath, peer: channel.remoteAddress,
                        logger: logger
                    )
                }
                try pipeline.addHandler(front)
            } else {
                try Self.addHTTPHandlers(to: pipeline, after: nil, idleTimeout: idleTimeout, fastPath: nil, peer: nil, logger: logger)
            }
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    /// HTTP1Channel's own handlers, in its order with its limits, plus ``FastChatHandler`` (for fast-path requests on
    /// a connection Hummingbird reads) after the connection-state handler.
    static func addHTTPHandlers(
        to pipeline: ChannelPipeline.SynchronousOperations, after front: (any ChannelHandler)?, idleTimeout: Duration?, fastPath: FastChatCompletions?,
        peer: SocketAddress?, logger: Logger
    ) throws {
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderFieldSize = 80 * 1024
        limits.maxHeaderListSize = 80 * 1024
        limits.maxHeaderFieldCount = 1000
        var handlers: [any ChannelHandler] = [
            HTTP1ToHTTPServerCodec(secure: false), HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger),
        ]
        if let fastPath { handlers.append(FastChatHandler(engine: fastPath, peer: peer)) }
        func addCodec(at position: ChannelPipeline.SynchronousOperations.Position) throws {
            try pipeline.configureHTTPServerPipeline(
                position: position,
                withPipeliningAssistance: false,  // requests are answered in order by the handlers below
                withErrorHandling: false,
                withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: limits
            )
        }
        if let front {
            // Each group keeps its order right after `front`: the handlers first, then the codec in front of them.
            try pipeline.addHandlers(handlers, position: .after(front))
            try addCodec(at: .after(front))
        } else {
            try addCodec(at: .last)
            try pipeline.addHandlers(handlers, position: .last)
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}
