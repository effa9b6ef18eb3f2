import Foundation
import GateRouterStorage
import Logging
import ServiceLifecycle
import Synchronization

/// Writes ledger records behind the response: a bounded in-memory queue drained in batches by this service.
///
/// - A full queue slows intake instead of dropping: ``record(_:)`` suspends the request until there is room, so a
///   slow database turns into backpressure on clients, never into lost billing.
/// - A failed write is retried (with backoff) until it succeeds; the store skips record ids it already holds, so a
///   batch that was written but reported as failed is not billed twice.
/// - On graceful shutdown it runs after the HTTP server has drained its requests (services stop in reverse order),
///   writes everything still queued, then returns. A hard kill loses at most what is queued and not yet written:
///   the records of the last batch interval (the 50 ms linger plus one write).
public final class UsageRecorder: Service, Sendable {
    private struct State {
        var queue: [LedgerRecord] = []
        var waitingProducers: [CheckedContinuation<Void, Never>] = []
        var consumer: CheckedContinuation<Void, Never>?
        var shuttingDown = false
        var written = 0
    }

    private let store: any GatewayStore
    private let spend: SpendTracker
    private let capacity: Int
    private let batchSize: Int
    private let linger: Duration
    private let logger: Logger
    private let state = Mutex(State())

    /// - Parameter linger: the pause after a write that left less than a batch queued, so the records of that interval
    ///   go in one transaction. Without it every request at low concurrency costs its own transaction and several
    ///   thread wake-ups (about a third of the gateway's CPU at one connection). At 3,100 requests a second, 50 ms
    ///   rather than 10 ms cut the CPU per request of the threads other than the event loops from 19–21 µs to
    ///   13–17 µs (a transaction's fixed cost, spread over five times the records).
    public init(
        store: any GatewayStore, spend: SpendTracker, capacity: Int = 10_000, batchSize: Int = 500, linger: Duration = .milliseconds(50),
        logger: Logger
    ) {
        self.store = store
        self.spend = spend
        self.capacity = max(1, capacity)
        self.batchSize = max(1, batchSize)
        self.linger = linger
        self.logger = logger
    }

    /// Queues a record, waiting while the queue is full. Its cost counts against balances and budgets at once.
    public func record(_ record: LedgerRecord) async {
        spend.charge(accountID: record.accountID, keyID: record.keyID, cost: record.cost, at: record.created)
        await queueCharged(record)
    }

    /// Counts a record's cost and queues it if the queue has room. False means it is counted but not queued: the
    /// caller must pass it to ``queueCharged(_:)``.
    public func recordIfRoom(_ record: LedgerRecord) -> Bool {
        spend.charge(accountID: record.accountID, keyID: record.keyID, cost: record.cost, at: record.created)
        return enqueueIfRoom(record)
    }

    /// Queues a record whose cost is already counted, waiting while the queue is full.
    public func queueCharged(_ record: LedgerRecord) async {
        while !enqueueIfRoom(record) {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.queue.count < capacity { return true }
                    state.waitingProducers.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        }
    }

    /// Queues a record even when the queue is full: for the rare path that cannot wait (a request whose task ended
    /// without reporting), so nothing goes unmetered.
    public func recordWithoutWaiting(_ record: LedgerRecord) {
        spend.charge(accountID: record.accountID, keyID: record.keyID, cost: record.cost, at: record.created)
        let consumer = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.queue.append(record)
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume()
    }

    private func enqueueIfRoom(_ record: LedgerRecord) -> Bool {
        let (queued, consumer) = state.withLock { state -> (Bool, CheckedContinuation<Void, Never>?) in
            guard state.queue.count < capacity else { return (false, nil) }
            state.queue.append(record)
            defer { state.consumer = nil }
            return (true, state.consumer)
        }
        consumer?.resume()
        return queued
    }

    /// Records written since start.
    public var written: Int { state.withLock { $0.written } }

