import GateRouterWire
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// Whole request/response exchanges with plain-HTTP upstreams (a local vLLM, Ollama or sidecar), on keep-alive
/// connections owned by the event loop the caller runs on.
///
/// Why not AsyncHTTPClient here: measured on the 2-core benchmark machine, a Hummingbird route answering a fixed body
/// served 25,000 requests/s, the same route forwarding through AsyncHTTPClient 6,000. Its pool is shared by every event
/// loop behind locks, each request crosses an actor, a deadline task and a streamed response body. A non-streaming
/// completion needs none of that: this pool keeps one idle list per event loop (touched only on that loop, so no
/// locks), writes head and body in one flush, collects the answer in the channel handler, and resumes the caller once.
///
/// Streams can use it too, from the gateway's event-loop fast path: a ``StreamReceiver`` gets a 2xx answer's body as it
/// arrives. TLS upstreams stay on AsyncHTTPClient (`UpstreamHTTP` chooses).
public final class LoopLocalHTTPPool: Sendable {
    public struct Configuration: Sendable {
        public var connectTimeout: TimeAmount
        /// Idle connections kept per upstream host and event loop; more are closed when returned.
        public var maxIdlePerHost: Int
        /// The longest silence allowed between the request and the answer's first byte, and between any two reads
        /// after it (`upstream.idle_timeout_seconds`, as AsyncHTTPClient's read timeout on the other path). Time when
        /// the reader has paused the answer does not count. Nil: only the exchange's own timeout.
        public var idleReadTimeout: TimeAmount?

        public init(connectTimeout: TimeAmount = .seconds(10), maxIdlePerHost: Int = 256, idleReadTimeout: TimeAmount? = nil) {
            self.connectTimeout = connectTimeout
            self.maxIdlePerHost = maxIdlePerHost
            self.idleReadTimeout = idleReadTimeout
        }
    }

    /// A whole upstream answer.
    public struct Answer: Sendable {
        public var status: Int { head.status }
        /// Read from the answer's bytes when asked (see ``UpstreamResponseHead``).
        public var headers: HTTPHeaders { head.headers }
        public var head: UpstreamResponseHead
        public var body: ByteBuffer
    }

    public enum ExchangeError: Error, Equatable {
        case connectFailed
        case connectionClosed
        case timedOut
        /// The upstream was silent longer than ``Configuration/idleReadTimeout``.
        case idleTimeout
        case responseTooLarge
        case cancelled
        /// The upstream's answer is not HTTP/1.1 this pool can read.
        case malformedResponse
        /// The path or a header would break the request's head (a CR or LF in it).
        case invalidRequest
    }

    private let group: any EventLoopGroup
    private let configuration: Configuration
    private let loops: [ObjectIdentifier: NIOLoopBoundBox<IdleConnections>]
    /// Read by every exchange: an atomic, not a lock.
    private let closed = Atomic(false)

    public init(group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, configuration: Configuration = .init()) {
        self.group = group
        self.configuration = configuration
        var loops: [ObjectIdentifier: NIOLoopBoundBox<IdleConnections>] = [:]
        for loop in group.makeIterator() {
            loops[ObjectIdentifier(loop)] = NIOLoopBoundBox.makeBoxSendingValue(IdleConnections(), eventLoop: loop)
        }
        self.loops = loops
    }

    /// POSTs `body` to `host:port` `path` and returns the whole answer, at most `maxResponseBytes` of body, within
    /// `timeout`. Cancelling the calling task closes the connection and throws ``ExchangeError/cancelled``.
    public func post(
        host: String, port: Int, path: String, headers: HTTPHeaders, body: ByteBuffer, timeout: TimeAmount, maxResponseBytes: Int
    ) async throws -> Answer {
        // `any()` is the caller's own loop when it runs on one (the gateway runs its tasks on the event loops).
        let loop = group.any()
        let cancelled = NIOLockedValueBox<Exchange?>(nil)
        return try await withTaskCancellationHandler {
            try await post(on: loop, host: host, port: port, path: path, headers: headers, body: body, timeout: timeout, maxResponseBytes: maxResponseBytes) {
                exchange in cancelled.withLockedValue { $0 = exchange }
            }.get()
        } onCancel: {
            loop.execute { cancelled.withLockedValue { $0 }?.fail(.cancelled) }
        }
    }

