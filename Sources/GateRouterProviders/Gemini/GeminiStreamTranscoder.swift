import Foundation
import GateRouterWire

/// Gemini's `streamGenerateContent?alt=sse` → OpenAI chunks, one event at a time, nothing buffered.
///
/// Each event is a whole `GenerateContentResponse` holding only new parts; a function call arrives whole in one event,
/// so it becomes a tool-call start chunk plus one arguments chunk. Gemini sends no end sentinel: the stream is complete
/// when a `finishReason` has arrived and the body ends; a body that ends before is reported as truncated.
public struct GeminiStreamTranscoder: ChatStreamTranscoder {
    private var builder: ChatChunkBuilder
    private let forwardUsage: Bool
    private let callIDPrefix: String
    private var started = false
    private var toolCalls = 0
    private var finished = false
    private var usageMetadata: JSONValue?

    public init(modelID: String, created: Int, forwardUsage: Bool, callIDPrefix: String) {
        self.builder = ChatChunkBuilder(id: "chatcmpl-gemini", created: created, model: modelID)
        self.forwardUsage = forwardUsage
        self.callIDPrefix = callIDPrefix
    }

    public mutating func transcode(_ event: ServerSentEvent) throws(GatewayError) -> [ChatStreamEvent] {
        guard let data = try? JSONValue.parse(event.data) else { throw .upstreamInvalidResponse(provider: "google") }
        if let error = data["error"] {
            throw GeminiResponseTranslation.error(status: error["code"]?.intValue ?? 500, body: event.data, retryAfter: nil)
        }
        var events: [ChatStreamEvent] = []
        if !started {
            started = true
            if let id = data["responseId"]?.stringValue { builder.id = id }
            events.append(.chunk(builder.roleChunk()))
        }
        if let metadata = data["usageMetadata"] { usageMetadata = metadata }
        guard let candidate = data["candidates"]?.arrayValue?.first else {
            if data["promptFeedback"]?["blockReason"] != nil {
                finished = true
                events.append(.chunk(builder.finishChunk("content_filter")))
            }
            return events
        }
        for part in candidate["content"]?["parts"]?.arrayValue ?? [] {
            if part["functionCall"] != nil {
                let call = GeminiResponseTranslation.toolCall(part, id: "\(callIDPrefix)\(toolCalls)")
                events.append(.chunk(builder.toolCallStartChunk(
                    index: toolCalls, id: call["id"]?.stringValue ?? "", name: call["function"]?["name"]?.stringValue ?? "",
                    extra: call["extra_content"].map { ["extra_content": $0] }
                )))
                events.append(.chunk(builder.toolCallArgumentsChunk(index: toolCalls, arguments: GeminiResponseTranslation.arguments(of: part))))
                toolCalls += 1
            } else if let text = part["text"]?.stringValue, !text.isEmpty {
                events.append(.chunk(part["thought"]?.boolValue == true ? builder.reasoningChunk(text) : builder.contentChunk(text)))
            }
        }
        if let reason = candidate["finishReason"]?.stringValue {
            if let failure = GeminiResponseTranslation.failure(reason) { throw failure }
            finished = true
            events.append(.chunk(builder.finishChunk(GeminiResponseTranslation.finishReason(reason, hasToolCalls: toolCalls > 0))))
        }
        return events
    }

    public mutating func finish() throws(GatewayError) -> [ChatStreamEvent] {
        guard finished else {
            throw GatewayError(status: 502, message: "The upstream provider 'google' ended the stream before a finish reason.", type: "upstream_error", code: "upstream_stream_truncated")
        }
        let usage = GeminiResponseTranslation.usage(usageMetadata)
        var events: [ChatStreamEvent] = [.usage(usage)]
        if forwardUsage { events.append(.chunk(builder.usageChunk(usage))) }
        events.append(.done)
        return events
    }
}
