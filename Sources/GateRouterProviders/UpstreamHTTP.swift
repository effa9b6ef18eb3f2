import AsyncHTTPClient
import GateRouterWire
import Logging
import NIOCore
import NIOHTTP1

/// Sends one upstream request and turns every failure into a ``GatewayError``; shared by all adapters.
struct UpstreamHTTP: Sendable {
    let httpClient: HTTPClient
    let requestTimeout: TimeAmount
    let maxResponseBytes: Int

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
