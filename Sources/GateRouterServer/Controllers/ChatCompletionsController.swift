import GateRouterCatalog
import GateRouterProviders
import HTTPTypes
import GateRouterRouting
import GateRouterStorage
import GateRouterWire
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// `POST /openai/v1/chat/completions`: validate, resolve the model, call the upstream, answer in OpenAI's shape.
struct ChatCompletionsController: Sendable {
    let resolver: ModelResolver
    let adapters: ProviderAdapters
    let authCache: AuthCache
    let metrics: GatewayMetrics
    let maxRequestBodyBytes: Int

    func addRoutes(to group: RouterGroup<GatewayRequestContext>) {
        group.post("/chat/completions") { request, context in
            try await self.create(request, context: context)
        }
    }

    func create(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        let start = ContinuousClock.now
        let bytes = try await readBody(request)
        let body: RawJSONObject
        do {
            body = try RawJSONObject(parsing: bytes)
        } catch {
            throw GatewayError.invalidJSON(error.description)
        }
        let chat = try ChatCompletionRequest.decode(from: bytes)

        // Settings are read from the cache on every request so a console toggle applies at once.
        let accountID = context.identity?.account.id ?? Account.defaultAccountID
        let account = authCache.account(accountID) ?? context.identity?.account
        let target = try resolver.resolve(chat.model, autoRoutingEnabled: account?.autoRouting ?? true)
        let modelLabel = target.catalogModel?.id ?? "\(target.provider.id)/uncatalogued"
        context.report.update {
            $0.model = target.modelID
            $0.provider = target.provider.id
        }
        var logger = context.logger
        logger[metadataKey: "gr.model"] = .string(target.modelID)
        logger[metadataKey: "gr.provider"] = .string(target.provider.id)

        let call = UpstreamCall(body: body, request: chat, target: target, strictParams: account?.strictParams ?? false)
        let adapter = adapters.adapter(for: target.provider.kind)
        do {
            if chat.isStreaming {
                return try await stream(call, adapter: adapter, modelLabel: modelLabel, start: start, context: context, logger: logger)
            }
            let completion = try await adapter.complete(call, logger: logger)
            record(usage: completion.usage, modelLabel: modelLabel, provider: target.provider.id, report: context.report, upstreamModel: completion.upstreamModel)
            var headers = gatewayHeaders(target: target, upstreamModel: completion.upstreamModel, adapted: completion.adapted)
            headers[.contentType] = "application/json"
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: completion.body)))
        } catch {
            let gatewayError = GatewayError.from(error, logger: logger)
            metrics.recordUpstreamError(model: modelLabel, provider: target.provider.id, status: gatewayError.status)
            throw gatewayError
        }
    }

    /// Reads the body within the configured limit; a larger body is a 413, not a truncated request.
    private func readBody(_ request: Request) async throws -> [UInt8] {
        do {
            return Array(try await request.body.collect(upTo: maxRequestBodyBytes).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw GatewayError.requestTooLarge(limit: maxRequestBodyBytes)
        }
    }

    /// Streams the upstream's events as OpenAI chunks. The response head waits for the upstream's first event, so an
    /// upstream that fails before answering still gets a real HTTP error status; after that, failures travel in-band
    /// as an SSE `error` event and the stream ends without `[DONE]`.
    private func stream(
        _ call: UpstreamCall,
        adapter: any ProviderAdapter,
        modelLabel: String,
        start: ContinuousClock.Instant,
        context: GatewayRequestContext,
        logger: Logger
    ) async throws -> Response {
        var events = try await adapter.stream(call, logger: logger)
        let first = try await events.next()
        let firstEventAt = ContinuousClock.now
        let upstreamModel = events.upstreamModel
        let adapted = events.adapted
        let handoff = StreamHandoff(events)
        let report = context.report
        let metrics = self.metrics
        let provider = call.target.provider.id
        metrics.recordTimeToFirstToken(model: modelLabel, provider: provider, duration: firstEventAt - start)
        report.update { $0.upstreamModel = upstreamModel }

        var headers = gatewayHeaders(target: call.target, upstreamModel: upstreamModel, adapted: adapted)
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        headers[.accelBuffering] = "no"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            guard var events = handoff.take() else { return }
            var usage: Usage?
            var next = first
            do {
                while let event = next {
                    switch event {
                    case .chunk(let json):
                        try await writer.write(ByteBuffer(bytes: ServerSentEvent.frame(data: json)))
                    case .usage(let reported):
                        usage = reported
                    case .done:
                        try await writer.write(ByteBuffer(bytes: ServerSentEvent.doneFrame))
                    }
                    next = try await events.next()
                }
            } catch let error as GatewayError {
                report.update {
                    $0.streamError = true
                    $0.errorCode = error.code ?? error.type
                }
                metrics.recordUpstreamError(model: modelLabel, provider: provider, status: error.status)
                try await writer.write(error.streamFrame)
            }
            self.record(usage: usage, modelLabel: modelLabel, provider: provider, report: report, upstreamModel: upstreamModel)
            try await writer.finish(nil)
        })
    }

    private func gatewayHeaders(target: UpstreamTarget, upstreamModel: String, adapted: [String]) -> HTTPFields {
        var headers = HTTPFields()
        if !adapted.isEmpty { headers[.adapted] = adapted.joined(separator: ", ") }
        headers[.upstreamModel] = upstreamModel
        headers[.gatewayModel] = target.modelID
        headers[.gatewayProvider] = target.provider.id
        return headers
    }

    private func record(usage: Usage?, modelLabel: String, provider: String, report: RequestReport, upstreamModel: String) {
        report.update {
            $0.upstreamModel = upstreamModel
            $0.promptTokens = usage?.promptTokens
            $0.completionTokens = usage?.completionTokens
        }
        if let usage {
            metrics.recordTokens(model: modelLabel, provider: provider, prompt: usage.promptTokens, completion: usage.completionTokens)
        }
    }
}

/// Hands a non-`Sendable` value (the upstream stream's iterator) from the handler to the response body writer,
/// exactly once. `Mutex` takes ownership through `sending`, so no unchecked sendability is needed.
final class StreamHandoff<Value>: Sendable {
    private let slot: Mutex<Value?>

    init(_ value: consuming sending Value) {
        slot = Mutex(Optional(value))
    }

    func take() -> sending Value? {
        slot.withLock { value -> sending Value? in
            let taken = value.take()
            return taken
        }
    }
}
