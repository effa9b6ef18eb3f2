import Foundation

/// Runs work on a thread of its own at a lower scheduling priority (nice 10 on Linux): the ledger's batch inserts.
///
/// Why: on a machine with as few cores as the benchmark's (2), a batch insert at normal priority holds a core for a
/// millisecond or more while the threads that serve requests (and the client's and the upstream's) wait their turn;
/// at one connection that was most of the gateway's p99 added latency. Niced, the kernel runs those threads first as
/// soon as they wake, and the insert takes what is left. GRDB's synchronous `write` runs its closure on the calling
/// thread when the writer is free, so the SQLite work itself happens on this thread.
///
/// The thread starts with the first job and ends after a second with nothing to do, so idle stores (and tests that
/// open many) hold no thread.
final class BackgroundWriter: @unchecked Sendable {
    // Guarded by `condition`.
    private var jobs: [@Sendable () -> Void] = []
    private var threadRunning = false
    private var threadsStarted = 0
    private let condition = NSCondition()
    private let niceness: Int32
    private let idleExit: TimeInterval

    init(niceness: Int32 = 10, idleExit: TimeInterval = 1) {
        self.niceness = niceness
        self.idleExit = idleExit
    }

    /// Runs `work` on the writer thread and returns its result; jobs run one at a time, in the order they came.
    func run<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            submit { continuation.resume(with: Result { try work() }) }
        }
    }

    /// Whether a thread is running now (busy, or idle and not yet ended); for tests.
    var hasThread: Bool {
        condition.lock()
        defer { condition.unlock() }
        return threadRunning
    }

    /// Threads started so far (a new one after each idle exit); for tests.
    var startedThreads: Int {
        condition.lock()
        defer { condition.unlock() }
        return threadsStarted
    }

    private func submit(_ job: @escaping @Sendable () -> Void) {
        condition.lock()
        jobs.append(job)
        let start = !threadRunning
        if start {
            threadRunning = true
            threadsStarted += 1
        }
        condition.signal()
        condition.unlock()
        guard start else { return }
        let thread = Thread { [self] in drain() }
        thread.name = "gaterouter-sqlite-writer"
        thread.start()
    }

    private func drain() {
        #if os(Linux)
        // On Linux the nice value belongs to the calling thread alone (`who` 0 with PRIO_PROCESS), not the process.
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
        #endif
        condition.lock()
        while true {
            while jobs.isEmpty {
                let deadline = Date(timeIntervalSinceNow: idleExit)
                if !condition.wait(until: deadline), jobs.isEmpty {
                    threadRunning = false
                    condition.unlock()
                    return
                }
            }
            let batch = jobs
            jobs.removeAll()
            condition.unlock()
            for job in batch { job() }
            condition.lock()
        }
    }
}
