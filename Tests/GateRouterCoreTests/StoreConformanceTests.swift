import Foundation
@testable import GateRouterPostgres
import GateRouterRouting
@testable import GateRouterSQLite
import GateRouterStorage
import Logging
import PostgresNIO
import Testing

/// One behaviour, two backends: every test here runs against a fresh SQLite file and a fresh PostgreSQL database, so
/// the backends cannot drift apart. PostgreSQL comes from `GATEROUTER_TEST_POSTGRES_URL` (a role that may create
/// databases; `.ci/run` sets one up); without it the PostgreSQL cases are skipped locally and fail on CI.
@Suite struct StoreConformanceTests {
    @Test(arguments: StoreBackend.allCases)
    func migratingAgainIsANoOp(_ backend: StoreBackend) async throws {
        try await withStores(backend, count: 2) { stores in
            try await stores[0].insertAccount(Account(id: "a1", name: "A"))
            let version = try await stores[0].changeVersion()
            try await stores[0].migrate()
            try await stores[1].migrate()
            #expect(try await stores[0].changeVersion() == version)
            #expect(try await stores[1].accounts().map(\.id) == ["a1"])
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func twoProcessesMigratingAnEmptyDatabaseAtOnceBothSucceed(_ backend: StoreBackend) async throws {
        try await withStores(backend, count: 2, migrated: false) { stores in
            // Two gateways starting together on an empty database.
            let both = {
                async let first: Void = stores[0].migrate()
                async let second: Void = stores[1].migrate()
                _ = try await (first, second)
            }
            // Both must succeed: PostgreSQL serialises migrations with an advisory lock; SQLite retries a migration
            // that the other process applied first.
            try await both()
            try await stores[1].insertAccount(Account(id: "a1", name: "A"))
            #expect(try await stores[0].accounts().map(\.id) == ["a1"])
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func accountsAndKeysRoundTripWithEveryField(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let routing = RoutingPolicy(
                strategy: .price, allowedProviders: ["openai"], blockedProviders: ["gemini"], allowedModels: ["openai/gpt-4o-mini"],
                blockedModels: ["openai/o3"], maxOutputPrice: Decimal(string: "2.5"), fallback: false, hedgingPercent: 7
            )
            let full = Account(
                id: "acct_full", name: "Full", prepaid: true, balance: Picodollars(123_456_789_012_345), suspended: true, autoRouting: false,
                spendLimit: Decimal(string: "12.345"), strictParams: true, routing: routing, createdAt: Fixture.date(2_000)
            )
            let plain = Account(id: "acct_plain", name: "Plain", createdAt: Fixture.date(1_000))
            try await store.insertAccount(full)
            try await store.insertAccount(plain)
            let limits = KeyLimits(
                requestsPerMinute: 60, tokensPerMinute: 90_000, budget: Picodollars(usd: "4.5"), budgetPeriod: .month,
                allowedModels: ["openai/*", "auto"]
            )
            let key = APIKeyRecord(
                id: "key_full", accountID: "acct_full", name: "ci", displayPrefix: "gr-abcdef", hash: "hash-full", scope: .manage, limits: limits,
                createdAt: Fixture.date(3_000), expiresAt: Fixture.date(90_000.5), lastUsedAt: Fixture.date(4_000.25)
            )
            let bare = APIKeyRecord(id: "key_bare", accountID: "acct_plain", name: "", displayPrefix: "gr-000000", hash: "hash-bare", createdAt: Fixture.date(2_500))
            try await store.insertAPIKey(key)
            try await store.insertAPIKey(bare)

            // Ordered by creation time, whatever the insertion order.
            let accounts = try await store.accounts()
            #expect(accounts.map(\.id) == ["acct_plain", "acct_full"])
            #expect(Fixture.sameToTheMillisecond(accounts.last, full))
            #expect(Fixture.sameToTheMillisecond(accounts.first, plain))
            let keys = try await store.apiKeys()
            #expect(keys.map(\.id) == ["key_bare", "key_full"])
            #expect(Fixture.sameToTheMillisecond(keys.last, key))
            #expect(Fixture.sameToTheMillisecond(keys.first, bare))
            #expect(keys.first?.expiresAt == nil && keys.first?.lastUsedAt == nil)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func updatesWriteSettingsButNeverBalanceOrHash(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            var account = Account(id: "a1", name: "A", prepaid: true, balance: Picodollars(500))
            try await store.insertAccount(account)
            var key = APIKeyRecord(id: "k1", accountID: "a1", name: "old", displayPrefix: "gr-1", hash: "h1")
            try await store.insertAPIKey(key)

            account.name = "Renamed"
            account.suspended = true
            account.spendLimit = nil
            account.balance = Picodollars(999_999)  // ignored: balances move only through credits and the ledger
            try await store.updateAccount(account)
            key.name = "new"
            key.revoked = true
            key.scope = .manage
            key.limits = KeyLimits(requestsPerMinute: 5)
            key.expiresAt = Fixture.date(10_000)
            key.hash = "not-written"
            try await store.updateAPIKey(key)

            let stored = try #require(try await store.accounts().first)
            #expect(stored.name == "Renamed" && stored.suspended && stored.spendLimit == nil)
            #expect(stored.balance == Picodollars(500))
            let storedKey = try #require(try await store.apiKeys().first)
            #expect(storedKey.revoked && storedKey.name == "new" && storedKey.scope == .manage)
            #expect(storedKey.limits == KeyLimits(requestsPerMinute: 5))
            #expect(Fixture.sameToTheMillisecond(storedKey.expiresAt, Fixture.date(10_000)))
            #expect(storedKey.hash == "h1")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func aDuplicateHashOrIdIsRejectedWithoutSideEffects(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            try await store.insertAccount(Account(id: "a1", name: "A"))
            try await store.insertAPIKey(APIKeyRecord(id: "k1", accountID: "a1", name: "first", displayPrefix: "p", hash: "same"))
            let version = try await store.changeVersion()
            await #expect(throws: (any Error).self) {
                try await store.insertAPIKey(APIKeyRecord(id: "k2", accountID: "a1", name: "second", displayPrefix: "p", hash: "same"))
            }
            await #expect(throws: (any Error).self) {
                try await store.insertAccount(Account(id: "a1", name: "again"))
            }
            #expect(try await store.apiKeys().map(\.name) == ["first"])
            #expect(try await store.accounts().map(\.name) == ["A"])
            #expect(try await store.changeVersion() == version, "a failed write must not announce a change")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func addCreditsReturnsTheNewBalanceOrNilForAnUnknownAccount(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            try await store.insertAccount(Account(id: "a1", name: "A", prepaid: true, balance: Picodollars(1_000)))
            let version = try await store.changeVersion()
            #expect(try await store.addCredits(accountID: "a1", amount: Picodollars(2_500)) == Picodollars(3_500))
            #expect(try await store.addCredits(accountID: "a1", amount: Picodollars(-4_000)) == Picodollars(-500))
            #expect(try await store.changeVersion() == version + 2)
            #expect(try await store.addCredits(accountID: "nobody", amount: Picodollars(1)) == nil)
            #expect(try await store.changeVersion() == version + 2)
            #expect(try await store.accounts().first?.balance == Picodollars(-500))
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func changeVersionGrowsWithSettingsButNotWithTheLedger(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            var last = try await store.changeVersion()
            func expectGrew(_ what: Comment) async throws {
                let now = try await store.changeVersion()
                #expect(now > last, what)
                last = now
            }
            var account = Account(id: "a1", name: "A", prepaid: true, balance: Picodollars(100))
            try await store.insertAccount(account)
            try await expectGrew("insertAccount")
            account.name = "B"
            try await store.updateAccount(account)
            try await expectGrew("updateAccount")
            var key = APIKeyRecord(id: "k1", accountID: "a1", name: "n", displayPrefix: "p", hash: "h")
            try await store.insertAPIKey(key)
            try await expectGrew("insertAPIKey")
            key.revoked = true
            try await store.updateAPIKey(key)
            try await expectGrew("updateAPIKey")
            _ = try await store.addCredits(accountID: "a1", amount: Picodollars(5))
            try await expectGrew("addCredits")

            #expect(try await store.appendLedger([Fixture.record("r1", account: "a1", key: "k1", cost: 3)]) == 1)
            #expect(try await store.changeVersion() == last, "ledger appends happen on every request and must not reload settings")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func everyLedgerFieldReadsBackAsItWasWritten(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let full = LedgerRecord(
                id: "req_full", created: Fixture.date(1_234.567), accountID: "a", keyID: "k", requestedModel: "auto", model: "openai/gpt-4.1",
                provider: "openai", upstreamModel: "gpt-4.1-2025-04-14", attempts: [.init(model: "x/y", provider: "x", outcome: "503 \"busy\"")],
                route: "openai/gpt-4.1 score=1.20 cost=3.40u$ eta=0.56s; ünïcödé ✓", tier: "coding", promptTokens: 12, completionTokens: 34,
                cachedTokens: 5, cacheWriteTokens: 6, reasoningTokens: 7, cost: Picodollars(Int64.max - 1), priceDate: "2026-11-01",
                latencyMs: 89, ttftMs: 10, status: 502, error: "upstream_error", stream: true, estimated: true, cancelled: true
            )
            // Empty strings stay text, absent values stay absent.
            let sparse = LedgerRecord(
                id: "req_sparse", created: Fixture.date(1_000), accountID: "a", keyID: "", requestedModel: "", model: nil, provider: nil,
                upstreamModel: nil, route: "", tier: nil, cost: Picodollars(-3), priceDate: nil, ttftMs: nil, error: nil
            )
            #expect(try await store.appendLedger([full, sparse]) == 2)
            let stored = try await store.usage(UsageQuery(limit: 10))
            for expected in [full, sparse] {
                var read = try #require(stored.first { $0.id == expected.id })
                #expect(Fixture.sameToTheMillisecond(read.created, expected.created))
                read.created = expected.created
                #expect(read == expected)
            }
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func appendLedgerStoresEachRecordOnceAndChargesOnlyPrepaidAccounts(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            try await store.insertAccount(Account(id: "prepaid", name: "P", prepaid: true, balance: Picodollars(10_000)))
            try await store.insertAccount(Account(id: "unlimited", name: "U", balance: Picodollars(7)))
            try await store.insertAPIKey(APIKeyRecord(id: "kp", accountID: "prepaid", name: "", displayPrefix: "p", hash: "hp"))
            try await store.insertAPIKey(APIKeyRecord(id: "ku", accountID: "unlimited", name: "", displayPrefix: "u", hash: "hu"))
            let batch = [
                Fixture.record("r1", at: 100, account: "prepaid", key: "kp", cost: 1_000),
                Fixture.record("r2", at: 300, account: "prepaid", key: "kp", cost: 250),
                Fixture.record("r3", at: 200, account: "unlimited", key: "ku", cost: 4_000),
            ]
            #expect(try await store.appendLedger(batch) == 3)
            #expect(try await store.appendLedger(batch) == 0, "a retried batch is not stored twice")
            #expect(try await store.appendLedger([batch[0], Fixture.record("r4", at: 50, account: "prepaid", key: "kp", cost: 5), batch[0]]) == 1)

            #expect(try await store.usage(UsageQuery(limit: 100)).map(\.id) == ["r2", "r3", "r1", "r4"])
            let balances = Dictionary(uniqueKeysWithValues: try await store.accounts().map { ($0.id, $0.balance) })
            #expect(balances["prepaid"] == Picodollars(10_000 - 1_000 - 250 - 5))
            #expect(balances["unlimited"] == Picodollars(7))

            // last_used_at is the newest record's time and never moves back for an older one.
            var keys = Dictionary(uniqueKeysWithValues: try await store.apiKeys().map { ($0.id, $0) })
            #expect(Fixture.sameToTheMillisecond(keys["kp"]?.lastUsedAt, Fixture.date(300)))
            #expect(Fixture.sameToTheMillisecond(keys["ku"]?.lastUsedAt, Fixture.date(200)))
            try await store.appendLedger([Fixture.record("r5", at: 900, account: "prepaid", key: "kp")])
            keys = Dictionary(uniqueKeysWithValues: try await store.apiKeys().map { ($0.id, $0) })
            #expect(Fixture.sameToTheMillisecond(keys["kp"]?.lastUsedAt, Fixture.date(900)))
            #expect(Fixture.sameToTheMillisecond(keys["ku"]?.lastUsedAt, Fixture.date(200)))
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func concurrentAppendsFromTwoProcessesKeepTheBalanceExact(_ backend: StoreBackend) async throws {
        try await withStores(backend, count: 2) { stores in
            let start = Picodollars(1_000_000_000)
            try await stores[0].insertAccount(Account(id: "a1", name: "A", prepaid: true, balance: start))
            try await stores[0].insertAPIKey(APIKeyRecord(id: "k1", accountID: "a1", name: "", displayPrefix: "p", hash: "h1"))
            let batches: [[LedgerRecord]] = (0..<8).map { (task: Int) -> [LedgerRecord] in
                (0..<50).map { (index: Int) -> LedgerRecord in
                    let cost = Int64(task) * 1_000 + Int64(index) * 7 + 1
                    return Fixture.record("r\(task)-\(index)", at: Double(index), account: "a1", key: "k1", cost: cost)
                }
            }
            let total = batches.joined().reduce(Picodollars.zero) { $0 + $1.cost }
            let inserted = try await withThrowingTaskGroup(of: Int.self) { group in
                for (task, batch) in batches.enumerated() {
                    let store = stores[task % stores.count]
                    group.addTask { try await store.appendLedger(batch) }
                }
                return try await group.reduce(0, +)
            }
            #expect(inserted == 400)
            #expect(try await stores[1].usage(UsageQuery(limit: 1_000)).count == 400)
            #expect(try await stores[1].accounts().first?.balance == start - total)
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func usagePagesNewestFirstAndFilters(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let detailed = LedgerRecord(
                id: "req_detailed", created: Fixture.date(5_000.125), accountID: "a2", keyID: "k3", requestedModel: "auto", model: "openai/gpt-4o-mini",
                provider: "openai", upstreamModel: "gpt-4o-mini-2024-07-18",
                attempts: [.init(model: "anthropic/claude", provider: "anthropic", outcome: "timeout"), .init(model: "openai/gpt-4o-mini", provider: "openai", outcome: "ok")],
                route: "auto: cheapest capable", tier: "easy", promptTokens: 11, completionTokens: 22, cachedTokens: 3, cacheWriteTokens: 4,
                reasoningTokens: 5, cost: Picodollars(66_000), priceDate: "2025-01-01", latencyMs: 812, ttftMs: 120, status: 502,
                error: "upstream_error", stream: true, estimated: true, cancelled: true
            )
            // 30 records, several sharing a millisecond so that the id breaks ties.
            var records: [LedgerRecord] = (0..<30).map { (index: Int) -> LedgerRecord in
                let viaAuto = index % 4 == 0
                let account = index % 2 == 0 ? "a1" : "a2"
                let key = index % 3 == 0 ? "k1" : "k2"
                let status = index % 5 == 0 ? 429 : 200
                let id = index < 10 ? "req_0\(index)" : "req_\(index)"
                return Fixture.record(
                    id, at: Double(index / 3), account: account, key: key, model: viaAuto ? "openai/gpt-4o" : nil,
                    requestedModel: viaAuto ? "auto" : "openai/gpt-4o", status: status
                )
            }
            records.append(detailed)
            try await store.appendLedger(records.shuffled())

            let newestFirst = records.sorted { ($0.created, $0.id) > ($1.created, $1.id) }.map(\.id)
            var paged: [String] = []
            var query = UsageQuery(limit: 4)
            while true {
                let page = try await store.usage(query)
                #expect(page.count <= 4)
                guard let last = page.last else { break }
                paged += page.map(\.id)
                query.cursor = .init(created: last.created, id: last.id)
            }
            #expect(paged == newestFirst)

            let fetched = try #require(try await store.usage(UsageQuery(keyID: "k3")).first)
            #expect(Fixture.sameToTheMillisecond(fetched, detailed))

            func ids(_ query: UsageQuery) async throws -> Set<String> { Set(try await store.usage(query).map(\.id)) }
            func expected(_ include: (LedgerRecord) -> Bool) -> Set<String> { Set(records.filter(include).map(\.id)) }
            #expect(try await ids(UsageQuery(accountID: "a1")) == expected { $0.accountID == "a1" })
            #expect(try await ids(UsageQuery(keyID: "k1")) == expected { $0.keyID == "k1" })
            #expect(try await ids(UsageQuery(from: Fixture.date(3), to: Fixture.date(6))) == expected { $0.created >= Fixture.date(3) && $0.created < Fixture.date(6) })
            #expect(try await ids(UsageQuery(model: "openai/gpt-4o")) == expected { $0.model == "openai/gpt-4o" || $0.requestedModel == "openai/gpt-4o" })
            #expect(try await ids(UsageQuery(model: "auto")) == expected { $0.requestedModel == "auto" })
            #expect(try await ids(UsageQuery(status: 429)) == expected { $0.status == 429 })
            #expect(try await ids(UsageQuery(accountID: "a2", keyID: "k2", status: 200)) == expected { $0.accountID == "a2" && $0.keyID == "k2" && $0.status == 200 })
            #expect(try await store.usage(UsageQuery(limit: 0)).count == 1, "a limit below 1 still returns one record")
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func usageGroupsTotalByDayModelAndKey(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            let day = 86_400.0
            let records = [
                Fixture.record("r1", at: 1_700_000_000, account: "a1", key: "k1", model: "m/a", cost: 10, prompt: 1, completion: 2, cached: 1),
                Fixture.record("r2", at: 1_700_000_000 + day, account: "a1", key: "k2", model: "m/b", cost: 20, prompt: 3, completion: 4, status: 500),
                Fixture.record("r3", at: 1_700_000_000 + day + 5, account: "a1", key: "k1", model: nil, requestedModel: "m/c", cost: 30, prompt: 5, error: "cancelled"),
                Fixture.record("r4", at: 1_700_000_000 + 2, account: "a2", key: "k9", model: "m/a", cost: 1_000),
            ]
            try await store.appendLedger(records)
            let mine = UsageQuery(accountID: "a1", limit: 1, cursor: .init(created: Date(timeIntervalSince1970: 0), id: ""))
            #expect(try await store.usageGroups(mine, by: .day) == [
                UsageGroup(group: "2023-11-14", requests: 1, errors: 0, promptTokens: 1, completionTokens: 2, cachedTokens: 1, cost: Picodollars(10)),
                UsageGroup(group: "2023-11-15", requests: 2, errors: 2, promptTokens: 8, completionTokens: 4, cachedTokens: 0, cost: Picodollars(50)),
            ])
            #expect(try await store.usageGroups(mine, by: .model).map { [$0.group: $0.cost.value] } == [["m/a": 10], ["m/b": 20], ["m/c": 30]])
            #expect(try await store.usageGroups(UsageQuery(), by: .key).map { [$0.group: $0.requests] } == [["k1": 2], ["k2": 1], ["k9": 1]])
            #expect(try await store.usageGroups(UsageQuery(model: "m/a"), by: .model) == [
                UsageGroup(group: "m/a", requests: 2, promptTokens: 1, completionTokens: 2, cachedTokens: 1, cost: Picodollars(1_010)),
            ])
            #expect(try await store.usageGroups(UsageQuery(accountID: "nobody"), by: .day).isEmpty)
            #expect(try await store.usageGroups(mine, by: .hour).map { [$0.group: $0.requests] } == [["2023-11-14T22": 1], ["2023-11-15T22": 2]])
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func latencySamplesAreTheNewestMatchingRecordsTimings(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            var records = [
                Fixture.record("r1", at: 100, account: "a1", key: "k1", model: "m/a"),
                Fixture.record("r2", at: 200, account: "a1", key: "k1", model: nil, requestedModel: "m/b", status: 502),
                Fixture.record("r3", at: 300, account: "a1", key: "k2", model: "m/a"),
                Fixture.record("r4", at: 400, account: "a2", key: "k9", model: "m/a"),
            ]
            for index in records.indices {
                records[index].latencyMs = 10 * (index + 1)
                records[index].ttftMs = index == 1 ? nil : index + 1
            }
            try await store.appendLedger(records)
            #expect(try await store.latencySamples(UsageQuery(accountID: "a1", limit: 2)) == [
                LatencySample(model: "m/a", status: 200, latencyMs: 30, ttftMs: 3),
                LatencySample(model: "m/b", status: 502, latencyMs: 20, ttftMs: nil),
            ])
            #expect(try await store.latencySamples(UsageQuery(from: Fixture.date(400))).map(\.latencyMs) == [40])
            #expect(try await store.latencySamples(UsageQuery(keyID: "k1")).map(\.latencyMs) == [20, 10])
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func spendByKeyReadsEachKeysTotalDayAndMonthAsRecordsAreStored(_ backend: StoreBackend) async throws {
        try await withStores(backend, count: 2) { stores in
            try await stores[0].appendLedger(SpendFixture.records)
            try await SpendFixture.expectTotals(of: stores[1])
            // A retried batch adds nothing; a record stored by another instance adds to the same totals.
            try await stores[1].appendLedger(SpendFixture.records)
            try await stores[1].appendLedger([Fixture.record("r7", at: SpendFixture.february1 + 60, account: "a1", key: "k1", cost: 100)])
            #expect(try await stores[0].spendByKey(in: .total, containing: SpendFixture.date) == ["k1": Picodollars(123), "k2": Picodollars(13)])
            #expect(try await stores[0].spendByKey(in: .day, containing: Fixture.date(SpendFixture.february1)) == ["k1": Picodollars(118)])
            #expect(try await stores[0].spendByKey(in: .month, containing: Fixture.date(SpendFixture.february1)) == ["k1": Picodollars(118), "k2": Picodollars(13)])
            #expect(try await stores[0].spendByKey(in: .day, containing: Fixture.date(SpendFixture.february1 - 1)) == ["k1": Picodollars(5)])
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func upgradingADatabaseFillsSpendTotalsFromItsLedger(_ backend: StoreBackend) async throws {
        try await withStore(backend) { store in
            try await store.appendLedger(SpendFixture.records)
            // As a database from before the running totals: their table and its migration gone, the ledger kept.
            try await forgetKeySpendTotals(store)
            try await store.migrate()
            try await SpendFixture.expectTotals(of: store)
            try await store.appendLedger([Fixture.record("r7", at: SpendFixture.february2, account: "a1", key: "k2", cost: 1)])
            #expect(try await store.spendByKey(in: .total, containing: SpendFixture.date) == ["k1": Picodollars(23), "k2": Picodollars(14)])
        }
    }

    @Test(arguments: StoreBackend.allCases)
    func rateGrantsOfTwoInstancesNeverAddUpPastTheLimit(_ backend: StoreBackend) async throws {
        try await withStores(backend, count: 2) { stores in
            var window: Int64 = 1_700_000_040
            let limit = RateCount(requests: 10, tokens: RateCount.unlimited.tokens)
            func usage(_ requests: Int) -> [String: RateUsage] { ["k1": RateUsage(used: RateCount(requests: requests, tokens: 0), limit: limit)] }
            // The store counts an instance alive for two seconds after an exchange begins. The opening steps below
            // assume each sees the other; on a test machine stalled for longer than that they prove nothing, so the
            // test tries again, in a new window once both count as gone (the invariant further down holds regardless).
            var opening = false
            for round in 0..<5 where !opening {
                if round > 0 {
                    try await Task.sleep(for: .milliseconds(2100))
                    window += 60
                }
                let started = ContinuousClock.now
                let alone = try await stores[0].exchangeRateCounts(instance: "gw-a", window: window, usage: usage(3))
                let fromB = try await stores[1].exchangeRateCounts(instance: "gw-b", window: window, usage: usage(2))
                let fromA = try await stores[0].exchangeRateCounts(instance: "gw-a", window: window, usage: usage(4))
                let againB = try await stores[1].exchangeRateCounts(instance: "gw-b", window: window, usage: usage(2))
                guard ContinuousClock.now - started < .milliseconds(1500) else { continue }
                opening = true
                #expect(alone.instances == 1 && alone.grants["k1"]?.requests == 10, "alone, an instance may use the whole limit")
                #expect(fromB.instances == 2 && fromB.grants["k1"]?.requests == 2, "A holds the rest until its next exchange")
                #expect(fromA.grants["k1"]?.requests == 6, "A keeps its use plus half of what is left")
                #expect(againB.grants["k1"]?.requests == 4, "and B gets the other half")
            }
            #expect(opening, "five rounds of four exchanges each took longer than 1.5 s")

            // Whatever the order and use, the two latest grants never add up past the limit.
            var used = [4, 2], granted = [6, 4]
            var exchangedAt = [ContinuousClock.now, ContinuousClock.now]
            var generator = SystemRandomNumberGenerator()
            for _ in 0..<40 {
                let index = Int.random(in: 0...1, using: &generator)
                used[index] += Int.random(in: 0...max(0, granted[index] - used[index]), using: &generator)
                // As the gateway does (RateLimiter.apply): a grant's second of life counts from the exchange's start.
                let startedAt = ContinuousClock.now
                let exchange = try await stores[index].exchangeRateCounts(instance: index == 0 ? "gw-a" : "gw-b", window: window, usage: usage(used[index]))
                granted[index] = exchange.grants["k1"]?.requests ?? 0
                exchangedAt[index] = startedAt
                #expect(granted[index] >= used[index])
                // A gateway stops using a grant a second old, before the store releases the grant of an instance
                // silent for two: only grants that are both live must fit the limit. (A loaded test machine can pause
                // one side for longer.)
                if exchangedAt.allSatisfy({ ContinuousClock.now - $0 < .seconds(1) }) {
                    #expect(granted[0] + granted[1] <= 10, "grants \(granted)")
                }
            }
            #expect(used[0] + used[1] >= 8, "the limit is shared, not starved: \(used)")

            // Windows more than two minutes old are deleted: nothing of A's is left in `window` for B to see.
            _ = try await stores[1].exchangeRateCounts(instance: "gw-b", window: window + 180, usage: [:])
            let stale = try await stores[1].exchangeRateCounts(instance: "gw-b", window: window, usage: usage(0))
            #expect(stale.grants["k1"]?.requests == 5, "half of the whole limit, A's old grant gone")
        }
    }
}

/// The PostgreSQL URL form the gateway's configuration accepts (no server needed).
@Suite struct PostgresURLTests {
    @Test func readsEveryPartAndPercentDecodes() throws {
        let configuration = try PostgresStore.configuration(url: "postgresql://gate%40router:p%2Fss%3Aword@db.internal:6543/gr%20state?sslmode=disable")
        #expect(configuration.host == "db.internal" && configuration.port == 6543)
        #expect(configuration.username == "gate@router" && configuration.password == "p/ss:word")
        #expect(configuration.database == "gr state")
        let defaults = try PostgresStore.configuration(url: "postgres://gaterouter@127.0.0.1")
        #expect(defaults.port == 5432 && defaults.password == nil && defaults.database == nil)
        _ = try PostgresStore.configuration(url: "postgres://u:p@h/db?sslmode=require")
    }

    @Test(arguments: ["mysql://u:p@h/db", "postgres://h/db", "postgres://u:p@/db", "postgres://u:p@h/db?sslmode=sometimes", "postgres://u:p@h/db?timeout=5", "not a url"])
    func refusesWhatItCannotHonour(_ url: String) {
        #expect(throws: PostgresURLError.self) { try PostgresStore.configuration(url: url) }
    }

    @Test(.timeLimit(.minutes(1)))
    func aDatabaseThatCannotBeReachedFailsTheStartWithTheReason() async throws {
        // Nothing listens on port 1 of loopback. Before the check, migrate() waited for the pool's connection forever.
        let store = try PostgresStore(url: "postgres://gaterouter:hunter2@127.0.0.1:1/gaterouter", logger: quietLogger)
        let error = await #expect(throws: PostgresConnectError.self) { try await store.migrate() }
        #expect(error?.host == "127.0.0.1" && error?.port == 1 && error?.user == "gaterouter")
        let message = error.map { String(describing: $0) } ?? ""
        #expect(message.hasPrefix("cannot connect to PostgreSQL at 127.0.0.1:1 as gaterouter: ") && message.lowercased().contains("refused"), "\(message)")
        #expect(!message.contains("hunter2"))
    }

    @Test(.timeLimit(.minutes(1)))
    func aWrongPasswordOrAnUnknownDatabaseFailsTheStartWithTheServersOwnWords() async throws {
        guard let url = try postgresURL() else { return }
        var components = try #require(URLComponents(string: url))
        components.password = "not-the-password"
        let wrongPassword = try PostgresStore(url: try #require(components.string), logger: quietLogger)
        let refused = await #expect(throws: PostgresConnectError.self) { try await wrongPassword.migrate() }
        #expect(refused?.reason.contains("password authentication failed") == true, "\(String(describing: refused))")
        #expect(refused.map { !String(describing: $0).contains("not-the-password") } == true)

        components = try #require(URLComponents(string: url))
        components.path = "/gaterouter_no_such_database"
        let unknown = try PostgresStore(url: try #require(components.string), logger: quietLogger)
        let missing = await #expect(throws: PostgresConnectError.self) { try await unknown.migrate() }
        #expect(missing?.reason.contains("does not exist") == true, "\(String(describing: missing))")

        // The right URL passes the check (and the pool is not needed for it).
        try await PostgresStore(url: url, logger: quietLogger).checkConnection()
    }

    @Test func errorsNeverRepeatThePassword() {
        let error = #expect(throws: PostgresURLError.self) { try PostgresStore.configuration(url: "postgres://u:hunter2@h/db?sslmode=bogus") }
        #expect(error.map { !String(describing: $0).contains("hunter2") } == true)
    }
}

// MARK: - Backends

/// The store implementations the conformance suite runs against.
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres
    var testDescription: String { rawValue }
}

private let quietLogger = Logger(label: "store-conformance", factory: { _ in SwiftLogNoOpLogHandler() })

/// Runs `body` with one fresh, migrated store of `backend`, removed afterwards.
func withStore(_ backend: StoreBackend, _ body: (any GatewayStore) async throws -> Void) async throws {
    try await withStores(backend, count: 1) { try await body($0[0]) }
}

/// Runs `body` with `count` stores opened separately on one fresh database, as several gateway processes would.
func withStores(_ backend: StoreBackend, count: Int, migrated: Bool = true, _ body: ([any GatewayStore]) async throws -> Void) async throws {
    switch backend {
    case .sqlite:
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gr-conformance-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("db.sqlite").path
        let stores: [any GatewayStore] = try (0..<count).map { _ in try SQLiteStore(path: path) }
        if migrated { try await stores[0].migrate() }
        try await body(stores)
    case .postgres:
        guard let url = try postgresURL() else { return }
        try await withTemporaryDatabase(adminURL: url) { databaseURL in
            let stores = try (0..<count).map { _ in try PostgresStore(url: databaseURL, logger: quietLogger) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for store in stores { group.addTask { await store.run() } }
                do {
                    if migrated { try await stores[0].migrate() }
                    try await body(stores)
                } catch {
                    group.cancelAll()
                    throw error
                }
                group.cancelAll()  // closes the pools, so the database can be dropped
            }
        }
    }
}

/// The server to test against, or nil (the case cancelled as skipped) when none is configured outside CI.
private func postgresURL() throws -> String? {
    let environment = ProcessInfo.processInfo.environment
    if let url = environment["GATEROUTER_TEST_POSTGRES_URL"], !url.isEmpty { return url }
    if environment["CI"] == "true" {
        Issue.record("GATEROUTER_TEST_POSTGRES_URL is not set: on CI the store conformance tests must run against PostgreSQL (.ci/run starts one)")
        return nil
    }
    // A warning, so that the skip shows in the output (a cancelled case alone is easy to miss); it does not fail the run.
    let reason: Comment = "PostgreSQL case skipped: set GATEROUTER_TEST_POSTGRES_URL (e.g. postgres://gaterouter:gaterouter@127.0.0.1:5432/gaterouter) to run it"
    Issue.record(reason, severity: .warning)
    try Test.cancel(reason)
}

/// Creates a uniquely named database through the URL's connection, runs `body` with a URL for it, then drops it.
private func withTemporaryDatabase(adminURL: String, _ body: (String) async throws -> Void) async throws {
    let name = "gaterouter_test_" + UUID().uuidString.lowercased().filter { $0 != "-" }
    var components = try #require(URLComponents(string: adminURL))
    components.path = "/" + name
    let databaseURL = try #require(components.string)
    let admin = PostgresClient(configuration: try PostgresStore.configuration(url: adminURL), backgroundLogger: quietLogger)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { await admin.run() }
        defer { group.cancelAll() }
        // Identifiers cannot be bound; the name is generated above from hex digits only.
        try await admin.query("CREATE DATABASE \(unescaped: name)", logger: quietLogger)
        var failure: (any Error)?
        do { try await body(databaseURL) } catch { failure = error }
        try await admin.query("DROP DATABASE IF EXISTS \(unescaped: name) WITH (FORCE)", logger: quietLogger)
        if let failure { throw failure }
    }
}

/// Drops the running spend totals and forgets their migration, as in a database written by an older gateway.
private func forgetKeySpendTotals(_ store: any GatewayStore) async throws {
    switch store {
    case let sqlite as SQLiteStore:
        try await sqlite.pool.write { db in
            try db.execute(sql: "DROP TABLE key_spend")
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = 'v6-key-spend'")
        }
    case let postgres as PostgresStore:
        try await postgres.client.query("DROP TABLE key_spend", logger: quietLogger)
        try await postgres.client.query("DELETE FROM schema_migrations WHERE version = 'v6-key-spend'", logger: quietLogger)
    default:
        Issue.record("no way to forget the spend totals of \(type(of: store))")
    }
}

// MARK: - Fixtures

/// Records on both sides of a UTC day and month boundary, for the spend totals.
enum SpendFixture {
    /// 2026-02-01T00:00:00Z, the first second of a day and of a month.
    static let february1: Double = 1_769_904_000
    static let february2: Double = february1 + 86_400
    static let date = Fixture.date(february1)

    static let records = [
        Fixture.record("r1", at: february1 - 0.5, account: "a1", key: "k1", cost: 5),  // January 31st, the last half second
        Fixture.record("r2", at: february1, account: "a1", key: "k1", cost: 7),
        Fixture.record("r3", at: february1 + 43_200, account: "a1", key: "k1", cost: 11),
        Fixture.record("r4", at: february2, account: "a2", key: "k2", cost: 13),
        Fixture.record("r5", at: february2, account: "a2", key: "k3", cost: 0),
    ]

    static func expectTotals(of store: any GatewayStore) async throws {
        #expect(try await store.spendByKey(in: .total, containing: date) == ["k1": Picodollars(23), "k2": Picodollars(13)])
        #expect(try await store.spendByKey(in: .day, containing: Fixture.date(february1 + 3_600)) == ["k1": Picodollars(18)])
        #expect(try await store.spendByKey(in: .day, containing: Fixture.date(february1 - 3_600)) == ["k1": Picodollars(5)])
        #expect(try await store.spendByKey(in: .day, containing: Fixture.date(february2 + 86_399)) == ["k2": Picodollars(13)])
        #expect(try await store.spendByKey(in: .day, containing: Fixture.date(february2 + 86_400)).isEmpty)
        #expect(try await store.spendByKey(in: .month, containing: Fixture.date(february2)) == ["k1": Picodollars(18), "k2": Picodollars(13)])
        #expect(try await store.spendByKey(in: .month, containing: Fixture.date(february1 - 86_400 * 30)) == ["k1": Picodollars(5)])
        #expect(try await store.spendByKey(in: .month, containing: Fixture.date(february1 - 86_400 * 32)).isEmpty)
    }
}


enum Fixture {
    static func date(_ seconds: Double) -> Date { Date(timeIntervalSince1970: seconds) }

    static func record(
        _ id: String, at seconds: Double = 1_000, account: String, key: String, model: String? = "openai/gpt-4o-mini",
        requestedModel: String = "openai/gpt-4o-mini", cost: Int64 = 0, prompt: Int = 0, completion: Int = 0, cached: Int = 0,
        status: Int = 200, error: String? = nil
    ) -> LedgerRecord {
        LedgerRecord(
            id: id, created: date(seconds), accountID: account, keyID: key, requestedModel: requestedModel, model: model, promptTokens: prompt,
            completionTokens: completion, cachedTokens: cached, cost: Picodollars(cost), status: status, error: error
        )
    }

    /// Whether two instants are the same to the millisecond (SQLite keeps milliseconds, PostgreSQL microseconds).
    static func sameToTheMillisecond(_ lhs: Date?, _ rhs: Date?) -> Bool {
        switch (lhs, rhs) {
        case (nil, nil): true
        case let (lhs?, rhs?): abs(lhs.timeIntervalSince(rhs)) < 0.001
        default: false
        }
    }

    static func sameToTheMillisecond(_ stored: Account?, _ expected: Account) -> Bool {
        guard var stored, sameToTheMillisecond(stored.createdAt, expected.createdAt) else { return false }
        stored.createdAt = expected.createdAt
        return stored == expected
    }

    static func sameToTheMillisecond(_ stored: APIKeyRecord?, _ expected: APIKeyRecord) -> Bool {
        guard var stored, sameToTheMillisecond(stored.createdAt, expected.createdAt), sameToTheMillisecond(stored.expiresAt, expected.expiresAt),
              sameToTheMillisecond(stored.lastUsedAt, expected.lastUsedAt)
        else { return false }
        (stored.createdAt, stored.expiresAt, stored.lastUsedAt) = (expected.createdAt, expected.expiresAt, expected.lastUsedAt)
        return stored == expected
    }

    static func sameToTheMillisecond(_ stored: LedgerRecord?, _ expected: LedgerRecord) -> Bool {
        guard var stored, sameToTheMillisecond(stored.created, expected.created) else { return false }
        stored.created = expected.created
        return stored == expected
    }
}
