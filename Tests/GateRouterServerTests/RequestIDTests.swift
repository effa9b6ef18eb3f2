import Foundation
@testable import GateRouterServer
import Testing

/// Request ids: one format from both generators, unique, and ordered by the time they were made (the ledger's primary
/// key appends instead of landing anywhere in its index).
@Suite struct RequestIDTests {
    static func isWellFormed(_ id: String) -> Bool {
        id.count == 36 && id.hasPrefix("req_") && id.dropFirst(4).allSatisfy { "0123456789abcdef".contains($0) }
    }

    @Test func idsFromBothGeneratorsSortInTheOrderOfTheirTimes() {
        let generator = RequestIDGenerator()
        var ids: [String] = []
        for step in 0..<2_000 {
            // A millisecond apart (half a millisecond in, so that rounding cannot move one), alternating generators.
            let now = Date(timeIntervalSince1970: (Double(1_795_000_000_123 + step) + 0.5) / 1000)
            ids.append(step.isMultiple(of: 2) ? generator.make(now: now) : RequestID.make(now: now))
        }
        #expect(ids.allSatisfy(Self.isWellFormed))
        #expect(zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 })
        // The first 12 digits are the milliseconds.
        #expect(UInt64(ids[0].dropFirst(4).prefix(12), radix: 16) == 1_795_000_000_123)
    }

    @Test func oneGeneratorNeverRepeatsAnIdWithinAMillisecond() {
        let generator = RequestIDGenerator()
        let now = Date()
        var seen = Set<String>()
        for _ in 0..<100_000 { seen.insert(generator.make(now: now)) }
        #expect(seen.count == 100_000)
        // A second generator (another instance) at the same instant shares none of them.
        let other = RequestIDGenerator()
        #expect((0..<10_000).allSatisfy { _ in !seen.contains(other.make(now: now)) })
    }
}
