import Foundation
import GateRouterCatalog
import GateRouterProviders
import GateRouterRouting
import GateRouterStorage
import GateRouterWire
import HTTPTypes
import Logging
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import Prometheus
import Synchronization

/// Non-streaming chat completions answered on the event loop that read them, without Swift concurrency.
///
/// Why: on the 2-core benchmark machine a Hummingbird route costs more in task switches, async sequences and
/// executor hops than the gateway's own work, and the upstream call through AsyncHTTPClient more again. This path
/// does the same work as ``ChatCompletionsController`` (the same key check, parsing, route plan, admission, failover,
/// ledger record, headers, log line and metrics, through the same functions) with callbacks on one loop, from the
/// client's socket to a loop-local upstream connection and back.
///
/// It answers only what it can answer exactly like the controller: a bearer key, a non-streaming body that parses,
/// a plan whose every attempt is an OpenAI-compatible upstream over plain HTTP, no browser `Origin`. Everything else
/// (and anything the plan refuses) goes to Hummingbird unchanged, and the controller answers it.
final class FastChatCompletions: Sendable {
    /// An answer ready to write, and what to do once it is written.
    struct Answer: Sendable {
        var head: HTTPResponse
        var body: ByteBuffer
        /// Called with whether the client received the answer: writes the log line and metrics.
        var written: @Sendable (Bool) -> Void
    }

    static let path = "/openai/v1/chat/completions"

    let authCache: AuthCache
    let meter: Meter
    let planner: RoutePlanner
    let health: ModelHealth
    let limits: GatewayConfiguration.RoutingLimits
    let metrics: GatewayMetrics
    let pool: LoopLocalHTTPPool
    let requestTimeout: Duration
    let maxResponseBytes: Int
    let maxRequestBodyBytes: Int
    let trustForwardedHeaders: Bool
    let serverName: String
    let logger: Logger
    /// Where request lines go when not through `logger` (see ``RequestLogSink``).
    let requestLog: (any RequestLogSink)?
    let dates = HTTPDateCache()
    let requestIDs = RequestIDGenerator()

    init(
        authCache: AuthCache, meter: Meter, planner: RoutePlanner, health: ModelHealth, limits: GatewayConfiguration.RoutingLimits, metrics: GatewayMetrics,
        pool: LoopLocalHTTPPool, requestTimeout: Duration, maxResponseBytes: Int, maxRequestBodyBytes: Int, trustForwardedHeaders: Bool, serverName: String,
        logger: Logger, requestLog: (any RequestLogSink)? = nil
    ) {
        self.authCache = authCache
        self.meter = meter
        self.planner = planner
        self.health = health
        self.limits = limits
        self.metrics = metrics
        self.pool = pool
        self.requestTimeout = requestTimeout
        self.maxResponseBytes = maxResponseBytes
        self.maxRequestBodyBytes = maxRequestBodyBytes
        self.trustForwardedHeaders = trustForwardedHeaders
        self.serverName = serverName
        self.logger = logger
        self.requestLog = requestLog
    }

    /// Whether a request head is worth collecting: the chat route with a bearer key and no browser origin.
    func mayAnswer(_ head: HTTPRequest) -> Bool {
        // `contains`, not the subscript: the subscript joins every value of the name into a new string.
        head.method == .post && head.path == Self.path && head.headerFields.contains(.authorization) && !head.headerFields.contains(.origin)
            && !head.headerFields.contains(.expect)
    }

    /// The value of the one field called `name`; nil when there is none or more than one (Hummingbird answers those).
    /// Reads it in place, where `HTTPFields`' subscript would join the values into a new string.
    static func onlyValue(of name: HTTPField.Name, in fields: HTTPFields) -> String? {
        var found: String?
        for field in fields where field.name == name {
            guard found == nil else { return nil }
            found = field.value
        }
        return found
    }

