import Foundation
import GateRouterCatalog
@testable import GateRouterSQLite
import GateRouterStorage
import GateRouterWire
import Testing

@Suite struct APIKeyTests {
    @Test func keysCarryAtLeast128RandomBitsAndAreStoredAsSHA256() {
        let keys = (0..<200).map { _ in APIKeyHasher.generate() }
        #expect(Set(keys).count == keys.count)
        for key in keys.prefix(5) {
            #expect(key.hasPrefix("gr-") && key.count == 3 + 43, "256 bits in base64url")
            let hash = APIKeyHasher.hash(key)
            #expect(hash.count == 64 && hash.allSatisfy(\.isHexDigit) && !hash.contains(key))
            #expect(APIKeyHasher.hash(key) == hash)
        }
        #expect(APIKeyHasher.hash("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func constantTimeComparison() {
        #expect(APIKeyHasher.constantTimeEquals("abcd", "abcd"))
        #expect(!APIKeyHasher.constantTimeEquals("abcd", "abce"))
        #expect(!APIKeyHasher.constantTimeEquals("abcd", "abc"))
        #expect(!APIKeyHasher.constantTimeEquals("xbcd", "abcd"))
        #expect(APIKeyHasher.constantTimeEquals("", ""))
        #expect(!APIKeyHasher.constantTimeEquals("é", "e\u{301}"))
    }

    @Test func cacheAuthenticatesOnlyLiveKeysOfKnownAccounts() {
        let account = Account(id: "acct", name: "A")
        let live = APIKeyHasher.generate()
        let revoked = APIKeyHasher.generate()
        let orphan = APIKeyHasher.generate()
        let cache = AuthCache(accounts: [account], keys: [
            APIKeyRecord(id: "1", accountID: "acct", name: "", displayPrefix: "", hash: APIKeyHasher.hash(live)),
            APIKeyRecord(id: "2", accountID: "acct", name: "", displayPrefix: "", hash: APIKeyHasher.hash(revoked), revoked: true),
            APIKeyRecord(id: "3", accountID: "gone", name: "", displayPrefix: "", hash: APIKeyHasher.hash(orphan)),
        ])
        #expect(cache.authenticate(live)?.account.id == "acct")
        #expect(cache.authenticate(revoked) == nil)
        #expect(cache.authenticate(orphan) == nil)
        #expect(cache.authenticate(live + "x") == nil)
    }

    /// A reload reads the store while the admin API writes here: a snapshot read before the write must not undo it.
    @Test func aSnapshotReadBeforeALocalWriteIsDroppedNotApplied() {
        let old = Account(id: "old", name: "Old", prepaid: true, balance: Picodollars(5))
        let cache = AuthCache(accounts: [old])
        let before = cache.writeGeneration
        let created = Account(id: "new", name: "New")
        let secret = APIKeyHasher.generate()
        cache.upsert(account: created)
        cache.insert(key: APIKeyRecord(id: "k", accountID: "new", name: "", displayPrefix: "", hash: APIKeyHasher.hash(secret)))
        #expect(!cache.replaceAll(accounts: [old], keys: [], readAfter: before), "stale: read before the writes")
        #expect(!cache.setBalances(["new": Picodollars(0)], readAfter: before))
        #expect(cache.account("new") != nil && cache.authenticate(secret)?.account.id == "new")

        let after = cache.writeGeneration
        #expect(cache.setBalances(["old": Picodollars(3)], readAfter: after))
        #expect(cache.account("old")?.balance == Picodollars(3))
        #expect(cache.replaceAll(accounts: [old], keys: [], readAfter: after), "nothing written here since: applied")
        #expect(cache.account("new") == nil && cache.authenticate(secret) == nil)
    }
}

@Suite struct RateLimiterTests {
    static let limits = KeyLimits(requestsPerMinute: 5)
    static let start = Date(timeIntervalSince1970: 1_700_000_040)

