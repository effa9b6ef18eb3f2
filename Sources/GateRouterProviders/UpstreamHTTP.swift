import AsyncHTTPClient
import GateRouterWire
import Logging
import NIOCore
import NIOHTTP1

/// One upstream POST as an adapter prepared it, with the dialect's mapping of a non-2xx answer to a ``GatewayError``.
struct UpstreamRequest {
    var url: String
    var headers: [(String, String)]
    var body: [UInt8]
    var mapError: (Int, [UInt8], String?) -> GatewayError
}

/// Sends one upstream request and turns every failure into a ``GatewayError``; shared by all adapters.
struct UpstreamHTTP: Sendable {
    let httpClient: HTTPClient
    let requestTimeout: TimeAmount
    let maxResponseBytes: Int
    /// Non-streaming exchanges with plain-HTTP upstreams go through this pool when it is set.
    var exchangePool: LoopLocalHTTPPool?

    func exchange(_ request: UpstreamRequest, provider: String, logger: Logger) async throws -> [UInt8] {
        try await exchange(url: request.url, headers: request.headers, body: request.body, provider: provider, logger: logger, mapError: request.mapError)
    }

    func post(_ request: UpstreamRequest, provider: String, logger: Logger) async throws -> HTTPClientResponse {
        try await post(url: request.url, headers: request.headers, body: request.body, provider: provider, logger: logger, mapError: request.mapError)
    }

    /// POSTs `body` and returns a whole 2xx answer; any other status is mapped with `mapError(status, body, retryAfter)`.
    ///
    /// Plain-HTTP upstreams use the event-loop-local pool; TLS upstreams (and every upstream when no pool is set) use
    /// AsyncHTTPClient.
    func exchange(
        url: String,
        headers: [(String, String)],
        body: [UInt8],
        provider: String,
        logger: Logger,
        mapError: (Int, [UInt8], String?) -> GatewayError
    ) async throws -> [UInt8] {
        guard let exchangePool, let target = PlainHTTPURL(url) else {
            let response = try await post(url: url, headers: headers, body: body, provider: provider, logger: logger, mapError: mapError)
            return try await collect(response, provider: provider)
        }
        var fields = HTTPHeaders()
        fields.reserveCapacity(headers.count + 3)
        fields.add(name: "content-type", value: "application/json")
        for (name, value) in headers { fields.add(name: name, value: value) }
        let answer: LoopLocalHTTPPool.Answer
        do {
            answer = try await exchangePool.post(
                host: target.host, port: target.port, path: target.path, headers: fields, body: ByteBuffer(bytes: body), timeout: requestTimeout,
                maxResponseBytes: maxResponseBytes
            )
        } catch let error as LoopLocalHTTPPool.ExchangeError {
            throw UpstreamErrorMapping.transportError(error, provider: provider)
        }
        let bytes = Array(answer.body.readableBytesView)
        guard (200..<300).contains(answer.status) else {
            throw mapError(answer.status, bytes, answer.headers.first(name: "retry-after"))
        }
        return bytes
    }

    /// POSTs `body` and returns a 2xx response whose body is still streaming; any other status is read (bounded) and
    /// mapped with `mapError(status, body, retryAfter)`.
    func post(
        url: String,
        headers: [(String, String)],
        body: [UInt8],
        provider: String,
        logger: Logger,
        mapError: (Int, [UInt8], String?) -> GatewayError
    ) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response: HTTPClientResponse
        do {
            response = try await httpClient.execute(request, timeout: requestTimeout, logger: logger)
        } catch {
            throw UpstreamErrorMapping.transportError(error, provider: provider)
        }
        guard (200..<300).contains(Int(response.status.code)) else {
            let errorBody = (try? await response.body.collect(upTo: 1 << 20)).map { Array($0.readableBytesView) } ?? []
            throw mapError(Int(response.status.code), errorBody, response.headers.first(name: "retry-after"))
        }
        return response
    }

    /// Reads a whole (non-streaming) response body within the size limit.
    func collect(_ response: HTTPClientResponse, provider: String) async throws -> [UInt8] {
        do {
            return Array(try await response.body.collect(upTo: maxResponseBytes).readableBytesView)
        } catch {
            throw UpstreamErrorMapping.transportError(error, provider: provider)
        }
    }
}

/// One prepared non-streaming exchange with a plain-HTTP upstream.
public struct PlainHTTPExchange: Sendable {
    public var request: PlainHTTPRequest
    /// What the gateway adapted in the client's request (reported in `x-gaterouter-adapted`).
    public var adapted: [String]
}

/// `http://host[:port]/path` split for a direct connection; nil for anything else (TLS, user info, no host).
public struct PlainHTTPURL: Equatable, Sendable {
    public var host: String
    public var port: Int
    public var path: String

    public init(host: String, port: Int, path: String) {
        self.host = host
        self.port = port
        self.path = path
    }

    public init?(_ url: String) {
        guard url.hasPrefix("http://") else { return nil }
        let rest = url.dropFirst("http://".count)
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        guard !authority.isEmpty, !authority.contains("@") else { return nil }
        path = authorityEnd == rest.endIndex ? "/" : (rest[authorityEnd] == "?" ? "/" : "") + String(rest[authorityEnd...])
        if authority.hasPrefix("[") {
            // An IPv6 literal: `[::1]:8000`.
            guard let close = authority.firstIndex(of: "]") else { return nil }
            host = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if after.isEmpty {
                port = 80
            } else {
                guard after.first == ":", let value = Int(after.dropFirst()), (1...65535).contains(value) else { return nil }
                port = value
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = String(authority[..<colon])
            guard let value = Int(authority[authority.index(after: colon)...]), (1...65535).contains(value) else { return nil }
            port = value
        } else {
            host = String(authority)
            port = 80
        }
        guard !host.isEmpty else { return nil }
    }
}