    /// A request this path can answer exactly like the controller, or nil when Hummingbird should answer it.
    private func candidate(_ head: HTTPRequest, body: ByteBuffer, peerAddress: String?, on loop: any EventLoop) -> (Request, requestBytes: Int, hedging: Bool)? {
        let start = ContinuousClock.now
        guard let key = APIKeyAuthMiddleware.presentedKey(authorization: Self.onlyValue(of: .authorization, in: head.headerFields)),
              let identity = authCache.authenticate(key), !identity.key.isExpired(at: Date()), !identity.account.suspended
        else { return nil }
        let bytes = Array(body.readableBytesView)
        guard let (chat, json) = try? ChatCompletionRequest.decodeForwarding(bytes),
              let (plan, account) = try? ChatCompletionsController.plan(
                  chat, body: json, identity: identity, planner: planner, authCache: authCache, maxAttempts: limits.maxAttempts
              ),
              plan.attempts.allSatisfy({ $0.provider.plainHTTPChatHeads != nil })
        else { return nil }
        let request = Request(
            id: requestIDs.make(), start: start, identity: identity, chat: chat, body: json, plan: plan, routeSummary: plan.decision?.summary,
            strictParams: account.strictParams, report: RequestReport(), loop: loop,
            client: RequestLogMiddleware.clientAddress(
                // Read only when trusted: it is a joined copy of every hop.
                forwardedFor: trustForwardedHeaders ? head.headerFields[.xForwardedFor] : nil, peerAddress: peerAddress,
                trustForwardedHeaders: trustForwardedHeaders
            )
        )
        return (request, bytes.count, account.routing.hedgingPercent > 0)
    }

    /// From here a request is this path's: it is metered and answered here, whatever happens. Returns its ledger
    /// session and the rate-limit headers, or the admission's refusal.
    private func begin(_ request: Request, requestBytes: Int) -> (MeteringSession, Result<[String: String], GatewayError>) {
        metrics.fastPathRequests.increment()
        let identity = request.identity
        request.report.update {
            $0.keyID = identity.key.id
            $0.accountID = identity.account.id
        }
        let session = MeteringSession(meter: meter, id: request.id, accountID: identity.account.id, keyID: identity.key.id)
        let chat = request.chat
        session.update {
            $0.requestBytes = requestBytes
            $0.requestedModel = chat.model
            $0.stream = chat.isStreaming
        }
        let rateLimitHeaders: [String: String]
        do {
            rateLimitHeaders = try meter.admit(identity)
        } catch {
            return (session, .failure(error))
        }
        let plan = request.plan
        let routeSummary = request.routeSummary
        request.report.update {
            $0.route = routeSummary
            $0.tier = plan.tier?.rawValue
        }
        session.update {
            $0.route = routeSummary
            $0.tier = plan.tier?.rawValue
        }
        return (session, .success(rateLimitHeaders))
    }

    /// How this path answers a request.
    enum Handling {
        /// A whole answer, given to the `answered` callback once ready (possibly before `handle` returns).
        case answering
        /// A stream, writing to the output it was given.
        case stream(FastChatStream)
    }

    /// Where a whole answer goes, on the request's loop, exactly once.
    typealias Answered = @Sendable (Answer) -> Void

    /// Takes a whole request on `loop`: nil when Hummingbird should answer it instead. A whole answer goes to
    /// `answered`; a stream writes to `output`.
    ///
    /// Callbacks, not futures, from here to the upstream socket and back: a chain of futures per request (allocations,
    /// callback lists, generic metadata look-ups) cost more than the steps it chained.
    func handle(
        _ head: HTTPRequest, body: ByteBuffer, peerAddress: String?, on loop: any EventLoop, output: any FastStreamOutput,
        answered: @escaping Answered
    ) -> Handling? {
        guard let (request, requestBytes, hedging) = candidate(head, body: body, peerAddress: peerAddress, on: loop) else { return nil }
        guard request.chat.isStreaming else {
            answer(request, requestBytes: requestBytes, then: answered)
            return .answering
        }
        // Accounts that hedge slow first tokens stay on the controller, which races attempts.
        guard !hedging else { return nil }
        return .stream(stream(request, requestBytes: requestBytes, output: output))
    }

