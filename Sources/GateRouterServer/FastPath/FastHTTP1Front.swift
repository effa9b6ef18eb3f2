import GateRouterProviders
import HTTPTypes
import NIOCore
import NIOHTTP1

/// The first handler of a client connection: reads `POST /openai/v1/chat/completions` requests straight from the
/// socket's bytes, has ``FastChatCompletions`` answer them, and writes the answers' bytes itself.
///
/// Why: measured on the 2-core benchmark machine, NIO's HTTP/1 decoder and encoder, the conversion to and from
/// `HTTPTypes` and Hummingbird's connection-state handler cost about 40 µs of CPU per request, a sixth of the gateway's
/// whole cost, against under 10 µs for a relay that copies the same bytes. A chat completion needs little of that
/// machinery: one request line, a few headers, a `Content-Length` body, one answer.
///
/// Anything else goes to Hummingbird, and stays there: at the first request this handler does not take (another route,
/// a chunked or `Expect` body, HTTP/1.0, a head it cannot read, a request the engine declines), it installs Hummingbird's
/// HTTP handlers behind itself (``GatewayHTTP1Channel/addHTTPHandlers``) and from then on passes every byte through,
/// that request's first. Until then it keeps Hummingbird's promises itself: requests answered in order, `Connection:
/// close` honoured, idle connections closed after the client idle timeout, and on graceful shutdown an idle connection
/// closed at once and a busy one after its answer.
final class FastHTTP1Front: ChannelDuplexHandler, RemovableChannelHandler, FastStreamOutput {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        /// Between requests, or reading one's head.
        case idle
        /// The head (`headLength` bytes) is read and checked; waiting for the body.
        case body(HTTPRequest, headLength: Int, bodyLength: Int)
        /// The engine is answering request `number`; bytes that arrive wait in `input`.
        case answering(number: Int)
        case streaming(FastChatStream, number: Int)
        /// Every byte goes to Hummingbird's handlers.
        case passing
    }

    private let engine: FastChatCompletions
    /// The client's address as the log line writes it, formatted once per connection.
    private let peerAddress: String?
    private let idleTimeout: TimeAmount?
    /// Adds Hummingbird's HTTP handlers right behind this one.
    private let addHTTPHandlers: (ChannelHandlerContext) throws -> Void
    private var state = State.idle
    /// Bytes read and not yet consumed: the start of the next request.
    private var input: ByteBuffer?
    private var context: ChannelHandlerContext?
    private var requestNumber = 0
    private var closeAfterAnswer = false
    /// The connection closes once its last answer is written: bytes read meanwhile are not requests to answer.
    private var closing = false
    private var quiescing = false
    /// A streamed answer's body goes out in chunks (it has no `Content-Length`).
    private var chunked = false
    private var lastActivity = NIODeadline.now()
    private var idleCheck: Scheduled<Void>?

    /// The longest head read here; a longer one goes to Hummingbird, whose limits decide.
    static let maxHeadBytes = 16 * 1024

    init(engine: FastChatCompletions, peer: SocketAddress?, idleTimeout: TimeAmount?, addHTTPHandlers: @escaping (ChannelHandlerContext) throws -> Void) {
        self.engine = engine
        self.peerAddress = peer?.ipAddress
        self.idleTimeout = idleTimeout
        self.addHTTPHandlers = addHTTPHandlers
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        scheduleIdleCheck(context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        self.context = nil
    }

    // MARK: - Reading requests

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .passing = state { return context.fireChannelRead(data) }
        guard !closing else { return }
        var bytes = unwrapInboundIn(data)
        lastActivity = .now()
        if var carried = input {
            input = nil
            carried.writeBuffer(&bytes)
            input = carried
        } else {
            input = bytes
        }
        readRequests(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if case .passing = state { context.fireChannelReadComplete() }
    }

    /// Reads and answers what `input` holds, until a request is incomplete or being answered.
    private func readRequests(context: ChannelHandlerContext) {
        while var buffer = input, buffer.readableBytes > 0 {
            switch state {
            case .answering, .streaming, .passing:
                return
            case .idle:
                guard let headLength = buffer.withUnsafeReadableBytes(HTTPSyntax.headLength) else {
                    if buffer.readableBytes > Self.maxHeadBytes { passToHummingbird(context: context) }
                    return
                }
                guard let (head, bodyLength, closes) = readHead(buffer, length: headLength) else {
                    return passToHummingbird(context: context)
                }
                closeAfterAnswer = closes
                state = .body(head, headLength: headLength, bodyLength: bodyLength)
            case .body(let head, let headLength, let bodyLength):
                guard buffer.readableBytes >= headLength + bodyLength else { return }
                // The request's bytes stay whole until the engine takes it: a request it declines goes to Hummingbird as read.
                guard let request = buffer.readSlice(length: headLength + bodyLength),
                      let body = request.getSlice(at: request.readerIndex + headLength, length: bodyLength)
                else { return }
                input = buffer.readableBytes > 0 ? buffer : nil
                answer(head, body: body, request: request, context: context)
            }
        }
    }

    private func answer(_ head: HTTPRequest, body: ByteBuffer, request: ByteBuffer, context: ChannelHandlerContext) {
        requestNumber += 1
        let number = requestNumber
        state = .answering(number: number)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let handling = engine.handle(head, body: body, peerAddress: peerAddress, on: context.eventLoop, output: self) { answer in
            let (front, context) = loopBound.value
            front.write(answer, context: context)
        }
        switch handling {
        case nil:
            // Declined: Hummingbird answers this request and every later one.
            var bytes = request
            if var rest = input { bytes.writeBuffer(&rest) }
            input = bytes
            passToHummingbird(context: context)
        case .answering:
            break
        case .stream(let stream):
            // A stream refused at once has ended already; then the state has moved on.
            if case .answering(number) = state { state = .streaming(stream, number: number) }
        }
    }

    /// The request this handler answers itself: `POST /openai/v1/chat/completions HTTP/1.1` with a `Content-Length`
    /// body no larger than the limit, no transfer coding, `Expect` or upgrade, and headers the engine would take.
    /// Nil for anything else (Hummingbird answers it, errors included).
    private func readHead(_ buffer: ByteBuffer, length: Int) -> (HTTPRequest, bodyLength: Int, closes: Bool)? {
        let requestLine = "POST \(FastChatCompletions.path) HTTP/1.1\r\n".utf8
        let parsed = buffer.withUnsafeReadableBytes { bytes -> (HTTPFields, authority: String?, bodyLength: Int, closes: Bool)? in
            guard bytes.starts(with: requestLine) else { return nil }
            // Only the fields the engine reads (`FastChatCompletions.mayAnswer` and `candidate`: authorization, origin,
            // x-forwarded-for) are kept: building the others would cost a string or two each, for nothing.
            var fields = HTTPFields()
            var authority: String?
            var bodyLength: Int?
            var closes = false
            var position = requestLine.count
            let end = length - 2
            while position < end {
                var lineEnd = position
                while lineEnd < end, bytes[lineEnd] != UInt8(ascii: "\r") { lineEnd += 1 }
                guard lineEnd < end, bytes[lineEnd + 1] == UInt8(ascii: "\n") else { return nil }
                let line = UnsafeRawBufferPointer(rebasing: bytes[position..<lineEnd])
                position = lineEnd + 2
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")), colon > 0 else { return nil }
                let value = UnsafeRawBufferPointer(rebasing: HTTPSyntax.trimmingWhitespace(line[(colon + 1)...]))
                let name = UnsafeRawBufferPointer(rebasing: line[0..<colon])
                guard !value.contains(UInt8(ascii: "\n")), name.allSatisfy(HTTPSyntax.isTokenByte) else { return nil }
                switch Self.field(named: name) {
                case .contentLength:
                    guard bodyLength == nil, !value.isEmpty, value.count <= 12,
                          value.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
                    else { return nil }
                    bodyLength = value.reduce(0) { $0 * 10 + Int($1 - UInt8(ascii: "0")) }
                case .refused:
                    return nil
                case .connection:
                    if HTTPSyntax.containsIgnoringCase(value, "upgrade") { return nil }
                    if HTTPSyntax.containsIgnoringCase(value, "close") { closes = true }
                case .host:
                    guard authority == nil else { return nil }
                    authority = String(decoding: value, as: UTF8.self)
                case .read(let name):
                    fields.append(HTTPField(name: name, value: String(decoding: value, as: UTF8.self)))
                case .other:
                    break
                }
            }
            guard let bodyLength else { return nil }
            return (fields, authority, bodyLength, closes)
        }
        guard let parsed, parsed.bodyLength <= engine.maxRequestBodyBytes else { return nil }
        let head = HTTPRequest(method: .post, scheme: nil, authority: parsed.authority, path: FastChatCompletions.path, headerFields: parsed.0)
        guard engine.mayAnswer(head) else { return nil }
        return (head, parsed.bodyLength, parsed.closes)
    }

    private enum Field {
        case contentLength, connection, host
        /// Framing or protocol changes this handler leaves to Hummingbird: `Transfer-Encoding`, `TE`, `Expect`, `Upgrade`.
        case refused
        /// A field the engine reads.
        case read(HTTPField.Name)
        case other
    }

    /// Which field a header line's name is, compared without case and without making a string.
    private static func field(named name: UnsafeRawBufferPointer) -> Field {
        func named(_ lowercase: StaticString) -> Bool { HTTPSyntax.equalsIgnoringCase(name, lowercase) }
        switch name.count {
        case 2 where named("te"): return .refused
        case 4 where named("host"): return .host
        case 6 where named("expect"): return .refused
        case 6 where named("origin"): return .read(.origin)
        case 7 where named("upgrade"): return .refused
        case 10 where named("connection"): return .connection
        case 13 where named("authorization"): return .read(.authorization)
        case 14 where named("content-length"): return .contentLength
        case 15 where named("x-forwarded-for"): return .read(.xForwardedFor)
        case 17 where named("transfer-encoding"): return .refused
        default: return .other
        }
    }

    /// From here on Hummingbird reads this connection: its handlers go in behind this one and get the unread bytes.
    private func passToHummingbird(context: ChannelHandlerContext) {
        state = .passing
        idleCheck?.cancel()
        idleCheck = nil
        do {
            try addHTTPHandlers(context)
        } catch {
            context.close(promise: nil)
            return
        }
        if let bytes = input {
            input = nil
            context.fireChannelRead(wrapInboundOut(bytes))
            context.fireChannelReadComplete()
        }
    }

    // MARK: - Writing answers

    private func write(_ answer: FastChatCompletions.Answer, context: ChannelHandlerContext) {
        // Head and body in one buffer: one write through the channel instead of two, for the price of copying a
        // body of a few hundred bytes.
        var body = answer.body
        var bytes = Self.encode(answer.head, chunked: false, allocator: context.channel.allocator, reserving: body.readableBytes)
        bytes.writeBuffer(&body)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(bytes), promise: written)
        written.futureResult.whenComplete { outcome in
            if case .failure = outcome { answer.written(false) } else { answer.written(true) }
        }
        answered(context: context, lastWrite: written.futureResult)
    }

    /// The answer in flight is out: close if asked to (once `lastWrite` is done), else read the requests that waited.
    private func answered(context: ChannelHandlerContext, lastWrite: EventLoopFuture<Void>) {
        lastActivity = .now()
        if closeAfterAnswer || quiescing {
            state = .idle
            input = nil
            closing = true
            // After the answer's last byte: a close before it would drop what NIO still holds for a full socket.
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            lastWrite.whenComplete { _ in loopBound.value.close(promise: nil) }
            return
        }
        state = .idle
        guard input != nil else { return }
        // Later, not inside the engine's callback (which may be inside `answer(…)` still, for a refusal).
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let (front, context) = loopBound.value
            if case .idle = front.state { front.readRequests(context: context) }
        }
    }

    /// `HTTP/1.1 <status>` and the header lines; a head without `Content-Length` announces chunked transfer coding.
    static func encode(_ head: HTTPResponse, chunked: Bool, allocator: ByteBufferAllocator, reserving bodyBytes: Int = 0) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 512 + bodyBytes)
        buffer.writeStaticString("HTTP/1.1 ")
        buffer.writeString(String(head.status.code))
        buffer.writeStaticString(" ")
        // HTTPTypes' statuses made from a code carry no reason phrase; the standard one goes out, as Hummingbird sends it.
        buffer.writeString(head.status.reasonPhrase.isEmpty ? HTTPResponseStatus(statusCode: head.status.code).reasonPhrase : head.status.reasonPhrase)
        buffer.writeStaticString("\r\n")
        for field in head.headerFields {
            buffer.writeString(field.name.rawName)
            buffer.writeStaticString(": ")
            buffer.writeString(field.value)
            buffer.writeStaticString("\r\n")
        }
        if chunked { buffer.writeStaticString("transfer-encoding: chunked\r\n") }
        buffer.writeStaticString("\r\n")
        return buffer
    }

    // MARK: - A stream's output

    func writeHead(_ head: HTTPResponse) {
        guard let context else { return }
        chunked = !head.headerFields.contains(.contentLength)
        context.write(wrapOutboundOut(Self.encode(head, chunked: chunked, allocator: context.channel.allocator)), promise: nil)
    }

    func writeBody(_ body: ByteBuffer) {
        guard let context, body.readableBytes > 0 else { return }
        if chunked {
            // One buffer per chunk: the events are small, and copying one is cheaper than three writes.
            var body = body
            var chunk = context.channel.allocator.buffer(capacity: body.readableBytes + 12)
            chunk.writeString(String(body.readableBytes, radix: 16))
            chunk.writeStaticString("\r\n")
            chunk.writeBuffer(&body)
            chunk.writeStaticString("\r\n")
            context.writeAndFlush(wrapOutboundOut(chunk), promise: nil)
        } else {
            context.writeAndFlush(wrapOutboundOut(body), promise: nil)
        }
    }

    func endResponse() {
        guard let context else { return }
        // An empty write after the last chunk still completes only once everything before it is written.
        let ended = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(chunked ? ByteBuffer(staticString: "0\r\n\r\n") : ByteBuffer()), promise: ended)
        chunked = false
        answered(context: context, lastWrite: ended.futureResult)
    }

    // MARK: - The connection

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .streaming(let stream, _) = state { stream.clientWritabilityChanged(writable: context.channel.isWritable) }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        idleCheck?.cancel()
        idleCheck = nil
        if case .streaming(let stream, _) = state {
            state = .idle
            input = nil
            stream.clientLeft()
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ChannelShouldQuiesceEvent, !isPassing else { return context.fireUserInboundEventTriggered(event) }
        // Graceful shutdown: an idle connection closes now, a busy one after its answer.
        quiescing = true
        switch state {
        case .idle, .body:
            // A request only partly read has not been taken: the client sends it again elsewhere.
            context.close(promise: nil)
        case .answering, .streaming, .passing:
            break
        }
    }

    private var isPassing: Bool {
        if case .passing = state { return true }
        return false
    }

    /// Closes the connection once it has been idle (no request read or answered) for the client idle timeout.
    private func scheduleIdleCheck(context: ChannelHandlerContext) {
        guard let idleTimeout else { return }
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        idleCheck = context.eventLoop.scheduleTask(deadline: lastActivity + idleTimeout) {
            let (front, context) = loopBound.value
            front.idleCheck = nil
            switch front.state {
            case .passing:
                return
            case .idle, .body:
                // Between requests, or a request arriving too slowly to finish within the timeout.
                guard NIODeadline.now() - front.lastActivity < idleTimeout else { return context.close(promise: nil) }
                front.scheduleIdleCheck(context: context)
            case .answering, .streaming:
                // Busy: idle time starts when the answer ends.
                front.lastActivity = .now()
                front.scheduleIdleCheck(context: context)
            }
        }
    }
}