    @Test func aloneItCountsExactlyAndRefusesWithTheTimeToTheNextWindow() {
        let limiter = RateLimiter()
        let decisions = (0..<7).map { _ in limiter.admit(keyID: "k", limits: Self.limits, now: Self.start.addingTimeInterval(10)) }
        #expect(decisions.map(\.allowed) == [true, true, true, true, true, false, false])
        #expect(decisions[4].remainingRequests == 0 && decisions[5].exceeded == "requests" && decisions[5].resetSeconds == 50)
        #expect(limiter.admit(keyID: "k", limits: Self.limits, now: Self.start.addingTimeInterval(60)).allowed, "a new minute")
    }

    @Test func sharedItUsesOnlyItsGrantAndOnlyForASecondAfterTheExchangeBegan() {
        let limiter = RateLimiter()
        let window = RateLimiter.window(containing: Self.start)
        let requested = Self.start.addingTimeInterval(1)
        // The answer arrives 0.8 s after the exchange began; the grant lives until 1 s after the beginning.
        limiter.apply(RateExchange(grants: ["k": RateCount(requests: 3, tokens: RateCount.unlimited.tokens)], instances: 2),
                      window: window, requestedAt: requested, now: requested.addingTimeInterval(0.8))
        let soon = requested.addingTimeInterval(0.5)
        #expect(limiter.admit(keyID: "k", limits: Self.limits, now: soon).allowed)
        #expect(limiter.admit(keyID: "k", limits: Self.limits, now: soon).allowed)
        let later = requested.addingTimeInterval(1.1)
        #expect(!limiter.admit(keyID: "k", limits: Self.limits, now: later).allowed, "a stale grant shrinks to what was used")

        let fresh = RateLimiter()
        fresh.apply(RateExchange(grants: ["k": RateCount(requests: 3, tokens: RateCount.unlimited.tokens)], instances: 2),
                    window: window, requestedAt: requested, now: requested)
        #expect((0..<5).map { _ in fresh.admit(keyID: "k", limits: Self.limits, now: soon).allowed } == [true, true, true, false, false])
    }
}

@Suite struct SQLiteStoreTests {
    func withStore(_ body: (String) async throws -> Void) async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gr-sqlite-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try await body(directory.appendingPathComponent("db.sqlite").path)
    }

    @Test func persistsAccountsAndKeysAcrossReopening() async throws {
        try await withStore { path in
            let store = try SQLiteStore(path: path)
            try await store.migrate()
            try await store.migrate()  // idempotent
            var account = Account(id: "a1", name: "First", autoRouting: true, spendLimit: Decimal(string: "12.50"))
            try await store.insertAccount(account)
            try await store.insertAPIKey(APIKeyRecord(id: "k1", accountID: "a1", name: "n", displayPrefix: "gr-abc", hash: "h1"))
            account.autoRouting = false
            try await store.updateAccount(account)

            let reopened = try SQLiteStore(path: path)
            try await reopened.migrate()
            let accounts = try await reopened.accounts()
            #expect(accounts.count == 1)
            #expect(accounts.first?.autoRouting == false)
            #expect(accounts.first?.spendLimit == Decimal(string: "12.50"))
            #expect(try await reopened.apiKeys().map(\.hash) == ["h1"])
        }
    }

    @Test func aDuplicateKeyIsRejectedAndTheFirstIsKept() async throws {
        try await withStore { path in
            let store = try SQLiteStore(path: path)
            try await store.migrate()
            try await store.insertAccount(Account(id: "a1", name: "A"))
            try await store.insertAPIKey(APIKeyRecord(id: "k1", accountID: "a1", name: "first", displayPrefix: "p", hash: "same"))
            await #expect(throws: (any Error).self) {
                try await store.insertAPIKey(APIKeyRecord(id: "k2", accountID: "a1", name: "second", displayPrefix: "p", hash: "same"))
            }
            await #expect(throws: (any Error).self) {
                try await store.insertAPIKey(APIKeyRecord(id: "k3", accountID: "missing-account", name: "x", displayPrefix: "p", hash: "other"))
            }
            #expect(try await store.apiKeys().map(\.name) == ["first"])
        }
    }
}

