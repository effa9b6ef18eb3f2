import GateRouterServer
import Logging
import Testing

/// The request line a sink writes (``RequestLogLine/appendPairs(to:)``) must be the text a sorting log handler writes
/// for the same line's `Logger` metadata: operators grep and parse one format, whichever path answered.
@Suite struct RequestLogLineTests {
    /// ` key=value` for every metadata entry, keys in order: how the gateway's writer and `StreamLogHandler` print it.
    static func sortedPairs(_ metadata: Logger.Metadata) -> String {
        metadata.sorted { $0.key < $1.key }.map { " \($0.key)=\($0.value)" }.joined()
    }

    static func text(_ line: RequestLogLine) -> String {
        var bytes: [UInt8] = []
        line.appendPairs(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static var everyField: RequestReport.Fields {
        var fields = RequestReport.Fields()
        fields.model = "openai/gpt-4.1-nano"
        fields.provider = "openai"
        fields.keyID = "key_0123456789abcdef"
        fields.accountID = "default"
        fields.upstreamModel = "gpt-4.1-nano-2025-04-14"
        fields.promptTokens = 57
        fields.completionTokens = 0
        fields.errorCode = "upstream_timeout"
        fields.streamError = true
        fields.route = "openai/gpt-4.1-nano score=11.10 cost=55.90u$ eta=0.04s; deepseek/deepseek-v3.2 score=8.78 cost=66.92u$ eta=2.30s"
        fields.tier = "general"
        fields.attempts = 3
        fields.failedAttempts = ["openai/gpt-5: HTTP 503", "openai/gpt-5: upstream_timeout"]
        return fields
    }

    @Test func everyFieldIsWrittenAsTheLoggerWritesIt() {
        let line = RequestLogLine(
            method: "POST", route: "/openai/v1/chat/completions", status: 502, duration: .milliseconds(1234), client: "203.0.113.7",
            fields: Self.everyField, clientDisconnected: true, requestID: "req_01a217c4850aec9e2c778dc9d208c599"
        )
        let text = Self.text(line)
        #expect(text == Self.sortedPairs(line.metadata))
        #expect(text.contains(" gr.duration_ms=1234 ") && text.contains(" gr.routing.failed=openai/gpt-5: HTTP 503; openai/gpt-5: upstream_timeout "))
        #expect(line.metadata.count == 19, "a field added to one writer must be added to the other")
    }

    @Test func aLineWithOnlyTheRequiredFieldsIsWrittenAsTheLoggerWritesIt() {
        let line = RequestLogLine(
            method: "GET", route: "unmatched", status: 404, duration: .microseconds(300), client: nil, fields: RequestReport.Fields(),
            clientDisconnected: false, requestID: nil
        )
        #expect(Self.text(line) == Self.sortedPairs(line.metadata))
        #expect(Self.text(line) == " gr.duration_ms=0 gr.method=GET gr.route=unmatched gr.status=404")
    }

    /// Each optional field alone, so that one in the wrong place (out of key order) cannot hide behind the others.
    @Test(arguments: 0..<14)
    func eachOptionalFieldAloneIsInItsPlace(_ field: Int) {
        var fields = RequestReport.Fields()
        var client: String?
        var disconnected = false
        var requestID: String?
        let full = Self.everyField
        switch field {
        case 0: client = "127.0.0.1"
        case 1: disconnected = true
        case 2: requestID = "req_1"
        case 3: fields.model = full.model
        case 4: fields.provider = full.provider
        case 5: fields.keyID = full.keyID
        case 6: fields.upstreamModel = full.upstreamModel
        case 7: fields.promptTokens = full.promptTokens
        case 8: fields.completionTokens = 12
        case 9: fields.errorCode = full.errorCode
        case 10: fields.streamError = true
        case 11: fields.route = full.route
        case 12: fields.tier = full.tier
        default:
            fields.attempts = 2
            fields.failedAttempts = ["a: HTTP 500"]
        }
        let line = RequestLogLine(
            method: "POST", route: "/openai/v1/chat/completions", status: 200, duration: .milliseconds(7), client: client, fields: fields,
            clientDisconnected: disconnected, requestID: requestID
        )
        #expect(Self.text(line) == Self.sortedPairs(line.metadata))
    }

    @Test(arguments: [0, 7, -7, 10, 99, 100, 1_000_000, Int.max, Int.min])
    func integersAreWrittenAsStringWritesThem(_ value: Int) {
        var fields = RequestReport.Fields()
        fields.promptTokens = value
        let line = RequestLogLine(
            method: "POST", route: "/r", status: 200, duration: .zero, client: nil, fields: fields, clientDisconnected: false, requestID: nil
        )
        #expect(Self.text(line).contains(" gr.tokens.prompt=\(value)"))
        #expect(Self.text(line) == Self.sortedPairs(line.metadata))
    }
}
