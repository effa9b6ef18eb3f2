import Foundation
@testable import GateRouterCLI
import GateRouterServer
import Synchronization
import Testing

/// The background log writer against a pipe: lines arrive whole and in order, and when the pipe stops taking them
/// what waits stays within the writer's limits, and every line is either written or counted in a warning.
@Suite(.timeLimit(.minutes(1))) struct LogWriterTests {
    static func line(_ index: Int) -> RequestLogLine {
        RequestLogLine(
            method: "POST", route: "/openai/v1/chat/completions", status: 200, duration: .milliseconds(3), client: "127.0.0.1",
            fields: RequestReport.Fields(), clientDisconnected: false, requestID: "req_\(index)"
        )
    }

    /// Reads a pipe on its own thread until `done` says the text is complete (or 20 s pass), then returns the text.
    static func readAll(from descriptor: Int32, until done: @escaping @Sendable (String) -> Bool) async -> String {
        let text = Mutex("")
        let reader = Thread {
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let deadline = Date().addingTimeInterval(20)
            while Date() < deadline {
                // Waits at most 100 ms at a time, so the deadline holds when nothing more comes.
                var ready = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                guard poll(&ready, 1, 100) > 0 else { continue }
                let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
                guard count > 0 else { break }
                let complete = text.withLock { text -> Bool in
                    text += String(decoding: chunk[0..<count], as: UTF8.self)
                    return done(text)
                }
                if complete { break }
            }
        }
        reader.start()
        while !reader.isFinished { try? await Task.sleep(for: .milliseconds(20)) }
        return text.withLock { $0 }
    }

    static func requestIDs(in text: String) -> [String] {
        text.split(separator: "\n").filter { $0.hasSuffix(" [GateRouterServer] request") }.compactMap { line in
            line.split(separator: " ").first { $0.hasPrefix("gr.request.id=") }.map { String($0.dropFirst("gr.request.id=".count)) }
        }
    }

    static func dropped(in text: String) -> Int {
        text.split(separator: "\n").filter { $0.contains(" warning gaterouter: ") }.reduce(0) { total, line in
            total + (line.split(separator: " ").first { $0.hasPrefix("gr.log.dropped=") }.flatMap { Int($0.dropFirst("gr.log.dropped=".count)) } ?? 0)
        }
    }

    @Test func linesArriveWholeAndInOrder() async throws {
        var descriptors: [Int32] = [0, 0]
        try #require(pipe(&descriptors) == 0)
        // The pipe stays open for the process's life: the writer's thread runs until then.
        let writer = LogWriter(descriptor: descriptors[1])
        let total = 3_000
        let reading = Task { await Self.readAll(from: descriptors[0]) { Self.requestIDs(in: $0).count >= total } }
        for index in 0..<total { writer.append(request: Self.line(index), label: "gaterouter") }
        let text = await reading.value
        #expect(Self.requestIDs(in: text) == (0..<total).map { "req_\($0)" })
        #expect(Self.dropped(in: text) == 0)
    }

    @Test func aBlockedPipeBoundsWhatWaitsAndTheDroppedLinesAreCounted() async throws {
        var descriptors: [Int32] = [0, 0]
        try #require(pipe(&descriptors) == 0)
        let limit = 1_000
        let writer = LogWriter(descriptor: descriptors[1], maxBufferedBytes: 1 << 20, maxQueuedRequests: limit)
        // Nobody reads yet: the pipe fills (64 KiB, a few hundred lines), the writer's thread blocks in `write` with the
        // batch it took, and of the rest at most `limit` lines wait.
        let total = 20_000
        for index in 0..<total { writer.append(request: Self.line(index), label: "gaterouter") }
        try await Task.sleep(for: .milliseconds(100))
        let text = await Self.readAll(from: descriptors[0]) { Self.requestIDs(in: $0).count + Self.dropped(in: $0) >= total }
        let written = Self.requestIDs(in: text)
        let dropped = Self.dropped(in: text)
        #expect(written.count + dropped == total, "\(written.count) written, \(dropped) reported dropped")
        #expect(dropped > 0)
        // What the pipe held, the batch the writer had taken when it blocked, and at most `limit` more.
        #expect(written.count < total / 2, "\(written.count) lines waited")
        // The lines that were written keep their order.
        let numbers = written.compactMap { Int($0.dropFirst("req_".count)) }
        #expect(numbers == numbers.sorted())

        // Once the pipe moves again, nothing more is dropped.
        let more = 500
        let reading = Task { await Self.readAll(from: descriptors[0]) { Self.requestIDs(in: $0).count >= more } }
        for index in total..<(total + more) { writer.append(request: Self.line(index), label: "gaterouter") }
        let after = await reading.value
        #expect(Self.requestIDs(in: after) == (total..<(total + more)).map { "req_\($0)" })
        #expect(Self.dropped(in: after) == 0)
    }
}
