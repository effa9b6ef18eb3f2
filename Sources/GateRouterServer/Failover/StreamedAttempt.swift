import AsyncAlgorithms
import GateRouterProviders
import GateRouterWire
import Logging

/// One upstream stream, read by a task of its own that hands events over one at a time (no buffering: the producer
/// waits until each event is taken), so the gateway can fail over when an upstream stalls and send keep-alives while it
/// is silent.
///
/// A second small task puts a `.tick` into the same channel every `tickInterval`, so a reader notices silence without
/// arming a timer per event (a task group per streamed token would cost more than the token).
///
/// Cancelling the attempt ends both tasks, which drops the upstream request.
final class StreamedAttempt: Sendable {
    enum Item: Sendable {
        /// The upstream accepted the request (2xx).
        case opened(upstreamModel: String, adapted: [String])
        /// The events of one upstream read, in order (at least one).
        case events([ChatStreamEvent])
        /// Time passed; nothing to send.
        case tick
    }

    let target: UpstreamTarget
    private let channel: AsyncThrowingChannel<Item, any Error>
    private let producer: Task<Void, Never>
    private let ticker: Task<Void, Never>

    init(adapter: any ProviderAdapter, call: UpstreamCall, tickInterval: Duration, logger: Logger) {
        let channel = AsyncThrowingChannel<Item, any Error>()
        self.channel = channel
        self.target = call.target
        self.ticker = Task {
            while !Task.isCancelled {
                do {
                    try await LoopTimer.sleep(for: tickInterval)
                } catch {
                    return
                }
                await channel.send(.tick)
            }
        }
        self.producer = Task {
            do {
                var events = try await adapter.stream(call, logger: logger)
                await channel.send(.opened(upstreamModel: events.upstreamModel, adapted: events.adapted))
                while !Task.isCancelled, let batch = try await events.nextBatch() {
                    await channel.send(.events(batch))
                }
                channel.finish()
            } catch {
                channel.fail(error)
            }
        }
    }

    deinit {
        producer.cancel()
        ticker.cancel()
    }

    func cancel() {
        producer.cancel()
        ticker.cancel()
        channel.finish()
    }

    /// The next item (nil at the end) or the upstream's error; a read that was cancelled is a `CancellationError`.
    func nextItem() async -> Result<Item?, any Error> {
        var iterator = channel.makeAsyncIterator()
        do {
            let item = try await iterator.next()
            // A cancelled wait also ends in nil; it must not pass for the end of the stream.
            if item == nil, Task.isCancelled { return .failure(CancellationError()) }
            return .success(item)
        } catch {
            return .failure(error)
        }
    }

}

extension ChatStreamEvent {
    /// Whether this event is content the client must see (text, reasoning, a tool call, a finish, usage), as opposed to
    /// the preamble (the role chunk, empty deltas) that can be held back while failover is still possible.
    var isContent: Bool {
        switch self {
        case .usage, .done: return true
        case .chunk(let bytes):
            guard let chunk = try? JSONValue.parse(bytes) else { return true }
            guard let choices = chunk["choices"]?.arrayValue, !choices.isEmpty else { return chunk["usage"] != nil }
            return choices.contains { choice in
                let delta = choice["delta"]
                if let reason = choice["finish_reason"], reason != .null { return true }
                if let content = delta?["content"]?.stringValue, !content.isEmpty { return true }
                if let reasoning = delta?["reasoning_content"]?.stringValue ?? delta?["reasoning"]?.stringValue, !reasoning.isEmpty { return true }
                if let calls = delta?["tool_calls"]?.arrayValue, !calls.isEmpty { return true }
                return delta?["reasoning_details"] != nil || delta?["refusal"]?.stringValue != nil
            }
        }
    }
}
