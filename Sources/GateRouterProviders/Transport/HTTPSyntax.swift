/// Bytes of HTTP/1.1's grammar (RFC 9110), shared by the hand-written readers and writers of the hot path.
public enum HTTPSyntax {
    /// Whether `byte` may appear in a token: a header name, a method.
    @inlinable
    public static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
            UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
            UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            true
        default:
            false
        }
    }

    /// The length of the message head at the front of `bytes`, through the blank line that ends it; nil when that
    /// line has not arrived yet.
    public static func headLength(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var index = 0
        // Looks at every fourth byte while it is neither CR nor LF: no CRLF CRLF can span it.
        while index + 3 < bytes.count {
            let fourth = bytes[index + 3]
            if fourth != UInt8(ascii: "\n") {
                index += fourth == UInt8(ascii: "\r") ? 1 : 4
                continue
            }
            if bytes[index] == UInt8(ascii: "\r"), bytes[index + 1] == UInt8(ascii: "\n"), bytes[index + 2] == UInt8(ascii: "\r") {
                return index + 4
            }
            index += 1
        }
        return nil
    }

    /// Whether `bytes` spell `lowercase` in any letter case: header names and tokens compared without making a string.
    @inlinable
    public static func equalsIgnoringCase<Bytes: Collection<UInt8>>(_ bytes: Bytes, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        return lowercase.withUTF8Buffer { expected in
            zip(bytes, expected).allSatisfy { ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 | 0x20 : $0) == $1 }
        }
    }

    /// Whether `bytes` end with `lowercase`, in any letter case (`Transfer-Encoding: gzip, chunked`).
    @inlinable
    public static func endsWithIgnoringCase<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, _ lowercase: StaticString) -> Bool
    where Bytes.Index == Int {
        let count = lowercase.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        return equalsIgnoringCase(bytes[(bytes.endIndex - count)...], lowercase)
    }

    /// Whether `lowercase` appears anywhere in `bytes`, in any letter case (`Connection: keep-alive, Upgrade`).
    @inlinable
    public static func containsIgnoringCase<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes, _ lowercase: StaticString) -> Bool
    where Bytes.Index == Int {
        let count = lowercase.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        for start in bytes.startIndex...(bytes.endIndex - count) where equalsIgnoringCase(bytes[start..<(start + count)], lowercase) {
            return true
        }
        return false
    }

    /// `bytes` without the spaces and tabs around them: a header value without its optional whitespace.
    @inlinable
    public static func trimmingWhitespace<Bytes: RandomAccessCollection<UInt8>>(_ bytes: Bytes) -> Bytes.SubSequence where Bytes.Index == Int {
        var start = bytes.startIndex
        var end = bytes.endIndex
        while start < end, bytes[start] == UInt8(ascii: " ") || bytes[start] == UInt8(ascii: "\t") { start += 1 }
        while end > start, bytes[end - 1] == UInt8(ascii: " ") || bytes[end - 1] == UInt8(ascii: "\t") { end -= 1 }
        return bytes[start..<end]
    }
}
