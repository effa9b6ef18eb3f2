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
        let hex = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(64)
        for byte in SHA256.hash(data: Data(key.utf8)) {
            out.append(hex[Int(byte >> 4)])
            out.append(hex[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The first characters of a key, safe to show in lists and logs.
    public static func displayPrefix(_ key: String) -> String {
        String(key.prefix(prefix.count + 6))
    }

    /// Compares two digests without an early exit, so timing does not reveal how much matched.
    public static func constantTimeEquals(_ lhs: String, _ rhs: String) -> Bool {
        let a = Array(lhs.utf8)
        let b = Array(rhs.utf8)
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in 0..<a.count { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