/// A background ledger write steps aside for waiting threads while it inserts (see `PeriodicYield`).
@Suite struct LedgerWritePriorityTests {
    @Test func aBackgroundLedgerWriteStoresExactlyWhatACatchingUpOneStores() async throws {
        try await SQLiteStoreTests().withStore { path in
            let store = try SQLiteStore(path: path)
            try await store.migrate()
            // Long enough to step aside many times: about 8 µs a record in a release build, more in a debug one.
            let count = 2_000
            for (account, priority) in [("bg", LedgerWritePriority.background), ("cu", .catchingUp)] {
                try await store.insertAccount(Account(id: account, name: account, prepaid: true, balance: Picodollars(1_000_000)))
                try await store.insertAPIKey(APIKeyRecord(id: "k-\(account)", accountID: account, name: "", displayPrefix: "p", hash: "h-\(account)"))
                let records = (0..<count).map {
                    LedgerRecord(
                        id: "\(account)-\($0)", created: Date(timeIntervalSince1970: 1_000 + Double($0)), accountID: account, keyID: "k-\(account)",
                        requestedModel: "m", cost: Picodollars(3)
                    )
                }
                #expect(try await store.appendLedger(records.shuffled(), priority: priority) == count)
                #expect(try await store.appendLedger(records, priority: priority) == 0, "a retried batch is not stored twice")
            }
            let accounts = Dictionary(uniqueKeysWithValues: try await store.accounts().map { ($0.id, $0.balance) })
            #expect(accounts["bg"] == Picodollars(1_000_000 - 3 * Int64(count)))
            #expect(accounts["bg"] == accounts["cu"])
            let keys = Dictionary(uniqueKeysWithValues: try await store.apiKeys().map { ($0.id, $0.lastUsedAt) })
            #expect(keys["k-bg"]??.timeIntervalSince1970 == 1_000 + Double(count - 1))
            #expect(keys["k-bg"] == keys["k-cu"])
            let stored = try await store.usage(UsageQuery(limit: 3 * count))
            #expect(stored.filter { $0.accountID == "bg" }.count == count)
            #expect(stored.filter { $0.accountID == "cu" }.count == count)
        }
    }

    @Test func aLoopStepsAsideOncePerIntervalAndNeverSooner() {
        var never = PeriodicYield(every: .seconds(3_600))
        for _ in 0..<1_000 { never.yieldIfDue() }
        #expect(never.yields == 0)

        var always = PeriodicYield(every: .zero)
        for _ in 0..<100 { always.yieldIfDue() }
        #expect(always.yields == 100)

        // Every 2 ms over 25 ms: at most 12 times however fast the loop spins; at least once unless the thread was
        // kept off the CPU for the whole window.
        var paced = PeriodicYield(every: .milliseconds(2))
        let end = ContinuousClock.now + .milliseconds(25)
        while ContinuousClock.now < end { paced.yieldIfDue() }
        #expect((1...12).contains(paced.yields))
    }
}

@Suite struct LedgerAttemptsJSONTests {
    @Test func attemptsRoundTripAndOlderRowsWrittenByJSONEncoderStillRead() throws {
        let attempts = [
            LedgerRecord.Attempt(model: "anthropic/claude-sonnet-4.6", provider: "anthropic", outcome: "ok"),
            LedgerRecord.Attempt(model: "x/\"quoted\" \\ model ü", provider: "p", outcome: "rate_limit_exceeded"),
        ]
        let text = LedgerRecord.Attempt.json(attempts)
        #expect(try LedgerRecord.Attempt.list(json: text) == attempts)
        #expect(try LedgerRecord.Attempt.list(json: "[]").isEmpty)
        // Rows written before this format came from JSONEncoder (sorted keys, escaped slashes).
        let older = try StoreJSON.encode(attempts)
        #expect(try LedgerRecord.Attempt.list(json: older) == attempts)
        #expect(throws: AttemptsJSONError.self) { try LedgerRecord.Attempt.list(json: #"[{"model":"m"}]"#) }
        #expect(throws: (any Error).self) { try LedgerRecord.Attempt.list(json: "not json") }
    }