    /// The same exchange for a caller already on `loop`: the answer arrives as a future on that loop. `started` sees
    /// each exchange begin, so that a caller can cancel it.
    ///
    /// With a `receiver`, a 2xx answer's body goes to it part by part as it arrives, and the future (with an empty
    /// body) completes at its end; other answers are collected whole, as without one.
    public func post(
        on loop: any EventLoop, host: String, port: Int, path: String, headers: HTTPHeaders, body: ByteBuffer, timeout: TimeAmount,
        maxResponseBytes: Int, receiver: (any StreamReceiver)? = nil, started: @escaping @Sendable (Exchange) -> Void = { _ in }
    ) -> EventLoopFuture<Answer> {
        guard let head = PlainHTTPRequestHead(path: path, host: host, port: port, headers: headers) else {
            return loop.makeFailedFuture(ExchangeError.invalidRequest)
        }
        return post(
            on: loop, PlainHTTPRequest(head: head, body: body.readableBytesView), timeout: timeout, maxResponseBytes: maxResponseBytes,
            receiver: receiver, started: started
        )
    }

    /// The same for a request whose head was prepared once for its upstream (see ``PlainHTTPRequestHead``).
    public func post(
        on loop: any EventLoop, _ request: PlainHTTPRequest, timeout: TimeAmount, maxResponseBytes: Int, receiver: (any StreamReceiver)? = nil,
        started: @escaping @Sendable (Exchange) -> Void = { _ in }
    ) -> EventLoopFuture<Answer> {
        let promise = loop.makePromise(of: Answer.self)
        post(on: loop, request, timeout: timeout, maxResponseBytes: maxResponseBytes, receiver: receiver, started: started) { result in
            promise.completeWith(result.mapError { $0 })
        }
        return promise.futureResult
    }

    /// The exchange for the gateway's event-loop fast path, for a request whose head was prepared once for its
    /// upstream (see ``PlainHTTPRequestHead``): `completion` gets the answer (or the failure) on `loop`, once. A
    /// callback rather than a future: a request's chain of futures cost more than the pool's own work.
    public func post(
        on loop: any EventLoop, _ request: PlainHTTPRequest, timeout: TimeAmount, maxResponseBytes: Int, receiver: (any StreamReceiver)? = nil,
        started: @escaping @Sendable (Exchange) -> Void = { _ in }, completion: @escaping @Sendable (Result<Answer, ExchangeError>) -> Void
    ) {
        guard let idle = loops[ObjectIdentifier(loop)] else { return completion(.failure(.connectFailed)) }
        let request = Request(head: request.head, bytes: request.bytes, timeout: timeout)
        let limit = configuration.maxIdlePerHost
        let attempt = { @Sendable (reuse: Bool, then: @escaping @Sendable (Exchange, Result<Answer, ExchangeError>) -> Void) in
            let exchange = Exchange(maxResponseBytes: maxResponseBytes, loop: loop, receiver: receiver) { exchange, result in
                // Back to this loop's idle list when the upstream keeps the connection open, before the caller hears of it.
                if case .success = result, let connection = exchange.connection, connection.reusable {
                    idle.value.put(connection, key: request.head.poolKey, limit: limit)
                }
                then(exchange, result)
            }
            started(exchange)
            self.start(exchange, on: loop, idle: idle, request: request, reuse: reuse)
        }
        attempt(true) { first, result in
            // An idle connection the upstream closed just as it was reused, before a byte of answer came back: the
            // request was not served, so it goes once more on a new connection.
            guard case .failure(.connectionClosed) = result, first.reused, !first.answerStarted else { return completion(result) }
            attempt(false) { _, result in completion(result) }
        }
    }

    /// What one POST sends, whichever connection carries it.
    private struct Request: Sendable {
        var head: PlainHTTPRequestHead
        /// The head and the body, written in one go.
        var bytes: ByteBuffer
        var timeout: TimeAmount
    }

    private func start(_ exchange: Exchange, on loop: any EventLoop, idle: NIOLoopBoundBox<IdleConnections>, request: Request, reuse: Bool) {
        let begin = { @Sendable [configuration] in
            guard !self.closed.load(ordering: .relaxed) else {
                exchange.fail(.connectionClosed)
                return
            }
            exchange.startTimer(deadline: .now() + request.timeout, idleTimeout: configuration.idleReadTimeout)
            if reuse, let connection = idle.value.take(request.head.poolKey) {
                exchange.reused = true
                connection.send(exchange, request: request.bytes)
                return
            }
            Self.connect(on: loop, host: request.head.host, port: request.head.port, configuration: configuration).whenComplete { result in
                switch result {
                case .success(let connection):
                    connection.send(exchange, request: request.bytes)
                case .failure:
                    exchange.fail(.connectFailed)
                }
            }
        }
        if loop.inEventLoop { begin() } else { loop.execute(begin) }
    }

    /// Closes the idle connections and refuses new exchanges (in-flight ones finish).
    public func shutdown() async {
        closed.store(true, ordering: .relaxed)
        for loop in group.makeIterator() {
            guard let idle = loops[ObjectIdentifier(loop)] else { continue }
            try? await loop.submit { idle.value.closeAll() }.get()
        }
    }

