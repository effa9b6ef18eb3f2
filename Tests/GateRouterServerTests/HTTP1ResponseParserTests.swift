@testable import GateRouterProviders
import NIOCore
import NIOHTTP1
import NIOPosix
import Testing

/// The upstream pool's HTTP/1.1 response reader, fed real response bytes split at every position (a read can end
/// anywhere), and against a raw server whose answers Hummingbird would never send.
@Suite struct HTTP1ResponseParserTests {
    /// What a connection's reads produced: heads, bodies joined per response, ends.
    struct Reading: Equatable {
        var statuses: [Int] = []
        var headers: [[String: String]] = []
        var bodies: [String] = []
        var ends = 0
    }

    /// Feeds `chunks` as successive reads, carrying unconsumed bytes over as the pool's handler does.
    static func read(_ chunks: [String], closeAtEnd: Bool = false) throws -> (Reading, keepAlive: Bool) {
        var parser = HTTP1ResponseParser(maxHeadBytes: 512)
        var reading = Reading()
        var pending: ByteBuffer?
        func take(_ part: HTTP1ResponseParser.Part) {
            switch part {
            case .head(let head):
                reading.statuses.append(head.status)
                reading.headers.append(Dictionary(head.headers.map { ($0.name.lowercased(), $0.value) }, uniquingKeysWith: { $1 }))
                reading.bodies.append("")
            case .body(let body):
                reading.bodies[reading.bodies.count - 1] += String(buffer: body)
            case .end:
                reading.ends += 1
            }
        }
        for chunk in chunks {
            var input = ByteBuffer(string: chunk)
            if var carried = pending {
                pending = nil
                carried.writeBuffer(&input)
                input = carried
            }
            while let part = try parser.next(&input) { take(part) }
            if input.readableBytes > 0 { pending = input }
        }
        if closeAtEnd, parser.connectionClosed() { take(.end) }
        return (reading, parser.keepAlive)
    }

    /// Every way of cutting `bytes` into two reads, and into single bytes.
    static func splits(_ bytes: String) -> [[String]] {
        let characters = Array(bytes.utf8)
        var result: [[String]] = [[bytes], characters.map { String(decoding: [$0], as: UTF8.self) }]
        for cut in 1..<characters.count {
            result.append([String(decoding: characters[..<cut], as: UTF8.self), String(decoding: characters[cut...], as: UTF8.self)])
        }
        return result
    }

    static let lengthFramed = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\nX-Request-ID: a1\r\n\r\n{\"ok\":true}"
    static let chunked =
        "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\nx-empty:\r\n\r\n5;name=value\r\nhello\r\n7\r\n, world\r\n0\r\nx-trailer: 1\r\n\r\n"
    static let interimThenEmpty = "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nServer: t\r\n\r\n"
    static let rateLimited = "HTTP/1.1 429 Too Many Requests\r\nretry-after:   7  \r\ncontent-length: 10\r\n\r\nslow down!"

    @Test func responsesOneAfterAnotherReadTheSameHoweverTheBytesAreCut() throws {
        let stream = Self.lengthFramed + Self.chunked + Self.interimThenEmpty + Self.rateLimited
        let expected = Reading(
            statuses: [200, 201, 204, 429],
            headers: [
                ["content-type": "application/json", "content-length": "11", "x-request-id": "a1"],
                ["transfer-encoding": "chunked", "x-empty": ""],
                ["server": "t"],
                ["retry-after": "7", "content-length": "10"],
            ],
            bodies: ["{\"ok\":true}", "hello, world", "", "slow down!"],
            ends: 4
        )
        for reads in Self.splits(stream) {
            let (reading, keepAlive) = try Self.read(reads)
            #expect(reading == expected, "reads: \(reads.map(\.utf8.count))")
            #expect(keepAlive)
        }
    }

    @Test func anAnswerWithoutLengthEndsWhenTheConnectionCloses() throws {
        let bytes = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nall of this, until the close"
        for reads in Self.splits(bytes) {
            let (reading, keepAlive) = try Self.read(reads, closeAtEnd: true)
            #expect(reading.bodies == ["all of this, until the close"] && reading.ends == 1)
            #expect(!keepAlive)
        }
        // The same bytes without the close: no end yet.
        #expect(try Self.read([bytes]).0.ends == 0)
        // A length-framed answer cut short by the close does not end.
        #expect(try Self.read(["HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\nshort"], closeAtEnd: true).0.ends == 0)
    }

    @Test func theConnectionHeaderAndVersionDecideReuse() throws {
        #expect(try !Self.read(["HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n"]).keepAlive)
        #expect(try !Self.read(["HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"]).keepAlive)
        #expect(try Self.read(["HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n"]).keepAlive)
        // Transfer-Encoding wins over Content-Length.
        let both = try Self.read(["HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"]).0
        #expect(both.bodies == ["ok"] && both.ends == 1)
    }

    @Test(arguments: [
        "HTTP/2 200 OK\r\n\r\n",
        "HTTP/1.1 2x0 OK\r\n\r\n",
        "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nbad name: x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nX: a\nInjected: b\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nokay\r\n",
        "HTTP/1.1 101 Switching Protocols\r\n\r\n",
    ])
    func malformedAnswersAreRefused(_ bytes: String) {
        #expect(throws: HTTP1ResponseParser.ParseError.self) { try Self.read([bytes]) }
    }

    @Test func aHeadLargerThanTheLimitIsRefusedBeforeItEnds() {
        let huge = "HTTP/1.1 200 OK\r\nX-Filler: " + String(repeating: "a", count: 600)
        #expect(throws: HTTP1ResponseParser.ParseError.headTooLarge) { try Self.read([huge]) }
    }

    @Test func theRequestHeadCarriesHostLengthAndHeadersAndRefusesLineBreaks() throws {
        var headers = HTTPHeaders()
        headers.add(name: "Authorization", value: "Bearer k")
        headers.add(name: "Host", value: "ignored")
        headers.add(name: "Content-Length", value: "999")
        let head = try #require(PlainHTTPRequestHead(path: "/v1/chat/completions", host: "127.0.0.1", port: 8080, headers: headers))
        #expect(head.host == "127.0.0.1" && head.port == 8080)
        let body = #"{"model":"m"}"#
        #expect(
            String(buffer: head.request(body: Array(body.utf8)))
                == "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nAuthorization: Bearer k\r\ncontent-length: 13\r\n\r\n" + body
        )
        // The same head serves every request to its upstream: only the length and the body change.
        #expect(String(buffer: head.request(body: ByteBuffer().readableBytesView)).hasSuffix("content-length: 0\r\n\r\n"))
        let standardPort = try #require(PlainHTTPRequestHead(path: "/", host: "upstream", port: 80, headers: [:]))
        #expect(String(buffer: standardPort.request(body: [])).hasPrefix("POST / HTTP/1.1\r\nhost: upstream\r\n"))

        var smuggling = HTTPHeaders()
        smuggling.add(name: "x-note", value: "a\r\nx-admin: yes")
        #expect(PlainHTTPRequestHead(path: "/", host: "h", port: 80, headers: smuggling) == nil)
        #expect(PlainHTTPRequestHead(path: "/a b", host: "h", port: 80, headers: [:]) == nil)
        #expect(PlainHTTPRequestHead(path: "/", host: "h\n", port: 80, headers: [:]) == nil)
        var badName = HTTPHeaders()
        badName.add(name: "x note", value: "v")
        #expect(PlainHTTPRequestHead(path: "/", host: "h", port: 80, headers: badName) == nil)
    }

