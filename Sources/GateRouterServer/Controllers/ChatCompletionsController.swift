import Foundation
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

/// `POST /openai/v1/chat/completions`: validate, plan the route (auto routing or the named model and its fallbacks),
/// call upstreams until one answers, answer in OpenAI's shape with headers that say which model answered and why.
struct ChatCompletionsController: Sendable {
    let planner: RoutePlanner
    let adapters: ProviderAdapters
    let health: ModelHealth
    let hedgeBudget: HedgeBudget
    let limits: GatewayConfiguration.RoutingLimits
    let authCache: AuthCache
    let metrics: GatewayMetrics
    let meter: Meter
    let maxRequestBodyBytes: Int

    func addRoutes(to group: RouterGroup<GatewayRequestContext>) {
        group.post("/chat/completions") { request, context in
            try await self.handle(request, context: context)
        }
    }

    /// Every authenticated request writes exactly one ledger record, whatever its outcome: answered here, failed
    /// (recorded on the way out), or streamed (recorded when the stream ends or the client leaves).
    func handle(_ request: Request, context: GatewayRequestContext) async throws -> Response {
        guard let identity = context.identity else { throw GatewayError.missingAPIKey }
        let session = MeteringSession(meter: meter, id: context.requestID, accountID: identity.account.id, keyID: identity.key.id)
        do {
            return try await create(request, context: context, identity: identity, session: session)
        } catch {
            let gatewayError = GatewayError.from(error, logger: context.logger)
            await session.finish(status: gatewayError.status, error: gatewayError.code ?? gatewayError.type)
            throw gatewayError
        }
    }

