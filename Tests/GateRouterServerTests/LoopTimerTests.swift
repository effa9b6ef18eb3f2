@testable import GateRouterServer
import GateRouterWire
import Testing

/// The timers the gateway races against upstream attempts: they keep time, and stop at once when cancelled. That they
/// leave no memory behind is `MemoryUnderLoadTests`' to show, on the real binary.
// A cancellation that did not stop a sleep would wait out its 300 s: the limit turns that into a failure.
@Suite(.timeLimit(.minutes(1))) struct LoopTimerTests {
    @Test func aSleepLastsItsDuration() async throws {
        let start = ContinuousClock.now
        try await LoopTimer.sleep(for: .milliseconds(30))
        #expect(ContinuousClock.now - start >= .milliseconds(30))
    }

    @Test func aDeadlineInThePastReturnsAtOnce() async throws {
        let start = ContinuousClock.now
        try await LoopTimer.sleep(until: start - .seconds(1))
        #expect(ContinuousClock.now - start < .seconds(1))
    }

    @Test func aCancelledSleepThrowsCancellationAtOnce() async throws {
        let start = ContinuousClock.now
        let sleeper = Task { try await LoopTimer.sleep(for: .seconds(300)) }
        try await Task.sleep(for: .milliseconds(20))
        sleeper.cancel()
        await #expect(throws: CancellationError.self) { try await sleeper.value }
        #expect(ContinuousClock.now - start < .seconds(10))

        let alreadyCancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await LoopTimer.sleep(for: .seconds(300))
        }
        await #expect(throws: CancellationError.self) { try await alreadyCancelled.value }
    }

    @Test func aTimeLimitStillEndsASlowAttemptWithA504() async throws {
        let error = await #expect(throws: GatewayError.self) {
            try await FailoverPolicy.withTimeLimit(.milliseconds(50), provider: "slow") {
                try await LoopTimer.sleep(for: .seconds(300))
                return 1
            }
        }
        #expect(error?.status == 504)
        #expect(error?.code == "upstream_timeout")
    }

    @Test func aTimeLimitReturnsTheAnswerWithoutWaitingForItsTimer() async throws {
        let start = ContinuousClock.now
        let answer = try await FailoverPolicy.withTimeLimit(.seconds(300), provider: "fast") { 42 }
        #expect(answer == 42)
        #expect(ContinuousClock.now - start < .seconds(10))
    }
}