    public func run() async throws {
        // Graceful shutdown and cancellation both end the loop only once the queue is empty.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                while let batch = await nextBatch() {
                    await write(batch)
                    // Cancelled (a forced stop) the sleep returns at once; a graceful shutdown waits one linger at most.
                    if linger > .zero, !shouldWriteAgainAtOnce { try? await Task.sleep(for: linger) }
                }
            } onGracefulShutdown: {
                self.beginShutdown()
            }
        } onCancel: {
            self.beginShutdown()
        }
        logger.debug("usage recorder drained", metadata: ["gr.ledger.written": "\(written)"])
    }

    /// No linger while stopping, nor while a full batch is already waiting: lingering then would cap the ledger at one
    /// batch per linger (500 records per 50 ms is 10,000 requests a second), and the queue would fill and hold requests
    /// back long before the database is the limit.
    private var shouldWriteAgainAtOnce: Bool {
        state.withLock { $0.shuttingDown || $0.queue.count >= batchSize }
    }

    private func beginShutdown() {
        let consumer = state.withLock { state -> CheckedContinuation<Void, Never>? in
            state.shuttingDown = true
            defer { state.consumer = nil }
            return state.consumer
        }
        consumer?.resume()
    }

    /// Waits for records; nil once shutting down with nothing left.
    private func nextBatch() async -> [LedgerRecord]? {
        while true {
            enum Step { case batch([LedgerRecord], [CheckedContinuation<Void, Never>]), finished, wait }
            let step = state.withLock { state -> Step in
                if !state.queue.isEmpty {
                    let batch: [LedgerRecord]
                    if state.queue.count <= batchSize {
                        // The usual case: take the whole queue without copying a record, and give the producers an
                        // empty one as large, so that refilling it does not grow (and move) it step by step.
                        batch = state.queue
                        state.queue = []
                        state.queue.reserveCapacity(batch.count)
                    } else {
                        batch = Array(state.queue.prefix(batchSize))
                        state.queue.removeFirst(batchSize)
                    }
                    let producers = state.waitingProducers
                    state.waitingProducers.removeAll()
                    return .batch(batch, producers)
                }
                return state.shuttingDown ? .finished : .wait
            }
            switch step {
            case .batch(let batch, let producers):
                for producer in producers { producer.resume() }
                return batch
            case .finished:
                return nil
            case .wait:
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = state.withLock { state -> Bool in
                        if !state.queue.isEmpty || state.shuttingDown { return true }
                        state.consumer = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
        }
    }

    private static func pause(_ duration: Duration) async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(Int(duration.components.seconds) * 1000 + Int(duration.components.attoseconds / 1_000_000_000_000_000))) {
                continuation.resume()
            }
        }
    }

    /// A batch less than full means the ledger is keeping up, so its write can make way for request serving; a full
    /// batch (more may be queued behind it) or a shutdown needs the CPU to catch up.
    static func priority(batchCount: Int, batchSize: Int, shuttingDown: Bool) -> LedgerWritePriority {
        batchCount >= batchSize || shuttingDown ? .catchingUp : .background
    }

    /// Writes one batch, retrying until the store takes it.
    private func write(_ batch: [LedgerRecord]) async {
        var delay = Duration.milliseconds(50)
        while true {
            do {
                // The write runs in its own (awaited) task: a forced stop cancels this service's task, and the store's
                // async accessors refuse to start in a cancelled task, which would leave the batch unwritten.
                let store = self.store
                let priority = Self.priority(batchCount: batch.count, batchSize: batchSize, shuttingDown: state.withLock { $0.shuttingDown })
                _ = try await Task { try await store.appendLedger(batch, priority: priority) }.value
                // The charges stay pending against the cached balances until the next reload reads them back.
                spend.settle(batch)
                state.withLock { $0.written += batch.count }
                return
            } catch {
                logger.error("ledger write failed; retrying", metadata: ["gr.error": "\(error)", "gr.ledger.batch": "\(batch.count)"])
                // Cancelled sleeps return at once; sleep on a clock that does not observe cancellation so a failing
                // store during a forced stop is retried at the same pace rather than in a tight loop.
                await Self.pause(delay)
                delay = min(delay * 2, .seconds(5))
            }
        }
    }
}