    func create(_ request: Request, context: GatewayRequestContext, identity: AuthCache.Identity, session: MeteringSession) async throws -> Response {
        let start = ContinuousClock.now
        let bytes = try await readBody(request)
        session.update { $0.requestBytes = bytes.count }
        let (chat, body) = try ChatCompletionRequest.decodeForwarding(bytes)
        session.update {
            $0.requestedModel = chat.model
            $0.stream = chat.isStreaming
        }
        let rateLimitHeaders = try meter.admit(identity)
        let accountID = identity.account.id
        let (plan, account) = try Self.plan(chat, body: body, identity: identity, planner: planner, authCache: authCache, maxAttempts: limits.maxAttempts)
        let strictParams = account.strictParams
        let makeCall: @Sendable (UpstreamTarget) -> UpstreamCall = { target in
            UpstreamCall(body: body, request: chat, target: target, strictParams: strictParams)
        }
        let routeSummary = plan.decision?.summary
        context.report.update {
            $0.route = routeSummary
            $0.tier = plan.tier?.rawValue
        }
        session.update {
            $0.route = routeSummary
            $0.tier = plan.tier?.rawValue
        }
        let logger = context.logger
        if let decision = plan.decision {
            logger.debug("auto routing decision", metadata: ["gr.route": .string(routeSummary ?? ""), "gr.excluded": .string(decision.excluded.joined(separator: "; "))])
        }
        if chat.isStreaming {
            let percent = account.routing.hedgingPercent
            var hedging: StreamFailover.Hedging?
            if percent > 0 {
                hedgeBudget.countRequest(account: accountID)
                hedging = StreamFailover.Hedging(budget: hedgeBudget, account: accountID, percent: percent)
            }
            return try await stream(
                plan: plan, makeCall: makeCall, hedging: hedging, routeSummary: routeSummary, start: start, context: context, session: session,
                rateLimitHeaders: rateLimitHeaders, logger: logger
            )
        }

        var failures: [String] = []
        var lastError: GatewayError?
        for (index, target) in plan.attempts.enumerated() where ContinuousClock.now < start + limits.deadline {
            guard health.admit(model: target.modelID, provider: target.provider.id) else {
                failures.append("\(target.modelID): circuit open")
                continue
            }
            if index > 0, plan.attempts[index - 1].modelID == target.modelID {
                try await LoopTimer.sleep(for: FailoverPolicy.backoff(attempt: failures.count))
            }
            Self.describe(target, report: context.report, session: session)
            let attemptStart = ContinuousClock.now
            let limit = min(limits.attemptTimeout, start + limits.deadline - attemptStart)
            let adapter = adapters.adapter(for: target.provider.kind)
            let call = makeCall(target)
            do {
                let completion = try await FailoverPolicy.withTimeLimit(limit, provider: target.provider.id) {
                    try await adapter.complete(call, logger: logger)
                }
                let elapsed = ContinuousClock.now - attemptStart
                health.recordSuccess(model: target.modelID, provider: target.provider.id, timeToFirstToken: elapsed, tokensPerSecond: Self.speed(completion.usage, elapsed))
                record(usage: completion.usage, target: target, report: context.report, upstreamModel: completion.upstreamModel)
                context.report.update {
                    $0.attempts = failures.count + 1
                    $0.failedAttempts = failures
                }
                var headers = Self.gatewayHeaders(
                    target: target, plan: plan, attempts: failures.count + 1, upstreamModel: completion.upstreamModel, adapted: completion.adapted,
                    routeSummary: routeSummary, rateLimitHeaders: rateLimitHeaders
                )
                headers[.contentType] = "application/json"
                let responseBody = Self.responseBody(completion, target: target)
                let failed = failures
                session.update {
                    $0.usage = completion.usage
                    $0.upstreamModel = completion.upstreamModel
                    $0.firstToken = .now
                    $0.attempts = Self.attempts(failed, winner: target)
                    if completion.usage == nil { $0.generatedCharacters = TokenEstimate.generatedCharacters(in: responseBody) }
                }
                await session.finish(status: 200)
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: responseBody)))
            } catch {
                let gatewayError = GatewayError.from(error, logger: logger)
                metrics.recordUpstreamError(model: Self.label(target), provider: target.provider.id, status: gatewayError.status)
                guard FailoverPolicy.isRetryable(gatewayError, auto: plan.decision != nil) else {
                    health.release(model: target.modelID, provider: target.provider.id)
                    let failed = failures + ["\(target.modelID): \(gatewayError.code ?? "HTTP \(gatewayError.status)")"]
                    session.update { $0.attempts = Self.attempts(failed, winner: nil) }
                    throw gatewayError
                }
                health.recordFailure(model: target.modelID, provider: target.provider.id)
                failures.append("\(target.modelID): \(gatewayError.code ?? "HTTP \(gatewayError.status)")")
                lastError = gatewayError
            }
        }
        context.report.update {
            $0.attempts = failures.count
            $0.failedAttempts = failures
        }
        let failed = failures
        session.update { $0.attempts = Self.attempts(failed, winner: nil) }
        throw FailoverPolicy.finalError(failures: failures, lastError: lastError, auto: plan.decision != nil)
    }

    /// The route for a parsed request under its account's settings and its key's allowed models; shared by this
    /// handler and the NIO fast path so both choose alike.
    static func plan(
        _ chat: ChatCompletionRequest, body: RawJSONObject, identity: AuthCache.Identity, planner: RoutePlanner, authCache: AuthCache, maxAttempts: Int
    ) throws -> (RoutePlan, Account) {
        // Settings are read from the cache on every request so a console toggle applies at once.
        let account = authCache.account(identity.account.id) ?? identity.account
        let responseFormatType = body[raw: "response_format"].flatMap { try? JSONValue.parse($0) }?["type"]?.stringValue
        let keyLimits = identity.key.limits
        var policy = account.routing
        if !keyLimits.allowedModels.isEmpty, chat.model == "auto" {
            // Auto routing chooses only among the models the key may call.
            let exact = keyLimits.allowedModels.filter { !$0.hasSuffix("/*") && $0 != "auto" }
            if !exact.isEmpty, !keyLimits.allowedModels.contains(where: { $0.hasSuffix("/*") }) {
                policy.allowedModels = policy.allowedModels.isEmpty ? exact : policy.allowedModels.filter(exact.contains)
            }
        }
        var plan = try planner.plan(
            chat, responseFormatType: responseFormatType, autoRoutingEnabled: account.autoRouting,
            policy: policy, maxAttempts: maxAttempts
        )
        if !keyLimits.allowedModels.isEmpty {
            let requestedAllowed = keyLimits.allows(model: chat.model)
            let named = chat.model != "auto" ? plan.attempts.first?.modelID : nil
            plan.attempts = plan.attempts.filter { keyLimits.allows(model: $0.modelID) || (requestedAllowed && $0.modelID == named) }
            guard !plan.attempts.isEmpty else { throw GatewayError.modelNotAllowed(chat.model) }
        }
        return (plan, account)
    }

    /// Reads the body within the configured limit; a larger body is a 413, not a truncated request.
    private func readBody(_ request: Request) async throws -> [UInt8] {
        do {
            return Array(try await request.body.collect(upTo: maxRequestBodyBytes).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw GatewayError.requestTooLarge(limit: maxRequestBodyBytes)
        }
    }

    /// Streams the chosen upstream's events as OpenAI chunks, failing over before the first content token.
    ///
    /// The response head waits for first content (or, for a model that thinks silently, the first keep-alive
    /// interval), so an upstream that fails early still gets a real HTTP error status when no other candidate can
    /// answer. After content, failures travel in-band as an SSE `error` event and the stream ends without `[DONE]`.
    private func stream(
        plan: RoutePlan,
        makeCall: @escaping @Sendable (UpstreamTarget) -> UpstreamCall,
        hedging: StreamFailover.Hedging?,
        routeSummary: String?,
        start: ContinuousClock.Instant,
        context: GatewayRequestContext,
        session: MeteringSession,
        rateLimitHeaders: [String: String],
        logger: Logger
    ) async throws -> Response {
        let failover = StreamFailover(
            plan: plan, makeCall: makeCall, adapters: adapters, health: health, limits: limits, deadline: start + limits.deadline,
            hedging: hedging, logger: logger
        )
        var state = StreamFailover.State()
        let progress: StreamFailover.Progress
        do {
            progress = try await failover.advance(&state, until: .now + limits.keepAliveInterval)
        } catch {
            state.cancelAll()
            context.report.update {
                $0.attempts = state.attempts
                $0.failedAttempts = state.failures
            }
            let failed = state.failures
            session.update { $0.attempts = Self.attempts(failed, winner: nil) }
            throw GatewayError.from(error, logger: logger)
        }
        guard let target = state.current?.target else {
            let failed = state.failures
            session.update { $0.attempts = Self.attempts(failed, winner: nil) }
            throw failover.finalError(state)
        }
        Self.describe(target, report: context.report, session: session)
        let report = context.report
        let metrics = self.metrics
        let keepAlive = limits.keepAliveInterval
        var headers = Self.gatewayHeaders(
            target: target, plan: plan, attempts: state.attempts, upstreamModel: state.upstreamModel ?? target.upstreamModel, adapted: state.adapted,
            routeSummary: routeSummary, rateLimitHeaders: rateLimitHeaders
        )
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[.cacheControl] = "no-cache"
        headers[.accelBuffering] = "no"
        let handedOver = state
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            var state = handedOver
            defer { state.cancelAll() }
            var passThrough = ChatStreamPassThrough()
            var target = target
            var clientGone = false
            var failure: GatewayError?
            /// Writes to the client; a failed write means the client went away.
            func send(_ bytes: [UInt8]) async throws {
                do {
                    try await writer.write(ByteBuffer(bytes: bytes))
                } catch {
                    clientGone = true
                    throw error
                }
            }
            do {
                // A model still thinking silently: keep the connection alive while failover remains possible.
                var progress = progress
                while progress == .waiting {
                    try await send(ServerSentEvent.keepAliveFrame)
                    progress = try await failover.advance(&state, until: .now + keepAlive)
                }
                if let current = state.current?.target {
                    target = current
                    session.update { $0.target = current }
                }
                metrics.recordTimeToFirstToken(model: Self.label(target), provider: target.provider.id, duration: .now - start)
                session.update { $0.firstToken = .now }
                // From here the winner's events pass straight through, those of one upstream read in one write; ticks
                // turn into keep-alives when it is silent.
                var out: [UInt8] = []
                for chunk in state.held { out += passThrough.heldFrame(chunk) }
                var batch = (state.firstContent.map { [$0] } ?? []) + state.afterFirstContent
                var lastWrite = ContinuousClock.now
                streaming: while true {
                    for event in batch {
                        if let frame = passThrough.frame(for: event, target: target) { out += frame }
                    }
                    if !out.isEmpty {
                        try await send(out)
                        out.removeAll(keepingCapacity: true)
                        lastWrite = .now
                    }
                    batch = []
                    guard let attempt = state.current else { break }
                    waiting: while true {
                        switch await attempt.nextItem() {
                        case .success(.events(let following)?):
                            batch = following
                            break waiting
                        case .success(.tick?):
                            if ContinuousClock.now - lastWrite >= keepAlive {
                                try await send(ServerSentEvent.keepAliveFrame)
                                lastWrite = .now
                            }
                        case .success(.opened?):
                            continue
                        case .success(nil):
                            break streaming
                        case .failure(let error):
                            throw error
                        }
                    }
                }
            } catch {
                if !clientGone {
                    let error = GatewayError.from(error, logger: Logger(label: "gaterouter.stream"))
                    failure = error
                    report.update {
                        $0.streamError = true
                        $0.errorCode = error.code ?? error.type
                    }
                    metrics.recordUpstreamError(model: Self.label(target), provider: target.provider.id, status: error.status)
                    try? await writer.write(error.streamFrame)
                }
            }
            report.update {
                $0.attempts = state.attempts
                $0.failedAttempts = state.failures
            }
            let usage = passThrough.usage
            let generated = passThrough.generatedCharacters
            self.record(usage: usage, target: target, report: report, upstreamModel: state.upstreamModel ?? target.upstreamModel)
            let failed = state.failures
            let upstreamModel = state.upstreamModel ?? target.upstreamModel
            let finalTarget = target
            let gone = clientGone
            session.update {
                $0.usage = usage
                $0.upstreamModel = upstreamModel
                $0.generatedCharacters = generated
                $0.attempts = Self.attempts(failed, winner: failure == nil ? finalTarget : nil)
                $0.cancelled = gone
            }
            // The response's status is already 200; an in-band failure or a client that left shows in `error`.
            await session.finish(status: 200, error: gone ? "client_closed_request" : failure.map { $0.code ?? $0.type })
            if !gone { try await writer.finish(nil) }
        })
    }

    static func describe(_ target: UpstreamTarget, report: RequestReport, session: MeteringSession) {
        session.update { $0.target = target }
        report.update {
            $0.model = target.modelID
            $0.provider = target.provider.id
        }
    }

    static func gatewayHeaders(
        target: UpstreamTarget, plan: RoutePlan, attempts: Int, upstreamModel: String, adapted: [String], routeSummary: String? = nil,
        rateLimitHeaders: [String: String] = [:]
    ) -> HTTPFields {
        // Appended, not set through the subscript: every name here is distinct, and the subscript's setter first
        // searches the fields for the name (this runs on every answer).
        var headers = HTTPFields()
        headers.reserveCapacity(rateLimitHeaders.count + 12)
        for (name, value) in rateLimitHeaders {
            if let field = HTTPField.Name(name) { headers.append(HTTPField(name: field, value: value)) }
        }
        if !adapted.isEmpty { headers.append(HTTPField(name: .adapted, value: adapted.joined(separator: ", "))) }
        headers.append(HTTPField(name: .upstreamModel, value: upstreamModel))
        headers.append(HTTPField(name: .gatewayModel, value: target.modelID))
        headers.append(HTTPField(name: .gatewayProvider, value: target.provider.id))
        headers.append(HTTPField(name: .gatewayAttempts, value: String(attempts)))
        if let decision = plan.decision {
            headers.append(HTTPField(name: .gatewayStrategy, value: decision.strategy.rawValue))
            headers.append(HTTPField(name: .gatewayTier, value: decision.tier.rawValue))
            headers.append(HTTPField(name: .gatewayRoute, value: routeSummary ?? decision.summary))
        }
        return headers
    }

    func record(usage: Usage?, target: UpstreamTarget, report: RequestReport, upstreamModel: String) {
        Self.record(usage: usage, target: target, report: report, upstreamModel: upstreamModel, metrics: metrics)
    }

    static func record(usage: Usage?, target: UpstreamTarget, report: RequestReport, upstreamModel: String, metrics: GatewayMetrics) {
        report.update {
            $0.upstreamModel = upstreamModel
            $0.promptTokens = usage?.promptTokens
            $0.completionTokens = usage?.completionTokens
        }
        if let usage {
            metrics.recordTokens(model: Self.label(target), provider: target.provider.id, prompt: usage.promptTokens, completion: usage.completionTokens)
        }
    }

    /// The ledger's attempt list from the failure notes (`model: reason`) and the model that answered.
    static func attempts(_ failures: [String], winner: UpstreamTarget?) -> [LedgerRecord.Attempt] {
        var attempts = failures.map { note -> LedgerRecord.Attempt in
            let parts = note.split(separator: ":", maxSplits: 1)
            let model = String(parts.first ?? "")
            let provider = model.split(separator: "/").first.map(String.init) ?? ""
            return LedgerRecord.Attempt(model: model, provider: provider, outcome: parts.count > 1 ? parts[1].trimmingCharacters(in: .whitespaces) : "failed")
        }
        if let winner { attempts.append(.init(model: winner.modelID, provider: winner.provider.id, outcome: "ok")) }
        return attempts
    }

    /// Adds `"cost"` (USD, as OpenRouter reports it) to the `usage` object of a completion or chunk; the bytes are
    /// returned unchanged when there is no usage object.
    static func addingCost(_ cost: Picodollars, toUsageIn json: [UInt8]) -> [UInt8] {
        guard var object = try? RawJSONObject(parsing: json), addCost(cost, toUsageIn: &object) else { return json }
        return object.serialized()
    }

    /// Adds `"cost"` (USD) inside the object's `usage`; false when there is no `usage` object to patch.
    static func addCost(_ cost: Picodollars, toUsageIn object: inout RawJSONObject) -> Bool {
        guard !object.isNullOrAbsent("usage"), let usage = object[raw: "usage"], usage.last == UInt8(ascii: "}") else { return false }
        var patched = Array(usage.dropLast())
        while let last = patched.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\n") { patched.removeLast() }
        if patched.last != UInt8(ascii: "{") { patched.append(UInt8(ascii: ",")) }
        patched += Array("\"cost\":\(cost.usd)}".utf8)
        object.set("usage", raw: patched)
        return true
    }

    /// A whole answer's body as the client gets it: with `usage.cost` when the upstream reported usage.
    static func responseBody(_ completion: UpstreamCompletion, target: UpstreamTarget) -> [UInt8] {
        guard let usage = completion.usage else { return completion.body }
        let cost = Meter.cost(of: usage, target: target)
        guard var object = completion.object else { return addingCost(cost, toUsageIn: completion.body) }
        _ = addCost(cost, toUsageIn: &object)
        return object.serialized()
    }

    /// The metrics label: the catalog id, or `provider/uncatalogued` so passthrough ids cannot explode cardinality.
    static func label(_ target: UpstreamTarget) -> String {
        target.catalogModel?.id ?? "\(target.provider.id)/uncatalogued"
    }

    static func speed(_ usage: Usage?, _ elapsed: Duration) -> Double? {
        guard let tokens = usage?.completionTokens, tokens > 0 else { return nil }
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
        return seconds > 0 ? Double(tokens) / seconds : nil
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
