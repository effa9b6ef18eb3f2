import Foundation
import GateRouterServer
import Logging
import Synchronization

/// Writes log lines to stderr from a background thread, in batches.
///
/// `StreamLogHandler` formats a timestamp with the C library and issues one `write(2)` per line on the calling thread:
/// with a line per request, that is a blocking system call on an event loop for every request. Here the caller only
/// formats the line into a shared buffer, and the fast path's request lines (``RequestLineWriter``) are only queued
/// as values; a dedicated thread formats those and writes what has gathered every 20 ms (sooner past 64 KiB or 512
/// queued requests). `flush()` writes the rest; `gaterouter serve` calls it when it stops.
///
/// What waits is bounded: when stderr stops taking lines (a full pipe nobody reads, a paused terminal, a stalled log
/// collector) the writer thread blocks in `write`, and lines past the limits are dropped and counted, then reported in
/// one warning line once stderr moves again. Before, the queue grew by a few hundred bytes per request for as long as
/// stderr was blocked; blocking the event loops instead would stop the gateway over its logs.
final class LogWriter: Sendable {
    private struct State {
        var buffer: [UInt8] = []
        var timestamps = Timestamps()
        /// Request lines not formatted yet, each with the second it was logged in. They come after everything in
        /// `buffer`: a line appended to `buffer` formats these first.
        var requests: [QueuedRequestLine] = []
        /// Lines dropped since the last write, for the warning that reports them.
        var dropped = 0
    }

    private struct QueuedRequestLine {
        var second: Int
        var label: String
        var line: RequestLogLine
    }

    /// Queued request lines that wake the writer before its next round (about 200 KB of text).
    private static let requestsPerWake = 512

    private let state = Mutex(State())
    /// Held for a whole flush, so that two (the writer thread's and the last one on the way out) cannot write their
    /// lines out of order. The event loops never take it.
    private let flushing = Mutex(())
    private let wake = NSCondition()
    private let descriptor: Int32
    /// Formatted bytes that may wait (other lines, and request lines once formatted).
    private let maxBufferedBytes: Int
    /// Request lines that may wait unformatted (a few hundred bytes each).
    private let maxQueuedRequests: Int

    /// - Parameters:
    ///   - maxBufferedBytes: formatted text that may wait for stderr; 16 MiB by default.
    ///   - maxQueuedRequests: request lines that may wait unformatted; 50,000 by default, two seconds of the fast path at
    ///     full speed on the benchmark machine.
    init(descriptor: Int32 = STDERR_FILENO, maxBufferedBytes: Int = 16 << 20, maxQueuedRequests: Int = 50_000) {
        self.descriptor = descriptor
        self.maxBufferedBytes = maxBufferedBytes
        self.maxQueuedRequests = maxQueuedRequests
        let thread = Thread { [self] in self.run() }
        thread.name = "gaterouter-log"
        thread.start()
    }

    /// Appends one line: the timestamp, `level label:`, the metadata as `key=value` pairs in key order, `[source]` and
    /// the message. Written straight into the shared buffer, so a line costs no string of its own.
    func append(level: Logger.Level, label: String, metadata: Logger.Metadata, source: String, message: String) {
        // Sorted as pairs, so writing them needs no look-up by key. `String.<` is byte order for the ASCII keys logs
        // use, and faster than comparing their UTF-8 views with memcmp (which copies each small key out first): a
        // request line's sort and format took 9.2 µs that way against 3.0–3.4 µs with `<` (`gaterouter-bench micro`).
        let pairs = metadata.sorted { $0.key < $1.key }
        let now = Date().timeIntervalSince1970
        let large = state.withLock { state -> Bool in
            guard state.buffer.count < maxBufferedBytes else {
                state.dropped += 1
                return false
            }
            // Lines other than requests are few (start-up, warnings, errors): the queued request lines before this
            // one are formatted here, so the output keeps the order the lines were logged in.
            if !state.requests.isEmpty {
                Self.format(state.requests, into: &state.buffer, timestamps: &state.timestamps)
                state.requests.removeAll(keepingCapacity: true)
            }
            Self.appendPrefix(stamp: state.timestamps.stamp(for: Int(now)), level: level, label: label, to: &state.buffer)
            for (key, value) in pairs {
                state.buffer.append(UInt8(ascii: " "))
                state.buffer.append(contentsOf: key.utf8)
                state.buffer.append(UInt8(ascii: "="))
                switch value {
                case .string(let string): state.buffer.append(contentsOf: string.utf8)
                case .stringConvertible(let convertible): state.buffer.append(contentsOf: convertible.description.utf8)
                default: state.buffer.append(contentsOf: value.description.utf8)
                }
            }
            state.buffer.append(contentsOf: " [".utf8)
            state.buffer.append(contentsOf: source.utf8)
            state.buffer.append(contentsOf: "] ".utf8)
            state.buffer.append(contentsOf: message.utf8)
            state.buffer.append(UInt8(ascii: "\n"))
            return state.buffer.count > 64 << 10
        }
        if large { wake.signal() }
    }

    /// Queues a request line, formatted later by the writer thread (or before the next other line): the event loop that
    /// logs it only appends a value.
    func append(request line: RequestLogLine, label: String) {
        let second = time(nil)
        let queued = state.withLock { state -> Int in
            guard state.requests.count < maxQueuedRequests else {
                state.dropped += 1
                return 0
            }
            state.requests.append(QueuedRequestLine(second: second, label: label, line: line))
            return state.requests.count
        }
        if queued == Self.requestsPerWake { wake.signal() }
    }

