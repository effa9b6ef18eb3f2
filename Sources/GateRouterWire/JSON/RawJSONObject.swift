import Foundation

/// A JSON object kept as its top-level keys and the raw bytes of each value.
///
/// The gateway rewrites a handful of fields (`model`, `stream_options`, …) and must pass every other field through
/// byte for byte, unknown ones included. Splitting the object at the top level and splicing values keeps numbers,
/// key order and nested objects exactly as the client wrote them, without decoding and re-encoding the body.
///
/// The scanner checks structure only (balanced brackets, terminated strings); callers that need full validation
/// decode a typed view with `JSONDecoder` as well.
public struct RawJSONObject: Sendable, Equatable {
    public struct Field: Sendable, Equatable {
        public var key: String
        /// The value's raw JSON text, without surrounding whitespace.
        public var value: [UInt8]
    }

    public private(set) var fields: [Field]

    public init() { self.fields = [] }

    /// Fields already split by a reader that checked the whole body.
    init(fields: [Field]) { self.fields = fields }

    /// Splits a JSON object into its top-level fields, every one as written (a key given twice stays twice).
    /// - Throws: ``RawJSONError`` when the bytes are not a single JSON object.
    public init(parsing bytes: some Collection<UInt8>) throws(RawJSONError) {
        var scanner = Scanner(bytes: Array(bytes))
        self.fields = try scanner.scanObjectFields()
    }

    /// Drops the later copies of a key given twice. For request bodies: the gateway reads the first (as `JSONDecoder`
    /// does), so a later copy must not reach an upstream that may read the last; a body naming a cheap model first
    /// and a dear one second would otherwise be routed and billed as the first and run as the second.
    public mutating func keepFirstOfRepeatedKeys() {
        // Pairwise: bodies have a dozen fields or so, and this costs less than hashing each key.
        var index = 1
        while index < fields.count {
            let key = fields[index].key
            if fields[..<index].contains(where: { $0.key == key }) {
                fields.remove(at: index)
            } else {
                index += 1
            }
        }
    }

    /// The raw value of `key`, if present.
    public subscript(raw key: String) -> [UInt8]? {
        fields.first(where: { $0.key == key })?.value
    }

    public func contains(_ key: String) -> Bool { fields.contains(where: { $0.key == key }) }

    /// The value of `key` when it is a JSON string.
    public func string(_ key: String) -> String? {
        guard let raw = self[raw: key], raw.first == UInt8(ascii: "\"") else { return nil }
        return (try? JSONValue.parse(raw))?.stringValue
    }

    /// The value of `key` when it is `true` or `false`.
    public func bool(_ key: String) -> Bool? {
        guard let raw = self[raw: key] else { return nil }
        if raw.elementsEqual("true".utf8) { return true }
        if raw.elementsEqual("false".utf8) { return false }
        return nil
    }

    /// Whether `key` is absent or `null`.
    public func isNullOrAbsent(_ key: String) -> Bool {
        guard let raw = self[raw: key] else { return true }
        return raw.elementsEqual("null".utf8)
    }

    /// Replaces the value of `key` in place, or appends the field when it is new.
    public mutating func set(_ key: String, raw value: [UInt8]) {
        if let index = fields.firstIndex(where: { $0.key == key }) {
            fields[index].value = value
        } else {
            fields.append(Field(key: key, value: value))
        }
    }

    public mutating func set(_ key: String, string value: String) {
        set(key, raw: JSONString.encode(value))
    }

    /// Renames `key` to `newKey`, keeping its position. When `newKey` is already present, it wins and `key` is dropped.
    public mutating func rename(_ key: String, to newKey: String) {
        guard let index = fields.firstIndex(where: { $0.key == key }) else { return }
        if contains(newKey) {
            fields.remove(at: index)
        } else {
            fields[index].key = newKey
        }
    }

    public mutating func remove(_ key: String) {
        fields.removeAll { $0.key == key }
    }

    /// The object as compact JSON text.
    public func serialized() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(fields.reduce(2) { $0 + $1.key.utf8.count + $1.value.count + 4 })
        out.append(UInt8(ascii: "{"))
        for (index, field) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: ",")) }
            JSONString.append(field.key, to: &out)
            out.append(UInt8(ascii: ":"))
            out.append(contentsOf: field.value)
        }
        out.append(UInt8(ascii: "}"))
        return out
    }
}

extension RawJSONObject {
    /// Where one top-level member sits in the bytes it was scanned from.
    public struct MemberSpan: Sendable, Equatable {
        /// The key as written, quotes included.
        public var key: Range<Int>
        /// The value's raw JSON text, without surrounding whitespace.
        public var value: Range<Int>
    }

