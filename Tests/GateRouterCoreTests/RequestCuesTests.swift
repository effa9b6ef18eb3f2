import Testing

@testable import GateRouterRouting

/// The cue scan behind the tier choice (code and reasoning words in the ask), checked against the plain definition:
/// the lower-cased first `cueWindow` bytes contain one of the cues.
@Suite struct RequestCuesTests {
    static func reference(_ text: String) -> (code: Bool, reasoning: Bool) {
        let window = Array(text.utf8.prefix(RequestClassifier.cueWindow)).map { $0 >= 65 && $0 <= 90 ? $0 + 32 : $0 }
        func has(_ cues: [String]) -> Bool { cues.contains { window.contains(Array($0.utf8)) } }
        return (has(RequestClassifier.codeCues), has(RequestClassifier.reasoningCues))
    }

    @Test func findsExactlyTheCuesTheDefinitionFinds() {
        // Every cue, in upper and mixed case, cut short, at the start, at the end, across the window's edge; and
        // bytes that start no cue.
        let cues = RequestClassifier.codeCues + RequestClassifier.reasoningCues
        var pieces = cues + cues.map { $0.uppercased() } + cues.map { String($0.dropLast()) }
        pieces += ["the ", "café ", "🙂", "\n", "  ", "x", "Q", "4", "—", "(", ")", ";", "=", ">", "#", "\\", "`"]
        var texts = ["", "a", "()", "=>", "(); ", "def", "```"] + cues + cues.map { $0.prefix(1).uppercased() + $0.dropFirst() }
        var random = DifficultyClassifierTests.SplitMix(seed: 11)
        for _ in 0..<600 {
            let count = Int(random.next() % 24)
            texts.append((0..<count).map { _ in pieces[Int(random.next() % UInt64(pieces.count))] }.joined())
        }
        // A cue that starts inside the window and ends past it does not count; one that ends at its last byte does.
        let filler = String(repeating: "a", count: RequestClassifier.cueWindow - 5)
        texts += [filler + "proof", filler + "proo", filler + "xproof", filler + "derive"]
        for text in texts {
            let found = RequestClassifier.cues(in: text)
            let expected = Self.reference(text)
            #expect(found.code == expected.code && found.reasoning == expected.reasoning, "cues in \(text.debugDescription)")
        }
    }

    @Test func theCueTableFitsItsSymbols() {
        // A symbol per distinct first or second byte, at most 63: the pair table has 64 bits a row.
        let table = RequestClassifier.CueTable.shared
        let used = Set(table.symbols.filter { $0 != 0 })
        #expect(!used.isEmpty && used.count <= 63)
        #expect(table.symbols[Int(UInt8(ascii: "P"))] == table.symbols[Int(UInt8(ascii: "p"))])
    }
}
