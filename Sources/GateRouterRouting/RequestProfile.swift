import GateRouterCatalog
import GateRouterWire

/// What auto routing needs to know about one request, computed once and cheaply (no tokenizer, no allocation per
/// message beyond reading its text).
public struct RequestProfile: Sendable, Equatable {
    /// Prompt size estimate: UTF-8 bytes / 4, plus fixed costs per message, image and tool definition.
    public var estimatedPromptTokens: Int
    /// `max_completion_tokens` / `max_tokens` when the client set one.
    public var requestedOutputTokens: Int?
    public var needsTools: Bool
    public var needsVision: Bool
    public var needsJSONSchema: Bool
    /// The classifier's probability that the request is hard for a small model (0…1).
    public var hardness: Double
    /// The kind of model the request calls for.
    public var tier: UseCase

    public init(
        estimatedPromptTokens: Int, requestedOutputTokens: Int? = nil, needsTools: Bool = false, needsVision: Bool = false,
        needsJSONSchema: Bool = false, hardness: Double = 0.5, tier: UseCase = .general
    ) {
        self.estimatedPromptTokens = estimatedPromptTokens
        self.requestedOutputTokens = requestedOutputTokens
        self.needsTools = needsTools
        self.needsVision = needsVision
        self.needsJSONSchema = needsJSONSchema
        self.hardness = hardness
        self.tier = tier
    }

    /// The output the router plans for when pricing a model: what the client asked for, capped, or a typical length
    /// for the tier.
    public var expectedOutputTokens: Int {
        if let requestedOutputTokens { return min(requestedOutputTokens, 2000) }
        switch tier {
        case .simple, .fast: return 100
        case .general: return 400
        case .coding: return 800
        case .reasoning: return 1500
        case .longContext: return 500
        }
    }
}

/// Builds a ``RequestProfile``: token estimate, required capabilities, and the tier from the difficulty classifier
/// plus cheap cues (code, length).
public struct RequestClassifier: Sendable {
    /// The trained difficulty model; nil scores every request as middling (general tier unless cues say otherwise).
    public let difficulty: DifficultyClassifier?
    /// Above this many estimated prompt tokens a request is long-context work.
    public var longContextTokens = 100_000
    var simpleBelow: Double { difficulty?.simpleBelow ?? 0.3 }
    var reasoningAbove: Double { difficulty?.reasoningAbove ?? 0.7 }

    public init(difficulty: DifficultyClassifier?) {
        self.difficulty = difficulty
    }

    public func profile(_ request: ChatCompletionRequest, responseFormatType: String? = nil) -> RequestProfile {
        var bytes = 0
        var images = 0
        var lastUserText: String?
        for message in request.messages {
            bytes += 16  // role and framing
            switch message.content {
            case .string(let text)?:
                bytes += text.utf8.count
                if message.role == "user" { lastUserText = text }
            case .array(let parts)?:
                var userText = ""
                for part in parts {
                    if let text = part["text"]?.stringValue {
                        bytes += text.utf8.count
                        if message.role == "user" { userText += text }
                    } else if part["type"]?.stringValue == "image_url" {
                        images += 1
                    } else {
                        bytes += 256
                    }
                }
                if message.role == "user" { lastUserText = userText }
            default: break
            }
            for call in message.toolCalls ?? [] { bytes += call["function"]?["arguments"]?.stringValue?.utf8.count ?? 0 }
        }
        let toolTokens = (request.tools?.count ?? 0) * 120
        let promptTokens = bytes / 4 + images * 800 + toolTokens
        let text = lastUserText ?? ""
        let hardness = difficulty?.hardProbability(text) ?? 0.5
        let needsTools = !(request.tools ?? []).isEmpty
        return RequestProfile(
            estimatedPromptTokens: promptTokens,
            requestedOutputTokens: request.maxCompletionTokens ?? request.maxTokens,
            needsTools: needsTools,
            needsVision: images > 0,
            needsJSONSchema: responseFormatType == "json_schema",
            hardness: hardness,
            tier: tier(text: text, hardness: hardness, promptTokens: promptTokens, needsTools: needsTools, messages: request.messages.count)
        )
    }

    func tier(text: String, hardness: Double, promptTokens: Int, needsTools: Bool, messages: Int) -> UseCase {
        if promptTokens > longContextTokens { return .longContext }
        let cues = Self.cues(in: text)
        if cues.code { return hardness < simpleBelow && text.utf8.count < 120 ? .general : .coding }
        if hardness > reasoningAbove { return .reasoning }
        if hardness >= simpleBelow, cues.reasoning { return .reasoning }
        if hardness < simpleBelow, text.utf8.count < 400, !needsTools, messages <= 6 { return .simple }
        return .general
    }

    /// How much of the ask is searched for cues: its first bytes, where the instructions usually are.
    static let cueWindow = 512

    /// Code and reasoning cues in the first `cueWindow` bytes of the ask (ASCII case-insensitive), found in one pass over small
    /// tables: a pair of bytes that starts no cue costs one bit test; one that does is compared only with the cues starting
    /// with its first byte.
    static func cues(in text: String) -> (code: Bool, reasoning: Bool) {
        if let found = text.utf8.withContiguousStorageIfAvailable({ cues(in: UnsafeBufferPointer(rebasing: $0.prefix(Self.cueWindow))) }) {
            return found
        }
        return Array(text.utf8.prefix(Self.cueWindow)).withUnsafeBufferPointer { cues(in: $0) }
    }