    /// The top-level members of a JSON object by position, checked as ``init(parsing:)`` checks them but with no key
    /// or value copied: for rewriting a field or two of many small objects (a stream's chunks).
    /// - Throws: ``RawJSONError`` when the bytes are not a single JSON object.
    public static func memberSpans(of bytes: [UInt8]) throws(RawJSONError) -> [MemberSpan] {
        var spans: [MemberSpan] = []
        spans.reserveCapacity(8)
        var scanner = Scanner(bytes: bytes)
        try scanner.scanMembers { key, value in spans.append(MemberSpan(key: key, value: value)) }
        return spans
    }
}

/// Why a body could not be split into a JSON object.
public struct RawJSONError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public var offset: Int
}

extension RawJSONObject {
    /// A forward-only scanner over the bytes of one JSON object.
    struct Scanner {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        mutating func scanObjectFields() throws(RawJSONError) -> [Field] {
            let bytes = self.bytes
            var fields: [Field] = []
            try scanMembers { key, value throws(RawJSONError) in
                fields.append(Field(key: try Self.decodeKey(bytes[key], endingAt: key.upperBound), value: Array(bytes[value])))
            }
            return fields
        }

        /// Walks the object's top-level members in order: each key's range (quotes included) and its value's range.
        mutating func scanMembers(_ visit: (Range<Int>, Range<Int>) throws(RawJSONError) -> Void) throws(RawJSONError) {
            skipWhitespace()
            if index < bytes.count, bytes[index] == 0xEF { index += 3 }  // UTF-8 byte order mark
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "{") else {
                throw fail("the body must be a JSON object")
            }
            index += 1
            skipWhitespace()
            if peek() == UInt8(ascii: "}") {
                index += 1
                try expectEnd()
                return
            }
            while true {
                skipWhitespace()
                let keyStart = index
                try skipString()
                let key = keyStart..<index
                skipWhitespace()
                guard peek() == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
                index += 1
                skipWhitespace()
                let valueStart = index
                try skipValue(depth: 0)
                try visit(key, valueStart..<index)
                skipWhitespace()
                switch peek() {
                case UInt8(ascii: ","): index += 1
                case UInt8(ascii: "}"):
                    index += 1
                    try expectEnd()
                    return
                default: throw fail("expected ',' or '}' after a value")
                }
            }
        }

        private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        private func fail(_ message: String) -> RawJSONError { RawJSONError(description: message, offset: index) }

        private mutating func expectEnd() throws(RawJSONError) {
            skipWhitespace()
            guard index == bytes.count else { throw fail("unexpected data after the JSON object") }
        }

        private mutating func skipWhitespace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        static func decodeKey(_ raw: ArraySlice<UInt8>, endingAt offset: Int) throws(RawJSONError) -> String {
            let inner = raw.dropFirst().dropLast()
            if !inner.contains(UInt8(ascii: "\\")) { return String(decoding: inner, as: UTF8.self) }
            guard let key = try? JSONDecoder().decode(String.self, from: Data(raw)) else { throw RawJSONError(description: "invalid key", offset: offset) }
            return key
        }

        private mutating func skipString() throws(RawJSONError) {
            guard peek() == UInt8(ascii: "\"") else { throw fail("expected a string") }
            index += 1
            while index < bytes.count {
                switch bytes[index] {
                case UInt8(ascii: "\\"): index += 2
                case UInt8(ascii: "\""):
                    index += 1
                    return
                default: index += 1
                }
            }
            throw fail("unterminated string")
        }

        private mutating func skipValue(depth: Int) throws(RawJSONError) {
            guard depth < 512 else { throw fail("nesting too deep") }
            guard let byte = peek() else { throw fail("expected a value") }
            switch byte {
            case UInt8(ascii: "\""): try skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                let close = byte == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
                index += 1
                skipWhitespace()
                if peek() == close {
                    index += 1
                    return
                }
                while true {
                    skipWhitespace()
                    if close == UInt8(ascii: "}") {
                        try skipString()
                        skipWhitespace()
                        guard peek() == UInt8(ascii: ":") else { throw fail("expected ':' after a key") }
                        index += 1
                        skipWhitespace()
                    }
                    try skipValue(depth: depth + 1)
                    skipWhitespace()
                    guard let next = peek() else { throw fail("unterminated object or array") }
                    if next == UInt8(ascii: ",") {
                        index += 1
                    } else if next == close {
                        index += 1
                        return
                    } else {
                        throw fail("expected ',' or a closing bracket")
                    }
                }
            default:
                // number, true, false, null: runs until a delimiter
                let start = index
                while index < bytes.count {
                    switch bytes[index] {
                    case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x09, 0x0A, 0x0D:
                        guard index > start else { throw fail("expected a value") }
                        return
                    default: index += 1
                    }
                }
                guard index > start else { throw fail("expected a value") }
            }
        }
    }
}
