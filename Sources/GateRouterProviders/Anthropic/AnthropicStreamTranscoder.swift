import Foundation
import GateRouterWire

/// Anthropic's Messages event stream → OpenAI chunks, one event at a time, nothing buffered.
///
/// Tool calls get OpenAI indexes counting tool_use blocks only (0, 1, …), not Anthropic's block index. The stream is
/// complete only when `message_stop` arrives; an upstream that closes before it is reported as truncated.
public struct AnthropicStreamTranscoder: ChatStreamTranscoder {
    private var builder: ChatChunkBuilder
    private let forwardUsage: Bool
    private var inputUsage: JSONValue?
    private var outputTokens = 0
    private var toolIndexByBlock: [Int: Int] = [:]
    private var thinkingTextByBlock: [Int: String] = [:]
    private var reasoningDetailCount = 0
    private var stopped = false

    public init(modelID: String, created: Int, forwardUsage: Bool) {
        self.builder = ChatChunkBuilder(id: "msg", created: created, model: modelID)
        self.forwardUsage = forwardUsage
    }

    public mutating func transcode(_ event: ServerSentEvent) throws(GatewayError) -> [ChatStreamEvent] {
        guard let data = try? JSONValue.parse(event.data) else { throw .upstreamInvalidResponse(provider: "anthropic") }
        switch data["type"]?.stringValue ?? event.event {
        case "message_start":
            if let id = data["message"]?["id"]?.stringValue { builder.id = id }
            inputUsage = data["message"]?["usage"]
            outputTokens = inputUsage?["output_tokens"]?.intValue ?? 0
            return [.chunk(builder.roleChunk())]
        case "content_block_start":
            let index = data["index"]?.intValue ?? 0
            let block = data["content_block"]
            switch block?["type"]?.stringValue {
            case "tool_use":
                let toolIndex = toolIndexByBlock.count
                toolIndexByBlock[index] = toolIndex
                return [.chunk(builder.toolCallStartChunk(index: toolIndex, id: block?["id"]?.stringValue ?? "", name: block?["name"]?.stringValue ?? ""))]
            case "text":
                if let text = block?["text"]?.stringValue, !text.isEmpty { return [.chunk(builder.contentChunk(text))] }
            case "thinking":
                thinkingTextByBlock[index] = ""
            case "redacted_thinking":
                let detail: JSONValue = .object(["type": "reasoning.encrypted", "data": block?["data"], "format": "anthropic-claude-v1", "index": .number(Double(reasoningDetailCount))])
                reasoningDetailCount += 1
                return [.chunk(builder.deltaChunk(["reasoning_details": [detail]]))]
            default: break
            }
            return []
        case "content_block_delta":
            let index = data["index"]?.intValue ?? 0
            let delta = data["delta"]
            switch delta?["type"]?.stringValue {
            case "text_delta":
                guard let text = delta?["text"]?.stringValue, !text.isEmpty else { return [] }
                return [.chunk(builder.contentChunk(text))]
            case "input_json_delta":
                guard let partial = delta?["partial_json"]?.stringValue, !partial.isEmpty, let toolIndex = toolIndexByBlock[index] else { return [] }
                return [.chunk(builder.toolCallArgumentsChunk(index: toolIndex, arguments: partial))]
            case "thinking_delta":
                guard let text = delta?["thinking"]?.stringValue, !text.isEmpty else { return [] }
                thinkingTextByBlock[index, default: ""] += text
                return [.chunk(builder.reasoningChunk(text))]
            case "signature_delta":
                // The signature closes a thinking block: hand the client the whole signed block to send back later.
                let detail = AnthropicResponseTranslation.reasoningDetail(
                    text: thinkingTextByBlock[index] ?? "", signature: delta?["signature"]?.stringValue, index: reasoningDetailCount
                )
                reasoningDetailCount += 1
                return [.chunk(builder.deltaChunk(["reasoning_details": [detail]]))]
            default:
                return []
            }
        case "message_delta":
            if let output = data["usage"]?["output_tokens"]?.intValue { outputTokens = output }
            let reason = AnthropicResponseTranslation.finishReason(data["delta"]?["stop_reason"]?.stringValue)
            return [.chunk(builder.finishChunk(reason))]
        case "message_stop":
            stopped = true
            var usageObject = inputUsage?.objectValue ?? [:]
            usageObject["output_tokens"] = .number(Double(outputTokens))
            let usage = AnthropicResponseTranslation.usage(.object(usageObject))
            var events: [ChatStreamEvent] = [.usage(usage)]
            if forwardUsage { events.append(.chunk(builder.usageChunk(usage))) }
            events.append(.done)
            return events
        case "error":
            let inner = data["error"]
            let type = inner?["type"]?.stringValue
            let status = type == "overloaded_error" ? 529 : type == "rate_limit_error" ? 429 : 500
            throw AnthropicResponseTranslation.openAIEquivalent(status: status, anthropicType: type, message: inner?["message"]?.stringValue ?? "Anthropic reported an error mid-stream.", retryAfter: nil)
        default:  // ping, content_block_stop, unknown future events
            return []
        }
    }

    public mutating func finish() throws(GatewayError) -> [ChatStreamEvent] {
        if stopped { return [] }
        throw GatewayError(status: 502, message: "The upstream provider 'anthropic' ended the stream before message_stop.", type: "upstream_error", code: "upstream_stream_truncated")
    }
}
