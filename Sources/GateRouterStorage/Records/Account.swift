import Foundation
import GateRouterRouting

/// A customer account: its keys, credit balance, settings and usage hang off it.
public struct Account: Sendable, Equatable, Codable {
    public var id: String
    public var name: String
    /// Prepaid accounts spend a credit balance and are refused (`insufficient_quota`) when it is used up; unlimited
    /// accounts are metered without a balance check. The default account starts unlimited.
    public var prepaid: Bool
    /// Credit left, for prepaid accounts. May dip below zero by at most the cost of requests that were already in
    /// flight when it ran out (cost is known only afterwards).
    public var balance: Picodollars
    /// A suspended account's keys are refused (403) until it is resumed.
    public var suspended: Bool
    /// Whether `model: "auto"` is allowed (on by default).
    public var autoRouting: Bool
    /// Spending limit in USD; nil means none (the default account starts without one).
    public var spendLimit: Decimal?
    /// Whether a parameter the chosen model cannot take is refused (`unsupported parameter: <name>`) rather than
    /// adapted (renamed, clamped or dropped and listed in `x-gaterouter-adapted`). Off by default.
    public var strictParams: Bool
    /// How `auto` picks models for this account: strategy, allowed/blocked lists, price cap, fallback.
    public var routing: RoutingPolicy
    public var createdAt: Date

    public init(
        id: String, name: String, prepaid: Bool = false, balance: Picodollars = .zero, suspended: Bool = false,
        autoRouting: Bool = true, spendLimit: Decimal? = nil, strictParams: Bool = false,
        routing: RoutingPolicy = RoutingPolicy(), createdAt: Date = Date()
    ) {
        self.id = id
        self.name = name
        self.prepaid = prepaid
        self.balance = balance
        self.suspended = suspended
        self.autoRouting = autoRouting
        self.spendLimit = spendLimit
        self.strictParams = strictParams
        self.routing = routing
        self.createdAt = createdAt
    }

    public static let defaultAccountID = "default"

    /// A fresh account id: `acct_` and 16 hex characters.
    public static func makeID() -> String { "acct_" + RandomID.hex(8) }
}

/// Random hex ids for accounts, keys and ledger records.
public enum RandomID {
    public static func hex(_ byteCount: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(byteCount * 2)
        for _ in 0..<byteCount {
            let byte = UInt8.random(in: .min ... .max, using: &generator)
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