    /// Writes everything buffered now, on the calling thread.
    func flush() {
        flushing.withLock { _ in flushNow() }
    }

    private func flushNow() {
        let (pending, requests, lastTimestamp, dropped) = state.withLock { state -> ([UInt8], [QueuedRequestLine], Timestamps, Int) in
            defer {
                state.buffer.removeAll(keepingCapacity: true)
                state.requests.removeAll(keepingCapacity: true)
                state.dropped = 0
            }
            return (state.buffer, state.requests, state.timestamps, state.dropped)
        }
        // Outside the lock: the event loops keep queueing while these are formatted.
        var bytes = pending
        var timestamps = lastTimestamp
        Self.format(requests, into: &bytes, timestamps: &timestamps)
        if dropped > 0 {
            // After the lines that did wait: the dropped ones came after them.
            Self.appendPrefix(stamp: timestamps.stamp(for: time(nil)), level: .warning, label: "gaterouter", to: &bytes)
            bytes.append(contentsOf: " gr.log.dropped=\(dropped) [GateRouterCLI] log lines dropped: stderr did not take them as fast as they came\n".utf8)
        }
        write(bytes)
    }

    /// The last timestamp formatted, reused for every line in that second.
    private struct Timestamps {
        var second = -1
        var stamp = ""

        mutating func stamp(for second: Int) -> String {
            if second != self.second {
                self.second = second
                stamp = LogWriter.timestamp(second)
            }
            return stamp
        }
    }

    /// `<timestamp> <level> <label>:`, the start of every line.
    private static func appendPrefix(stamp: String, level: Logger.Level, label: String, to buffer: inout [UInt8]) {
        buffer.append(contentsOf: stamp.utf8)
        buffer.append(UInt8(ascii: " "))
        buffer.append(contentsOf: level.rawValue.utf8)
        buffer.append(UInt8(ascii: " "))
        buffer.append(contentsOf: label.utf8)
        buffer.append(UInt8(ascii: ":"))
    }

    /// Request lines as ``append(level:label:metadata:source:message:)`` would write their `Logger` metadata.
    private static func format(_ requests: [QueuedRequestLine], into buffer: inout [UInt8], timestamps: inout Timestamps) {
        for request in requests {
            appendPrefix(stamp: timestamps.stamp(for: request.second), level: .info, label: request.label, to: &buffer)
            request.line.appendPairs(to: &buffer)
            buffer.append(contentsOf: " [".utf8)
            buffer.append(contentsOf: RequestLogLine.source.utf8)
            buffer.append(contentsOf: "] ".utf8)
            buffer.append(contentsOf: RequestLogLine.message.utf8)
            buffer.append(UInt8(ascii: "\n"))
        }
    }

    /// Runs for the life of the process (the thread is a daemon: exit does not wait for it), at nice 10: serving
    /// requests comes first, and the lines wait in the buffer meanwhile.
    private func run() {
        #if os(Linux)
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)  // this thread only, on Linux
        #endif
        while true {
            wake.lock()
            _ = wake.wait(until: Date().addingTimeInterval(0.02))
            wake.unlock()
            flush()
        }
    }

    private func write(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Foundation.write(descriptor, $0.baseAddress, $0.count) }
            if written <= 0 {
                if written < 0, errno == EINTR { continue }
                return  // stderr closed or broken: drop, as StreamLogHandler would
            }
            offset += written
        }
    }

    /// `2026-11-25T14:02:17+0000`, as `StreamLogHandler` writes it (in UTC).
    static func timestamp(_ second: Int) -> String {
        var seconds = time_t(second)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday))T\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec))+0000"
    }
}

/// A `LogHandler` over a ``LogWriter``; the same line format as swift-log's `StreamLogHandler`.
struct BufferedStderrLogHandler: LogHandler {
    let label: String
    let writer: LogWriter
    var logLevel: Logger.Level = .info
    var metadataProvider: Logger.MetadataProvider?
    // Formatted when a line is written, not when metadata is set: every request sets its id, few of them log more
    // than one line.
    var metadata: Logger.Metadata = [:]

    init(label: String, writer: LogWriter, metadataProvider: Logger.MetadataProvider? = nil) {
        self.label = label
        self.writer = writer
        self.metadataProvider = metadataProvider
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        log(level: event.level, message: event.message, metadata: event.metadata, source: event.source)
    }

    func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        log(level: level, message: message, metadata: explicit, source: source)
    }

    private func log(level: Logger.Level, message: Logger.Message, metadata explicit: Logger.Metadata?, source: String) {
        let provided = metadataProvider?.get() ?? [:]
        let merged: Logger.Metadata
        if metadata.isEmpty, provided.isEmpty {
            // The request log line: only its own metadata, so no merged copy.
            merged = explicit ?? [:]
        } else {
            var all = metadata
            if !provided.isEmpty { all.merge(provided) { $1 } }
            if let explicit, !explicit.isEmpty { all.merge(explicit) { $1 } }
            merged = all
        }
        writer.append(level: level, label: label, metadata: merged, source: source, message: message.description)
    }
}

/// The request log lines of the fast path, straight to a ``LogWriter`` (see `RequestLogSink`).
struct RequestLineWriter: RequestLogSink {
    let writer: LogWriter
    let label: String

    func write(_ line: RequestLogLine) {
        writer.append(request: line, label: label)
    }
}
