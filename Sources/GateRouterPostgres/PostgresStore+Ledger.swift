import Foundation
import GateRouterStorage
import Logging
import PostgresNIO

extension PostgresStore {
    /// Stores the records not stored yet, charges their costs to prepaid accounts and moves their keys' last use
    /// forward, all in one transaction; returns how many were new. The priority does not apply here: the work runs in
    /// the database server, and this process only encodes the batch and waits.
    public func appendLedger(_ records: [LedgerRecord], priority: LedgerWritePriority) async throws -> Int {
        guard !records.isEmpty else { return 0 }
        let batch = try Self.ledgerJSON(records)
        return try await client.withTransaction(logger: logger) { connection in
            // The whole batch in one statement, read back through the ledger's own row type, so a batch costs one
            // round trip rather than one per record. Ids in order, so that two processes writing overlapping batches
            // take the unique-index locks in the same order and cannot deadlock. RETURNING lists only the new rows.
            let inserted = try await connection.rows(
                """
                INSERT INTO ledger SELECT * FROM jsonb_populate_recordset(NULL::ledger, \(batch)::jsonb) ORDER BY id
                ON CONFLICT (id) DO NOTHING
                RETURNING account_id, key_id, cost, created_ms
                """,
                logger: logger
            )
            var charges: [String: Picodollars] = [:]
            var spend = KeySpendIncrements()
            var lastUsed: [String: Int64] = [:]
            for row in inserted {
                let cost = Picodollars(try row.decode("cost"))
                let keyID: String = try row.decode("key_id")
                let created: Int64 = try row.decode("created_ms")
                charges[try row.decode("account_id"), default: .zero] += cost
                spend.add(keyID: keyID, created: Date(timeIntervalSince1970: Double(created) / 1000), cost: cost)
                lastUsed[keyID] = max(lastUsed[keyID] ?? .min, created)
            }
            // One atomic UPDATE per account, so concurrent batches from several gateways never lose a charge; in id order
            // so that two transactions never wait on each other's accounts in opposite orders.
            for (accountID, cost) in charges.sorted(by: { $0.key < $1.key }) where cost != .zero {
                try await connection.run(
                    "UPDATE accounts SET balance = balance - \(cost.value) WHERE id = \(accountID) AND prepaid", logger: logger
                )
            }
            // Keys' spend totals, one atomic upsert per key and period, in a fixed order for the same reason.
            for (period, amount) in spend.ordered {
                try await connection.run(
                    """
                    INSERT INTO key_spend (key_id, period, start_ms, spent) VALUES (\(period.keyID), \(period.period.rawValue), \(period.startMs), \(amount.value))
                    ON CONFLICT (key_id, period, start_ms) DO UPDATE SET spent = key_spend.spent + excluded.spent
                    """,
                    logger: logger
                )
            }
            for (keyID, milliseconds) in lastUsed.sorted(by: { $0.key < $1.key }) {
                let used = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
                try await connection.run(
                    "UPDATE api_keys SET last_used_at = \(used) WHERE id = \(keyID) AND (last_used_at IS NULL OR last_used_at < \(used))",
                    logger: logger
                )
            }
            return inserted.count
        }
    }

    /// Records matching `query`, newest first (ties by id, descending), after its cursor, at most `limit` (at least 1).
    public func usage(_ query: UsageQuery) async throws -> [LedgerRecord] {
        let rows = try await client.rows(
            "SELECT * FROM ledger \(filter: query, withCursor: true) ORDER BY created_ms DESC, id DESC LIMIT \(max(1, query.limit))",
            logger: logger
        )
        return try rows.map(Self.record)
    }

    /// Totals of the records matching `query`'s filters (not its cursor or limit), ordered by group value.
    public func usageGroups(_ query: UsageQuery, by grouping: UsageGrouping) async throws -> [UsageGroup] {
        // A fixed expression per grouping, never caller text. COLLATE "C" orders groups bytewise, as SQLite does.
        let column = switch grouping {
        case .hour: "to_char(to_timestamp(created_ms / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24')"
        case .day: "to_char(to_timestamp(created_ms / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
        case .model: "COALESCE(model, requested_model)"
        case .key: "key_id"
        }
        let rows = try await client.rows(
            """
            SELECT \(unescaped: column) COLLATE "C" AS grp, COUNT(*) AS requests,
                SUM(CASE WHEN status >= 400 OR error IS NOT NULL THEN 1 ELSE 0 END)::bigint AS errors,
                SUM(prompt_tokens)::bigint AS prompt, SUM(completion_tokens)::bigint AS completion,
                SUM(cached_tokens)::bigint AS cached, SUM(cost)::bigint AS cost
            FROM ledger \(filter: query, withCursor: false) GROUP BY grp ORDER BY grp
            """,
            logger: logger
        )
        return try rows.map { row in
            UsageGroup(
                group: try row.decode("grp", as: String?.self) ?? "", requests: try row.decode("requests"), errors: try row.decode("errors"),
                promptTokens: try row.decode("prompt"), completionTokens: try row.decode("completion"),
                cachedTokens: try row.decode("cached"), cost: Picodollars(try row.decode("cost"))
            )
        }
    }

    /// The model, status and timings of the newest records matching `query`, at most its limit.
    public func latencySamples(_ query: UsageQuery) async throws -> [LatencySample] {
        let rows = try await client.rows(
            """
            SELECT COALESCE(model, requested_model) AS model, status, latency_ms, ttft_ms FROM ledger \(filter: query, withCursor: false)
            ORDER BY created_ms DESC LIMIT \(max(1, query.limit))
            """,
            logger: logger
        )
        return try rows.map { row in
            LatencySample(
                model: try row.decode("model"), status: try row.decode("status"), latencyMs: try row.decode("latency_ms"),
                ttftMs: try row.decode("ttft_ms", as: Int?.self)
            )
        }
    }

