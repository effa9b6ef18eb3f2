import HummingbirdCore
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization
import Testing

@testable import GateRouterServer

/// The gateway's listeners on real loopback sockets: one per event loop on one port, each connection served on the
/// loop that accepted it, "address in use" kept, and graceful shutdown.
@Suite struct LoopLocalListenersTests {
    /// Where each accepted connection ran: its own loop and its listener's.
    final class Placements: Sendable {
        private let seen = Mutex<[(connection: ObjectIdentifier, listener: ObjectIdentifier?)]>([])
        func record(_ channel: any Channel) {
            seen.withLock { $0.append((ObjectIdentifier(channel.eventLoop), channel.parent.map { ObjectIdentifier($0.eventLoop) })) }
        }
        var all: [(connection: ObjectIdentifier, listener: ObjectIdentifier?)] { seen.withLock { $0 } }
    }

    struct Accepted: ServerChildChannelValue { let channel: any Channel }

    /// A child channel that greets each connection with "ok\n" and closes it when the server quiesces.
    struct Greeter: ServerChildChannel {
        let placements: Placements

        func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Accepted> {
            placements.record(channel)
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(GreetingHandler())
                return Accepted(channel: channel)
            }
        }

        func handle(value: Accepted, logger: Logger) async {
            try? await value.channel.closeFuture.get()
        }
    }

    final class GreetingHandler: ChannelInboundHandler, Sendable {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        func channelActive(context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: "ok\n")), promise: nil)
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if event is ChannelShouldQuiesceEvent { context.close(promise: nil) }
        }
    }

    static let logger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

    /// Runs listeners for `greeter` on `port` (0: any free port) in a service group, gives `body` the bound port.
    /// `portSharing`: the socket option the listeners share the port with (the real one unless a test says otherwise).
    static func withListeners(
        _ greeter: Greeter, group: MultiThreadedEventLoopGroup, port: Int = 0, portSharing: NIOBSDSocket.Option? = nil,
        _ body: @Sendable (Int, ServiceGroup) async throws -> Void
    ) async throws {
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var listeners = LoopLocalListeners(
            childChannel: greeter, host: "127.0.0.1", port: port, backlog: 64, group: group, onServerRunning: { continuation.yield($0) }, logger: logger
        )
        if let portSharing { listeners.portSharing = portSharing }
        let services = ServiceGroup(configuration: .init(services: [listeners], logger: logger))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask {
                // A server that fails to start ends the wait for its port (below) instead of leaving it hanging.
                defer { continuation.finish() }
                try await services.run()
            }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            try await body(port, services)
            await services.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }

    /// Opens a connection and reads until the server closes it or sends a line; returns what arrived. Clients run on
    /// their own loops: sharing the server's group would interleave its round-robin with the server's.
    static func greeting(port: Int, readToEnd: Bool = false) async throws -> String {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton).connect(host: "127.0.0.1", port: port) { channel in
            channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
        }
        return try await channel.executeThenClose { inbound, _ in
            var text = ""
            for try await buffer in inbound {
                text += String(buffer: buffer)
                if !readToEnd && text.hasSuffix("\n") { break }
            }
            return text
        }
    }

    @Test func eachConnectionIsServedOnTheLoopThatAcceptedItAndEveryLoopAccepts() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let placements = Placements()
        try await Self.withListeners(Greeter(placements: placements), group: group) { port, _ in
            for _ in 0..<32 {
                let greeting = try await Self.greeting(port: port)
                #expect(greeting == "ok\n")
            }
        }
        let seen = placements.all
        #expect(seen.count == 32)
        #expect(seen.allSatisfy { $0.listener == $0.connection }, "a connection moved to another loop than its listener's")
        // 32 connections hashed over two listeners all landing on one: a chance of 2^-31.
        #expect(Set(seen.map(\.connection)).count == 2, "one loop accepted every connection")
        try await group.shutdownGracefully()
    }

    @Test func aSecondServerOnTheSamePortFailsInsteadOfSharingIt() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let first = Placements()
        let second = Placements()
        try await Self.withListeners(Greeter(placements: first), group: group) { port, _ in
            let intruder = LoopLocalListeners(
                childChannel: Greeter(placements: second), host: "127.0.0.1", port: port, backlog: 64, group: group, onServerRunning: { _ in },
                logger: Self.logger
            )
            // Bounded: a second server that did bind would run until cancelled.
            let outcome = await withTaskGroup(of: (any Error)?.self) { attempts in
                attempts.addTask {
                    do { try await intruder.run() } catch { return error }
                    return nil
                }
                attempts.addTask {
                    try? await Task.sleep(for: .seconds(3))
                    return nil
                }
                let first = await attempts.next() ?? nil
                attempts.cancelAll()
                return first
            }
            #expect((outcome as? IOError)?.errnoCode == EADDRINUSE, "the second server did not fail with address in use: \(String(describing: outcome))")
            for _ in 0..<8 {
                let greeting = try await Self.greeting(port: port)
                #expect(greeting == "ok\n")
            }
        }
        #expect(first.all.count == 8)
        #expect(second.all.isEmpty)
        try await group.shutdownGracefully()
    }

    @Test func aKernelThatRefusesPortSharingGetsOneListenerForEveryLoop() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let placements = Placements()
        // No such option: setsockopt fails with ENOPROTOOPT.
        try await Self.withListeners(Greeter(placements: placements), group: group, portSharing: NIOBSDSocket.Option(rawValue: 9999)) { port, _ in
            for _ in 0..<8 {
                let greeting = try await Self.greeting(port: port)
                #expect(greeting == "ok\n")
            }
        }
        // One listener: every connection was accepted on the same loop.
        #expect(Set(placements.all.compactMap(\.listener)).count == 1)
        #expect(placements.all.count == 8)
        try await group.shutdownGracefully()
    }

    // Whether the port still accepts afterwards is not checked: a test running in parallel may bind it meanwhile.
    @Test func gracefulShutdownClosesOpenConnectionsAndEnds() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let placements = Placements()
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let listeners = LoopLocalListeners(
            childChannel: Greeter(placements: placements), host: "127.0.0.1", port: 0, backlog: 64, group: group,
            onServerRunning: { continuation.yield($0) }, logger: Self.logger
        )
        let services = ServiceGroup(configuration: .init(services: [listeners], logger: Self.logger))
        try await withThrowingTaskGroup(of: String.self) { tasks in
            tasks.addTask {
                defer { continuation.finish() }
                try await services.run()
                return "stopped"
            }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            // Idle connections, open until the server closes them.
            for _ in 0..<6 {
                tasks.addTask { try await Self.greeting(port: port, readToEnd: true) }
            }
            let deadline = ContinuousClock.now + .seconds(10)
            while placements.all.count < 6, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
            #expect(placements.all.count == 6)
            await services.triggerGracefulShutdown()
            var results: [String] = []
            for try await result in tasks { results.append(result) }
            #expect(results.filter { $0 == "ok\n" }.count == 6, "each open connection got its greeting, then the server's close")
            #expect(results.contains("stopped"))
        }
        try await group.shutdownGracefully()
    }
}