    private static func connect(on loop: any EventLoop, host: String, port: Int, configuration: Configuration) -> EventLoopFuture<Connection> {
        ClientBootstrap(group: loop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ExchangeHandler())
                }
            }
            .connect(host: host, port: port)
            .flatMapThrowing { channel in
                let handler = try channel.pipeline.syncOperations.handler(type: ExchangeHandler.self)
                return Connection(channel: channel, handler: handler)
            }
    }
}

/// One keep-alive connection: its channel and the handler that collects answers on it. Used on its loop only.
final class Connection {
    let channel: any Channel
    let handler: ExchangeHandler

    init(channel: any Channel, handler: ExchangeHandler) {
        self.channel = channel
        self.handler = handler
    }

    var reusable: Bool { channel.isActive && handler.keepAlive && handler.current == nil }

    func send(_ exchange: Exchange, request: ByteBuffer) {
        guard !exchange.isFinished else {
            // Timed out or cancelled while connecting: the fresh connection can still serve the next exchange.
            return
        }
        exchange.connection = self
        handler.start(exchange)
        channel.writeAndFlush(request, promise: nil)
    }
}

/// Receives a streamed 2xx answer on the connection's event loop (see ``LoopLocalHTTPPool/post(on:host:port:path:headers:body:timeout:maxResponseBytes:receiver:started:)``).
public protocol StreamReceiver: AnyObject, Sendable {
    /// The answer's head, before any of its body.
    func received(head: UpstreamResponseHead)
    /// One part of the body, as it arrived.
    func received(body: ByteBuffer)
    /// The end of a read burst: no more parts until the socket is readable again, so a receiver can write what the
    /// burst produced at once.
    func receivedAllAvailable()
}

/// One exchange in flight: the caller's completion, called once, on the connection's loop.
public final class Exchange: @unchecked Sendable, NIOScheduledCallbackHandler {
    // Unchecked: every field is read and written on `loop` only (the pool's start closure, the channel handler, the
    // timer and the cancellation hop all run there).
    let maxResponseBytes: Int
    let loop: any EventLoop
    var connection: Connection?
    /// The connection came from the idle list, and whether any of the answer has arrived on it.
    var reused = false
    var answerStarted = false
    private(set) var isFinished = false
    /// The reader asked for no more of the answer for now (see ``pauseReading(_:)``).
    private(set) var readingPaused = false
    /// When the request went out or the upstream last sent something (nil while connecting).
    var lastActivity: NIODeadline?
    /// The one timer of this exchange: the whole exchange's deadline and the idle limit both, moved forward only when
    /// it fires (re-arming on every read of a stream would cost more than the reads). A scheduled callback with this
    /// exchange as its handler: no promise or closure per exchange.
    private var timer: NIOScheduledCallback?
    private var deadline = NIODeadline.distantFuture
    private var idleTimeout: TimeAmount?
    /// Released when the exchange finishes: a receiver usually holds its exchange (to pause or cancel it), and the
    /// pair would otherwise keep each other alive after the answer.
    private(set) var receiver: (any StreamReceiver)?
    /// A 2xx answer whose body goes to `receiver`.
    var streaming = false
    /// Called once when the exchange ends, then released.
    private var completion: ((Exchange, Result<LoopLocalHTTPPool.Answer, LoopLocalHTTPPool.ExchangeError>) -> Void)?

    init(
        maxResponseBytes: Int, loop: any EventLoop, receiver: (any StreamReceiver)? = nil,
        completion: @escaping (Exchange, Result<LoopLocalHTTPPool.Answer, LoopLocalHTTPPool.ExchangeError>) -> Void
    ) {
        self.maxResponseBytes = maxResponseBytes
        self.loop = loop
        self.receiver = receiver
        self.completion = completion
    }

    /// Stops (or resumes) reading the answer, for a reader that cannot keep up. Call on its loop.
    public func pauseReading(_ paused: Bool) {
        guard let connection, connection.channel.isActive else { return }
        readingPaused = paused
        // A pause is the reader's silence, not the upstream's: the idle clock starts again from here.
        if lastActivity != nil { lastActivity = .now() }
        try? connection.channel.syncOptions?.setOption(ChannelOptions.autoRead, value: !paused)
    }

    /// Fails the exchange at `deadline`, or once the upstream has been silent for `idleTimeout` after the request went
    /// out (time paused by the reader aside).
    func startTimer(deadline: NIODeadline, idleTimeout: TimeAmount?) {
        self.deadline = deadline
        self.idleTimeout = idleTimeout
        armTimer()
    }

    private func armTimer() {
        let next = idleTimeout.map { min(deadline, (lastActivity ?? .now()) + $0) } ?? deadline
        // Throws only when the loop is shutting down, and then nothing waits for this exchange.
        timer = try? loop.scheduleCallback(at: next, handler: self)
    }

