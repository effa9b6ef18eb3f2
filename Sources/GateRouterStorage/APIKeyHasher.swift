import Crypto
import Foundation

/// Makes and checks API keys. A key is `gr-` followed by 43 base64url characters (256 random bits); only its
/// SHA-256 digest is stored, and digests are compared in constant time.
public enum APIKeyHasher {
    public static let prefix = "gr-"

    /// A new random key, to show once.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let encoded = Data(bytes).base64EncodedString().compactMap { character -> Character? in
            switch character {
            case "+": "-"
            case "/": "_"
            case "=": nil
            default: character
            }
        }
        return prefix + String(encoded)
    }

    /// The stored form of a key: the hex SHA-256 digest.
    public static func hash(_ key: String) -> String {
        // Runs on every request: hash the string's own UTF-8 bytes (no `Data` copy) and write the hex in place.
        var key = key
        let digest = key.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        return String(unsafeUninitializedCapacity: SHA256.byteCount * 2) { out in
            var index = 0
            for byte in digest {
                out[index] = hexDigits[Int(byte >> 4)]
                out[index + 1] = hexDigits[Int(byte & 0x0F)]
                index += 2
            }
            return index
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// The first characters of a key, safe to show in lists and logs.
    public static func displayPrefix(_ key: String) -> String {
        String(key.prefix(prefix.count + 6))
    }

    /// Compares two digests without an early exit, so timing does not reveal how much matched.
    public static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        // Over the strings' contiguous bytes: zipping their UTF-8 views cost half a microsecond per request.
        var lhs = lhs, rhs = rhs
        return lhs.withUTF8 { left in
            rhs.withUTF8 { right in
                guard left.count == right.count else { return false }
                var difference: UInt8 = 0
                for index in left.indices { difference |= left[index] ^ right[index] }
                return difference == 0
            }
        }
    }
}
