import GateRouterWire
import Testing

@Suite struct RawJSONObjectTests {
    @Test func keepsEveryValueByteForByte() throws {
        let text = #"{ "model" : "gpt-4.1", "n":1.50, "nested":{"a":[1,2e3,{"b":"\"x\""}]}, "u":"\u00e9", "t":true, "z":null }"#
        let object = try RawJSONObject(parsing: Array(text.utf8))
        #expect(object.fields.map(\.key) == ["model", "n", "nested", "u", "t", "z"])
        #expect(object[raw: "n"] == Array("1.50".utf8))
        #expect(object[raw: "nested"] == Array(#"{"a":[1,2e3,{"b":"\"x\""}]}"#.utf8))
        #expect(object[raw: "u"] == Array(#""\u00e9""#.utf8))
        #expect(object.string("model") == "gpt-4.1")
        #expect(object.bool("t") == true)
        #expect(object.isNullOrAbsent("z") && object.isNullOrAbsent("missing"))
        #expect(String(decoding: object.serialized(), as: UTF8.self) == #"{"model":"gpt-4.1","n":1.50,"nested":{"a":[1,2e3,{"b":"\"x\""}]},"u":"\u00e9","t":true,"z":null}"#)
    }

    @Test func rewritesOnlyWhatItIsTold() throws {
        var object = try RawJSONObject(parsing: Array(#"{"model":"a","max_tokens":5,"x":1}"#.utf8))
        object.set("model", string: "provider/\"quoted\"")
        object.rename("max_tokens", to: "max_completion_tokens")
        object.set("added", raw: Array("[1]".utf8))
        object.remove("x")
        #expect(String(decoding: object.serialized(), as: UTF8.self) == #"{"model":"provider/\"quoted\"","max_completion_tokens":5,"added":[1]}"#)
    }

    /// The gateway reads the first of two equal keys (as `JSONDecoder` does), so only that one may go upstream: an
    /// upstream that reads the last would otherwise run another model than the one routed and billed.
    @Test func aRepeatedKeyKeepsItsFirstValueOnly() throws {
        let text = #"{"model":"cheap","messages":[],"mo\u0064el":"dear","n":1,"model":"dearer","n":2}"#
        var object = try RawJSONObject(parsing: Array(text.utf8))
        #expect(object.fields.count == 6, "parsing alone keeps every field as written")
        object.keepFirstOfRepeatedKeys()
        #expect(object.fields.map(\.key) == ["model", "messages", "n"])
        #expect(String(decoding: object.serialized(), as: UTF8.self) == #"{"model":"cheap","messages":[],"n":1}"#)
        var rewritten = object
        rewritten.set("model", string: "upstream-id")
        #expect(String(decoding: rewritten.serialized(), as: UTF8.self) == #"{"model":"upstream-id","messages":[],"n":1}"#)
    }

    @Test func renameKeepsAnExistingTargetField() throws {
        var object = try RawJSONObject(parsing: Array(#"{"max_tokens":5,"max_completion_tokens":9}"#.utf8))
        object.rename("max_tokens", to: "max_completion_tokens")
        #expect(String(decoding: object.serialized(), as: UTF8.self) == #"{"max_completion_tokens":9}"#)
    }

    @Test(arguments: [#"{"a":"unterminated}"#, #"{"a":1} trailing"#, "[1,2]", "", #"{"a" 1}"#, #"{"a":[1,2}"#, #"{"a":}"#, "{,}"])
    func rejectsWhatIsNotOneObject(_ text: String) {
        #expect(throws: RawJSONError.self) { try RawJSONObject(parsing: Array(text.utf8)) }
    }

    @Test func emptyObjectAndByteOrderMark() throws {
        #expect(try RawJSONObject(parsing: Array("{}".utf8)).fields.isEmpty)
        let withBOM: [UInt8] = [0xEF, 0xBB, 0xBF] + Array(#"{"a":1}"#.utf8)
        #expect(try RawJSONObject(parsing: withBOM)[raw: "a"] == Array("1".utf8))
    }
}

@Suite struct GatewayErrorTests {
    @Test func envelopeIsOpenAIsShapeWithEscapedMessage() {
        let error = GatewayError(status: 400, message: "bad \"thing\"\n", type: "invalid_request_error", param: nil, code: "x")
        #expect(String(decoding: error.envelope, as: UTF8.self) == #"{"error":{"message":"bad \"thing\"\n","type":"invalid_request_error","param":null,"code":"x"}}"#)
    }

    @Test func seedMessagesStayAsUsersSearchForThem() {
        #expect(GatewayError.pageNotFound.message == "404 page not found")
        #expect(GatewayError.autoRoutingNotEnabled.message.hasPrefix("auto routing is not enabled"))
        #expect(GatewayError.providerRoutingNotConfigured(model: "m", detail: "d").message.hasPrefix("provider routing is not configured"))
        #expect(GatewayError.unsupportedParameter("max_tokens").message == "unsupported parameter: max_tokens")
    }
}
