import GateRouterCatalog
import GateRouterProviders
import GateRouterRouting
import GateRouterWire
import HTTPTypes
import NIOCore
import NIOHTTP1
import Prometheus

/// Where a fast-path stream writes: the client connection's handler, on the same event loop.
protocol FastStreamOutput: AnyObject {
    func writeHead(_ head: HTTPResponse)
    func writeBody(_ body: ByteBuffer)
    /// Ends the response; the connection can serve its next request.
    func endResponse()
}

/// One streamed chat completion answered on the event loop that read it: the same walk as ``StreamFailover`` and the
/// same pass-through as the controller's stream, with callbacks instead of tasks, from the upstream connection's reads
/// straight to the client's socket.
///
/// - Before the first content token only the preamble is held back, so an attempt that fails (an error status, a
///   refused or dropped connection, an in-band error, a cut, a stall past `stallTimeout`) is replaced by the next one
///   without the client seeing a seam. The response head waits for content, or for the keep-alive interval once an
///   upstream has accepted the request.
/// - After content, events pass straight through, those of one upstream read in one write; failures travel in-band
///   as an SSE `error` event and the stream ends without `[DONE]`.
/// - A client that leaves closes the upstream connection and is metered as cancelled.
///
/// Every method runs on `request.loop`; the class is confined to it.
final class FastChatStream: StreamReceiver, @unchecked Sendable {
    private struct Attempt {
        /// Tells this attempt's callbacks from those of an earlier attempt on the same model.
        let serial: Int
        let target: UpstreamTarget
        let adapted: [String]
        let started: ContinuousClock.Instant
        var exchange: Exchange?
        var parser = ServerSentEventParser()
        var transcoder: OpenAIChunkTranscoder
        var accepted = false
        var held: [[UInt8]] = []
    }

    private let engine: FastChatCompletions
    private let request: FastChatCompletions.Request
    private let session: MeteringSession
    private let rateLimitHeaders: [String: String]
    private weak var output: (any FastStreamOutput)?

    private var nextIndex = 0
    private var serials = 0
    private var failures: [String] = []
    private var lastError: GatewayError?
    private var attempt: Attempt?
    private var winner: UpstreamTarget?
    private var headSent = false
    private var finished = false
    private var passThrough = ChatStreamPassThrough()
    private var lastWrite = ContinuousClock.now
    /// Frames waiting for the end of the current read burst, to go out in one write (see ``receivedAllAvailable()``).
    private var out = ByteBuffer()
    private var stallTimer: Scheduled<Void>?
    private var keepAliveTimer: RepeatedTask?

    init(
        engine: FastChatCompletions, request: FastChatCompletions.Request, session: MeteringSession, rateLimitHeaders: [String: String],
        output: any FastStreamOutput
    ) {
        self.engine = engine
        self.request = request
        self.session = session
        self.rateLimitHeaders = rateLimitHeaders
        self.output = output
        engine.metrics.fastPathStreams.increment()
    }

    deinit {
        engine.metrics.fastPathStreams.decrement()
    }

    private var loop: any EventLoop { request.loop }
    private var limits: GatewayConfiguration.RoutingLimits { engine.limits }

    func start() {
        let interval = TimeAmount(limits.keepAliveInterval)
        keepAliveTimer = loop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { [weak self] _ in self?.keepAlive() }
        startNextAttempt()
    }

    // MARK: - Attempts

    private func startNextAttempt() {
        let plan = request.plan
        while nextIndex < plan.attempts.count, ContinuousClock.now < request.start + limits.deadline {
            let index = nextIndex
            let target = plan.attempts[index]
            nextIndex += 1
            guard engine.health.admit(model: target.modelID, provider: target.provider.id) else {
                failures.append("\(target.modelID): circuit open")
                continue
            }
            if index > 0, plan.attempts[index - 1].modelID == target.modelID {
                let backoff = TimeAmount(FailoverPolicy.backoff(attempt: failures.count))
                loop.scheduleTask(in: backoff) { [self] in send(target) }
            } else {
                send(target)
            }
            return
        }
        if ContinuousClock.now >= request.start + limits.deadline { lastError = Self.deadlineExceeded }
        fail(FailoverPolicy.finalError(failures: failures, lastError: lastError, auto: request.plan.decision != nil))
    }

