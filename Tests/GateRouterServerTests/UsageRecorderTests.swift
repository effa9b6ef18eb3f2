import Foundation
@testable import GateRouterServer
import GateRouterSQLite
import GateRouterStorage
import Logging
import Testing

/// The ledger's bounded queue against a real SQLite file: producers wait while it is full, batches are taken whole or
/// in pieces of the batch size, and a stop drains it: every record lands once.
@Suite struct UsageRecorderTests {
    // A producer never woken would hang: the limit turns that into a failure.
    @Test(.timeLimit(.minutes(1)), arguments: [(capacity: 4, batchSize: 3), (capacity: 64, batchSize: 5), (capacity: 500, batchSize: 500)])
    func everyRecordLandsOnceWhateverTheQueueAndBatchSizes(_ sizes: (capacity: Int, batchSize: Int)) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaterouter-recorder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("gateway.sqlite").path)
        try await store.migrate()
        let recorder = UsageRecorder(
            store: store, spend: SpendTracker(), capacity: sizes.capacity, batchSize: sizes.batchSize, linger: .milliseconds(5),
            logger: Logger(label: "test")
        )
        let running = Task { try await recorder.run() }
        let count = 300
        // Forty producers at once: with a small queue most of them wait for room.
        await withTaskGroup(of: Void.self) { group in
            for producer in 0..<40 {
                group.addTask {
                    for index in stride(from: producer, to: count, by: 40) {
                        await recorder.record(
                            LedgerRecord(
                                id: "req_\(index)", created: Date(), accountID: "a", keyID: "k", requestedModel: "m", cost: Picodollars(Int64(index))
                            )
                        )
                    }
                }
            }
        }
        // A stop drains what is queued before the task ends.
        running.cancel()
        try await running.value
        #expect(recorder.written == count)
        let stored = try await store.usage(UsageQuery(limit: count + 10))
        #expect(stored.count == count)
        #expect(Set(stored.map(\.id)) == Set((0..<count).map { "req_\($0)" }))
    }

    /// Less than a full batch means the ledger keeps up, so the write may make way for request serving; a full batch or
    /// a shutdown means records are waiting behind it.
    @Test func aPartialBatchIsWrittenInTheBackgroundAndAFullOneOrAShutdownCatchesUp() {
        #expect(UsageRecorder.priority(batchCount: 1, batchSize: 500, shuttingDown: false) == .background)
        #expect(UsageRecorder.priority(batchCount: 499, batchSize: 500, shuttingDown: false) == .background)
        #expect(UsageRecorder.priority(batchCount: 500, batchSize: 500, shuttingDown: false) == .catchingUp)
        #expect(UsageRecorder.priority(batchCount: 3, batchSize: 500, shuttingDown: true) == .catchingUp)
    }

    /// The linger gathers a quiet interval's records into one transaction; it must not pace a backlog. With a linger of
    /// a minute, ten full batches already queued are all written at once, not one a minute.
    @Test(.timeLimit(.minutes(1)))
    func aBacklogIsWrittenWithoutWaitingTheLingerBetweenBatches() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaterouter-recorder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(path: directory.appendingPathComponent("gateway.sqlite").path)
        try await store.migrate()
        let recorder = UsageRecorder(store: store, spend: SpendTracker(), capacity: 1_000, batchSize: 10, linger: .seconds(60), logger: Logger(label: "test"))
        let count = 100
        for index in 0..<count {
            await recorder.record(LedgerRecord(id: "req_\(index)", created: Date(), accountID: "a", keyID: "k", requestedModel: "m", cost: Picodollars(1)))
        }
        let running = Task { try await recorder.run() }
        let deadline = ContinuousClock.now + .seconds(20)
        while recorder.written < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(recorder.written == count)
        #expect(try await store.usage(UsageQuery(limit: count + 10)).count == count)
        running.cancel()
        try await running.value
    }
}
