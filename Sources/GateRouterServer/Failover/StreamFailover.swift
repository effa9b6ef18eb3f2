import GateRouterProviders
import GateRouterRouting
import GateRouterWire
import Logging

/// Walks a route plan's attempts for a streamed request until one produces content.
///
/// Before the first content token (reasoning text counts) only the preamble (role chunk, empty deltas) is held back,
/// so an attempt that fails, errors or stalls can be replaced by the next one without the client seeing a seam. With
/// hedging on, an attempt slower than its model's recent p95 gets a twin on the next candidate and the first to
/// produce content wins; the other is cancelled. Once content has gone out, the stream belongs to the winner.
struct StreamFailover: Sendable {
    /// Hedging for this request: the account's budget and cap.
    struct Hedging: Sendable {
        let budget: HedgeBudget
        let account: String
        let percent: Int
    }

    let plan: RoutePlan
    let makeCall: @Sendable (UpstreamTarget) -> UpstreamCall
    let adapters: ProviderAdapters
    let health: ModelHealth
    let limits: GatewayConfiguration.RoutingLimits
    let deadline: ContinuousClock.Instant
    let hedging: Hedging?
    let logger: Logger

    /// One upstream attempt in flight, with what it has sent so far.
    struct Live: Sendable {
        let attempt: StreamedAttempt
        let started: ContinuousClock.Instant
        var held: [[UInt8]] = []
        var upstreamModel: String?
        var adapted: [String] = []
        var isHedge = false
    }

    /// Where the walk stands; handed from the request handler to the response body writer.
    struct State: Sendable {
        var nextIndex = 0
        var live: [Live] = []
        /// The attempt that produced content.
        var winner: Live?
        /// The first content event of the winner.
        var firstContent: ChatStreamEvent?
        /// The events that arrived with the first content, after it.
        var afterFirstContent: [ChatStreamEvent] = []
        /// `model: reason` for every attempt that failed or lost a hedge race.
        var failures: [String] = []
        var lastError: GatewayError?
        var hedged = false

        var current: StreamedAttempt? { winner?.attempt ?? live.first?.attempt }
        var held: [[UInt8]] { winner?.held ?? [] }
        var upstreamModel: String? { winner?.upstreamModel ?? live.first?.upstreamModel }
        var adapted: [String] { winner?.adapted ?? live.first?.adapted ?? [] }
        var attempts: Int { failures.count + (winner == nil ? live.count : 1) }

        func cancelAll() {
            winner?.attempt.cancel()
            for live in live { live.attempt.cancel() }
        }
    }

    enum Progress {
        /// An attempt produced content (`state.winner`, `state.firstContent`).
        case content
        /// Nothing yet, and `until` has passed: the caller may send a keep-alive and call again.
        case waiting
    }

    /// Advances until content arrives or `until` passes; throws the final error when no attempt is left.
    func advance(_ state: inout State, until: ContinuousClock.Instant?) async throws -> Progress {
        while true {
            if state.live.isEmpty {
                guard try await startNextAttempt(&state) else { throw finalError(state) }
            }
            let failAt = min(state.live.map { $0.started + limits.stallTimeout }.min() ?? deadline, deadline)
            let hedgeAt = hedgeTime(state)
            var waitUntil = failAt
            // The response head goes out early (for keep-alives) only once an upstream has accepted the request and is
            // thinking: before that the head still waits, so headers name the model that really answers.
            let someoneAccepted = state.live.contains { $0.upstreamModel != nil }
            if let until, someoneAccepted { waitUntil = min(waitUntil, until) }
            if let hedgeAt { waitUntil = min(waitUntil, hedgeAt) }

            let results = await race(state.live, until: waitUntil)
            if results.isEmpty {
                let now = ContinuousClock.now
                if let hedgeAt, now >= hedgeAt, let hedging, hedging.budget.takeHedge(account: hedging.account, percent: hedging.percent) {
                    state.hedged = true
                    logger.info("hedging a slow first token", metadata: ["gr.model": .string(state.live.first?.attempt.target.modelID ?? "")])
                    _ = try await startNextAttempt(&state, hedge: true)
                    continue
                }
                if let hedgeAt, now >= hedgeAt { state.hedged = true }  // no budget: do not ask again
                for live in state.live where now >= live.started + limits.stallTimeout {
                    let error = GatewayError(
                        status: 504, message: "The upstream provider '\(live.attempt.target.provider.id)' sent nothing for \(limits.stallTimeout) before its first token.",
                        type: "server_error", code: "upstream_stalled"
                    )
                    fail(&state, live.attempt, error: error, reason: "stalled")
                }
                if now >= deadline {
                    state.lastError = GatewayError(status: 504, message: "No upstream produced an answer within the routing deadline.", type: "server_error", code: "routing_deadline_exceeded")
                    state.cancelAll()
                    state.live = []
                    throw finalError(state)
                }
                if let until, now >= until, someoneAccepted, !state.live.isEmpty { return .waiting }
                continue
            }
            if try handle(results, &state) { return .content }
        }
    }

