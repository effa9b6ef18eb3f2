import GateRouterCatalog
import GateRouterProviders

/// One model auto routing considered, with the numbers behind its score.
public struct ScoredCandidate: Sendable, Equatable {
    public var model: CatalogModel
    public var score: Double
    /// How well the model's use case fits the request's tier (0…1).
    public var quality: Double
    /// Estimated cost of this request on this model, USD.
    public var estimatedCost: Double
    /// Estimated seconds to the whole answer: time to first token plus output at the model's speed.
    public var estimatedSeconds: Double
    public var breaker: ModelHealth.BreakerState
}

/// The outcome of one routing decision, best candidate first.
///
/// Kept cheap to build: the ranking holds catalog indexes and numbers only; full ``ScoredCandidate`` values and the
/// exclusion texts are made when asked for (headers, logs, errors), not on every decision.
public struct RouteDecision: Sendable {
    /// One ranked model: its catalog index and the numbers behind its score.
    struct Ranked: Sendable {
        var index: Int
        var score: Double
        var quality: Double
        var cost: Double
        var seconds: Double
        var breaker: ModelHealth.BreakerState
    }

    /// Why a model was left out: a code, turned into text only when asked for (most requests never ask).
    enum Exclusion: UInt8, Sendable {
        case providerNotConfigured, providerNotAllowed, providerBlocked, modelNotAllowed, modelBlocked, overMaxOutputPrice
        case contextTooSmall, noTools, noVision, noJSONSchema, circuitOpen

        var text: String {
            switch self {
            case .providerNotConfigured: "provider not configured"
            case .providerNotAllowed: "provider not allowed"
            case .providerBlocked: "provider blocked"
            case .modelNotAllowed: "model not allowed"
            case .modelBlocked: "model blocked"
            case .overMaxOutputPrice: "over max_output_price"
            case .contextTooSmall: "context window too small"
            case .noTools: "no tool calling"
            case .noVision: "no image input"
            case .noJSONSchema: "no JSON-schema output"
            case .circuitOpen: "circuit open"
            }
        }
    }

    public var tier: UseCase
    public var strategy: RoutingStrategy
    let models: [CatalogModel]
    let ranking: [Ranked]
    /// Models with a configured provider that the request or the policy ruled out.
    let exclusions: [(index: Int, reason: Exclusion)]
    /// Catalog indexes of the models whose provider is not configured: the router's own list, shared by every
    /// decision (they are ruled out the same way each time, so no decision spends time on them).
    let unconfigured: [Int]

    /// How many models can take the request.
    public var count: Int { ranking.count }

    /// The best `limit` candidates, in order.
    public func top(_ limit: Int) -> [ScoredCandidate] {
        ranking.prefix(limit).map(candidate)
    }

    /// Every candidate, best first.
    public var candidates: [ScoredCandidate] { ranking.map(candidate) }

    /// Why models were left out, for the log and the 503 that names what was tried (`model: reason`).
    public var excluded: [String] {
        let all = (exclusions + unconfigured.map { (index: $0, reason: Exclusion.providerNotConfigured) }).sorted { $0.index < $1.index }
        return all.map { "\(models[$0.index].id): \($0.reason.text)" }
    }

    func candidate(_ ranked: Ranked) -> ScoredCandidate {
        ScoredCandidate(
            model: models[ranked.index], score: ranked.score, quality: ranked.quality, estimatedCost: ranked.cost,
            estimatedSeconds: ranked.seconds, breaker: ranked.breaker
        )
    }

    /// The compact `x-gaterouter-route` header: the choice and the runner-up with their scores.
    ///
    /// Written as bytes straight into the string's own storage: this runs on every `auto` request, and interpolating
    /// each number into its own string cost more than the routing decision itself.
    public var summary: String {
        let top = ranking.prefix(2)
        // Each number takes at most `maximumNumberBytes`; the fixed text of one candidate is 21 bytes, plus "; ".
        var capacity = 0
        for ranked in top { capacity += models[ranked.index].id.utf8.count + 23 + 3 * Self.maximumNumberBytes }
        return String(unsafeUninitializedCapacity: capacity) { buffer in
            var end = 0
            for ranked in top {
                if end > 0 { end = Self.write("; ", into: buffer, at: end) }
                end = Self.write(models[ranked.index].id, into: buffer, at: end)
                end = Self.write(" score=", into: buffer, at: end)
                end = Self.writeTwoDecimals(ranked.score, into: buffer, at: end)
                end = Self.write(" cost=", into: buffer, at: end)
                end = Self.writeTwoDecimals(ranked.cost * 1_000_000, into: buffer, at: end)
                end = Self.write("u$ eta=", into: buffer, at: end)
                end = Self.writeTwoDecimals(ranked.seconds, into: buffer, at: end)
                end = Self.write("s", into: buffer, at: end)
            }
            return end
        }
    }

    /// Copies `bytes` to `out` at `start` and returns where they end (the caller sized `out`).
    @inline(__always)
    static func write(_ bytes: UnsafeBufferPointer<UInt8>, into out: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
        _ = UnsafeMutableBufferPointer(rebasing: out[start..<(start + bytes.count)]).initialize(fromContentsOf: bytes)
        return start + bytes.count
    }

    @inline(__always)
    static func write(_ text: StaticString, into out: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
        text.withUTF8Buffer { write($0, into: out, at: start) }
    }

    @inline(__always)
    static func write(_ text: String, into out: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
        var text = text
        return text.withUTF8 { write($0, into: out, at: start) }
    }

    /// The most bytes ``writeTwoDecimals(_:into:at:)`` writes: a sign, 16 digits and the point, or Swift's own
    /// spelling of a huge or non-finite value (at most 24 bytes, as in `-1.7976931348623157e+308`).
    static let maximumNumberBytes = 24

    /// Writes `value` with two decimals at `start`, and returns where it ends. Needs ``maximumNumberBytes`` of room.
    static func writeTwoDecimals(_ value: Double, into out: UnsafeMutableBufferPointer<UInt8>, at start: Int) -> Int {
        var end = start
        // Beyond 1e15 the hundredths no longer fit an Int exactly (nor matter): print the value as Swift does.
        guard value.isFinite, abs(value) < 1e15 else {
            for byte in "\(value)".utf8.prefix(maximumNumberBytes) {
                out[end] = byte
                end += 1
            }
            return end
        }
        let hundredths = Int((abs(value) * 100).rounded())
        if value < 0, hundredths != 0 {
            out[end] = UInt8(ascii: "-")
            end += 1
        }
        // At least "0.00": three digits, the point before the last two. Written from the last digit backwards.
        var digits = 1
        var probe = hundredths
        while probe >= 10 {
            probe /= 10
            digits += 1
        }
        digits = max(digits, 3)
        end += digits + 1
        var position = end - 1
        var rest = hundredths
        for written in 0..<digits {
            if written == 2 {
                out[position] = UInt8(ascii: ".")
                position -= 1
            }
            out[position] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            position -= 1
        }
        return end
    }
}
