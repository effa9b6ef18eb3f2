import Foundation

/// Estimates how likely a prompt is to be too hard for a small (7–9B) model: the request-difficulty signal behind
/// `model: "auto"`.
///
/// A logistic regression over hashed unigrams and bigrams plus four dense features, trained by
/// `scripts/train_difficulty_classifier.py`. The feature definition is the `features` string in
/// `Resources/difficulty-model.json`; this type reproduces it byte for byte: ASCII lowercasing, tokens are runs of
/// `[a-z0-9]`, 64-bit FNV-1a hashes of each token and of each `"tok1 tok2"` bigram, binary bucket presence, and at
/// most the first and last 4 KB of the text. One pass over `text.utf8`, no allocation beyond a stack bit set.
public struct DifficultyClassifier: Sendable {
    /// Below this `hardProbability`, a request can go to the simple (cheapest) tier.
    public let simpleBelow: Double
    /// Above this `hardProbability`, a request should go to the reasoning (strongest) tier.
    public let reasoningAbove: Double

    /// `buckets` hashed weights, then the 4 dense-feature weights.
    private let weights: [Double]
    private let bias: Double
    private let buckets: Int
    private let capHead: Int
    private let capTail: Int

    public init(modelJSON: Data) throws {
        struct File: Decodable {
            var buckets: Int
            var capHeadBytes: Int
            var capTailBytes: Int
            var weights: [Double]
            var bias: Double
            var simpleBelow: Double
            var reasoningAbove: Double
        }
        let file: File
        do {
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            file = try decoder.decode(File.self, from: modelJSON)
        } catch {
            throw DifficultyModelError("the difficulty model could not be read: \(error)")
        }
        guard file.buckets > 0, file.buckets & (file.buckets - 1) == 0 else {
            throw DifficultyModelError("buckets must be a power of two, got \(file.buckets)")
        }
        guard file.weights.count == file.buckets + Self.denseCount else {
            throw DifficultyModelError("expected \(file.buckets + Self.denseCount) weights, got \(file.weights.count)")
        }
        guard file.capHeadBytes > 0, file.capTailBytes > 0 else {
            throw DifficultyModelError("cap_head_bytes and cap_tail_bytes must be positive")
        }
        guard file.bias.isFinite, file.weights.allSatisfy(\.isFinite),
              file.simpleBelow.isFinite, file.reasoningAbove.isFinite
        else {
            throw DifficultyModelError("the difficulty model has a non-finite number")
        }
        self.buckets = file.buckets
        self.capHead = file.capHeadBytes
        self.capTail = file.capTailBytes
        self.weights = file.weights
        self.bias = file.bias
        self.simpleBelow = file.simpleBelow
        self.reasoningAbove = file.reasoningAbove
    }

    /// Where the shipped model file is (for tools and tests that read its metadata).
    public static var bundledModelURL: URL? { Bundle.module.url(forResource: "difficulty-model", withExtension: "json") }

    /// The model shipped with the package (`Resources/difficulty-model.json`). Load it once and keep the value.
    public static func bundled() throws -> DifficultyClassifier {
        guard let url = bundledModelURL else {
            throw DifficultyModelError("the bundled difficulty-model.json is missing from the package resources")
        }
        return try DifficultyClassifier(modelJSON: Data(contentsOf: url))
    }

    /// The probability, in [0, 1], that the prompt is hard for a small model.
    public func hardProbability(_ text: String) -> Double {
        if let p = text.utf8.withContiguousStorageIfAvailable({ probability(utf8: $0) }) {
            return p
        }
        var copy = text
        return copy.withUTF8 { probability(utf8: $0) }
    }

    private static let denseCount = 4

    private func probability(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Double {
        let words = max(1, buckets / 64)
        return weights.withUnsafeBufferPointer { weightBuffer in
            withUnsafeTemporaryAllocation(of: UInt64.self, capacity: words) { seen in
                seen.initialize(repeating: 0)
                var scan = Scan(weights: weightBuffer, seen: seen, mask: UInt64(buckets - 1))
                let count = bytes.count
                let length: Int
                if count > capHead + capTail {
                    scan.feed(UnsafeBufferPointer(rebasing: bytes[0..<capHead]))
                    withUnsafePointer(to: UInt8(0x20)) { scan.feed(UnsafeBufferPointer(start: $0, count: 1)) }
                    scan.feed(UnsafeBufferPointer(rebasing: bytes[(count - capTail)..<count]))
                    length = capHead + 1 + capTail
                } else {
                    scan.feed(bytes)
                    length = count
                }
                scan.finish()
                var z = bias + scan.sparseSum
                z += weightBuffer[buckets] * (log1p(Double(scan.tokens)) / 8)
                z += weightBuffer[buckets + 1] * (Double(scan.digits) / Double(max(1, length)))
                z += weightBuffer[buckets + 2] * (scan.codeMarker ? 1 : 0)
                z += weightBuffer[buckets + 3] * (scan.mathMarker ? 1 : 0)
                return 1 / (1 + exp(-z))
            }
        }
    }
}

public struct DifficultyModelError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// The featurizer's state between runs of bytes. Lives only inside `probability(utf8:)`, whose buffers it points into.
private struct Scan {
    static let fnvOffset: UInt64 = 0xcbf2_9ce4_8422_2325
    static let fnvPrime: UInt64 = 0x0000_0100_0000_01b3

