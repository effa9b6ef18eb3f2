import Foundation
import GateRouterCatalog
import GateRouterProviders
import GateRouterStorage
import GateRouterWire
import Synchronization

/// One client request's ledger record in the making: filled in as the request goes, written exactly once.
///
/// ``finish(status:error:)`` queues the record; if a request's task ends without reaching it (a client that left
/// before the response body started), `deinit` queues it instead, so no request goes unmetered and none twice.
final class MeteringSession: Sendable {
    struct Fields: Sendable {
        var requestedModel = ""
        var stream = false
        var target: UpstreamTarget?
        var upstreamModel: String?
        var attempts: [LedgerRecord.Attempt] = []
        var route: String?
        var tier: String?
        var usage: Usage?
        /// Bytes of the request body, for an estimate of prompt tokens when the upstream reports none.
        var requestBytes = 0
        /// Characters of generated text seen (content, reasoning, tool arguments), for an estimate of completion
        /// tokens when the upstream reports none.
        var generatedCharacters = 0
        var firstToken: ContinuousClock.Instant?
        var cancelled = false
    }

    let meter: Meter
    let id: String
    let accountID: String
    let keyID: String
    let created = Date()
    let start = ContinuousClock.now
    private let fields = Mutex(Fields())
    private let finished = Atomic<Bool>(false)

    init(meter: Meter, id: String, accountID: String, keyID: String) {
        self.meter = meter
        self.id = id
        self.accountID = accountID
        self.keyID = keyID
    }

    func update(_ change: (inout Fields) -> Void) {
        fields.withLock { change(&$0) }
    }

    /// Writes the record: queued behind the response, waiting only when the ledger queue is full (backpressure).
    func finish(status: Int, error: String? = nil) async {
        guard let record = claim(status: status, error: error) else { return }
        await meter.recorder.record(record)
    }

    /// The fast path's finish, on an event loop that must not wait: queues the record when the ledger queue has room
    /// and returns nil; otherwise returns it (its cost already counted), for the caller to queue with
    /// ``UsageRecorder/queueCharged(_:)`` (which waits) before it answers, so backpressure holds.
    func finishWithoutWaiting(status: Int, error: String? = nil) -> LedgerRecord? {
        guard let record = claim(status: status, error: error) else { return nil }
        return meter.recorder.recordIfRoom(record) ? nil : record
    }

    deinit {
        if let record = claim(status: 499, error: "client_closed_request", cancelled: true) {
            meter.recorder.recordWithoutWaiting(record)
        }
    }

    /// Builds the record the first time only.
    private func claim(status: Int, error: String?, cancelled: Bool = false) -> LedgerRecord? {
        guard finished.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged else { return nil }
        let fields = self.fields.withLock { $0 }
        let now = ContinuousClock.now
        var usage = fields.usage
        var estimated = false
        if usage == nil, fields.target != nil, fields.firstToken != nil || fields.generatedCharacters > 0 || status < 400 {
            // The upstream answered (or was answering) but reported no usage, or the client left before it did.
            usage = Usage(promptTokens: TokenEstimate.tokens(characters: fields.requestBytes), completionTokens: TokenEstimate.tokens(characters: fields.generatedCharacters))
            estimated = true
        }
        let cost = usage.map { Meter.cost(of: $0, target: fields.target) } ?? .zero
        if let usage { meter.rateLimiter.record(tokens: usage.totalTokens, keyID: keyID) }
        return LedgerRecord(
            id: id, created: created, accountID: accountID, keyID: keyID, requestedModel: fields.requestedModel, model: fields.target?.modelID,
            provider: fields.target?.provider.id, upstreamModel: fields.upstreamModel, attempts: fields.attempts, route: fields.route, tier: fields.tier,
            promptTokens: usage?.promptTokens ?? 0, completionTokens: usage?.completionTokens ?? 0, cachedTokens: usage?.cachedTokens ?? 0,
            cacheWriteTokens: usage?.cacheWriteTokens ?? 0, reasoningTokens: usage?.reasoningTokens ?? 0, cost: cost,
            priceDate: fields.target?.catalogModel?.pricing.isPriced == true ? fields.target?.catalogModel?.pricing.effectiveDate : nil,
            latencyMs: Self.milliseconds(now - start), ttftMs: fields.firstToken.map { Self.milliseconds($0 - start) }, status: status, error: error,
            stream: fields.stream, estimated: estimated, cancelled: cancelled || fields.cancelled
        )
    }

    static func milliseconds(_ duration: Duration) -> Int {
        Int(duration.components.seconds) * 1000 + Int(duration.components.attoseconds / 1_000_000_000_000_000)
    }
}

/// The gateway's own token count for when an upstream reports none: about four characters per token, the usual
/// rule of thumb for English text and code with BPE tokenizers. Records so counted are marked `estimated`.
enum TokenEstimate {
    static func tokens(characters: Int) -> Int {
        characters <= 0 ? 0 : (characters + 3) / 4
    }

    private static let keys: [[UInt8]] = [Array("\"content\":\"".utf8), Array("\"reasoning_content\":\"".utf8), Array("\"arguments\":\"".utf8)]

    /// Characters of generated text in an OpenAI chunk or completion: the string values of `content`,
    /// `reasoning_content` and `arguments`, found by a single scan without decoding the JSON.
    static func generatedCharacters(in json: [UInt8]) -> Int {
        var count = 0
        var index = 0
        let end = json.count
        while index < end {
            guard json[index] == UInt8(ascii: "\"") else {
                index += 1
                continue
            }
            var matched: Int?
            for key in keys where index + key.count <= end {
                var equal = true
                for offset in 1..<key.count where json[index + offset] != key[offset] {
                    equal = false
                    break
                }
                if equal {
                    matched = key.count
                    break
                }
            }
            guard let length = matched else {
                index += 1
                continue
            }
            index += length
            while index < end, json[index] != UInt8(ascii: "\"") {
                if json[index] == UInt8(ascii: "\\") { index += 1 }
                // Count characters, not UTF-8 continuation bytes.
                if index < end, json[index] & 0xC0 != 0x80 { count += 1 }
                index += 1
            }
            index += 1
        }
        return count
    }
}
