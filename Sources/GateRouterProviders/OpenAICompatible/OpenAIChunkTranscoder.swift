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

    public mutating func transcode(_ event: ServerSentEvent) throws(GatewayError) -> [ChatStreamEvent] {
        if event.isDone { return [.done] }
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
        if Self.containsFinishReason(choices) { sawFinishReason = true }
        if !forwardUsage {
            chunk.remove("usage")
            if !hasChoices { return events }  // the usage-only chunk the client did not ask for
        }
        // Usage first: the gateway adds the request's cost to the chunk that carries it.
        events.append(.chunk(chunk.serialized()))
        return events
    }

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
    static func containsFinishReason(_ choices: [UInt8]) -> Bool {
        let needle = finishReasonKey
        var index = 0
        while index + needle.count <= choices.count {
            if choices[index] == needle[0], choices[index..<(index + needle.count)].elementsEqual(needle) {
                var cursor = index + needle.count
                while cursor < choices.count, Self.isSpaceOrColon(choices[cursor]) { cursor += 1 }
                if cursor < choices.count, choices[cursor] == UInt8(ascii: "\"") { return true }
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
