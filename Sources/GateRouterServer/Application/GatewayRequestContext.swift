import Foundation
import GateRouterStorage
import Hummingbird
import Logging
import NIOCore
import Synchronization

/// The per-request context: request id, the caller's identity once authenticated, and a report the handler fills in
/// for the one log line and the metrics written when the response ends.
public struct GatewayRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let requestID: String
    public var identity: AuthCache.Identity?
    public let report: RequestReport
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        let requestID = RequestID.make()
        var logger = source.logger
        logger[metadataKey: "gr.request.id"] = .string(requestID)
        self.coreContext = .init(source: LoggerSource(logger: logger))
        self.requestID = requestID
        self.report = RequestReport()
        self.remoteAddress = source.channel.remoteAddress
    }

    /// Request bodies are bounded by the gateway's own limit, checked where they are read.
    public var maxUploadSize: Int { 32 << 20 }

    private struct LoggerSource: RequestContextSource { var logger: Logger }
}

/// What a handler learned about a request, read by the logging middleware when the response has been written.
public final class RequestReport: Sendable {
    public struct Fields: Sendable {
        public var model: String?
        public var provider: String?
        public var keyID: String?
        public var accountID: String?
        public var upstreamModel: String?
        public var promptTokens: Int?
        public var completionTokens: Int?
        public var errorCode: String?
        public var streamError: Bool = false
        /// Auto routing's choice and runner-up with their scores, and the request's tier.
        public var route: String?
        public var tier: String?
        /// Upstream attempts made (fallbacks, retries and hedges included), and why the ones that did not answer failed.
        public var attempts: Int?
        public var failedAttempts: [String] = []

        public init() {}
    }

    private let fields = Mutex(Fields())

    public init() {}

    public func update(_ change: (inout Fields) -> Void) {
        fields.withLock { change(&$0) }
    }

    public var snapshot: Fields { fields.withLock { $0 } }
}

/// Request ids: `req_` and 32 hex digits, unique enough to grep for across instances, and in the order they were made:
/// the first 12 digits are the milliseconds since 1970.
///
/// Why ordered: the id is the ledger's primary key. Random ids land all over its index, so each batch of ledger rows
/// dirtied about one index page per row (measured: 2.3 page writes per request into SQLite's WAL at 64 connections);
/// ids that grow with time append to the index's last pages, in SQLite and PostgreSQL alike.
enum RequestID {
    /// From the system generator: two draws, each a kernel call. Hummingbird's routes use this.
    static func make(now: Date = Date()) -> String {
        var generator = SystemRandomNumberGenerator()
        return format(timePrefixed(now, generator.next()), generator.next())
    }

    /// The id's first 64 bits: 48 of milliseconds since 1970, then 16 of `random`.
    static func timePrefixed(_ now: Date, _ random: UInt64) -> UInt64 {
        let milliseconds = UInt64(max(0, now.timeIntervalSince1970 * 1000)) & 0xFFFF_FFFF_FFFF
        return milliseconds << 16 | random & 0xFFFF
    }

    static func format(_ high: UInt64, _ low: UInt64) -> String {
        String(unsafeUninitializedCapacity: 36) { out in
            let hex: StaticString = "0123456789abcdef"
            let digits = hex.utf8Start
            for (index, byte) in "req_".utf8.enumerated() { out[index] = byte }
            for nibble in 0..<32 {
                let word = nibble < 16 ? high : low
                let shift = UInt64(60 - (nibble % 16) * 4)
                out[4 + nibble] = digits[Int((word >> shift) & 0xF)]
            }
            return 36
        }
    }
}

/// Request ids without a kernel call: the time, then a counter scrambled under two random keys drawn once.
///
/// The last 64 bits are a bijection of the counter, so one generator never repeats an id before 2^64 of them; two
/// generators (instances, restarts) share an id only if they make one in the same millisecond and their random keys
/// line up, as unlikely as two random ids colliding. The ids are labels for logs and the ledger, not secrets:
/// predictability does not matter.
final class RequestIDGenerator: Sendable {
    private let keys: (UInt64, UInt64)
    private let counter = Atomic<UInt64>(0)

    init() {
        var generator = SystemRandomNumberGenerator()
        keys = (generator.next(), generator.next())
    }

    func make(now: Date = Date()) -> String {
        let count = counter.add(1, ordering: .relaxed).newValue
        return RequestID.format(RequestID.timePrefixed(now, Self.mix(count ^ keys.1)), Self.mix(count &+ keys.0))
    }

    /// SplitMix64's finaliser: a bijection on 64-bit words that spreads every input bit over the output.
    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
