import GRDB
import GRDBSQLite
import GateRouterStorage

/// The ledger's INSERT for one batch, bound through SQLite's C API.
///
/// Why not GRDB's statement arguments here: every record's 25 values went through an array of existentials and
/// their `DatabaseValue` conversions, and the ledger writer (with the log writer, a sixth of the gateway's CPU under
/// load) spent more in those allocations than in SQLite itself. The values are stored exactly as GRDB stores them
/// (text, 64-bit integers, booleans as 0 and 1, nil as NULL), so GRDB reads the rows back unchanged.
struct SQLiteLedgerInsert: ~Copyable {
    static let sql = """
        INSERT INTO ledger (id, created_ms, account_id, key_id, requested_model, model, provider, upstream_model, attempts, route, tier,
            prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, cost, price_date, latency_ms, ttft_ms,
            status, error, stream, estimated, cancelled)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT(id) DO NOTHING
        """

    private let connection: OpaquePointer
    private let statement: OpaquePointer

    /// Prepares the statement on `db`'s connection; it lives until this value does.
    init(_ db: Database) throws {
        guard let connection = db.sqliteConnection else { throw DatabaseError(resultCode: .SQLITE_MISUSE, message: "the database is closed") }
        var prepared: OpaquePointer?
        let code = sqlite3_prepare_v2(connection, Self.sql, -1, &prepared, nil)
        guard code == SQLITE_OK, let prepared else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: Self.sql)
        }
        self.connection = connection
        self.statement = prepared
    }

    deinit {
        sqlite3_finalize(statement)
    }

    /// Inserts one record: false when a record with its id is already there (a retried batch).
    func insert(_ record: LedgerRecord) throws -> Bool {
        // Reset after every step (below), so the statement is ready for new bindings here.
        bind(1, record.id)
        bind(2, LedgerRecord.milliseconds(record.created))
        bind(3, record.accountID)
        bind(4, record.keyID)
        bind(5, record.requestedModel)
        bind(6, record.model)
        bind(7, record.provider)
        bind(8, record.upstreamModel)
        bind(9, LedgerRecord.Attempt.json(record.attempts))
        bind(10, record.route)
        bind(11, record.tier)
        bind(12, Int64(record.promptTokens))
        bind(13, Int64(record.completionTokens))
        bind(14, Int64(record.cachedTokens))
        bind(15, Int64(record.cacheWriteTokens))
        bind(16, Int64(record.reasoningTokens))
        bind(17, record.cost.value)
        bind(18, record.priceDate)
        bind(19, Int64(record.latencyMs))
        bind(20, record.ttftMs.map(Int64.init))
        bind(21, Int64(record.status))
        bind(22, record.error)
        bind(23, record.stream ? 1 : 0)
        bind(24, record.estimated ? 1 : 0)
        bind(25, record.cancelled ? 1 : 0)
        let code = sqlite3_step(statement)
        // Let go of the bound text copies now rather than at the next record.
        defer { sqlite3_reset(statement) }
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)), sql: Self.sql)
        }
        return sqlite3_changes(connection) == 1
    }

    private func bind(_ index: Int32, _ value: Int64?) {
        if let value { sqlite3_bind_int64(statement, index, value) } else { sqlite3_bind_null(statement, index) }
    }

    private func bind(_ index: Int32, _ text: String?) {
        guard var text else {
            sqlite3_bind_null(statement, index)
            return
        }
        text.withUTF8 { bytes in
            guard let base = bytes.baseAddress, !bytes.isEmpty else {
                // An empty string is text, not NULL: bound from a static empty C string.
                sqlite3_bind_text(statement, index, "", 0, nil)
                return
            }
            // SQLITE_TRANSIENT: SQLite copies the bytes, which live only for this call.
            sqlite3_bind_text(statement, index, UnsafeRawPointer(base).assumingMemoryBound(to: CChar.self), Int32(bytes.count), Self.transient)
        }
    }

    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