    @Test func anOpenAICompatibleProviderOverPlainHTTPHasItsHeadsWrittenOnceAndKeptInStepWithItsSettings() throws {
        var settings = ProviderSettings(id: "local", kind: .openAICompatible, baseURL: "http://127.0.0.1:9000/v1", apiKey: "k1", keyVariable: nil, requiresKey: false)
        let heads = try #require(settings.plainHTTPChatHeads)
        let json = String(buffer: heads.json.request(body: []))
        #expect(json.hasPrefix("POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1:9000\r\n"))
        #expect(json.contains("accept: application/json\r\n") && json.contains("authorization: Bearer k1\r\n"))
        #expect(String(buffer: heads.stream.request(body: [])).contains("accept: text/event-stream\r\n"))
        settings.apiKey = "k2"
        #expect(String(buffer: try #require(settings.plainHTTPChatHeads).json.request(body: [])).contains("authorization: Bearer k2\r\n"))
        settings.apiKey = nil
        #expect(!String(buffer: try #require(settings.plainHTTPChatHeads).json.request(body: [])).contains("authorization"))
        // A key that would end the header line early, a TLS URL and another dialect: no plain-HTTP head.
        settings.apiKey = "k\r\nx-admin: yes"
        #expect(settings.plainHTTPChatHeads == nil)
        settings.apiKey = "k"
        settings.baseURL = "https://api.example.com/v1"
        #expect(settings.plainHTTPChatHeads == nil)
        settings.baseURL = "http://127.0.0.1:9000"
        settings.kind = .anthropic
        #expect(settings.plainHTTPChatHeads == nil)
    }

    /// A server that answers each connection's first request with `answer`, byte for byte, then closes (or not).
    static func withRawServer(_ answer: String, close: Bool, _ body: (Int) async throws -> Void) async throws {
        final class Answer: ChannelInboundHandler, Sendable {
            typealias InboundIn = ByteBuffer
            let bytes: String
            let close: Bool
            init(bytes: String, close: Bool) {
                self.bytes = bytes
                self.close = close
            }
            func channelRead(context: ChannelHandlerContext, data: NIOAny) {
                // The whole request fits one read on loopback; answer once per connection.
                context.writeAndFlush(NIOAny(ByteBuffer(string: bytes)), promise: nil)
                if close { context.close(promise: nil) }
            }
        }
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Answer(bytes: answer, close: close)) }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(server.localAddress?.port)
        do {
            try await body(port)
        } catch {
            try await server.close()
            throw error
        }
        try await server.close()
    }

    @Test func thePoolReadsAnswersFramedByCloseAndRefusesGarbage() async throws {
        let pool = LoopLocalHTTPPool()
        try await Self.withRawServer("HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\nuntil close", close: true) { port in
            for _ in 0..<2 {
                let answer = try await pool.post(
                    host: "127.0.0.1", port: port, path: "/", headers: [:], body: ByteBuffer(string: "{}"), timeout: .seconds(5), maxResponseBytes: 1000
                )
                #expect(answer.status == 200 && String(buffer: answer.body) == "until close")
            }
        }
        try await Self.withRawServer("SSH-2.0-OpenSSH\r\n\r\n", close: false) { port in
            await #expect(throws: LoopLocalHTTPPool.ExchangeError.malformedResponse) {
                try await pool.post(host: "127.0.0.1", port: port, path: "/", headers: [:], body: ByteBuffer(), timeout: .seconds(5), maxResponseBytes: 1000)
            }
        }
        var smuggling = HTTPHeaders()
        smuggling.add(name: "x-note", value: "a\r\nx-admin: yes")
        await #expect(throws: LoopLocalHTTPPool.ExchangeError.invalidRequest) {
            try await pool.post(host: "127.0.0.1", port: 1, path: "/", headers: smuggling, body: ByteBuffer(), timeout: .seconds(5), maxResponseBytes: 1000)
        }
        await pool.shutdown()
    }
}