    /// Spend per key in the `period` containing `date`, from the running totals.
    public func spendByKey(in period: BudgetPeriod, containing date: Date) async throws -> [String: Picodollars] {
        let start = KeySpendPeriod.startMs(of: period, containing: date)
        let rows = try await client.rows(
            "SELECT key_id, spent FROM key_spend WHERE period = \(period.rawValue) AND start_ms = \(start)", logger: logger
        )
        var spent: [String: Picodollars] = [:]
        for row in rows { spent[try row.decode("key_id"), default: .zero] += Picodollars(try row.decode("spent")) }
        return spent
    }

    // MARK: Rows

    /// The batch as a JSON array of objects keyed by ledger column name, for `jsonb_populate_recordset`.
    static func ledgerJSON(_ records: [LedgerRecord]) throws -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        let rows = records.map(LedgerRow.init)
        return String(decoding: try encoder.encode(rows), as: UTF8.self)
    }

    static func record(_ row: PostgresRandomAccessRow) throws -> LedgerRecord {
        let created: Int64 = try row.decode("created_ms")
        return LedgerRecord(
            id: try row.decode("id"), created: Date(timeIntervalSince1970: Double(created) / 1000), accountID: try row.decode("account_id"),
            keyID: try row.decode("key_id"), requestedModel: try row.decode("requested_model"), model: try row.decode("model"),
            provider: try row.decode("provider"), upstreamModel: try row.decode("upstream_model"),
            attempts: try LedgerRecord.Attempt.list(json: row.decode("attempts")), route: try row.decode("route"),
            tier: try row.decode("tier"), promptTokens: try row.decode("prompt_tokens"), completionTokens: try row.decode("completion_tokens"),
            cachedTokens: try row.decode("cached_tokens"), cacheWriteTokens: try row.decode("cache_write_tokens"),
            reasoningTokens: try row.decode("reasoning_tokens"), cost: Picodollars(try row.decode("cost")),
            priceDate: try row.decode("price_date"), latencyMs: try row.decode("latency_ms"), ttftMs: try row.decode("ttft_ms"),
            status: try row.decode("status"), error: try row.decode("error"), stream: try row.decode("stream"),
            estimated: try row.decode("estimated"), cancelled: try row.decode("cancelled")
        )
    }
}

/// A ledger record in the ledger table's shape: property names turn into its column names under `convertToSnakeCase`,
/// times are Unix milliseconds and attempts are JSON text, as `SQLiteStore` stores them.
private struct LedgerRow: Encodable {
    var id: String
    var createdMs: Int64
    var accountId: String
    var keyId: String
    var requestedModel: String
    var model: String?
    var provider: String?
    var upstreamModel: String?
    var attempts: String
    var route: String?
    var tier: String?
    var promptTokens: Int
    var completionTokens: Int
    var cachedTokens: Int
    var cacheWriteTokens: Int
    var reasoningTokens: Int
    var cost: Int64
    var priceDate: String?
    var latencyMs: Int
    var ttftMs: Int?
    var status: Int
    var error: String?
    var stream: Bool
    var estimated: Bool
    var cancelled: Bool

    init(_ record: LedgerRecord) {
        id = record.id
        createdMs = LedgerRecord.milliseconds(record.created)
        accountId = record.accountID
        keyId = record.keyID
        requestedModel = record.requestedModel
        model = record.model
        provider = record.provider
        upstreamModel = record.upstreamModel
        attempts = LedgerRecord.Attempt.json(record.attempts)
        route = record.route
        tier = record.tier
        promptTokens = record.promptTokens
        completionTokens = record.completionTokens
        cachedTokens = record.cachedTokens
        cacheWriteTokens = record.cacheWriteTokens
        reasoningTokens = record.reasoningTokens
        cost = record.cost.value
        priceDate = record.priceDate
        latencyMs = record.latencyMs
        ttftMs = record.ttftMs
        status = record.status
        error = record.error
        stream = record.stream
        estimated = record.estimated
        cancelled = record.cancelled
    }
}

extension PostgresQuery.StringInterpolation {
    /// Appends the WHERE clause of a usage query (nothing when it has no filter), its values as bindings. With the
    /// cursor, only records older than it: newest-first pages by (created_ms, id).
    mutating func appendInterpolation(filter query: UsageQuery, withCursor: Bool) {
        var clauses = 0
        func next() -> String {
            clauses += 1
            return clauses == 1 ? "WHERE " : " AND "
        }
        if let account = query.accountID {
            appendLiteral(next() + "account_id = ")
            appendInterpolation(account)
        }
        if let key = query.keyID {
            appendLiteral(next() + "key_id = ")
            appendInterpolation(key)
        }
        if let from = query.from {
            appendLiteral(next() + "created_ms >= ")
            appendInterpolation(LedgerRecord.milliseconds(from))
        }
        if let to = query.to {
            appendLiteral(next() + "created_ms < ")
            appendInterpolation(LedgerRecord.milliseconds(to))
        }
        if let model = query.model {
            appendLiteral(next() + "(model = ")
            appendInterpolation(model)
            appendLiteral(" OR requested_model = ")
            appendInterpolation(model)
            appendLiteral(")")
        }
        if let status = query.status {
            appendLiteral(next() + "status = ")
            appendInterpolation(status)
        }
        if withCursor, let cursor = query.cursor {
            let created = LedgerRecord.milliseconds(cursor.created)
            appendLiteral(next() + "(created_ms < ")
            appendInterpolation(created)
            appendLiteral(" OR (created_ms = ")
            appendInterpolation(created)
            appendLiteral(" AND id < ")
            appendInterpolation(cursor.id)
            appendLiteral("))")
        }
    }
}