    public func handleScheduledCallback(eventLoop: some EventLoop) {
        timer = nil
        guard !isFinished else { return }
        let now = NIODeadline.now()
        if now >= deadline { return fail(.timedOut) }
        if let idleTimeout, let last = lastActivity {
            if readingPaused {
                lastActivity = now
            } else if now - last >= idleTimeout {
                return fail(.idleTimeout)
            }
        }
        armTimer()
    }

    func succeed(_ answer: LoopLocalHTTPPool.Answer) {
        finish(.success(answer))
    }

    /// Fails the exchange; a connection with a half-read answer cannot be reused, so it is closed. Call on its loop.
    public func fail(_ error: LoopLocalHTTPPool.ExchangeError) {
        guard !isFinished else { return }
        if let connection, connection.handler.current === self {
            connection.handler.current = nil
            connection.handler.keepAlive = false
            connection.channel.close(promise: nil)
        }
        finish(.failure(error))
    }

    private func finish(_ result: Result<LoopLocalHTTPPool.Answer, LoopLocalHTTPPool.ExchangeError>) {
        guard !isFinished else { return }
        isFinished = true
        receiver = nil
        timer?.cancel()
        timer = nil
        let completion = completion
        self.completion = nil
        completion?(self, result)
    }
}

/// Reads one HTTP/1.1 answer at a time (see ``HTTP1ResponseParser``) and collects it into a single buffer, or hands a
/// streamed 2xx body to the exchange's receiver.
final class ExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer

    var current: Exchange?
    var keepAlive = true
    private var parser = HTTP1ResponseParser()
    /// Bytes of a head or line that has not arrived whole.
    private var pending: ByteBuffer?
    private var head: UpstreamResponseHead?
    private var body: ByteBuffer?

    func start(_ exchange: Exchange) {
        current = exchange
        head = nil
        body = nil
        exchange.lastActivity = .now()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var input = unwrapInboundIn(data)
        guard current != nil else {
            // Bytes nobody asked for: the connection's framing cannot be trusted any more.
            keepAlive = false
            context.close(promise: nil)
            return
        }
        if var carried = pending {
            pending = nil
            carried.writeBuffer(&input)
            input = carried
        }
        do {
            while let part = try parser.next(&input) {
                guard let exchange = current else {
                    keepAlive = false
                    context.close(promise: nil)
                    return
                }
                received(part, for: exchange, context: context)
            }
        } catch {
            keepAlive = false
            current?.fail(.malformedResponse)
            context.close(promise: nil)
            return
        }
        if input.readableBytes > 0 { pending = input }
    }

    private func received(_ part: HTTP1ResponseParser.Part, for exchange: Exchange, context: ChannelHandlerContext) {
        exchange.lastActivity = .now()
        switch part {
        case .head(let responseHead):
            exchange.answerStarted = true
            head = responseHead
            keepAlive = parser.keepAlive
            if let receiver = exchange.receiver, (200..<300).contains(responseHead.status) {
                exchange.streaming = true
                receiver.received(head: responseHead)
                // Nothing reads a stream's headers after this: let go of the read buffer they are a slice of.
                head = UpstreamResponseHead(status: responseHead.status, headerLines: ByteBuffer())
            }
        case .body(let part) where exchange.streaming:
            exchange.receiver?.received(body: part)
        case .body(var part):
            if body == nil {
                body = part
            } else {
                body?.writeBuffer(&part)
            }
            if (body?.readableBytes ?? 0) > exchange.maxResponseBytes { exchange.fail(.responseTooLarge) }
        case .end:
            guard let head else {
                exchange.fail(.connectionClosed)
                return
            }
            current = nil
            self.head = nil
            let body = body ?? ByteBuffer()
            self.body = nil
            if !keepAlive { context.close(promise: nil) }
            exchange.succeed(.init(head: head, body: body))
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if let exchange = current, exchange.streaming { exchange.receiver?.receivedAllAvailable() }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        keepAlive = false
        // An answer framed by the connection's close ends here; any other is cut short.
        if parser.connectionClosed(), let exchange = current {
            received(.end, for: exchange, context: context)
        }
        current?.fail(.connectionClosed)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        keepAlive = false
        current?.fail(.connectionClosed)
        context.close(promise: nil)
    }
}

/// A loop's idle connections by `host:port`, newest last (reused first, so the older ones can time out upstream).
final class IdleConnections {
    private var byHost: [String: [Connection]] = [:]

    func take(_ key: String) -> Connection? {
        while let connection = byHost[key]?.popLast() {
            if connection.channel.isActive { return connection }
        }
        return nil
    }

    func put(_ connection: Connection, key: String, limit: Int) {
        guard byHost[key, default: []].count < limit else {
            connection.channel.close(promise: nil)
            return
        }
        byHost[key, default: []].append(connection)
    }

    func closeAll() {
        for connection in byHost.values.joined() { connection.channel.close(promise: nil) }
        byHost = [:]
    }
}
