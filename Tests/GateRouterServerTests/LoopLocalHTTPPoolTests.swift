import Foundation
import GateRouterProviders
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization
import Testing

/// The event-loop-local upstream pool against a real Hummingbird server on loopback: connection reuse, an upstream
/// that closes, timeouts, size limits, refused connections and cancellation.
@Suite struct LoopLocalHTTPPoolTests {
    /// Remote ports the test server saw, one per upstream connection the pool opened.
    final class Connections: Sendable {
        private let ports = Mutex<Set<Int>>([])
        func saw(_ port: Int?) { ports.withLock { _ = $0.insert(port ?? -1) } }
        var count: Int { ports.withLock { $0.count } }
    }

    /// Carries the client's port so the server can count the connections the pool opened.
    struct PeerContext: RequestContext {
        var coreContext: CoreRequestContextStorage
        let peerPort: Int?

        init(source: ApplicationRequestContextSource) {
            coreContext = .init(source: source)
            peerPort = source.channel.remoteAddress?.port
        }
    }

    /// Routes: `/echo` returns the body with the request's `x-tag`, `/close` answers then closes, `/slow` waits 2 s,
    /// `/big` returns 4 KB, `/drip` sends eight parts 150 ms apart, `/status` answers 429.
    static func withServer(idleTimeout: TimeAmount? = nil, _ body: @Sendable (Int, Connections) async throws -> Void) async throws {
        let connections = Connections()
        let router = Router(context: PeerContext.self)
        router.post("/echo") { request, context -> Response in
            connections.saw(context.peerPort)
            let bytes = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .ok, headers: [.contentType: "application/json", HTTPField.Name("x-tag")!: request.headers[HTTPField.Name("x-tag")!] ?? ""], body: .init(byteBuffer: bytes))
        }
        router.post("/close") { request, context -> Response in
            connections.saw(context.peerPort)
            _ = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .ok, headers: [.connection: "close"], body: .init(byteBuffer: ByteBuffer(string: "bye")))
        }
        router.post("/slow") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            try await Task.sleep(for: .seconds(2))
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: "late")))
        }
        router.post("/big") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(repeating: UInt8(ascii: "x"), count: 4096)))
        }
        router.post("/drip") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .ok, body: ResponseBody { writer in
                for part in 0..<8 {
                    try await writer.write(ByteBuffer(string: "part \(part);"))
                    try await Task.sleep(for: .milliseconds(150))
                }
                try await writer.finish(nil)
            })
        }
        router.post("/status") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 1 << 20)
            return Response(status: .tooManyRequests, headers: [.retryAfter: "7"], body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"slow down"}}"#)))
        }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            server: .http1(configuration: .init(idleTimeout: idleTimeout)),
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) },
            logger: quietLogger
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await app.runService() }
            var iterator = ports.makeAsyncIterator()
            let port = try #require(await iterator.next())
            try await body(port, connections)
            group.cancelAll()
        }
    }

    static func post(_ pool: LoopLocalHTTPPool, port: Int, path: String, body: String = "{}", tag: String = "", timeout: TimeAmount = .seconds(5), limit: Int = 1 << 20) async throws -> LoopLocalHTTPPool.Answer {
        var headers = HTTPHeaders()
        headers.add(name: "x-tag", value: tag)
        return try await pool.post(host: "127.0.0.1", port: port, path: path, headers: headers, body: ByteBuffer(string: body), timeout: timeout, maxResponseBytes: limit)
    }

    /// Receives a streamed answer and keeps its exchange, as a gateway stream does (to pause or cancel it).
    final class HoldingReceiver: StreamReceiver, @unchecked Sendable {
        // Unchecked: touched on the exchange's event loop only, and read by the test after the exchange ended.
        var exchange: Exchange?
        var bytes = 0
        func received(head: UpstreamResponseHead) {}
        func received(body: ByteBuffer) { bytes += body.readableBytes }
        func receivedAllAvailable() {}
    }

    /// Streams `path` to a receiver that holds its exchange; returns what arrived and a weak reference to the receiver.
    static func streamToHoldingReceiver(_ pool: LoopLocalHTTPPool, port: Int, path: String) async throws -> (Int?, Int, () -> HoldingReceiver?) {
        let receiver = HoldingReceiver()
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let answer = try? await loop.flatSubmit {
            pool.post(
                on: loop, host: "127.0.0.1", port: port, path: path, headers: HTTPHeaders(), body: ByteBuffer(string: "{}"), timeout: .seconds(5),
                maxResponseBytes: 1 << 20, receiver: receiver
            ) { exchange in receiver.exchange = exchange }
        }.get()
        let bytes = try await loop.submit { receiver.bytes }.get()
        weak let weakReceiver = receiver
        return (answer?.status, bytes, { weakReceiver })
    }

    @Test func aFinishedExchangeLetsGoOfItsReceiver() async throws {
        try await Self.withServer { port, _ in
            let pool = LoopLocalHTTPPool(group: MultiThreadedEventLoopGroup.singleton)
            // A streamed 2xx, an error status, and a refused connection: each ends the exchange its own way.
            let streamed = try await Self.streamToHoldingReceiver(pool, port: port, path: "/big")
            #expect(streamed.0 == 200 && streamed.1 == 4096)
            let refused = try await Self.streamToHoldingReceiver(pool, port: port, path: "/status")
            #expect(refused.0 == 429)
            let unreachable = try await Self.streamToHoldingReceiver(pool, port: 1, path: "/big")
            #expect(unreachable.0 == nil)
            for (name, released) in [("streamed", streamed.2), ("error status", refused.2), ("unreachable", unreachable.2)] {
                let deadline = ContinuousClock.now + .seconds(2)
                while released() != nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                #expect(released() == nil, "the \(name) exchange still holds its receiver")
            }
        }
    }

    /// `upstream.idle_timeout_seconds`: an upstream silent for longer fails at once, one that keeps sending within it
    /// may take as long as it needs.
    @Test func anUpstreamSilentLongerThanTheIdleTimeoutFailsAndOneThatKeepsSendingDoesNot() async throws {
        try await Self.withServer { port, _ in
            let pool = LoopLocalHTTPPool(group: MultiThreadedEventLoopGroup.singleton, configuration: .init(idleReadTimeout: .milliseconds(800)))
            let clock = ContinuousClock()
            var failure: (any Error)?
            let silent = await clock.measure {
                do { _ = try await Self.post(pool, port: port, path: "/slow") } catch { failure = error }
            }
            #expect(failure as? LoopLocalHTTPPool.ExchangeError == .idleTimeout)
            #expect(silent < .milliseconds(1800), "failed after \(silent), not at the 2 s answer")
            var answer: LoopLocalHTTPPool.Answer?
            let dripping = try await clock.measure { answer = try await Self.post(pool, port: port, path: "/drip") }
            #expect(answer?.status == 200)
            #expect(answer.map { String(buffer: $0.body) } == (0..<8).map { "part \($0);" }.joined())
            #expect(dripping > .milliseconds(1000), "the answer took longer than the idle timeout in all")
            // The pool still serves after a timeout.
            #expect(try await Self.post(pool, port: port, path: "/echo", body: "again").status == 200)
        }
    }

    @Test func sequentialExchangesShareOneConnectionAndConcurrentOnesEachGetTheirOwn() async throws {
        try await Self.withServer { port, connections in
            let pool = LoopLocalHTTPPool(group: MultiThreadedEventLoopGroup.singleton)
            for index in 0..<20 {
                let answer = try await Self.post(pool, port: port, path: "/echo", body: #"{"n":\#(index)}"#, tag: "t\(index)")
                #expect(answer.status == 200)
                #expect(String(buffer: answer.body) == #"{"n":\#(index)}"#)
                #expect(answer.headers.first(name: "x-tag") == "t\(index)")
            }
            // Calls from outside the event loops land on any loop; each loop keeps its own idle connection.
            #expect(connections.count <= System.coreCount)
            let before = connections.count
            try await withThrowingTaskGroup(of: String.self) { group in
                for index in 0..<16 { group.addTask { String(buffer: try await Self.post(pool, port: port, path: "/echo", body: "\(index)").body) } }
                var answers: Set<String> = []
                for try await answer in group { answers.insert(answer) }
                #expect(answers == Set((0..<16).map(String.init)))
            }
            #expect(connections.count > before)
            await pool.shutdown()
        }
    }

    @Test func anUpstreamThatClosesOrIdlesOutGetsANewConnectionNextTime() async throws {
        try await Self.withServer(idleTimeout: .milliseconds(200)) { port, connections in
            let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let pool = LoopLocalHTTPPool(group: loop)
            #expect(String(buffer: try await Self.post(pool, port: port, path: "/close").body) == "bye")
            #expect(try await Self.post(pool, port: port, path: "/echo", body: "a").status == 200)
            #expect(connections.count == 2)
            // The server closes the idle connection; the pool notices and opens another.
            try await Task.sleep(for: .milliseconds(600))
            #expect(String(buffer: try await Self.post(pool, port: port, path: "/echo", body: "b").body) == "b")
            #expect(connections.count == 3)
            await pool.shutdown()
            try await loop.shutdownGracefully()
        }
    }

    @Test func timeoutsSizeLimitsRefusalsAndCancellationFailFastAndLeaveThePoolUsable() async throws {
        try await Self.withServer { port, _ in
            let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
            let pool = LoopLocalHTTPPool(group: loop)
            let start = ContinuousClock.now
            await #expect(throws: LoopLocalHTTPPool.ExchangeError.timedOut) {
                try await Self.post(pool, port: port, path: "/slow", timeout: .milliseconds(200))
            }
            #expect(ContinuousClock.now - start < .seconds(1.5))
            await #expect(throws: LoopLocalHTTPPool.ExchangeError.responseTooLarge) {
                try await Self.post(pool, port: port, path: "/big", limit: 1000)
            }
            #expect(try await Self.post(pool, port: port, path: "/big", limit: 4096).body.readableBytes == 4096)

            let cancelled = Task { try await Self.post(pool, port: port, path: "/slow") }
            try await Task.sleep(for: .milliseconds(100))
            cancelled.cancel()
            await #expect(throws: LoopLocalHTTPPool.ExchangeError.cancelled) { try await cancelled.value }

            // A non-2xx answer is an answer: status, headers and body come back for the adapter to map.
            let limited = try await Self.post(pool, port: port, path: "/status")
            #expect(limited.status == 429 && limited.headers.first(name: "retry-after") == "7")
            #expect(String(buffer: limited.body).contains("slow down"))

            #expect(String(buffer: try await Self.post(pool, port: port, path: "/echo", body: "still fine").body) == "still fine")
            await pool.shutdown()
            await #expect(throws: LoopLocalHTTPPool.ExchangeError.connectionClosed) {
                try await Self.post(pool, port: port, path: "/echo")
            }
            try await loop.shutdownGracefully()
        }
        // Nothing listens on a port the server has released.
        let closedPort = try await Self.freePort()
        let loop = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = LoopLocalHTTPPool(group: loop)
        await #expect(throws: LoopLocalHTTPPool.ExchangeError.connectFailed) {
            try await Self.post(pool, port: closedPort, path: "/echo")
        }
        try await loop.shutdownGracefully()
    }

    static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(channel.localAddress?.port)
        try await channel.close()
        return port
    }
}
