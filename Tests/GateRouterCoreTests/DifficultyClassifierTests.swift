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

    @Test func malformedModelsAreRejected() {
        #expect(throws: DifficultyModelError.self) { try DifficultyClassifier(modelJSON: Data("{}".utf8)) }
        let wrongCount = #"{"buckets":8,"cap_head_bytes":4096,"cap_tail_bytes":4096,"weights":[1,2],"bias":0,"simple_below":0.3,"reasoning_above":0.6}"#
        #expect(throws: DifficultyModelError.self) { try DifficultyClassifier(modelJSON: Data(wrongCount.utf8)) }
    }
}
