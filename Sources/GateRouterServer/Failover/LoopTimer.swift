import NIOCore
import NIOPosix

/// Sleeps on an event loop's timer, which a cancelled sleep removes at once.
///
/// Why not `Task.sleep`: on Linux its wake-up is a Dispatch timer that stays armed until the deadline, even after the
/// sleep was cancelled and returned, and it holds about 300 bytes of the runtime's memory until then. The gateway races
/// a timer against every upstream attempt it makes through the controller: the attempt's time limit (300 s by
/// default), a stream's stall and keep-alive deadlines. Each request left about 0.8 KB behind for five minutes, and each
/// stream about 3 KB. Under load the process grew by hundreds of megabytes: at 5,000 requests a second, 300 s of
/// requests is 1.5 million of them.
enum LoopTimer {
    /// Returns after `duration`, or throws `CancellationError` as soon as the task is cancelled.
    static func sleep(for duration: Duration, on loop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()) async throws {
        let timer = loop.scheduleTask(in: TimeAmount(duration)) {}
        try await withTaskCancellationHandler {
            do {
                try await timer.futureResult.get()
            } catch {
                // The only failure of a scheduled task's future is its cancellation.
                throw CancellationError()
            }
        } onCancel: {
            timer.cancel()
        }
    }

    /// Returns at `deadline` (at once when it has passed), or throws `CancellationError` as soon as the task is cancelled.
    static func sleep(until deadline: ContinuousClock.Instant, on loop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any()) async throws {
        try await sleep(for: deadline - .now, on: loop)
    }
}