    private func send(_ target: UpstreamTarget) {
        guard !finished else { return }
        ChatCompletionsController.describe(target, report: request.report, session: session)
        let call = UpstreamCall(body: request.body, request: request.chat, target: target, strictParams: request.strictParams)
        let exchange: PlainHTTPExchange
        do {
            guard let prepared = try OpenAICompatibleAdapter.plainHTTPExchange(for: call, streaming: true) else {
                return attemptFailed(target, error: .upstreamUnavailable(provider: target.provider.id), reason: nil)
            }
            exchange = prepared
        } catch {
            return attemptFailed(target, error: error, reason: nil)
        }
        let transcoder = OpenAIChunkTranscoder(modelID: target.modelID, provider: target.provider.id, forwardUsage: request.chat.wantsStreamUsage)
        serials += 1
        let serial = serials
        attempt = Attempt(serial: serial, target: target, adapted: exchange.adapted, started: .now, transcoder: transcoder)
        let stallAt = min(ContinuousClock.now + limits.stallTimeout, request.start + limits.deadline)
        stallTimer = loop.scheduleTask(in: TimeAmount(stallAt - .now)) { [weak self] in self?.stalled(serial) }
        let provider = target.provider.id
        engine.pool.post(
            on: loop, exchange.request, timeout: TimeAmount(engine.requestTimeout), maxResponseBytes: engine.maxResponseBytes, receiver: self
        ) { [weak self] started in
            self?.attempt?.exchange = started
        }.whenComplete { [self] result in
            guard attempt?.serial == serial, !finished else { return }
            switch result {
            case .success(let answer) where (200..<300).contains(answer.status):
                upstreamEnded()
            case .success(let answer):
                let error = UpstreamErrorMapping.httpError(
                    status: answer.status, body: Array(answer.body.readableBytesView), provider: provider, retryAfter: answer.headers.first(name: "retry-after")
                )
                attemptFailed(target, error: error, reason: nil)
            case .failure(let error):
                failed(UpstreamErrorMapping.transportError(error, provider: provider))
            }
        }
    }

    /// A failure of the current attempt: before content it fails over, after content it ends the stream in-band.
    private func failed(_ error: GatewayError) {
        guard let current = attempt else { return }
        if winner != nil {
            finishStream(error: error)
        } else {
            attemptFailed(current.target, error: error, reason: nil)
        }
    }

    private static let deadlineExceeded = GatewayError(
        status: 504, message: "No upstream produced an answer within the routing deadline.", type: "server_error", code: "routing_deadline_exceeded"
    )

    /// No first content by the stall timeout (the attempt fails over) or by the routing deadline (the request ends).
    private func stalled(_ serial: Int) {
        guard !finished, winner == nil, let current = attempt, current.serial == serial else { return }
        let target = current.target
        if ContinuousClock.now < current.started + limits.stallTimeout {
            // The deadline came first: the attempt is dropped without counting against the model.
            let exchange = current.exchange
            attempt = nil
            exchange?.fail(.cancelled)
            engine.health.release(model: target.modelID, provider: target.provider.id)
            lastError = Self.deadlineExceeded
            return fail(FailoverPolicy.finalError(failures: failures, lastError: lastError, auto: request.plan.decision != nil))
        }
        let error = GatewayError(
            status: 504, message: "The upstream provider '\(target.provider.id)' sent nothing for \(limits.stallTimeout) before its first token.",
            type: "server_error", code: "upstream_stalled"
        )
        attemptFailed(target, error: error, reason: "stalled")
    }

    /// The controller's failover step: count the failure, then try the next candidate or give up.
    private func attemptFailed(_ target: UpstreamTarget, error: GatewayError, reason: String?) {
        stallTimer?.cancel()
        // Cleared before the exchange is failed: its completion handler runs at once and must see no current attempt.
        let exchange = attempt?.exchange
        attempt = nil
        exchange?.fail(.cancelled)
        engine.metrics.recordUpstreamError(model: ChatCompletionsController.label(target), provider: target.provider.id, status: error.status)
        let note = "\(target.modelID): \(reason ?? error.code ?? "HTTP \(error.status)")"
        lastError = error
        guard FailoverPolicy.isRetryable(error, auto: request.plan.decision != nil) else {
            engine.health.release(model: target.modelID, provider: target.provider.id)
            failures.append(note)
            return fail(error)
        }
        engine.health.recordFailure(model: target.modelID, provider: target.provider.id)
        failures.append(note)
        startNextAttempt()
    }

