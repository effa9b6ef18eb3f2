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
            var limits = NIOHTTPDecoderLimitConfiguration()
            limits.maxHeaderFieldSize = 80 * 1024
            limits.maxHeaderListSize = 80 * 1024
            limits.maxHeaderFieldCount = 1000
            let pipeline = channel.pipeline.syncOperations
            try pipeline.configureHTTPServerPipeline(
                withPipeliningAssistance: false,  // requests are answered in order by the handlers below
                withErrorHandling: false,
                withOutboundHeaderValidation: false,
                withEncoderConfiguration: .init(),
                withDecoderLimitConfiguration: limits
            )
            try pipeline.addHandler(HTTP1ToHTTPServerCodec(secure: false))
            try pipeline.addHandler(HTTPConnectionStateHandler(idleTimeout: idleTimeout, logger: logger))
            if let fastPath {
                try pipeline.addHandler(FastChatHandler(engine: fastPath, peer: channel.remoteAddress))
            }
            return try NIOAsyncChannel(wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
        }
    }

    func handle(value asyncChannel: Value, logger: Logger) async {
        await handleHTTP(asyncChannel: asyncChannel, logger: logger)
    }
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with the gateway's fast path for non-streaming chat completions (none when `fastPath` is nil).
    static func gatewayHTTP1(idleTimeout: Duration?, fastPath: FastChatCompletions?) -> HTTPServerBuilder {
        .init { responder in
            GatewayHTTP1Channel(responder: responder, idleTimeout: idleTimeout, fastPath: fastPath)
        }
    }
}
