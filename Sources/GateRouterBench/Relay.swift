import NIOCore
import NIOPosix

/// The floor of any SwiftNIO proxy on this machine: each client connection gets its own upstream connection on the
/// same event loop, and bytes are copied both ways without being parsed (no HTTP, no JSON, no routing, no metering).
/// `scripts/bench.sh` measures it beside the gateway, so the gateway's cost can be read against what NIO itself costs.
enum Relay {
    static func run(port: Int, upstreamHost: String, upstreamPort: Int) async throws {
        let group = MultiThreadedEventLoopGroup.singleton
        let server = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { client in
                ClientBootstrap(group: client.eventLoop)
                    .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                    .channelInitializer { upstream in
                        upstream.eventLoop.makeCompletedFuture {
                            try upstream.pipeline.syncOperations.addHandler(Copy(to: client))
                        }
                    }
                    .connect(host: upstreamHost, port: upstreamPort)
                    .flatMapThrowing { upstream in
                        // The client channel is registered (and read) only once this initializer's future completes.
                        try client.pipeline.syncOperations.addHandler(Copy(to: upstream))
                    }
            }
            .bind(host: "127.0.0.1", port: port).get()
        print("relay on 127.0.0.1:\(port) to \(upstreamHost):\(upstreamPort)")
        try await server.closeFuture.get()
    }

    /// Writes what one side reads to the other, flushing once per read burst; closes the other side when one closes.
    final class Copy: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let other: any Channel

        init(to other: any Channel) { self.other = other }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            other.write(data, promise: nil)
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            other.flush()
        }

        func channelInactive(context: ChannelHandlerContext) {
            other.close(promise: nil)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)
        }
    }
}
