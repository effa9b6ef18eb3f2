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
        if Self.looksLikeCode(text) { return hardness < simpleBelow && text.utf8.count < 120 ? .general : .coding }
        if hardness > reasoningAbove { return .reasoning }
        if hardness >= simpleBelow, Self.contains(text, cuesByFirstByte: Self.reasoningCuesByFirstByte) { return .reasoning }
        if hardness < simpleBelow, text.utf8.count < 400, !needsTools, messages <= 6 { return .simple }
        return .general
    }

    /// Code cues, checked on the first 4 KB of the ask (ASCII case-insensitive).
    static func looksLikeCode(_ text: String) -> Bool {
        contains(text, cuesByFirstByte: codeCuesByFirstByte)
    }

    /// Whether the first 4 KB of `text` contain one of the cues (ASCII case-insensitive), in one pass: each byte is
    /// compared only with the cues that start with it.
    static func contains(_ text: String, cuesByFirstByte table: [[[UInt8]]]) -> Bool {
        let limit = 4096
        var lowered = [UInt8]()
        lowered.reserveCapacity(min(text.utf8.count, limit))
        for byte in text.utf8.prefix(limit) { lowered.append(byte >= 65 && byte <= 90 ? byte + 32 : byte) }
        return lowered.withUnsafeBufferPointer { bytes in
            for index in bytes.indices {
                for cue in table[Int(bytes[index])] where index + cue.count <= bytes.count {
                    var matched = true
                    for offset in 1..<cue.count where bytes[index + offset] != cue[offset] {
                        matched = false
                        break
                    }
                    if matched { return true }
                }
            }
            return false
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

    static let codeCuesByFirstByte = firstByteTable(codeCues)
    static let reasoningCuesByFirstByte = firstByteTable(reasoningCues)

    static func firstByteTable(_ cues: [String]) -> [[[UInt8]]] {
        var table = [[[UInt8]]](repeating: [], count: 256)
        for cue in cues { table[Int(cue.utf8.first ?? 0)].append(Array(cue.utf8)) }
        return table
    }
}
