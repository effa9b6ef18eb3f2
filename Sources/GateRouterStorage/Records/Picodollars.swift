import Foundation

/// An amount of money in picodollars (10⁻¹² USD), as an exact integer.
///
/// A token of a cheap model costs a fraction of a micro-dollar (DeepSeek's cached input is $0.028 per million tokens,
/// 28,000 picodollars per token), so micro-dollars would round real charges to zero; floating point would drift when
/// summed. `Int64` holds ±9.2 million USD, far beyond one account's balance.
public struct Picodollars: Sendable, Hashable, Comparable, Codable, CustomStringConvertible, AdditiveArithmetic {
    public var value: Int64

    public init(_ value: Int64) { self.value = value }

    public static let zero = Picodollars(0)
    public static let perDollar: Int64 = 1_000_000_000_000

    public static func + (lhs: Self, rhs: Self) -> Self { Self(lhs.value &+ rhs.value) }
    public static func - (lhs: Self, rhs: Self) -> Self { Self(lhs.value &- rhs.value) }
    public static func < (lhs: Self, rhs: Self) -> Bool { lhs.value < rhs.value }

    /// Parses a USD decimal string (`"12.5"`, `"-0.000000000001"`); nil when it is not a number or has more than 12
    /// decimal places (sub-picodollar amounts cannot be charged or credited exactly).
    public init?(usd text: String) {
        var text = Substring(text.trimmingCharacters(in: .whitespaces))
        var negative = false
        if text.first == "-" || text.first == "+" {
            negative = text.first == "-"
            text = text.dropFirst()
        }
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        guard let whole = parts.first, !whole.isEmpty || parts.count == 2,
              whole.allSatisfy(\.isASCIIDigit), whole.count <= 7
        else { return nil }
        var fraction = parts.count == 2 ? parts[1] : ""
        guard fraction.allSatisfy(\.isASCIIDigit), !(whole.isEmpty && fraction.isEmpty) else { return nil }
        while fraction.count > 12, fraction.last == "0" { fraction = fraction.dropLast() }
        guard fraction.count <= 12 else { return nil }
        let padded = fraction + String(repeating: "0", count: 12 - fraction.count)
        guard let dollars = Int64(whole.isEmpty ? "0" : String(whole)), let picos = Int64(padded) else { return nil }
        let amount = dollars * Self.perDollar + picos
        value = negative ? -amount : amount
    }

    /// Converts an exact decimal USD amount, rounding to the nearest picodollar.
    public init(usd decimal: Decimal) {
        var scaled = decimal * Decimal(Self.perDollar)
        var rounded = Decimal()
        NSDecimalRound(&rounded, &scaled, 0, .plain)
        value = NSDecimalNumber(decimal: rounded).int64Value
    }

    /// USD as a plain decimal string with no trailing zeros beyond what is needed (`"0.000012"`, `"5"`, `"-1.25"`).
    public var usd: String {
        // Digits written straight into the string's storage: `usage.cost` carries this on every answer.
        let magnitude = value.magnitude
        let perDollar = UInt64(Self.perDollar)
        let whole = magnitude / perDollar
        var fraction = magnitude % perDollar
        return String(unsafeUninitializedCapacity: 36) { out in
            var count = 0
            if value < 0 {
                out[0] = UInt8(ascii: "-")
                count = 1
            }
            let wholeStart = count
            var rest = whole
            repeat {
                out[count] = UInt8(ascii: "0") + UInt8(rest % 10)
                rest /= 10
                count += 1
            } while rest > 0
            out[wholeStart..<count].reverse()
            if fraction > 0 {
                out[count] = UInt8(ascii: ".")
                count += 1
                // Twelve places at most; stop at the last non-zero one.
                var place = perDollar / 10
                while fraction > 0 {
                    out[count] = UInt8(ascii: "0") + UInt8(fraction / place)
                    fraction %= place
                    place /= 10
                    count += 1
                }
            }
            return count
        }
    }

    /// USD as a JSON number would read it; for display only (charts, `usage.cost`), never for sums.
    public var approximateDollars: Double { Double(value) / Double(Self.perDollar) }

    public var description: String { "$" + usd }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self), let parsed = Picodollars(usd: text) {
            self = parsed
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "expected a USD decimal string with at most 12 decimal places")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(usd)
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
