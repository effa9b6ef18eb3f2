import GateRouterWire
import Testing

@Suite struct ServerSentEventParserTests {
    func parse(_ pieces: [String]) throws -> [String] {
        var parser = ServerSentEventParser()
        var out: [String] = []
        for piece in pieces { out += try parser.feed(Array(piece.utf8)).map { String(decoding: $0.data, as: UTF8.self) } }
        if let last = parser.finish() { out.append(String(decoding: last.data, as: UTF8.self)) }
        return out
    }

    @Test func handlesLFCRLFAndCRLineEndings() throws {
        #expect(try parse(["data: a\n\ndata: b\r\n\r\ndata: c\r\rdata:d\n\n"]) == ["a", "b", "c", "d"])
    }

    @Test func eventsSplitAtEveryPossibleByteReassemble() throws {
        let stream = "data: {\"x\":1}\r\n\r\n: keep-alive\n\ndata: [DONE]\n\n"
        let bytes = Array(stream.utf8)
        for cut in 1..<bytes.count {
            var parser = ServerSentEventParser()
            var events = try parser.feed(bytes[..<cut])
            events += try parser.feed(bytes[cut...])
            #expect(events.map { String(decoding: $0.data, as: UTF8.self) } == [#"{"x":1}"#, "[DONE]"], "cut at \(cut)")
        }
    }

    @Test func joinsMultilineDataSkipsCommentsAndKeepsEventNames() throws {
        var parser = ServerSentEventParser()
        let events = try parser.feed(Array("\u{FEFF}: comment\nevent: message_start\ndata: line1\ndata: line2\nid: 7\nretry: 10\n\n".utf8))
        #expect(events.count == 1)
        #expect(events.first?.event == "message_start")
        #expect(events.first.map { String(decoding: $0.data, as: UTF8.self) } == "line1\nline2")
    }

    @Test func finishDeliversAnUnterminatedLastEvent() throws {
        #expect(try parse(["data: tail"]) == ["tail"])
    }

    @Test func boundsMemoryForAnEndlessEvent() throws {
        var parser = ServerSentEventParser(maxEventSize: 64)
        #expect(throws: ServerSentEventError.self) { try parser.feed(Array(("data: " + String(repeating: "x", count: 100)).utf8)) }
    }
}
