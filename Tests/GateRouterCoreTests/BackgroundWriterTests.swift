import Foundation
import GateRouterStorage
import Synchronization
import Testing

@testable import GateRouterSQLite

@Suite struct BackgroundWriterTests {
    struct Refused: Error, Equatable {}

    final class Overlap: Sendable {
        let running = Mutex(0)
        let seen = Mutex(false)
    }

    @Test func jobsRunOneAtATimeOnANicedThreadOfTheirOwn() async throws {
        let writer = BackgroundWriter(niceness: 10, idleExit: 60)
        let overlap = Overlap()
        // Fifty jobs submitted at once from as many tasks: every one runs, never two at the same time.
        let ran = try await withThrowingTaskGroup(of: Int.self, returning: [Int].self) { group in
            for index in 0..<50 {
                group.addTask {
                    try await writer.run {
                        let now = overlap.running.withLock { $0 += 1; return $0 }
                        if now > 1 { overlap.seen.withLock { $0 = true } }
                        usleep(200)
                        overlap.running.withLock { $0 -= 1 }
                        return index
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(ran.sorted() == Array(0..<50))
        #expect(!overlap.seen.withLock { $0 })
        // In order: each job is submitted after the previous one returned, so this is the queue's order as well.
        var order: [Int] = []
        for index in 0..<5 { order.append(try await writer.run { index }) }
        #expect(order == [0, 1, 2, 3, 4])
        #if os(Linux)
        // One thread for back-to-back jobs: the same pthread each time.
        let first = try await writer.run { pthread_self() }
        #expect(try await writer.run { pthread_self() } == first)
        let niceness = try await writer.run { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }
        #expect(niceness == 10, "the writer's thread runs below the event loops")
        #expect(getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) != 10, "and only that thread")
        #endif
    }

    @Test func resultsAndErrorsComeBackToTheCaller() async throws {
        let writer = BackgroundWriter()
        #expect(try await writer.run { 6 * 7 } == 42)
        await #expect(throws: Refused.self) { try await writer.run { throw Refused() } }
        // A failed job does not stop the thread: the next one runs.
        #expect(try await writer.run { "after" } == "after")
    }

    @Test func backToBackJobsShareOneThread() async throws {
        let writer = BackgroundWriter(idleExit: 60)
        #expect(writer.startedThreads == 0 && !writer.hasThread, "no thread before the first job")
        for index in 0..<20 { #expect(try await writer.run { index } == index) }
        #expect(writer.startedThreads == 1 && writer.hasThread)
    }

    @Test(.timeLimit(.minutes(1)))
    func anIdleThreadEndsAndTheNextJobStartsAnother() async throws {
        let writer = BackgroundWriter(idleExit: 0.05)
        _ = try await writer.run { 1 }
        #expect(writer.startedThreads == 1)
        // Polled rather than slept for: a loaded machine may take longer than the idle interval to let it end.
        while writer.hasThread { try await Task.sleep(for: .milliseconds(10)) }
        #expect(try await writer.run { 3 } == 3)
        #expect(writer.startedThreads == 2)
    }

    @Test func theSQLiteStoreInsertsLedgerBatchesThroughIt() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("bgw-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: folder.appendingPathComponent("ledger.sqlite").path)
        try await store.migrate()
        #expect(try await store.appendLedger([]) == 0)
        #expect(store.ledgerWriter.startedThreads == 0, "an empty batch starts nothing")
        let batch = (0..<300).map { Fixture.record("r\($0)", at: 1_000 + Double($0), account: "acct", key: "key", prompt: $0) }
        #expect(try await store.appendLedger(batch) == 300)
        #expect(store.ledgerWriter.startedThreads == 1)
        #expect(try await store.appendLedger(Array(batch.prefix(10))) == 0, "record ids already held are skipped")
        let stored = try await store.usage(UsageQuery(limit: 1_000))
        #expect(Set(stored.map(\.id)) == Set(batch.map(\.id)))
        #expect(stored.first { $0.id == "r299" }?.promptTokens == 299)
    }
}