    private func stream(_ request: Request, requestBytes: Int, output: any FastStreamOutput) -> FastChatStream {
        let (session, admission) = begin(request, requestBytes: requestBytes)
        let stream: FastChatStream
        switch admission {
        case .success(let rateLimitHeaders):
            stream = FastChatStream(engine: self, request: request, session: session, rateLimitHeaders: rateLimitHeaders, output: output)
            stream.start()
        case .failure(let error):
            stream = FastChatStream(engine: self, request: request, session: session, rateLimitHeaders: [:], output: output)
            stream.refuse(error)
        }
        return stream
    }

    private func answer(_ request: Request, requestBytes: Int, then answered: @escaping Answered) {
        let (session, admission) = begin(request, requestBytes: requestBytes)
        let rateLimitHeaders: [String: String]
        switch admission {
        case .success(let headers): rateLimitHeaders = headers
        case .failure(let error): return finish(request, session: session, failure: error, then: answered)
        }
        let routeSummary = request.routeSummary
        attempt(0, of: request, session: session, failures: [], lastError: nil) { outcome in
            switch outcome {
            case .answered(let target, let completion, let failures):
                self.finish(
                    request, session: session, target: target, completion: completion, failures: failures, rateLimitHeaders: rateLimitHeaders,
                    routeSummary: routeSummary, then: answered
                )
            case .failed(let error):
                self.finish(request, session: session, failure: error, then: answered)
            }
        }
    }

    // MARK: - Attempts

    /// One request's facts, fixed once it is taken. A class: the attempts, the upstream callback and the answer's
    /// closures each capture it, and copying a struct this size into every one of them (a retain per field) cost more
    /// than sharing one reference.
    final class Request: Sendable {
        let id: String
        let start: ContinuousClock.Instant
        let identity: AuthCache.Identity
        let chat: ChatCompletionRequest
        let body: RawJSONObject
        let plan: RoutePlan
        /// `plan.decision?.summary`, formatted once: the route header, the ledger and the log line all carry it.
        let routeSummary: String?
        let strictParams: Bool
        let report: RequestReport
        let loop: any EventLoop
        let client: String?

        init(
            id: String, start: ContinuousClock.Instant, identity: AuthCache.Identity, chat: ChatCompletionRequest, body: RawJSONObject, plan: RoutePlan,
            routeSummary: String?, strictParams: Bool, report: RequestReport, loop: any EventLoop, client: String?
        ) {
            self.id = id
            self.start = start
            self.identity = identity
            self.chat = chat
            self.body = body
            self.plan = plan
            self.routeSummary = routeSummary
            self.strictParams = strictParams
            self.report = report
            self.loop = loop
            self.client = client
        }
    }

    enum Outcome: Sendable {
        case answered(UpstreamTarget, UpstreamCompletion, failures: [String])
        case failed(GatewayError)
    }

    typealias Outcomes = @Sendable (Outcome) -> Void

    /// Tries `plan.attempts[index...]` in order, as the controller's failover loop does.
    private func attempt(
        _ index: Int, of request: Request, session: MeteringSession, failures: [String], lastError: GatewayError?, then: @escaping Outcomes
    ) {
        let loop = request.loop
        let plan = request.plan
        guard index < plan.attempts.count, ContinuousClock.now < request.start + limits.deadline else {
            request.report.update {
                $0.attempts = failures.count
                $0.failedAttempts = failures
            }
            session.update { $0.attempts = ChatCompletionsController.attempts(failures, winner: nil) }
            return then(.failed(FailoverPolicy.finalError(failures: failures, lastError: lastError, auto: plan.decision != nil)))
        }
        let target = plan.attempts[index]
        guard health.admit(model: target.modelID, provider: target.provider.id) else {
            return attempt(
                index + 1, of: request, session: session, failures: failures + ["\(target.modelID): circuit open"], lastError: lastError, then: then
            )
        }
        if index > 0, plan.attempts[index - 1].modelID == target.modelID {
            let backoff = TimeAmount(FailoverPolicy.backoff(attempt: failures.count))
            loop.scheduleTask(in: backoff) { self.send(index, of: request, session: session, failures: failures, lastError: lastError, then: then) }
            return
        }
        send(index, of: request, session: session, failures: failures, lastError: lastError, then: then)
    }

