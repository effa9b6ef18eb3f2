import GateRouterCatalog
import GateRouterProviders
import GateRouterWire

/// What a stream sends the client once content flows: each OpenAI chunk as an SSE frame, the chunk that carries usage
/// given its `usage.cost`, and a count of generated characters for when the upstream reports no usage. Shared by the
/// controller's stream and the fast path's (``FastChatStream``), so both answer byte for byte alike.
struct ChatStreamPassThrough {
    private(set) var usage: Usage?
    private(set) var generatedCharacters = 0
    private var patchUsageChunk = false

    /// The frame of a preamble chunk that was held back until content.
    mutating func heldFrame(_ chunk: [UInt8]) -> [UInt8] {
        generatedCharacters += TokenEstimate.generatedCharacters(in: chunk)
        return ServerSentEvent.frame(data: chunk)
    }

    /// The frame for `event`, or nil for usage (remembered, and added to the chunk that carries it).
    mutating func frame(for event: ChatStreamEvent, target: UpstreamTarget) -> [UInt8]? {
        switch event {
        case .chunk(var json):
            if patchUsageChunk, let usage {
                json = ChatCompletionsController.addingCost(Meter.cost(of: usage, target: target), toUsageIn: json)
                patchUsageChunk = false
            } else if usage == nil {
                generatedCharacters += TokenEstimate.generatedCharacters(in: json)
            }
            return ServerSentEvent.frame(data: json)
        case .usage(let reported):
            usage = reported
            patchUsageChunk = true
            return nil
        case .done:
            return ServerSentEvent.doneFrame
        }
    }
}
