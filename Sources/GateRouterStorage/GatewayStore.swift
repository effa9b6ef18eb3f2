import Foundation

/// The gateway's durable state, behind one interface with two backends: SQLite (embedded default) and PostgreSQL
/// (several gateway instances sharing one state).
///
/// Nothing on the request path calls a store: ``AuthCache`` holds what requests need in memory, and ledger records
/// reach the store in batches from the usage recorder, behind the response.
public protocol GatewayStore: Sendable {
    /// Applies the versioned migrations this build knows; safe to call on every start.
    func migrate() async throws

    // MARK: Accounts
    func accounts() async throws -> [Account]
    func insertAccount(_ account: Account) async throws
    /// Writes an account's name, flags and settings. Never its balance: balances change only through
    /// ``addCredits(accountID:amount:)`` and ``appendLedger(_:priority:)``, which adjust them atomically in the database.
    func updateAccount(_ account: Account) async throws
    /// Adds (or, negative, removes) credit and returns the new balance; nil when the account does not exist.
    func addCredits(accountID: String, amount: Picodollars) async throws -> Picodollars?

    // MARK: Keys
    func apiKeys() async throws -> [APIKeyRecord]
    func insertAPIKey(_ key: APIKeyRecord) async throws
    /// Writes a key's name, limits, expiry and revocation.
    func updateAPIKey(_ key: APIKeyRecord) async throws

    // MARK: Ledger
    /// Stores records in one transaction: each record once (a record id already stored is skipped, so a batch
    /// retried after a failure is not billed twice), each new record's cost taken from its account's balance and
    /// added to its key's spend totals (``KeySpendIncrements``), and its key's last-used time moved forward. Returns
    /// how many records were new. `priority` says whether the write may step aside for request serving (a backend
    /// whose work runs elsewhere, such as PostgreSQL, may ignore it).
    @discardableResult
    func appendLedger(_ records: [LedgerRecord], priority: LedgerWritePriority) async throws -> Int
    func usage(_ query: UsageQuery) async throws -> [LedgerRecord]
    /// Totals of the records matching `query` (its limit and cursor ignored), grouped.
    func usageGroups(_ query: UsageQuery, by grouping: UsageGrouping) async throws -> [UsageGroup]
    /// The model, status and timings of the newest records matching `query` (at most its limit; its cursor ignored):
    /// what latency percentiles need, without reading whole records.
    func latencySamples(_ query: UsageQuery) async throws -> [LatencySample]
    /// Spend per key in the `period` that contains `date` (all time for `.total`), by the records' creation times:
    /// for budgets after a restart and spend by other processes. Reads the running totals, never the ledger itself.
    func spendByKey(in period: BudgetPeriod, containing date: Date) async throws -> [String: Picodollars]

    // MARK: Change feed (several processes on one database)
    /// A number that grows whenever accounts, keys or settings change in this database, from any process.
    func changeVersion() async throws -> Int64

    // MARK: Shared rate-limit windows
    /// Publishes this instance's use of each rate-limited key in the one-minute window starting at `window` (Unix
    /// seconds) and returns its grants: how much of each key's limit it may have used in the window until the next
    /// exchange (``RateGrants``). Exchanges are serialised in the database, so grants never add up past a limit.
    func exchangeRateCounts(instance: String, window: Int64, usage: [String: RateUsage]) async throws -> RateExchange
}

/// Requests and tokens a key used (or may use) in one rate-limit window.
public struct RateCount: Sendable, Equatable {
    public var requests: Int
    public var tokens: Int
    public init(requests: Int = 0, tokens: Int = 0) {
        self.requests = requests
        self.tokens = tokens
    }
    /// No limit.
    public static let unlimited = RateCount(requests: Int(Int32.max), tokens: Int(Int32.max))
}

/// One instance's use of a key, and the key's limits (``RateCount/unlimited`` where it has none).
public struct RateUsage: Sendable, Equatable {
    public var used: RateCount
    public var limit: RateCount
    public init(used: RateCount, limit: RateCount) {
        self.used = used
        self.limit = limit
    }
}

/// What an exchange gave this instance.
public struct RateExchange: Sendable, Equatable {
    /// Per key: the total this instance may have used in the window before its next exchange.
    public var grants: [String: RateCount]
    /// Instances seen in the last two seconds, this one included (at least 1).
    public var instances: Int
    public init(grants: [String: RateCount] = [:], instances: Int = 1) {
        self.grants = grants
        self.instances = instances
    }
}

/// A stored row of the shared rate-limit table: one instance's use of one key in a window, and its grant.
public struct RateRow: Sendable, Equatable {
    public var instance: String
    public var keyID: String
    public var used: RateCount
    public var granted: RateCount
    public init(instance: String, keyID: String, used: RateCount, granted: RateCount) {
        self.instance = instance
        self.keyID = keyID
        self.used = used
        self.granted = granted
    }
}

/// How a key's per-minute limit is shared by several gateway instances, computed inside the store's serialised
/// exchange so that the grants of all instances never add up to more than the limit.
///
/// An instance's grant is what it has used plus its fair share of what is left: `ceil((limit - used by all) /
/// instances)`, capped by what the other live instances have not already been granted. A grant another instance has
/// not used stays reserved for it until its next exchange (a tenth of a second), so a busy instance gets an idle
/// one's share back quickly; a stopped instance's grant is released when it stops being seen (two seconds).
public enum RateGrants {
    public static func compute(instance: String, usage: [String: RateUsage], rows: [RateRow], alive: Set<String>, instances: Int) -> [String: RateCount] {
        var grants: [String: RateCount] = [:]
        for (key, own) in usage {
            var othersUsed = RateCount(), othersCommitted = RateCount()
            for row in rows where row.keyID == key && row.instance != instance {
                othersUsed.requests += row.used.requests
                othersUsed.tokens += row.used.tokens
                let isAlive = alive.contains(row.instance)
                othersCommitted.requests += isAlive ? max(row.used.requests, row.granted.requests) : row.used.requests
                othersCommitted.tokens += isAlive ? max(row.used.tokens, row.granted.tokens) : row.used.tokens
            }
            func grant(_ used: Int, _ othersUsed: Int, _ othersCommitted: Int, _ limit: Int) -> Int {
                guard limit < RateCount.unlimited.requests else { return limit }
                let fair = max(0, limit - used - othersUsed + instances - 1) / max(1, instances)
                return used + max(0, min(limit - used - othersCommitted, fair))
            }
            grants[key] = RateCount(
                requests: grant(own.used.requests, othersUsed.requests, othersCommitted.requests, own.limit.requests),
                tokens: grant(own.used.tokens, othersUsed.tokens, othersCommitted.tokens, own.limit.tokens)
            )
        }
        return grants
    }
}

extension GatewayStore {
    /// Stores records at ``LedgerWritePriority/catchingUp``, for callers with no request serving to make way for
    /// (tests, tools).
    @discardableResult
    public func appendLedger(_ records: [LedgerRecord]) async throws -> Int {
        try await appendLedger(records, priority: .catchingUp)
    }
}
