import Foundation
import GRDB
import GateRouterRouting
import GateRouterStorage

/// The embedded default store: one SQLite file in the data folder, in WAL mode through a GRDB pool.
///
/// GRDB runs every statement on its own dispatch queues, so awaiting `read`/`write` never blocks an event loop.
/// Several processes may open the same file (a gateway and the CLI, or two gateways): writes are serialised by
/// SQLite's lock and the `change_log` version tells each process when to reload keys and accounts.
public struct SQLiteStore: GatewayStore {
    let pool: DatabasePool

    /// Opens (creating if needed) the database at `path`.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        self.pool = try DatabasePool(path: path, configuration: configuration)
    }

    public func migrate() async throws {
        // Two processes starting on a fresh file at once (a gateway and the CLI) can both see a migration as pending;
        // the loser fails with "already exists" after the winner committed. Trying again sees it applied.
        var attempt = 0
        while true {
            do {
                try SQLiteMigrations.migrator.migrate(pool)
                return
            } catch {
                attempt += 1
                guard attempt < 5 else { throw error }
                try await Task.sleep(for: .milliseconds(50 * attempt))
            }
        }
    }

    // MARK: Accounts

    public func accounts() async throws -> [Account] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM accounts ORDER BY created_at, id").map(Self.account)
        }
    }

    public func insertAccount(_ account: Account) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO accounts (id, name, prepaid, balance, suspended, auto_routing, spend_limit, strict_params, routing_policy, created_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    account.id, account.name, account.prepaid, account.balance.value, account.suspended, account.autoRouting,
                    account.spendLimit.map { "\($0)" }, account.strictParams, try StoreJSON.encode(account.routing), account.createdAt,
                ]
            )
            try Self.bumpVersion(db)
        }
    }

    public func updateAccount(_ account: Account) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE accounts SET name = ?, prepaid = ?, suspended = ?, auto_routing = ?, spend_limit = ?, strict_params = ?, routing_policy = ? WHERE id = ?",
                arguments: [
                    account.name, account.prepaid, account.suspended, account.autoRouting, account.spendLimit.map { "\($0)" }, account.strictParams,
                    try StoreJSON.encode(account.routing), account.id,
                ]
            )
            try Self.bumpVersion(db)
        }
    }

    public func addCredits(accountID: String, amount: Picodollars) async throws -> Picodollars? {
        try await pool.write { db in
            try db.execute(sql: "UPDATE accounts SET balance = balance + ? WHERE id = ?", arguments: [amount.value, accountID])
            guard db.changesCount == 1 else { return nil }
            try Self.bumpVersion(db)
            return try Int64.fetchOne(db, sql: "SELECT balance FROM accounts WHERE id = ?", arguments: [accountID]).map(Picodollars.init)
        }
    }

    // MARK: Keys

    public func apiKeys() async throws -> [APIKeyRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM api_keys ORDER BY created_at, id").map(Self.key)
        }
    }

    public func insertAPIKey(_ key: APIKeyRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: """
                    INSERT INTO api_keys (id, account_id, name, display_prefix, hash, scope, limits, created_at, expires_at, last_used_at, revoked)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    key.id, key.accountID, key.name, key.displayPrefix, key.hash, key.scope.rawValue, try StoreJSON.encode(key.limits), key.createdAt,
                    key.expiresAt, key.lastUsedAt, key.revoked,
                ]
            )
            try Self.bumpVersion(db)
        }
    }

    public func updateAPIKey(_ key: APIKeyRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE api_keys SET name = ?, scope = ?, limits = ?, expires_at = ?, revoked = ? WHERE id = ?",
                arguments: [key.name, key.scope.rawValue, try StoreJSON.encode(key.limits), key.expiresAt, key.revoked, key.id]
            )
            try Self.bumpVersion(db)
        }
    }

    // MARK: Ledger

    public func appendLedger(_ records: [LedgerRecord], priority: LedgerWritePriority) async throws -> Int {
        guard !records.isEmpty else { return 0 }
        return try await pool.write { db in
            // The insert loop steps aside: it is the long run of CPU work here (about 8 µs a record). The commit runs
            // inside SQLite, out of reach.
            var stepAside = priority == .background ? PeriodicYield(every: Self.backgroundYieldInterval) : nil
            var inserted = 0
            let insert = try SQLiteLedgerInsert(db)
            let charge = try db.cachedStatement(sql: "UPDATE accounts SET balance = balance - ? WHERE id = ? AND prepaid")
            let touch = try db.cachedStatement(sql: "UPDATE api_keys SET last_used_at = ? WHERE id = ? AND (last_used_at IS NULL OR last_used_at < ?)")
            let addSpend = try db.cachedStatement(
                sql: "INSERT INTO key_spend (key_id, period, start_ms, spent) VALUES (?, ?, ?, ?) ON CONFLICT (key_id, period, start_ms) DO UPDATE SET spent = spent + excluded.spent"
            )
            // An account is charged, a key's spend added and its last use written once per batch (the sums, the
            // newest), not per record.
            var charges: [String: Picodollars] = [:]
            var spend = KeySpendIncrements()
            var lastUsed: [String: Date] = [:]
            for record in records {
                stepAside?.yieldIfDue()
                guard try insert.insert(record) else { continue }
                inserted += 1
                if record.cost != .zero {
                    charges[record.accountID, default: .zero] += record.cost
                    spend.add(keyID: record.keyID, created: record.created, cost: record.cost)
                }
                if lastUsed[record.keyID].map({ $0 < record.created }) ?? true { lastUsed[record.keyID] = record.created }
            }
            for (accountID, cost) in charges where cost != .zero { try charge.execute(arguments: [cost.value, accountID]) }
            for (period, amount) in spend.ordered {
                try addSpend.execute(arguments: [period.keyID, period.period.rawValue, period.startMs, amount.value])
            }
            for (keyID, created) in lastUsed { try touch.execute(arguments: [created, keyID, created]) }
            return inserted
        }
    }

    /// The longest a background ledger write holds a core before stepping aside (see ``PeriodicYield``).
    static let backgroundYieldInterval = Duration.microseconds(50)

    public func usage(_ query: UsageQuery) async throws -> [LedgerRecord] {
        try await pool.read { db in
            let (filter, arguments) = Self.filter(query, withCursor: true)
            // Columns by position from a cursor: looking each one up by name in a copied row lower-cases the name on
            // every access, which was most of the time of a 5,000-record dashboard.
            let cursor = try Row.fetchCursor(
                db, sql: "SELECT \(Self.ledgerColumns) FROM ledger \(filter) ORDER BY created_ms DESC, id DESC LIMIT ?",
                arguments: StatementArguments(arguments + [max(1, query.limit)])
            )
            var records: [LedgerRecord] = []
            records.reserveCapacity(min(query.limit, 1000))
            while let row = try cursor.next() { records.append(try Self.record(row)) }
            return records
        }
    }

    public func usageGroups(_ query: UsageQuery, by grouping: UsageGrouping) async throws -> [UsageGroup] {
        let column = switch grouping {
        case .hour: "strftime('%Y-%m-%dT%H', created_ms / 1000, 'unixepoch')"
        case .day: "strftime('%Y-%m-%d', created_ms / 1000, 'unixepoch')"
        case .model: "COALESCE(model, requested_model)"
        case .key: "key_id"
        }
        return try await pool.read { db in
            let (filter, arguments) = Self.filter(query, withCursor: false)
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT \(column) AS grp, COUNT(*) AS requests, SUM(CASE WHEN status >= 400 OR error IS NOT NULL THEN 1 ELSE 0 END) AS errors,
                        SUM(prompt_tokens) AS prompt, SUM(completion_tokens) AS completion, SUM(cached_tokens) AS cached, SUM(cost) AS cost
                    FROM ledger \(filter) GROUP BY grp ORDER BY grp
                    """,
                arguments: StatementArguments(arguments)
            ).map { row in
                UsageGroup(
                    group: row["grp"] ?? "", requests: row["requests"], errors: row["errors"], promptTokens: row["prompt"],
                    completionTokens: row["completion"], cachedTokens: row["cached"], cost: Picodollars(row["cost"])
                )
            }
        }
    }

    public func latencySamples(_ query: UsageQuery) async throws -> [LatencySample] {
        try await pool.read { db in
            let (filter, arguments) = Self.filter(query, withCursor: false)
            let cursor = try Row.fetchCursor(
                db, sql: "SELECT COALESCE(model, requested_model), status, latency_ms, ttft_ms FROM ledger \(filter) ORDER BY created_ms DESC LIMIT ?",
                arguments: StatementArguments(arguments + [max(1, query.limit)])
            )
            var samples: [LatencySample] = []
            while let row = try cursor.next() { samples.append(LatencySample(model: row[0], status: row[1], latencyMs: row[2], ttftMs: row[3])) }
            return samples
        }
    }

    public func spendByKey(in period: BudgetPeriod, containing date: Date) async throws -> [String: Picodollars] {
        let start = KeySpendPeriod.startMs(of: period, containing: date)
        return try await pool.read { db in
            let rows = try Row.fetchAll(
                db, sql: "SELECT key_id, spent FROM key_spend WHERE period = ? AND start_ms = ?", arguments: [period.rawValue, start]
            )
            return Dictionary(rows.map { (($0[0] as String), Picodollars($0[1] as Int64)) }, uniquingKeysWith: +)
        }
    }

    // MARK: Change feed and shared rate-limit windows

    public func changeVersion() async throws -> Int64 {
        try await pool.read { db in try Int64.fetchOne(db, sql: "SELECT version FROM change_log WHERE id = 1") ?? 0 }
    }

    public func exchangeRateCounts(instance: String, window: Int64, usage: [String: RateUsage]) async throws -> RateExchange {
        let now = LedgerRecord.milliseconds(Date())
        // One write transaction: SQLite serialises it with every other instance's exchange.
        return try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO gateway_instances (instance, seen_ms) VALUES (?, ?) ON CONFLICT(instance) DO UPDATE SET seen_ms = excluded.seen_ms",
                arguments: [instance, now]
            )
            try db.execute(sql: "DELETE FROM rate_counts WHERE window < ?", arguments: [window - 120])
            let alive = Set(try String.fetchAll(db, sql: "SELECT instance FROM gateway_instances WHERE seen_ms >= ?", arguments: [now - 2_000]))
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM rate_counts WHERE window = ?", arguments: [window]).map { row in
                RateRow(
                    instance: row["instance"], keyID: row["key_id"], used: RateCount(requests: row["requests"], tokens: row["tokens"]),
                    granted: RateCount(requests: row["granted_requests"], tokens: row["granted_tokens"])
                )
            }
            let grants = RateGrants.compute(instance: instance, usage: usage, rows: rows, alive: alive, instances: max(1, alive.count))
            let upsert = try db.cachedStatement(sql: """
                INSERT INTO rate_counts (window, instance, key_id, requests, tokens, granted_requests, granted_tokens) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT(window, instance, key_id) DO UPDATE SET requests = excluded.requests, tokens = excluded.tokens,
                    granted_requests = excluded.granted_requests, granted_tokens = excluded.granted_tokens
                """)
            for (key, own) in usage {
                let grant = grants[key] ?? RateCount()
                try upsert.execute(arguments: [window, instance, key, own.used.requests, own.used.tokens, grant.requests, grant.tokens])
            }
            return RateExchange(grants: grants, instances: max(1, alive.count))
        }
    }

    // MARK: Rows

    static func bumpVersion(_ db: Database) throws {
        try db.execute(sql: "UPDATE change_log SET version = version + 1 WHERE id = 1")
    }

    static func account(_ row: Row) throws -> Account {
        Account(
            id: row["id"], name: row["name"], prepaid: row["prepaid"], balance: Picodollars(row["balance"]), suspended: row["suspended"],
            autoRouting: row["auto_routing"],
            spendLimit: (row["spend_limit"] as String?).flatMap { Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX")) },
            strictParams: row["strict_params"], routing: try StoreJSON.decode(RoutingPolicy.self, row["routing_policy"]), createdAt: row["created_at"]
        )
    }

    static func key(_ row: Row) throws -> APIKeyRecord {
        APIKeyRecord(
            id: row["id"], accountID: row["account_id"], name: row["name"], displayPrefix: row["display_prefix"], hash: row["hash"],
            scope: KeyScope(rawValue: row["scope"]) ?? .inference, limits: try StoreJSON.decode(KeyLimits.self, row["limits"]),
            createdAt: row["created_at"], expiresAt: row["expires_at"], lastUsedAt: row["last_used_at"], revoked: row["revoked"]
        )
    }

    /// The ledger's columns in the order ``record(_:)`` reads them.
    static let ledgerColumns = """
        id, created_ms, account_id, key_id, requested_model, model, provider, upstream_model, attempts, route, tier, prompt_tokens, \
        completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cost, price_date, latency_ms, ttft_ms, status, error, \
        stream, estimated, cancelled
        """

    static func record(_ row: Row) throws -> LedgerRecord {
        LedgerRecord(
            id: row[0], created: Date(timeIntervalSince1970: Double(row[1] as Int64) / 1000), accountID: row[2], keyID: row[3],
            requestedModel: row[4], model: row[5], provider: row[6], upstreamModel: row[7],
            attempts: try LedgerRecord.Attempt.list(json: row[8]), route: row[9], tier: row[10],
            promptTokens: row[11], completionTokens: row[12], cachedTokens: row[13], cacheWriteTokens: row[14], reasoningTokens: row[15],
            cost: Picodollars(row[16]), priceDate: row[17], latencyMs: row[18], ttftMs: row[19], status: row[20], error: row[21],
            stream: row[22], estimated: row[23], cancelled: row[24]
        )
    }

    /// The WHERE clause for a usage query. With the cursor, only records older than it (newest-first paging).
    static func filter(_ query: UsageQuery, withCursor: Bool) -> (String, [(any DatabaseValueConvertible)?]) {
        var clauses: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if let account = query.accountID { clauses.append("account_id = ?"); arguments.append(account) }
        if let key = query.keyID { clauses.append("key_id = ?"); arguments.append(key) }
        if let from = query.from { clauses.append("created_ms >= ?"); arguments.append(LedgerRecord.milliseconds(from)) }
        if let to = query.to { clauses.append("created_ms < ?"); arguments.append(LedgerRecord.milliseconds(to)) }
        if let model = query.model { clauses.append("(model = ? OR requested_model = ?)"); arguments += [model, model] }
        if let status = query.status { clauses.append("status = ?"); arguments.append(status) }
        if withCursor, let cursor = query.cursor {
            let created = LedgerRecord.milliseconds(cursor.created)
            clauses.append("(created_ms < ? OR (created_ms = ? AND id < ?))")
            arguments += [created, created, cursor.id]
        }
        return (clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND "), arguments)
    }
}