    /// Applies raced results in order; returns true when one of them was content.
    private func handle(_ results: [(Int, Result<StreamedAttempt.Item?, any Error>)], _ state: inout State) throws -> Bool {
        let attempts = state.live.map(\.attempt)
        for (index, result) in results {
            let attempt = attempts[index]
            guard let position = state.live.firstIndex(where: { $0.attempt === attempt }) else { continue }
            switch result {
            case .success(.tick?):
                continue
            case .success(.opened(let upstreamModel, let adapted)?):
                state.live[position].upstreamModel = upstreamModel
                state.live[position].adapted = adapted
            case .success(.events(let events)?):
                for (offset, event) in events.enumerated() {
                    if event.isContent {
                        win(&state, position: position, first: event, rest: Array(events[(offset + 1)...]))
                        return true
                    }
                    if case .chunk(let bytes) = event { state.live[position].held.append(bytes) }
                }
            case .success(nil):
                // Ended cleanly with nothing but preamble: an empty answer is still an answer.
                win(&state, position: position, first: .done, rest: [])
                return true
            case .failure(let error):
                if error is CancellationError { continue }
                let gatewayError = GatewayError.from(error, logger: logger)
                guard FailoverPolicy.isRetryable(gatewayError, auto: plan.decision != nil) || state.live.count > 1 else {
                    state.cancelAll()
                    state.live = []
                    throw gatewayError
                }
                fail(&state, attempt, error: gatewayError, reason: gatewayError.code ?? "HTTP \(gatewayError.status)")
            }
        }
        return false
    }

    private func win(_ state: inout State, position: Int, first: ChatStreamEvent, rest: [ChatStreamEvent]) {
        let winner = state.live.remove(at: position)
        for loser in state.live {
            loser.attempt.cancel()
            health.release(model: loser.attempt.target.modelID, provider: loser.attempt.target.provider.id)
            state.failures.append("\(loser.attempt.target.modelID): lost hedge")
        }
        state.live = []
        state.winner = winner
        state.firstContent = first
        state.afterFirstContent = rest
        health.recordSuccess(model: winner.attempt.target.modelID, provider: winner.attempt.target.provider.id, timeToFirstToken: .now - winner.started)
    }

    /// When to start a hedge: the primary's start plus its model's recent p95 time to first token (at least
    /// ``minimumHedgeDelay``), if hedging is on, has not happened yet, and another candidate exists.
    private func hedgeTime(_ state: State) -> ContinuousClock.Instant? {
        guard let hedging, hedging.percent > 0, !state.hedged, state.live.count == 1, state.nextIndex < plan.attempts.count,
              let primary = state.live.first, let p95 = health.timeToFirstTokenP95(model: primary.attempt.target.modelID)
        else { return nil }
        return primary.started + max(p95, Self.minimumHedgeDelay)
    }

    /// A model whose first tokens come within a few milliseconds (a local server) has a p95 that scheduling jitter
    /// alone exceeds: a hedge that early races noise, not a slow provider, and spends the account's budget on it.
    static let minimumHedgeDelay = Duration.milliseconds(100)

    /// Waits for the first item from any live attempt until `until`; returns every item that arrived (an empty list
    /// means the time ran out). Items that raced in together are all returned, so none is lost.
    private func race(_ live: [Live], until: ContinuousClock.Instant) async -> [(Int, Result<StreamedAttempt.Item?, any Error>)] {
        let attempts = live.map(\.attempt)
        return await withTaskGroup(of: (Int, Result<StreamedAttempt.Item?, any Error>)?.self) { group in
            for (index, attempt) in attempts.enumerated() {
                group.addTask { (index, await attempt.nextItem()) }
            }
            group.addTask {
                try? await LoopTimer.sleep(until: until)
                return nil
            }
            var results: [(Int, Result<StreamedAttempt.Item?, any Error>)] = []
            if let first = await group.next(), let first { results.append(first) }
            group.cancelAll()
            for await result in group {
                if let result, case .failure(let error) = result.1, error is CancellationError { continue }
                if let result { results.append(result) }
            }
            return results
        }
    }

