import AsyncHTTPClient
import Foundation
import GateRouterWire
import Logging
import NIOCore
import NIOHTTP1

/// Serves `google/...` models through Gemini's own API (`POST {base}/v1beta/models/{model}:generateContent`, and
/// `:streamGenerateContent?alt=sse` for streams), translating OpenAI Chat Completions both ways.
public struct GeminiAdapter: ProviderAdapter {
    let http: UpstreamHTTP
    /// The largest image downloaded to send inline.
    static let maxImageBytes = 20 << 20

    /// - Parameter exchangePool: when set, non-streaming requests to plain-HTTP upstreams use it (see ``LoopLocalHTTPPool``).
    public init(httpClient: HTTPClient, configuration: OpenAICompatibleAdapter.Configuration = .init(), exchangePool: LoopLocalHTTPPool? = nil) {
        self.http = UpstreamHTTP(
            httpClient: httpClient, requestTimeout: configuration.requestTimeout, maxResponseBytes: configuration.maxResponseBytes, exchangePool: exchangePool
        )
    }

    public func complete(_ call: UpstreamCall, logger: Logger) async throws -> UpstreamCompletion {
        let (request, adapted) = try await prepare(call, stream: false, logger: logger)
        let bytes = try await http.exchange(request, provider: call.target.provider.id, logger: logger)
        guard let message = try? JSONValue.parse(bytes) else { throw GatewayError.upstreamInvalidResponse(provider: call.target.provider.id) }
        let (body, usage) = try GeminiResponseTranslation.completion(
            message, modelID: call.target.modelID, created: Int(Date().timeIntervalSince1970), callIDPrefix: Self.callIDPrefix()
        )
        return UpstreamCompletion(body: body, usage: usage, upstreamModel: message["modelVersion"]?.stringValue ?? call.target.upstreamModel, adapted: adapted)
    }

    public func stream(_ call: UpstreamCall, logger: Logger) async throws -> UpstreamEventStream {
        let (request, adapted) = try await prepare(call, stream: true, logger: logger)
        let response = try await http.post(request, provider: call.target.provider.id, logger: logger)
        let transcoder = GeminiStreamTranscoder(
            modelID: call.target.modelID, created: Int(Date().timeIntervalSince1970), forwardUsage: call.request.wantsStreamUsage, callIDPrefix: Self.callIDPrefix()
        )
        return UpstreamEventStream(body: response.body, transcoder: transcoder, upstreamModel: call.target.upstreamModel, adapted: adapted)
    }

    /// Gemini's function calls carry no id; OpenAI clients need one that is unique within the conversation.
    static func callIDPrefix() -> String {
        "call_" + String(UInt64.random(in: .min ... .max), radix: 36) + "_"
    }

    private func prepare(_ call: UpstreamCall, stream: Bool, logger: Logger) async throws -> (UpstreamRequest, [String]) {
        guard let request = try? JSONValue.parse(call.body.serialized()) else { throw GatewayError.invalidJSON("the body is not valid JSON") }
        let provider = call.target.provider
        let images = try await fetchImages(Self.remoteImageURLs(in: request, baseURL: provider.baseURL), provider: provider.id, logger: logger)
        let translated = try GeminiRequestTranslation.translate(request, upstreamModel: call.target.upstreamModel, model: call.target.catalogModel, fetchedImages: images)
        try call.enforceStrictParams(translated.adapted)
        var headers = [("accept", stream ? "text/event-stream" : "application/json")]
        if let key = provider.apiKey, !key.isEmpty { headers.append(("x-goog-api-key", key)) }
        let model = call.target.upstreamModel.hasPrefix("models/") ? String(call.target.upstreamModel.dropFirst(7)) : call.target.upstreamModel
        let method = stream ? ":streamGenerateContent?alt=sse" : ":generateContent"
        let path = model.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(["/", ":"])) ?? model
        let upstream = UpstreamRequest(url: provider.baseURL + "/v1beta/models/" + path + method, headers: headers, body: translated.body.serialized()) {
            status, body, retryAfter in GeminiResponseTranslation.error(status: status, body: body, retryAfter: retryAfter)
        }
        return (upstream, translated.adapted)
    }

    /// The http(s) image URLs in user messages; Gemini cannot fetch these itself, so the gateway sends them inline.
    /// Files API URLs are Gemini's own and go as `fileData`.
    static func remoteImageURLs(in request: JSONValue, baseURL: String) -> [String] {
        var urls: [String] = []
        for message in request["messages"]?.arrayValue ?? [] {
            for part in message["content"]?.arrayValue ?? [] where part["type"]?.stringValue == "image_url" {
                guard let url = part["image_url"]?["url"]?.stringValue ?? part["image_url"]?.stringValue,
                      url.hasPrefix("http://") || url.hasPrefix("https://"), !url.hasPrefix(baseURL + "/v1beta/files/"),
                      !url.hasPrefix("https://generativelanguage.googleapis.com/"), !urls.contains(url)
                else { continue }
                urls.append(url)
            }
        }
        return urls
    }

    /// Downloads the images concurrently; a URL that cannot be read is the client's error (400), named in the message.
    private func fetchImages(_ urls: [String], provider: String, logger: Logger) async throws -> [String: GeminiInlineImage] {
        guard !urls.isEmpty else { return [:] }
        return try await withThrowingTaskGroup(of: (String, GeminiInlineImage).self) { group in
            for url in urls {
                group.addTask { (url, try await fetchImage(url, logger: logger)) }
            }
            var images: [String: GeminiInlineImage] = [:]
            for try await (url, image) in group { images[url] = image }
            return images
        }
    }

    private func fetchImage(_ url: String, logger: Logger) async throws -> GeminiInlineImage {
        func failure(_ why: String) -> GatewayError {
            .invalidValue("messages", "Could not download the image at '\(url)' to pass it to the Gemini model: \(why).")
        }
        var request = HTTPClientRequest(url: url)
        request.method = .GET
        let response: HTTPClientResponse
        do {
            response = try await http.httpClient.execute(request, timeout: .seconds(30), logger: logger)
        } catch {
            throw failure("the request failed")
        }
        guard response.status.code == 200 else { throw failure("HTTP \(response.status.code)") }
        let mimeType = response.headers.first(name: "content-type")?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) }
            ?? GeminiRequestTranslation.imageMIMEType(forPath: url)
        guard let mimeType, mimeType.hasPrefix("image/") else { throw failure("it is not an image") }
        let bytes: ByteBuffer
        do {
            bytes = try await response.body.collect(upTo: Self.maxImageBytes)
        } catch {
            throw failure("it is larger than \(Self.maxImageBytes >> 20) MiB or the download failed")
        }
        return GeminiInlineImage(mimeType: mimeType, data: Data(bytes.readableBytesView).base64EncodedString())
    }
}