    private func send(
        _ index: Int, of request: Request, session: MeteringSession, failures: [String], lastError: GatewayError?, then: @escaping Outcomes
    ) {
        let loop = request.loop
        let target = request.plan.attempts[index]
        ChatCompletionsController.describe(target, report: request.report, session: session)
        let attemptStart = ContinuousClock.now
        let limit = min(limits.attemptTimeout, request.start + limits.deadline - attemptStart, requestTimeout)
        let call = UpstreamCall(body: request.body, request: request.chat, target: target, strictParams: request.strictParams)
        let exchange: PlainHTTPExchange
        do {
            guard let prepared = try OpenAICompatibleAdapter.plainHTTPExchange(for: call) else {
                return failed(index, of: request, session: session, failures: failures, error: .upstreamUnavailable(provider: target.provider.id), then: then)
            }
            exchange = prepared
        } catch {
            return failed(index, of: request, session: session, failures: failures, error: error, then: then)
        }
        let provider = target.provider.id
        pool.post(on: loop, exchange.request, timeout: TimeAmount(limit), maxResponseBytes: maxResponseBytes) { result in
            let answer: LoopLocalHTTPPool.Answer
            switch result {
            case .success(let whole): answer = whole
            case .failure(let error):
                let mapped = UpstreamErrorMapping.transportError(error, provider: provider)
                return self.failed(index, of: request, session: session, failures: failures, error: mapped, then: then)
            }
            let bytes = Array(answer.body.readableBytesView)
            guard (200..<300).contains(answer.status) else {
                let error = UpstreamErrorMapping.httpError(status: answer.status, body: bytes, provider: provider, retryAfter: answer.headers.first(name: "retry-after"))
                return self.failed(index, of: request, session: session, failures: failures, error: error, then: then)
            }
            let completion: UpstreamCompletion
            do throws(GatewayError) {
                completion = try OpenAICompatibleAdapter.completion(from: bytes, call: call, adapted: exchange.adapted)
            } catch {
                return self.failed(index, of: request, session: session, failures: failures, error: error, then: then)
            }
            let elapsed = ContinuousClock.now - attemptStart
            self.health.recordSuccess(
                model: target.modelID, provider: provider, timeToFirstToken: elapsed, tokensPerSecond: ChatCompletionsController.speed(completion.usage, elapsed)
            )
            then(.answered(target, completion, failures: failures))
        }
    }

    /// The controller's catch block: count the failure, then fail over or stop.
    private func failed(
        _ index: Int, of request: Request, session: MeteringSession, failures: [String], error: GatewayError, then: @escaping Outcomes
    ) {
        let target = request.plan.attempts[index]
        metrics.recordUpstreamError(model: ChatCompletionsController.label(target), provider: target.provider.id, status: error.status)
        let note = "\(target.modelID): \(error.code ?? "HTTP \(error.status)")"
        guard FailoverPolicy.isRetryable(error, auto: request.plan.decision != nil) else {
            health.release(model: target.modelID, provider: target.provider.id)
            session.update { $0.attempts = ChatCompletionsController.attempts(failures + [note], winner: nil) }
            return then(.failed(error))
        }
        health.recordFailure(model: target.modelID, provider: target.provider.id)
        attempt(index + 1, of: request, session: session, failures: failures + [note], lastError: error, then: then)
    }

    // MARK: - Answers