    /// The column's text is what the JSON serializer writes for the same list (the format rows have had so far).
    @Test func theTextIsTheSerializersText() {
        let lists: [[LedgerRecord.Attempt]] = [
            [],
            [.init(model: "openai/gpt-5", provider: "openai", outcome: "ok")],
            [
                .init(model: "x/\"quoted\" \\ model ü", provider: "p", outcome: " HTTP 503"),
                .init(model: "tab\tnew\nline\u{1}", provider: "", outcome: "ok"),
                .init(model: "deepseek/deepseek-v3.2", provider: "deepseek", outcome: "circuit open"),
            ],
        ]
        for attempts in lists {
            let value = JSONValue.array(attempts.map { .object(["model": .string($0.model), "outcome": .string($0.outcome), "provider": .string($0.provider)]) })
            #expect(LedgerRecord.Attempt.json(attempts) == String(decoding: value.serialized(), as: UTF8.self))
        }
    }
}

@Suite struct CostCalculatorTests {
    /// The Decimal arithmetic the integer path replaces, kept here as the reference.
    static func decimalCost(_ usage: Usage, _ pricing: Pricing) -> Picodollars {
        let cached = usage.cachedTokens ?? 0, write = usage.cacheWriteTokens ?? 0, reasoning = usage.reasoningTokens ?? 0
        var total = Decimal(usage.promptTokens - cached - write) * pricing.input + Decimal(cached) * pricing.cachedInput
        total += Decimal(write) * pricing.cacheWrite + Decimal(usage.completionTokens - reasoning) * pricing.output
        total += Decimal(reasoning) * (pricing.reasoning ?? pricing.output)
        return Picodollars(usd: total / 1_000_000)
    }

    @Test func everyCatalogPriceIsWholePicodollarsAndTheIntegerCostMatchesDecimal() throws {
        let catalog = try ModelCatalog.bundled()
        var usage = Usage(promptTokens: 12_345, completionTokens: 6_789)
        usage.cachedTokens = 2_000
        usage.cacheWriteTokens = 345
        usage.reasoningTokens = 1_000
        for model in catalog.models where model.pricing.isPriced {
            #expect(model.pricing.perToken != nil, "\(model.id)")
            #expect(CostCalculator.cost(of: usage, pricing: model.pricing) == Self.decimalCost(usage, model.pricing), "\(model.id)")
        }
    }

    @Test func aSubPicodollarPriceFallsBackToDecimalAndRoundsOnce() {
        // $0.0000001 per million tokens is a tenth of a picodollar per token: no exact integer rate.
        var pricing = Pricing(input: Decimal(string: "0.0000001")!, output: 2, cachedInput: 0, cacheWrite: 0, effectiveDate: "2026-01-01", source: "test")
        #expect(pricing.perToken == nil)
        let usage = Usage(promptTokens: 25, completionTokens: 10)
        #expect(CostCalculator.cost(of: usage, pricing: pricing) == Picodollars(20_000_003))  // 2.5 rounds to 3 (.plain)
        // Changing a price recomputes the integer rates.
        pricing.input = Decimal(string: "0.15")!
        #expect(pricing.perToken?.input == 150_000)
        #expect(CostCalculator.cost(of: usage, pricing: pricing) == Picodollars(25 * 150_000 + 10 * 2_000_000))
    }

    @Test(arguments: [
        (Int64(0), "0"), (1, "0.000000000001"), (500_000_000_000, "0.5"), (1_000_000_000_000, "1"), (20_000_003, "0.000020000003"),
        (-1_250_000_000_000, "-1.25"), (123_456_789_012_345, "123.456789012345"), (Int64.max, "9223372.036854775807"),
        (-Int64.max, "-9223372.036854775807"),
    ])
    func dollarsPrintExactlyWithoutTrailingZeros(picodollars: Int64, expected: String) {
        #expect(Picodollars(picodollars).usd == expected)
        // What it prints reads back as the same amount.
        #expect(Picodollars(usd: expected) == Picodollars(picodollars))
    }
}
