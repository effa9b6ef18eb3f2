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
    /// ``addCredits(accountID:amount:)`` and ``appendLedger(_:)``, which adjust them atomically in the database.
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
    /// retried after a failure is not billed twice), each new record's cost taken from its account's balance, and
    /// its key's last-used time moved forward. Returns how many records were new.
    @discardableResult
    func appendLedger(_ records: [LedgerRecord]) async throws -> Int
    func usage(_ query: UsageQuery) async throws -> [LedgerRecord]
    /// Totals of the records matching `query` (its limit and cursor ignored), grouped.
    func usageGroups(_ query: UsageQuery, by grouping: UsageGrouping) async throws -> [UsageGroup]
    /// Spend per key over records created at or after `since` (all time when nil), for budgets after a restart.
    func spendByKey(since: Date?) async throws -> [String: Picodollars]

    // MARK: Change feed (several processes on one database)
    /// A number that grows whenever accounts, keys or settings change in this database, from any process.
    func changeVersion() async throws -> Int64

    // MARK: Shared rate-limit windows
    /// Publishes this instance's counts for the one-minute window starting at `window` (Unix seconds) and returns
    /// the other instances' counts for the same window, by key id, and how many instances published in it.
    func exchangeRateCounts(instance: String, window: Int64, counts: [String: RateCount]) async throws -> RateExchange
}

/// What the other gateway instances used in one rate-limit window.
public struct RateExchange: Sendable, Equatable {
    /// Summed over the other instances, by key id.
    public var others: [String: RateCount]
    /// Instances that published counts for the window, this one included (at least 1).
    public var instances: Int
    public init(others: [String: RateCount] = [:], instances: Int = 1) {
        self.others = others
        self.instances = instances
    }
}

/// Requests and tokens a key used in one rate-limit window.
public struct RateCount: Sendable, Equatable {
    public var requests: Int
    public var tokens: Int
    public init(requests: Int = 0, tokens: Int = 0) {
        self.requests = requests
        self.tokens = tokens
    }
}