    let weights: UnsafeBufferPointer<Double>
    let seen: UnsafeMutableBufferPointer<UInt64>
    let mask: UInt64

    var sparseSum = 0.0
    var tokens = 0
    var digits = 0
    var codeMarker = false
    var mathMarker = false

    private var inToken = false
    private var hasPrevious = false
    private var unigram: UInt64 = 0
    private var bigram: UInt64 = 0
    private var previous: UInt64 = 0
    /// The last 8 lowercased bytes, most recent in the low byte, for the marker substrings.
    private var window: UInt64 = 0

    init(weights: UnsafeBufferPointer<Double>, seen: UnsafeMutableBufferPointer<UInt64>, mask: UInt64) {
        self.weights = weights
        self.seen = seen
        self.mask = mask
    }

    /// Feeds a run of bytes in one loop over local copies of the state. Why: fed a byte per call, the state stayed in
    /// memory (the compiler kept the call out of line) and the loads and stores cost more than the hashing.
    mutating func feed(_ bytes: UnsafeBufferPointer<UInt8>) {
        var sparseSum = self.sparseSum, tokens = self.tokens, digits = self.digits
        var codeMarker = self.codeMarker, mathMarker = self.mathMarker
        var inToken = self.inToken, hasPrevious = self.hasPrevious
        var unigram = self.unigram, bigram = self.bigram, previous = self.previous, window = self.window
        let weights = self.weights, seen = self.seen, mask = self.mask

        for raw in bytes {
            let byte = raw &- 0x41 < 26 ? raw | 0x20 : raw
            window = window << 8 | UInt64(byte)
            // A marker is checked on its last byte only.
            switch byte {
            case 0x20:  // "def " or "return "
                if !codeMarker, window & 0xffff_ffff == 0x6465_6620 || window & 0xff_ffff_ffff_ffff == 0x72_6574_7572_6e20 {
                    codeMarker = true
                }
            case 0x60:  // "```"
                if window & 0xff_ffff == 0x60_6060 { codeMarker = true }
            case 0x7b:  // "{"
                codeMarker = true
            case 0x64:  // "\boxed"
                if window & 0xffff_ffff_ffff == 0x5c62_6f78_6564 { mathMarker = true }
            case 0x65:  // "prove"
                if window & 0xff_ffff_ffff == 0x70_726f_7665 { mathMarker = true }
            case 0x6d:  // "theorem"
                if window & 0xff_ffff_ffff_ffff == 0x74_6865_6f72_656d { mathMarker = true }
            case 0x6c:  // "integral"
                if window == 0x696e_7465_6772_616c { mathMarker = true }
            case 0x6e:  // "equation"
                if window == 0x6571_7561_7469_6f6e { mathMarker = true }
            default:
                break
            }
            let isDigit = byte &- 0x30 < 10
            if isDigit || byte &- 0x61 < 26 {
                if isDigit { digits += 1 }
                if !inToken {
                    inToken = true
                    unigram = Self.fnvOffset
                    if hasPrevious { bigram = (previous ^ 0x20) &* Self.fnvPrime }
                }
                unigram = (unigram ^ UInt64(byte)) &* Self.fnvPrime
                if hasPrevious { bigram = (bigram ^ UInt64(byte)) &* Self.fnvPrime }
            } else if inToken {
                // The token ends: its hash and the bigram with the one before it count.
                inToken = false
                tokens += 1
                Self.add(unigram, mask: mask, seen: seen, weights: weights, to: &sparseSum)
                if hasPrevious { Self.add(bigram, mask: mask, seen: seen, weights: weights, to: &sparseSum) }
                previous = unigram
                hasPrevious = true
            }
        }

        self.sparseSum = sparseSum
        self.tokens = tokens
        self.digits = digits
        self.codeMarker = codeMarker
        self.mathMarker = mathMarker
        self.inToken = inToken
        self.hasPrevious = hasPrevious
        self.unigram = unigram
        self.bigram = bigram
        self.previous = previous
        self.window = window
    }

    /// Ends the last token (counted as at a separator, with no marker check: no byte follows).
    mutating func finish() {
        guard inToken else { return }
        inToken = false
        tokens += 1
        Self.add(unigram, mask: mask, seen: seen, weights: weights, to: &sparseSum)
        if hasPrevious { Self.add(bigram, mask: mask, seen: seen, weights: weights, to: &sparseSum) }
    }

    /// Counts a hash's bucket once: its weight joins `sum` the first time the bucket is seen (binary presence).
    @inline(__always)
    private static func add(
        _ hash: UInt64, mask: UInt64, seen: UnsafeMutableBufferPointer<UInt64>, weights: UnsafeBufferPointer<Double>, to sum: inout Double
    ) {
        let bucket = Int(truncatingIfNeeded: hash & mask)
        let bit: UInt64 = 1 << UInt64(bucket & 63)
        if seen[bucket >> 6] & bit == 0 {
            seen[bucket >> 6] |= bit
            sum += weights[bucket]
        }
    }
}