    static func cues(in bytes: UnsafeBufferPointer<UInt8>) -> (code: Bool, reasoning: Bool) {
        @inline(__always) func lower(_ byte: UInt8) -> UInt8 { byte >= 65 && byte <= 90 ? byte + 32 : byte }
        var code = false
        var reasoning = false
        let table = CueTable.shared
        let count = bytes.count
        guard count >= 2 else { return (false, false) }
        table.bytes.withUnsafeBufferPointer { cueBytes in
            table.cues.withUnsafeBufferPointer { cues in
                table.firstCue.withUnsafeBufferPointer { firstCue in
                    table.symbols.withUnsafeBufferPointer { symbols in
                        table.pairs.withUnsafeBufferPointer { pairs in
                            var symbol = symbols[Int(bytes[0])]
                            for index in 0..<(count - 1) {
                                // Most byte pairs start no cue: one table read and one bit test, and on.
                                let next = symbols[Int(bytes[index + 1])]
                                defer { symbol = next }
                                guard pairs[Int(symbol)] & (1 << UInt64(next)) != 0 else { continue }
                                let first = lower(bytes[index])
                                // The next four bytes, lowercased, compared with each cue's first four in one step.
                                var head: UInt32 = 0
                                for offset in 0..<4 where index + offset < count { head |= UInt32(lower(bytes[index + offset])) << (8 * UInt32(offset)) }
                                for cueIndex in Int(firstCue[Int(first)])..<Int(firstCue[Int(first) + 1]) {
                                    let cue = cues[cueIndex]
                                    guard head & cue.headMask == cue.head, index + cue.length <= count, cue.isCode ? !code : !reasoning else { continue }
                                    var matched = true
                                    for offset in 4..<max(4, cue.length) where lower(bytes[index + offset]) != cueBytes[cue.offset + offset] {
                                        matched = false
                                        break
                                    }
                                    if matched {
                                        if cue.isCode { code = true } else { reasoning = true }
                                        if code && reasoning { return }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        return (code, reasoning)
    }

    /// The cues laid out flat, grouped by first byte: `cues[firstCue[b]..<firstCue[b + 1]]` start with byte `b`.
    struct CueTable: Sendable {
        struct Cue: Sendable {
            var offset: Int
            var length: Int
            var isCode: Bool
            /// The first (up to) four bytes, little-endian, and the mask that keeps only those.
            var head: UInt32
            var headMask: UInt32
        }

        var bytes: [UInt8] = []
        var cues: [Cue] = []
        var firstCue: [Int32] = []
        /// Each byte's symbol: 0 for a byte no cue starts with (nor has second), else a number from 1 to 63, the same for
        /// a letter in either case. Why symbols: a bit per pair of raw bytes took 8 KB, read at random along the prompt,
        /// and under load those reads missed the cache.
        var symbols = [UInt8](repeating: 0, count: 256)
        /// Bit `b` of `pairs[a]`: some cue starts with the bytes of symbols `a` and `b` (512 bytes in all).
        var pairs = [UInt64](repeating: 0, count: 64)

        static let shared = CueTable(code: codeCues, reasoning: reasoningCues)

        init(code: [String], reasoning: [String]) {
            let all = (code.map { (Array($0.utf8), true) } + reasoning.map { (Array($0.utf8), false) }).sorted { $0.0[0] < $1.0[0] }
            firstCue = [Int32](repeating: 0, count: 257)
            var nextSymbol: UInt8 = 1
            func symbol(_ byte: UInt8) -> UInt8 {
                if symbols[Int(byte)] == 0 {
                    precondition(nextSymbol < 64, "the cues use more than 63 distinct first and second bytes")
                    symbols[Int(byte)] = nextSymbol
                    // A letter's other case reads as the same symbol (the cues are written in lower case).
                    if byte >= 97 && byte <= 122 { symbols[Int(byte - 32)] = nextSymbol }
                    nextSymbol += 1
                }
                return symbols[Int(byte)]
            }
            for (cue, isCode) in all {
                var head: UInt32 = 0
                var headMask: UInt32 = 0
                for (offset, byte) in cue.prefix(4).enumerated() {
                    head |= UInt32(byte) << (8 * UInt32(offset))
                    headMask |= 0xFF << (8 * UInt32(offset))
                }
                cues.append(Cue(offset: bytes.count, length: cue.count, isCode: isCode, head: head, headMask: headMask))
                bytes += cue
                firstCue[Int(cue[0]) + 1] += 1
                pairs[Int(symbol(cue[0]))] |= 1 << UInt64(symbol(cue[1]))
            }
            for index in 1...256 { firstCue[index] += firstCue[index - 1] }
        }
    }

    static let codeCues = [
        "```", "def ", "function ", "class ", "#include", "import ", "select ", "traceback", "stack trace", "compile",
        "refactor", "unit test", "python", "javascript", "typescript", "rust ", "golang", " sql", "regex", "bug ",
        "exception", "segfault", "=>", "();",
    ]

    /// Maths and multi-step reasoning: with at least middling difficulty, these ask for a reasoning model.
    static let reasoningCues = [
        "prove ", "proof", "theorem", "lemma", "derive", "rigorous", "step by step", "step-by-step", "integral", "equation",
        "\\boxed", "optimal strategy", "show that", "how many ways", "probability that",
    ]

}
