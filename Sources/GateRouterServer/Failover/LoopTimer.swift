import NIOCore
import NIOPosix

/// Sleeps on an event loop's timer, which a cancelled sleep removes at once.
///
/// Why not `Task.sleep`: in the gateway, where NIO's event loops run Swift concurrency (the CLI installs them as the
/// global executor), a sleep's wake-up is a Dispatch timer that stays armed until the deadline even after the sleep was
/// cancelled and returned, holding the timer and the runtime's job for it (about 0.4 KB by heaptrack) until then. The
/// gateway races a timer against every upstream attempt it makes through the controller: the attempt's time limit
/// (300 s by default), a stream's stall, keep-alive and hedge deadlines. Each request left about 0.8 KB of resident
/// memory behind for five minutes, and each stream about 3 KB: at 5,000 requests a second, 300 s of requests is
/// 1.5 million of them.
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
