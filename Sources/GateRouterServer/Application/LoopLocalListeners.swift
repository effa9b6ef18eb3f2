import HummingbirdCore
import Logging
import NIOCore
import NIOExtras
import NIOPosix
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The gateway's HTTP server: on Linux one listening socket per event loop on the same address (`SO_REUSEPORT`), so
/// the kernel spreads new connections over the loops and each connection is accepted, set up and served on one loop.
///
/// Why not Hummingbird's `Server`: it accepts on one loop and hands each connection to the next loop of the group.
/// NIO's hand-off crosses threads about five times before the connection's first read (set-up on the child's loop,
/// back to the acceptor, registration on the child's loop, the connection's task), and each crossing wakes a vCPU the
/// VM may have halted. Measured on a new connection per stream: +0.48 to +0.60 ms over the direct path with two loops,
/// +0.17 to +0.25 ms with one. The child channel, its pipeline and the per-connection task are Hummingbird's own
/// (``GatewayHTTP1Channel``); only who accepts changed. Elsewhere (no load-balancing `SO_REUSEPORT`) one listener
/// serves the whole group, as Hummingbird's does.
struct LoopLocalListeners<ChildChannel: ServerChildChannel>: Service {
    let childChannel: ChildChannel
    let host: String
    let port: Int
    let backlog: Int32
    let group: MultiThreadedEventLoopGroup
    let onServerRunning: @Sendable (Int) async -> Void
    let logger: Logger
    /// The socket option that lets the listeners share the port; tests name one the kernel refuses.
    var portSharing = NIOBSDSocket.Option(rawValue: SO_REUSEPORT)

    private typealias Listener = (channel: NIOAsyncChannel<ChildChannel.Value, Never>, quiescing: ServerQuiescingHelper)

    func run() async throws {
        let listeners = try await bind()
        let port = listeners.first?.channel.channel.localAddress?.port ?? port
        logger.info("Server started and listening on \(host):\(port)", metadata: ["gr.listeners": "\(listeners.count)"])
        await withGracefulShutdownHandler {
            await onServerRunning(port)
            await withDiscardingTaskGroup { group in
                for listener in listeners {
                    group.addTask { await serve(listener.channel) }
                }
            }
        } onGracefulShutdown: {
            // Closes the listeners, then tells every open connection to finish: idle ones close now, busy ones after
            // their answer (the fast path's front and Hummingbird's connection-state handler both act on it).
            for listener in listeners { listener.quiescing.initiateShutdown(promise: nil) }
        }
    }

    /// Accepts one listener's connections and runs each connection's task. A task started here is enqueued from this
    /// listener's loop, and the global executor (NIO's loops, installed by the CLI) keeps it on that loop.
    private func serve(_ listener: NIOAsyncChannel<ChildChannel.Value, Never>) async {
        await withDiscardingTaskGroup { connections in
            do {
                try await listener.executeThenClose { inbound in
                    for try await connection in inbound {
                        connections.addTask { await childChannel.handle(value: connection, logger: logger) }
                    }
                }
            } catch {
                logger.error("the listener stopped accepting connections", metadata: ["gr.error": "\(error)"])
            }
        }
    }

    private func bind() async throws -> [Listener] {
        #if os(Linux)
        let loops: [any EventLoop] = Array(group.makeIterator())
        #else
        let loops: [any EventLoop] = []
        #endif
        guard loops.count > 1 else {
            return [try await bind(group: group, port: port, sharingPort: false)]
        }
        // `SO_REUSEPORT` would also let this process share the port with another listener that set it (a second
        // gateway left running, say) and split the traffic silently; a plain bind first keeps "address in use".
        if port != 0 { try Self.checkPortIsFree(host: host, port: port) }
        let first: Listener
        do {
            first = try await bind(group: loops[0], port: port, sharingPort: true)
        } catch let error as IOError where [ENOPROTOOPT, EOPNOTSUPP, EINVAL].contains(error.errnoCode) {
            // A kernel or sandbox without the option: serve as Hummingbird does rather than not at all. (A bind that
            // fails for another reason with EINVAL fails again below, with the same error.)
            logger.notice("SO_REUSEPORT refused: one listener serves every event loop", metadata: ["gr.error": "\(error)"])
            return [try await bind(group: group, port: port, sharingPort: false)]
        }
        var listeners = [first]
        do {
            let port = first.channel.channel.localAddress?.port ?? port
            for loop in loops.dropFirst() {
                listeners.append(try await bind(group: loop, port: port, sharingPort: true))
            }
        } catch {
            for listener in listeners { try? await listener.channel.channel.close() }
            throw error
        }
        return listeners
    }

    private func bind(group: any EventLoopGroup, port: Int, sharingPort: Bool) async throws -> Listener {
        let quiescing = ServerQuiescingHelper(group: group)
        var bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: backlog)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .serverChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(quiescing.makeServerChannelHandler(channel: channel))
                }
            }
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
        if sharingPort {
            bootstrap = bootstrap.serverChannelOption(ChannelOptions.socketOption(portSharing), value: 1)
        }
        let childChannel = childChannel
        let logger = logger
        let channel = try await bootstrap.bind(host: host, port: port, serverBackPressureStrategy: nil) { channel in
            childChannel.setup(channel: channel, logger: logger)
        }
        return (channel, quiescing)
    }

    /// Throws `EADDRINUSE` (as NIO's bind would) when something already listens on the address. The probe binds
    /// without listening, so no connection can reach it.
    static func checkPortIsFree(host: String, port: Int) throws {
        let address = try SocketAddress.makeAddressResolvingHost(host, port: port)
        #if canImport(Glibc)
        let descriptor = socket(address.protocol.rawValue, Int32(SOCK_STREAM.rawValue), 0)
        #else
        let descriptor = socket(address.protocol.rawValue, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { throw IOError(errnoCode: errno, reason: "socket") }
        defer { close(descriptor) }
        var on: Int32 = 1
        _ = setsockopt(descriptor, SOL_SOCKET, SO_REUSEADDR, &on, socklen_t(MemoryLayout<Int32>.size))
        #if canImport(Glibc)
        let bound = address.withSockAddr { pointer, size in Glibc.bind(descriptor, pointer, socklen_t(size)) }
        #else
        let bound = address.withSockAddr { pointer, size in Darwin.bind(descriptor, pointer, socklen_t(size)) }
        #endif
        guard bound == 0 else { throw IOError(errnoCode: errno, reason: "bind(descriptor:ptr:bytes:)") }
    }
}
