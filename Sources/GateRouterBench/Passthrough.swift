import AsyncHTTPClient
import Hummingbird
import NIOCore
import NIOHTTP1

/// `gaterouter-bench passthrough PORT UPSTREAM_URL`: the naive gateway design, measured as a reference point.
///
/// It collects the client's body, forwards it to one fixed upstream URL with AsyncHTTPClient, collects the answer and
/// returns it: no authentication, no JSON parsing, no routing, no metering, no logging. The gap between this and the
/// direct path is what the two frameworks cost; the gap between this and GateRouter is what the gateway's own work
/// costs. `scripts/bench.sh` runs it next to GateRouter.
enum Passthrough {
    static func run(port: Int, upstream: String) async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let router = Router()
        let fixed = ByteBuffer(string: #"{"id":"x","object":"chat.completion","choices":[]}"#)
        router.post("/fixed") { request, _ -> Response in
            _ = try await request.body.collect(upTo: 4 << 20)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: fixed))
        }
        router.post("/openai/v1/chat/completions") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 4 << 20)
            var forward = HTTPClientRequest(url: upstream)
            forward.method = .POST
            forward.headers.add(name: "content-type", value: "application/json")
            forward.body = .bytes(body)
            let answer = try await client.execute(forward, timeout: .seconds(30))
            let bytes = try await answer.body.collect(upTo: 16 << 20)
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: bytes))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)))
        try await app.runService()
        try await client.shutdown()
    }
}
