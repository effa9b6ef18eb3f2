import GRDB

/// The SQLite schema, as versioned migrations applied in order at start (GRDB records which ran).
enum SQLiteMigrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-accounts-and-keys") { db in
            try db.create(table: "accounts") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("auto_routing", .boolean).notNull().defaults(to: true)
                t.column("spend_limit", .text)  // exact decimal as text; NULL = no limit
                t.column("created_at", .datetime).notNull()
            }
            try db.create(table: "api_keys") { t in
                t.primaryKey("id", .text)
                t.column("account_id", .text).notNull().references("accounts", onDelete: .cascade)
                t.column("name", .text).notNull()
                t.column("display_prefix", .text).notNull()
                t.column("hash", .text).notNull().unique()
                t.column("created_at", .datetime).notNull()
                t.column("revoked", .boolean).notNull().defaults(to: false)
            }
        }
        migrator.registerMigration("v2-strict-params") { db in
            try db.alter(table: "accounts") { t in
                t.add(column: "strict_params", .boolean).notNull().defaults(to: false)
            }
        }
        migrator.registerMigration("v3-routing-policy") { db in
            try db.alter(table: "accounts") { t in
                t.add(column: "routing_policy", .text).notNull().defaults(to: "{}")  // RoutingPolicy as JSON
            }
        }
        migrator.registerMigration("v4-metering") { db in
            try db.alter(table: "accounts") { t in
                t.add(column: "prepaid", .boolean).notNull().defaults(to: false)
                t.add(column: "balance", .integer).notNull().defaults(to: 0)  // picodollars
                t.add(column: "suspended", .boolean).notNull().defaults(to: false)
            }
            try db.alter(table: "api_keys") { t in
                t.add(column: "scope", .text).notNull().defaults(to: "inference")
                t.add(column: "limits", .text).notNull().defaults(to: "{}")  // KeyLimits as JSON
                t.add(column: "expires_at", .datetime)
                t.add(column: "last_used_at", .datetime)
            }
            // Keys issued before scopes existed were each account's own keys: let them manage it.
            try db.execute(sql: "UPDATE api_keys SET scope = 'manage'")
            try db.create(table: "ledger") { t in
                t.primaryKey("id", .text)
                t.column("created_ms", .integer).notNull()
                t.column("account_id", .text).notNull()
                t.column("key_id", .text).notNull()
                t.column("requested_model", .text).notNull()
                t.column("model", .text)
                t.column("provider", .text)
                t.column("upstream_model", .text)
                t.column("attempts", .text).notNull()
                t.column("route", .text)
                t.column("tier", .text)
                t.column("prompt_tokens", .integer).notNull()
                t.column("completion_tokens", .integer).notNull()
                t.column("cached_tokens", .integer).notNull()
                t.column("cache_write_tokens", .integer).notNull()
                t.column("reasoning_tokens", .integer).notNull()
                t.column("cost", .integer).notNull()  // picodollars
                t.column("price_date", .text)
                t.column("latency_ms", .integer).notNull()
                t.column("ttft_ms", .integer)
                t.column("status", .integer).notNull()
                t.column("error", .text)
                t.column("stream", .boolean).notNull()
                t.column("estimated", .boolean).notNull()
                t.column("cancelled", .boolean).notNull()
            }
            try db.create(index: "ledger_account_created", on: "ledger", columns: ["account_id", "created_ms"])
            try db.create(index: "ledger_key_created", on: "ledger", columns: ["key_id", "created_ms"])
            try db.create(index: "ledger_created", on: "ledger", columns: ["created_ms"])
            try db.create(table: "change_log") { t in
                t.primaryKey("id", .integer)
                t.column("version", .integer).notNull()
            }
            try db.execute(sql: "INSERT INTO change_log (id, version) VALUES (1, 1)")
            try db.create(table: "gateway_instances") { t in
                t.primaryKey("instance", .text)
                t.column("seen_ms", .integer).notNull()
            }
            try db.create(table: "rate_counts") { t in
                t.column("window", .integer).notNull()
                t.column("instance", .text).notNull()
                t.column("key_id", .text).notNull()
                t.column("requests", .integer).notNull()
                t.column("tokens", .integer).notNull()
                t.primaryKey(["window", "instance", "key_id"])
            }
        }
        migrator.registerMigration("v5-rate-grants") { db in
            try db.alter(table: "rate_counts") { t in
                t.add(column: "granted_requests", .integer).notNull().defaults(to: 0)
                t.add(column: "granted_tokens", .integer).notNull().defaults(to: 0)
            }
        }
        migrator.registerMigration("v6-key-spend") { db in
            // Running spend totals per key and budget period (see `KeySpendPeriod`), kept with the ledger so that
            // budgets never sum it; filled here from the records stored before.
            try db.create(table: "key_spend") { t in
                t.column("key_id", .text).notNull()
                t.column("period", .text).notNull()  // total, day, month
                t.column("start_ms", .integer).notNull()  // the period's start; 0 for total
                t.column("spent", .integer).notNull()  // picodollars
                t.primaryKey(["key_id", "period", "start_ms"])
            }
            try db.execute(
                sql: """
                    INSERT INTO key_spend (key_id, period, start_ms, spent)
                    SELECT key_id, 'total', 0, SUM(cost) FROM ledger WHERE cost != 0 GROUP BY key_id
                    UNION ALL
                    SELECT key_id, 'day', created_ms / 86400000 * 86400000 AS day_start, SUM(cost) FROM ledger WHERE cost != 0
                        GROUP BY key_id, day_start
                    UNION ALL
                    SELECT key_id, 'month', CAST(strftime('%s', created_ms / 1000, 'unixepoch', 'start of month') AS INTEGER) * 1000 AS month_start,
                        SUM(cost) FROM ledger WHERE cost != 0 GROUP BY key_id, month_start
                    """
            )
        }
        return migrator
    }
}