    private func fail(_ state: inout State, _ attempt: StreamedAttempt, error: GatewayError, reason: String) {
        attempt.cancel()
        health.recordFailure(model: attempt.target.modelID, provider: attempt.target.provider.id)
        state.failures.append("\(attempt.target.modelID): \(reason)")
        state.lastError = error
        state.live.removeAll { $0.attempt === attempt }
        logger.info("upstream attempt failed; failing over", metadata: ["gr.model": .string(attempt.target.modelID), "gr.reason": .string(reason)])
    }

    /// Starts the next admissible attempt; false when none is left.
    private func startNextAttempt(_ state: inout State, hedge: Bool = false) async throws -> Bool {
        while state.nextIndex < plan.attempts.count, ContinuousClock.now < deadline {
            let index = state.nextIndex
            let target = plan.attempts[index]
            state.nextIndex += 1
            // A hedge goes to a different model than the one it races.
            if hedge, state.live.contains(where: { $0.attempt.target.modelID == target.modelID }) { continue }
            guard health.admit(model: target.modelID, provider: target.provider.id) else {
                state.failures.append("\(target.modelID): circuit open")
                continue
            }
            if !hedge, index > 0, plan.attempts[index - 1].modelID == target.modelID {
                try await LoopTimer.sleep(for: FailoverPolicy.backoff(attempt: state.failures.count))
            }
            let attempt = StreamedAttempt(
                adapter: adapters.adapter(for: target.provider.kind), call: makeCall(target), tickInterval: limits.keepAliveInterval, logger: logger
            )
            state.live.append(Live(attempt: attempt, started: .now, isHedge: hedge))
            return true
        }
        return false
    }

    func finalError(_ state: State) -> GatewayError {
        FailoverPolicy.finalError(failures: state.failures, lastError: state.lastError, auto: plan.decision != nil)
    }
}

/// What counts as worth another attempt, and what the client hears when every attempt failed.
enum FailoverPolicy {
    /// Upstream trouble (timeouts, rate limits, server errors, unreachable) is retryable; the client's own mistakes
    /// (400, 413, …) would fail the same way everywhere. For `auto`, a provider-specific 403/404 moves on too.
    static func isRetryable(_ error: GatewayError, auto: Bool) -> Bool {
        switch error.status {
        case 408, 429, 500...: return true
        case 403, 404: return auto
        default: return false
        }
    }

    /// Runs one non-streaming attempt within `limit`; past it the attempt is cancelled and reported as a 504, which
    /// the failover loop treats like any upstream timeout.
    static func withTimeLimit<Value: Sendable>(
        _ limit: Duration, provider: String, _ operation: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        try await withThrowingTaskGroup(of: Value?.self) { group in
            group.addTask { try await operation() }
            group.addTask {
                try await LoopTimer.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            guard let first = try await group.next(), let value = first else {
                throw GatewayError(
                    status: 504, message: "The upstream provider '\(provider)' did not answer within \(limit).",
                    type: "server_error", code: "upstream_timeout"
                )
            }
            return value
        }
    }

    /// Grows with each failure: 200 ms, 400 ms, 800 ms… capped at 2 s.
    static func backoff(attempt: Int) -> Duration {
        .milliseconds(min(2000, 200 << min(max(attempt - 1, 0), 4)))
    }

    /// A fixed model's last upstream error as is (status, Retry-After); for `auto`, a 503 naming every attempt.
    static func finalError(failures: [String], lastError: GatewayError?, auto: Bool) -> GatewayError {
        if !auto, let lastError { return lastError }
        let tried = failures.isEmpty ? "no candidate was available" : failures.joined(separator: "; ")
        return GatewayError(
            status: 503,
            message: "Every upstream tried for this request failed (\(tried)).",
            type: "service_unavailable_error",
            code: "all_upstreams_failed",
            retryAfter: lastError?.retryAfter
        )
    }
}
