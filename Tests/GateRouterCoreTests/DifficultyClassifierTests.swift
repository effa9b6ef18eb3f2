import Foundation
import GateRouterRouting
import GateRouterWire
import Testing

/// The Swift featurizer must reproduce `scripts/train_difficulty_classifier.py`: the script stores p(hard) for five
/// fixed prompts under "parity" in the model file, computed with the same rounded weights that ship.
@Suite struct DifficultyClassifierTests {
    struct ModelFile: Decodable {
        var parity: [String: Double]
        var simpleBelow: Double
        var reasoningAbove: Double
    }

    static let modelURL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/GateRouterRouting/Resources/difficulty-model.json")

    static let greeting = "hi"
    static let proof =
        "Prove that there are infinitely many primes p such that p = 4k + 3, and compute the integral of x^2 from 0 to 3."

    func load() throws -> (ModelFile, DifficultyClassifier) {
        let data = try Data(contentsOf: Self.modelURL)
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return (try decoder.decode(ModelFile.self, from: data), try DifficultyClassifier(modelJSON: data))
    }

    @Test func reproducesTheTrainingScriptsParityValues() throws {
        let (file, classifier) = try load()
        #expect(file.parity.count == 5)
        for (text, expected) in file.parity {
            let p = classifier.hardProbability(text)
            #expect(abs(p - expected) < 1e-6, "p(hard) for \(text.debugDescription): Swift \(p), Python \(expected)")
        }
    }

    @Test func bundledModelMatchesTheSourceFile() throws {
        let (file, classifier) = try load()
        let bundled = try DifficultyClassifier.bundled()
        #expect(bundled.simpleBelow == file.simpleBelow)
        #expect(bundled.reasoningAbove == file.reasoningAbove)
        #expect(bundled.simpleBelow < bundled.reasoningAbove)
        for text in file.parity.keys {
            #expect(bundled.hardProbability(text) == classifier.hardProbability(text))
        }
    }

    @Test func greetingIsSimpleAndProofIsHarder() throws {
        let classifier = try DifficultyClassifier.bundled()
        let greeting = classifier.hardProbability(Self.greeting)
        #expect(greeting < classifier.simpleBelow)
        #expect(classifier.hardProbability(Self.proof) > greeting)
    }

