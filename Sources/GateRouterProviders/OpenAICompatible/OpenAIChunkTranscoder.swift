import GateRouterWire
import Foundation

/// Passes OpenAI-dialect chunks through, fixing what the gateway owns: `model` becomes the catalog id, and the usage
/// the gateway asked for on the client's behalf is taken out when the client did not ask for it.
public struct OpenAIChunkTranscoder: ChatStreamTranscoder {
    let modelIDBytes: [UInt8]
    let provider: String
    /// Whether the client asked for `stream_options.include_usage`.
    let forwardUsage: Bool
    private var sawFinishReason = false
    private var sawUsage = false

    public init(modelID: String, provider: String, forwardUsage: Bool) {
        self.modelIDBytes = JSONString.encode(modelID)
        self.provider = provider
        self.forwardUsage = forwardUsage
    }

    /// Rewrites the chunk by member positions, copying its bytes once into the output: a stream has one chunk per
    /// token, and splitting each into separately allocated fields cost more than the rest of the relay.
    public mutating func transcode(_ event: ServerSentEvent) throws(GatewayError) -> [ChatStreamEvent] {
        if event.isDone { return [.done] }
        let bytes = event.data
        let members: [RawJSONObject.MemberSpan]
        do {
            members = try RawJSONObject.memberSpans(of: bytes)
        } catch {
            throw GatewayError.upstreamInvalidResponse(provider: provider)
        }
        var model: Int?
        var usage: Int?
        var choices: Int?
        for (index, member) in members.enumerated() {
            let key = bytes[member.key]
            // An escaped key may spell a field differently: the field-by-field path decodes it.
            if key.contains(UInt8(ascii: "\\")) { return try transcodeByFields(event) }
            if key.elementsEqual(Self.errorKey) { throw UpstreamErrorMapping.inBandError(bytes, provider: provider) }
            if model == nil, key.elementsEqual(Self.modelKey) { model = index }
            if usage == nil, key.elementsEqual(Self.usageKey) { usage = index }
            if choices == nil, key.elementsEqual(Self.choicesKey) { choices = index }
        }
        var events: [ChatStreamEvent] = []
        if let usage, case let raw = bytes[members[usage].value], !raw.elementsEqual("null".utf8), let parsed = Usage(json: Array(raw)) {
            events.append(.usage(parsed))
            sawUsage = true
        }
        let choicesRaw = choices.map { bytes[members[$0].value] } ?? []
        let hasChoices = !(choicesRaw.isEmpty || choicesRaw.elementsEqual("[]".utf8))
        if Self.containsFinishReason(choicesRaw) { sawFinishReason = true }
        // The usage-only chunk the client did not ask for.
        if !forwardUsage, !hasChoices { return events }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count + modelIDBytes.count)
        out.append(UInt8(ascii: "{"))
        for (index, member) in members.enumerated() {
            if !forwardUsage, bytes[member.key].elementsEqual(Self.usageKey) { continue }
            if out.count > 1 { out.append(UInt8(ascii: ",")) }
            out.append(contentsOf: bytes[member.key])
            out.append(UInt8(ascii: ":"))
            if index == model { out.append(contentsOf: modelIDBytes) } else { out.append(contentsOf: bytes[member.value]) }
        }
        out.append(UInt8(ascii: "}"))
        // Usage first: the gateway adds the request's cost to the chunk that carries it.
        events.append(.chunk(out))
        return events
    }

    /// The same rewrite through ``RawJSONObject``'s decoded fields, for chunks whose keys carry escapes.
    mutating func transcodeByFields(_ event: ServerSentEvent) throws(GatewayError) -> [ChatStreamEvent] {
        var chunk: RawJSONObject
        do {
            chunk = try RawJSONObject(parsing: event.data)
        } catch {
            throw GatewayError.upstreamInvalidResponse(provider: provider)
        }
        if chunk.contains("error") {
            throw UpstreamErrorMapping.inBandError(event.data, provider: provider)
        }
        var events: [ChatStreamEvent] = []
        if chunk.contains("model") { chunk.set("model", raw: modelIDBytes) }
        if !chunk.isNullOrAbsent("usage"), let raw = chunk[raw: "usage"], let usage = Usage(json: raw) {
            events.append(.usage(usage))
            sawUsage = true
        }
        let choices = chunk[raw: "choices"] ?? []
        let hasChoices = !(choices.isEmpty || choices.elementsEqual("[]".utf8))
        if Self.containsFinishReason(choices[...]) { sawFinishReason = true }
        if !forwardUsage {
            chunk.remove("usage")
            if !hasChoices { return events }  // the usage-only chunk the client did not ask for
        }
        events.append(.chunk(chunk.serialized()))
        return events
    }

    private static let errorKey = Array(#""error""#.utf8)
    private static let modelKey = Array(#""model""#.utf8)
    private static let usageKey = Array(#""usage""#.utf8)
    private static let choicesKey = Array(#""choices""#.utf8)

    public mutating func finish() throws(GatewayError) -> [ChatStreamEvent] {
        // Some OpenAI-compatible servers close without `[DONE]`; a finish reason or usage means the answer is whole.
        if sawFinishReason || sawUsage { return [.done] }
        throw GatewayError(
            status: 502,
            message: "The upstream provider '\(provider)' ended the stream before the answer was complete.",
            type: "upstream_error",
            code: "upstream_stream_truncated"
        )
    }

    /// Whether a `choices` array sets a non-null `finish_reason`, found without decoding the chunk.
    static func containsFinishReason(_ choices: ArraySlice<UInt8>) -> Bool {
        let needle = finishReasonKey
        var index = choices.startIndex
        while index + needle.count <= choices.endIndex {
            if choices[index] == needle[0], choices[index..<(index + needle.count)].elementsEqual(needle) {
                var cursor = index + needle.count
                while cursor < choices.endIndex, Self.isSpaceOrColon(choices[cursor]) { cursor += 1 }
                if cursor < choices.endIndex, choices[cursor] == UInt8(ascii: "\"") { return true }
                index = cursor
            } else {
                index += 1
            }
        }
        return false
    }

    private static let finishReasonKey = Array("\"finish_reason\"".utf8)

    private static func isSpaceOrColon(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ":"): true
        default: false
        }
    }
}
