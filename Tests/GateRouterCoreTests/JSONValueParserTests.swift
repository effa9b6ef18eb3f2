import Foundation
import GateRouterWire
import Testing

/// The hand-written JSON parser and writer behind `JSONValue.parse` and `serialized()`, checked against Foundation's
/// `JSONDecoder` on the same inputs and against RFC 8259's rules.
@Suite struct JSONValueParserTests {
    func parse(_ text: String) throws -> JSONValue { try JSONValue.parse(Array(text.utf8)) }

    /// Foundation's reading of the same text (`JSONDecoder` through `JSONValue`'s `Codable` conformance), as the reference.
    func reference(_ text: String) throws -> JSONValue {
        try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
    }

    @Test(arguments: [
        #"{"a":1,"b":[true,false,null],"c":{"d":"e"},"f":-0.5,"g":1e3,"h":12345678901234567890,"i":""}"#,
        #"  [ 1 , 2.25 , -3 , "x" , { } , [ ] ]  "#,
        #""héllo 🌍 \"quoted\" \\ \/ \b\f\n\r\t \u00e9 \ud83c\udf0d""#,
        #"{"model":"gpt-4.1","messages":[{"role":"user","content":[{"type":"text","text":"hi"},{"type":"image_url","image_url":{"url":"data:image/png;base64,iVBOR"}}]}],"temperature":0.2}"#,
        "0", "-0", "3.14159", "1E-7", "true", "null",
    ])
    func agreesWithFoundation(text: String) throws {
        #expect(try parse(text) == reference(text))
    }

    @Test(arguments: [
        "", "{", "[1,]", #"{"a":1,}"#, "01", "1.", ".5", "+1", "-", "1e", #""unterminated"#, #"{"a" 1}"#, "[1 2]",
        #""\x""#, #""\u12""#, #""\ud83c""#, #""\udf0d""#, "tru", "nul", "[1]x", "\"a\u{01}b\"", "NaN", "Infinity", "1e999",
    ])
    func rejectsWhatRFC8259Rejects(text: String) {
        #expect(throws: (any Error).self) { try parse(text) }
    }

    @Test func nestingIsBounded() throws {
        let deep = String(repeating: "[", count: 600) + String(repeating: "]", count: 600)
        #expect(throws: (any Error).self) { try parse(deep) }
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(try parse(fine).arrayValue != nil)
    }

    @Test func writesCompactSortedJSONThatReadsBackTheSame() throws {
        let value = try parse(#"{"z":1,"a":[1.5,-2,true,null,"tab\there \"q\" é"],"m":{"y":0.1,"b":{}},"big":1e20,"small":1e-05}"#)
        let text = String(decoding: value.serialized(), as: UTF8.self)
        #expect(text == #"{"a":[1.5,-2,true,null,"tab\there \"q\" é"],"big":1e+20,"m":{"b":{},"y":0.1},"small":1e-05,"z":1}"#)
        #expect(try parse(text) == value)
        #expect(try reference(text) == value)
    }
}