    private func finish(
        _ request: Request, session: MeteringSession, target: UpstreamTarget, completion: UpstreamCompletion, failures: [String],
        rateLimitHeaders: [String: String], routeSummary: String?, then answered: @escaping Answered
    ) {
        ChatCompletionsController.record(
            usage: completion.usage, target: target, report: request.report, upstreamModel: completion.upstreamModel, metrics: metrics
        )
        request.report.update {
            $0.attempts = failures.count + 1
            $0.failedAttempts = failures
        }
        var headers = ChatCompletionsController.gatewayHeaders(
            target: target, plan: request.plan, attempts: failures.count + 1, upstreamModel: completion.upstreamModel, adapted: completion.adapted,
            routeSummary: routeSummary, rateLimitHeaders: rateLimitHeaders
        )
        headers.append(HTTPField(name: .contentType, value: "application/json"))
        let body = ChatCompletionsController.responseBody(completion, target: target)
        session.update {
            $0.usage = completion.usage
            $0.upstreamModel = completion.upstreamModel
            $0.firstToken = .now
            $0.attempts = ChatCompletionsController.attempts(failures, winner: target)
            if completion.usage == nil { $0.generatedCharacters = TokenEstimate.generatedCharacters(in: body) }
        }
        respond(request, session: session, status: 200, error: nil, headers: headers, body: body, then: answered)
    }

    private func finish(_ request: Request, session: MeteringSession, failure: GatewayError, then answered: @escaping Answered) {
        let code = failure.code ?? failure.type
        request.report.update { $0.errorCode = code }
        respond(request, session: session, status: failure.status, error: code, headers: Self.errorHeaders(failure), body: failure.envelope, then: answered)
    }

    /// Queues the ledger record (waiting only when the queue is full), then builds the answer and its log line.
    private func respond(
        _ request: Request, session: MeteringSession, status: Int, error: String?, headers: HTTPFields, body: [UInt8], then answered: @escaping Answered
    ) {
        var headers = headers
        headers.append(HTTPField(name: .contentLength, value: String(body.count)))  // no path sets it before
        addCommonHeaders(&headers, requestID: request.id)
        var buffer = ByteBuffer()
        buffer.writeBytes(body)
        let answer = Answer(head: HTTPResponse(status: .init(code: status), headerFields: headers), body: buffer) {
            [metrics, report = request.report, client = request.client, start = request.start, id = request.id, logger, requestLog] written in
            RequestLogMiddleware.finish(
                report.snapshot, method: "POST", path: Self.path, route: Self.path, status: status, client: client, duration: ContinuousClock.now - start,
                clientDisconnected: !written, logger: logger, metrics: metrics, requestID: id, sink: requestLog
            )
        }
        guard let record = session.finishWithoutWaiting(status: status, error: error) else {
            return answered(answer)
        }
        // The ledger queue is full: wait for room before answering, as the controller does.
        let recorder = meter.recorder
        let queued = request.loop.makePromise(of: Void.self)
        queued.completeWithTask { await recorder.queueCharged(record) }
        queued.futureResult.whenComplete { _ in answered(answer) }
    }
}

extension FastChatCompletions {
    /// An error answer's own headers: JSON, and `retry-after` and any other header the error carries.
    static func errorHeaders(_ error: GatewayError) -> HTTPFields {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let retryAfter = error.retryAfter { headers[.retryAfter] = retryAfter }
        for (name, value) in error.headers {
            if let field = HTTPField.Name(name) { headers[field] = value }
        }
        return headers
    }

    /// The headers every answer carries, as Hummingbird and the request log middleware add them. Appended: no
    /// answer's own headers (gateway, error or rate-limit headers) use these names.
    func addCommonHeaders(_ headers: inout HTTPFields, requestID: String) {
        headers.append(HTTPField(name: .requestID, value: requestID))
        headers.append(HTTPField(name: .date, value: dates.now()))
        headers.append(HTTPField(name: .server, value: serverName))
    }

    /// A stream's end: its ledger record (queued without waiting: the answer is already out), log line and metrics.
    func finishStreamed(_ request: Request, session: MeteringSession, status: Int, error: String?, clientDisconnected: Bool) {
        if let record = session.finishWithoutWaiting(status: status, error: error) {
            let recorder = meter.recorder
            Task { await recorder.queueCharged(record) }
        }
        RequestLogMiddleware.finish(
            request.report.snapshot, method: "POST", path: Self.path, route: Self.path, status: status, client: request.client,
            duration: ContinuousClock.now - request.start, clientDisconnected: clientDisconnected, logger: logger, metrics: metrics, requestID: request.id,
            sink: requestLog
        )
    }
}
