import NIOCore
import NIOHTTP1

/// A POST's request line, `host` and fixed headers, checked and written out once per upstream rather than on every
/// request: between two requests to one upstream only `content-length` and the body differ.
///
/// Why: writing the head from `HTTPHeaders` for each request (checking every name and value for bytes that could end
/// a line, then writing each string) was 1.3% of the gateway's CPU at 64 connections, and the headers, the
/// `Bearer …` string and a second copy of the body were allocated per request on top.
public struct PlainHTTPRequestHead: Sendable, Equatable {
    public let host: String
    public let port: Int
    /// `host:port`: the idle connections that may carry the request.
    let poolKey: String
    /// Everything before the value of `content-length`, the head's last header.
    let prefix: [UInt8]

    /// Nil when the path or a header holds bytes that could end a line early (a header smuggled into the upstream
    /// request), or a header name is not a token. `host` and `content-length` among `headers` are dropped: the
    /// pool writes its own.
    public init?(path: String, host: String, port: Int, headers: HTTPHeaders) {
        func isSafe(_ text: String) -> Bool {
            !text.utf8.contains { $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") || $0 == 0 }
        }
        guard isSafe(path), !path.utf8.contains(UInt8(ascii: " ")), isSafe(host) else { return nil }
        var head: [UInt8] = []
        head.reserveCapacity(96 + path.utf8.count + host.utf8.count + headers.count * 48)
        head.append(contentsOf: "POST ".utf8)
        head.append(contentsOf: path.utf8)
        head.append(contentsOf: " HTTP/1.1\r\nhost: ".utf8)
        head.append(contentsOf: host.utf8)
        if port != 80 {
            head.append(UInt8(ascii: ":"))
            head.append(contentsOf: String(port).utf8)
        }
        head.append(contentsOf: "\r\n".utf8)
        for (name, value) in headers {
            guard !name.isEmpty, name.utf8.allSatisfy(HTTPSyntax.isTokenByte), isSafe(value) else { return nil }
            if HTTPSyntax.equalsIgnoringCase(name.utf8, "host") || HTTPSyntax.equalsIgnoringCase(name.utf8, "content-length") { continue }
            head.append(contentsOf: name.utf8)
            head.append(contentsOf: ": ".utf8)
            head.append(contentsOf: value.utf8)
            head.append(contentsOf: "\r\n".utf8)
        }
        head.append(contentsOf: "content-length: ".utf8)
        self.host = host
        self.port = port
        self.poolKey = "\(host):\(port)"
        self.prefix = head
    }

    /// The whole request, head and `body`, in one buffer: one write, and the body copied once.
    public func request(body: some Collection<UInt8>) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(prefix.count + 24 + body.count)
        buffer.writeBytes(prefix)
        buffer.writeString(String(body.count))
        buffer.writeStaticString("\r\n\r\n")
        buffer.writeBytes(body)
        return buffer
    }
}

/// A request ready for ``LoopLocalHTTPPool``: where it goes and its bytes.
public struct PlainHTTPRequest: Sendable {
    public var head: PlainHTTPRequestHead
    /// The head, `content-length` and the body.
    public var bytes: ByteBuffer

    public init(head: PlainHTTPRequestHead, body: some Collection<UInt8>) {
        self.head = head
        self.bytes = head.request(body: body)
    }
}