    // MARK: - Upstream events

    func received(head: UpstreamResponseHead) {
        attempt?.accepted = true
    }

    func received(body: ByteBuffer) {
        guard !finished, attempt != nil else { return }
        let events: [ServerSentEvent]
        do {
            events = try attempt?.parser.feed(body.readableBytesView) ?? []
        } catch {
            return failed(.upstreamInvalidResponse(provider: attempt?.target.provider.id ?? "upstream"))
        }
        for event in events {
            let produced: [ChatStreamEvent]
            do {
                produced = try attempt?.transcoder.transcode(event) ?? []
            } catch {
                return failed(GatewayError.from(error, logger: engine.logger))
            }
            for event in produced {
                handle(event)
                if finished || attempt == nil { return }
            }
            if produced.last == .done {
                // `[DONE]` ends the answer; the upstream connection finishes its response on its own.
                return finishStream(error: nil)
            }
        }
    }

    /// The end of a read burst: what it produced goes to the client in one write.
    func receivedAllAvailable() {
        flush()
    }

    /// The upstream's body ended: what the parser still holds, then the end of the answer.
    private func upstreamEnded() {
        guard attempt != nil else { return }
        do {
            if let last = attempt?.parser.finish() {
                for event in try attempt?.transcoder.transcode(last) ?? [] {
                    handle(event)
                    if finished || attempt == nil { return }
                }
            }
            for event in try attempt?.transcoder.finish() ?? [] {
                handle(event)
                if finished || attempt == nil { return }
            }
        } catch {
            return failed(GatewayError.from(error, logger: engine.logger))
        }
        if winner == nil {
            // Ended cleanly with nothing but preamble: an empty answer is still an answer.
            handle(.done)
        }
        finishStream(error: nil)
    }

    private func handle(_ event: ChatStreamEvent) {
        guard let target = winner else {
            if event.isContent {
                win(first: event)
            } else if case .chunk(let bytes) = event {
                attempt?.held.append(bytes)
            }
            return
        }
        if let frame = passThrough.frame(for: event, target: target) { out.writeBytes(frame) }
    }

    private func win(first: ChatStreamEvent) {
        guard let current = attempt else { return }
        let now = ContinuousClock.now
        stallTimer?.cancel()
        winner = current.target
        sendHead()
        for chunk in current.held { out.writeBytes(passThrough.heldFrame(chunk)) }
        handle(first)
        // The first content goes out at once, ahead of the rest of its read burst and of the bookkeeping below: time
        // to first byte is what a streaming client feels.
        flush()
        let target = current.target
        engine.health.recordSuccess(model: target.modelID, provider: target.provider.id, timeToFirstToken: now - current.started)
        engine.metrics.recordTimeToFirstToken(model: ChatCompletionsController.label(target), provider: target.provider.id, duration: now - request.start)
        session.update { $0.firstToken = now }
    }

    private func flush() {
        guard out.readableBytes > 0, !finished else { return }
        output?.writeBody(out)
        out.clear()
        lastWrite = .now
    }

    // MARK: - Keep-alives, backpressure, a departed client

    /// Every keep-alive interval: once an upstream has accepted the request and is thinking, the head goes out early;
    /// then a comment whenever the stream has been silent that long.
    private func keepAlive() {
        guard !finished else { return }
        flush()
        if !headSent {
            guard attempt?.accepted == true else { return }
            sendHead()
        } else if ContinuousClock.now - lastWrite < limits.keepAliveInterval {
            return
        }
        output?.writeBody(ByteBuffer(bytes: ServerSentEvent.keepAliveFrame))
        lastWrite = .now
    }

    /// The client's socket is full (or has room again): stop (or resume) reading the upstream.
    func clientWritabilityChanged(writable: Bool) {
        attempt?.exchange?.pauseReading(!writable)
    }