    @Test func largeInputIsCappedToItsFirstAndLastBytes() throws {
        let classifier = try DifficultyClassifier.bundled()
        let unit = Array("Solve the equation 3x + 7 = 22, then explain { each } step. ".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(400_000 + unit.count)
        while bytes.count < 400_000 { bytes.append(contentsOf: unit) }
        let big = String(decoding: bytes, as: UTF8.self)
        let p = classifier.hardProbability(big)
        #expect(p.isFinite && p >= 0 && p <= 1)
        // The documented cap: the model file's head bytes, one space, its tail bytes.
        let model = try JSONValue.parse(Array(try Data(contentsOf: try #require(DifficultyClassifier.bundledModelURL))))
        let headCount = try #require(model["cap_head_bytes"]?.intValue)
        let tailCount = try #require(model["cap_tail_bytes"]?.intValue)
        let head = Array(bytes[..<headCount])
        let tail = Array(bytes[(bytes.count - tailCount)...])
        let capped = String(decoding: head + [UInt8(0x20)] + tail, as: UTF8.self)
        #expect(abs(p - classifier.hardProbability(capped)) < 1e-12)
        // Non-ASCII text, and a multi-byte character cut by the cap, are handled too.
        let accented = String(repeating: "é∑🙂 naïve café ", count: 20_000)
        let q = classifier.hardProbability(accented)
        #expect(q.isFinite && q >= 0 && q <= 1)
        #expect(classifier.hardProbability("").isFinite)
    }

    /// The featurizer, written plainly from the model file's `features` text (split into tokens, then hash each), so
    /// that the fast single-pass reader is checked against the definition and not against itself.
    struct ReferenceModel: Decodable {
        var buckets: Int
        var capHeadBytes: Int
        var capTailBytes: Int
        var weights: [Double]
        var bias: Double

        func probability(_ text: String) -> Double {
            var bytes = Array(text.utf8)
            if bytes.count > capHeadBytes + capTailBytes {
                bytes = Array(bytes[..<capHeadBytes]) + [0x20] + Array(bytes[(bytes.count - capTailBytes)...])
            }
            let lowered = bytes.map { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }
            var tokens: [[UInt8]] = [[]]
            for byte in lowered {
                if (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) { tokens[tokens.count - 1].append(byte) } else if !tokens[tokens.count - 1].isEmpty { tokens.append([]) }
            }
            if tokens.last?.isEmpty == true { tokens.removeLast() }
            func fnv(_ bytes: [UInt8]) -> UInt64 { bytes.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 } }
            var present = Set<Int>()
            for (index, token) in tokens.enumerated() {
                present.insert(Int(fnv(token) % UInt64(buckets)))
                if index > 0 { present.insert(Int(fnv(tokens[index - 1] + [0x20] + token) % UInt64(buckets))) }
            }
            let text = String(decoding: lowered, as: UTF8.self)
            let code = ["```", "def ", "return ", "{"].contains { text.utf8.contains($0.utf8) }
            let math = ["\\boxed", "prove", "theorem", "integral", "equation"].contains { text.utf8.contains($0.utf8) }
            var z = bias + present.reduce(0) { $0 + weights[$1] }
            z += weights[buckets] * log1p(Double(tokens.count)) / 8
            z += weights[buckets + 1] * Double(lowered.filter { (0x30...0x39).contains($0) }.count) / Double(max(1, lowered.count))
            z += weights[buckets + 2] * (code ? 1 : 0) + weights[buckets + 3] * (math ? 1 : 0)
            return 1 / (1 + exp(-z))
        }
    }

    @Test func matchesTheFeatureDefinitionOnVariedText() throws {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let reference = try decoder.decode(ReferenceModel.self, from: Data(contentsOf: Self.modelURL))
        let classifier = try DifficultyClassifier.bundled()
        // Pieces chosen to cross every branch: markers (whole, split across a separator, at the very end), digits,
        // upper case, punctuation, non-ASCII, runs of separators.
        let pieces = [
            "Prove", " that ", "def", " ", "return ", "x", "{", "```", "\\boxed{42}", "THEOREM", "integrals", "Equation", "42", "7",
            "café", "🙂", "\n", "  ", "—", "improve", "step by step", "SELECT * FROM t;", "a", "Z", ",", "imPROVEd",
        ]
        var random = SplitMix(seed: 7)
        var texts = ["", "a", "def", "return", "prove", " { ", "x y", "```"] + Self.parityTexts
        for _ in 0..<400 {
            let count = Int(random.next() % 40)
            texts.append((0..<count).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined())
        }
        // Long texts, over the cap, with the cut landing in different places.
        for length in [511, 512, 513, 514, 600, 5_000] {
            texts.append(String((0..<length).map { index in Character(UnicodeScalar(UInt8(0x61 + (index * 7 + length) % 26))) }))
            texts.append(String(repeating: "The integral of x^2, def f(): return 1 ", count: length / 20))
        }
        for text in texts {
            let expected = reference.probability(text)
            let actual = classifier.hardProbability(text)
            #expect(abs(actual - expected) < 1e-9, "p(hard) for \(text.debugDescription): \(actual), by the definition \(expected)")
        }
    }

    static var parityTexts: [String] {
        (try? JSONDecoder().decode(ModelFile.self, from: Data(contentsOf: modelURL)))?.parity.keys.sorted() ?? []
    }

    /// A small deterministic generator, so a failure names a text that comes back on the next run.
    struct SplitMix {
        var state: UInt64
        init(seed: UInt64) { state = seed }
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
    }

    @Test func malformedModelsAreRejected() {
        #expect(throws: DifficultyModelError.self) { try DifficultyClassifier(modelJSON: Data("{}".utf8)) }
        let wrongCount = #"{"buckets":8,"cap_head_bytes":4096,"cap_tail_bytes":4096,"weights":[1,2],"bias":0,"simple_below":0.3,"reasoning_above":0.6}"#
        #expect(throws: DifficultyModelError.self) { try DifficultyClassifier(modelJSON: Data(wrongCount.utf8)) }
    }
}