    /// The client's connection closed before the answer ended.
    func clientLeft() {
        guard !finished else { return }
        finished = true
        stopTimers()
        attempt?.exchange?.fail(.cancelled)
        if winner == nil, let target = attempt?.target { engine.health.release(model: target.modelID, provider: target.provider.id) }
        attempt = nil
        record(status: headSent ? 200 : 499, error: "client_closed_request", cancelled: true, failure: nil)
    }

    // MARK: - The answer's end

    private func sendHead() {
        guard !headSent, let target = attempt?.target else { return }
        headSent = true
        var headers = ChatCompletionsController.gatewayHeaders(
            target: target, plan: request.plan, attempts: failures.count + 1, upstreamModel: target.upstreamModel, adapted: attempt?.adapted ?? [],
            routeSummary: request.routeSummary, rateLimitHeaders: rateLimitHeaders
        )
        headers.append(HTTPField(name: .contentType, value: "text/event-stream; charset=utf-8"))
        headers.append(HTTPField(name: .cacheControl, value: "no-cache"))
        headers.append(HTTPField(name: .accelBuffering, value: "no"))
        engine.addCommonHeaders(&headers, requestID: request.id)
        output?.writeHead(HTTPResponse(status: .ok, headerFields: headers))
    }

    /// The admission refused the request (a rate limit, an exhausted balance): answered at once.
    func refuse(_ error: GatewayError) {
        fail(error)
    }

    /// Every attempt failed (or one failed in a way no other would fix).
    private func fail(_ error: GatewayError) {
        guard !finished else { return }
        if headSent {
            // The head (200) went out with a keep-alive while an upstream was thinking: the failure travels in-band.
            return finishStream(error: error)
        }
        finished = true
        stopTimers()
        request.report.update { $0.errorCode = error.code ?? error.type }
        var headers = FastChatCompletions.errorHeaders(error)
        let body = error.envelope
        headers[.contentLength] = String(body.count)
        engine.addCommonHeaders(&headers, requestID: request.id)
        output?.writeHead(HTTPResponse(status: .init(code: error.status), headerFields: headers))
        output?.writeBody(ByteBuffer(bytes: body))
        // Recorded before the response ends: a graceful shutdown waits for the connection, then drains the ledger.
        record(status: error.status, error: error.code ?? error.type, cancelled: false, failure: error)
        output?.endResponse()
    }

    /// Ends a stream whose head has gone out: cleanly, or with an in-band error event and no `[DONE]`.
    private func finishStream(error: GatewayError?) {
        guard !finished else { return }
        flush()
        finished = true
        stopTimers()
        if let error {
            attempt?.exchange?.fail(.cancelled)
            if let target = winner ?? attempt?.target {
                engine.metrics.recordUpstreamError(model: ChatCompletionsController.label(target), provider: target.provider.id, status: error.status)
            }
            request.report.update {
                $0.streamError = true
                $0.errorCode = error.code ?? error.type
            }
            output?.writeBody(error.streamFrame)
        }
        record(status: 200, error: error.map { $0.code ?? $0.type }, cancelled: false, failure: error)
        attempt = nil
        output?.endResponse()
    }

    private func stopTimers() {
        stallTimer?.cancel()
        keepAliveTimer?.cancel()
    }

    /// The ledger record, the request log line and the metrics, as the controller writes them.
    private func record(status: Int, error: String?, cancelled: Bool, failure: GatewayError?) {
        let target = winner ?? attempt?.target
        if let target {
            ChatCompletionsController.record(usage: passThrough.usage, target: target, report: request.report, upstreamModel: target.upstreamModel, metrics: engine.metrics)
        }
        let failed = failures
        let answered = failure == nil ? winner : nil
        request.report.update {
            $0.attempts = failed.count + (target == nil ? 0 : 1)
            $0.failedAttempts = failed
        }
        session.update {
            $0.usage = self.passThrough.usage
            $0.upstreamModel = target?.upstreamModel
            $0.generatedCharacters = self.passThrough.generatedCharacters
            $0.attempts = ChatCompletionsController.attempts(failed, winner: answered)
            $0.cancelled = cancelled
        }
        engine.finishStreamed(request, session: session, status: status, error: error, clientDisconnected: cancelled)
    }
}
