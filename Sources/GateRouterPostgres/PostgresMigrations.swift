import Logging
import PostgresNIO

/// The PostgreSQL schema, as versioned migrations recorded in `schema_migrations` and applied in order at start.
///
/// The tables and columns are SQLite's (`SQLiteMigrations`), with PostgreSQL types: money as BIGINT picodollars, ledger
/// times as BIGINT Unix milliseconds (as in SQLite, so paging cursors compare the same), account and key times as
/// timestamptz, structured settings as JSON text written by `StoreJSON`. Two differences: `rate_counts.window` is
/// `window_start` (WINDOW is reserved in PostgreSQL), and ids compare with the "C" collation so that ordering and
/// cursors are bytewise, as SQLite's are, whatever the database's locale.
enum PostgresMigrations {
    struct Migration: Sendable {
        /// Recorded in `schema_migrations` once applied; never renamed.
        var version: String
        /// One statement each: the extended query protocol takes a single statement per query.
        var statements: [PostgresQuery]
    }

    /// Held for the migration transaction, so that two gateways starting together on one database do not both try
    /// to create the same tables. The value is arbitrary but fixed: "GateRout" in ASCII.
    static let advisoryLockKey: Int64 = 0x4761_7465_526F_7574

    /// Every migration, oldest first. Append new versions; never edit one that has shipped.
    static let all: [Migration] = [
        Migration(version: "v1-gateway-state", statements: [
            """
            CREATE TABLE accounts (
                id text COLLATE "C" PRIMARY KEY,
                name text NOT NULL,
                prepaid boolean NOT NULL DEFAULT false,
                balance bigint NOT NULL DEFAULT 0,
                suspended boolean NOT NULL DEFAULT false,
                auto_routing boolean NOT NULL DEFAULT true,
                spend_limit text,
                strict_params boolean NOT NULL DEFAULT false,
                routing_policy text NOT NULL DEFAULT '{}',
                created_at timestamptz NOT NULL
            )
            """,
            """
            CREATE TABLE api_keys (
                id text COLLATE "C" PRIMARY KEY,
                account_id text COLLATE "C" NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
                name text NOT NULL,
                display_prefix text NOT NULL,
                hash text NOT NULL UNIQUE,
                scope text NOT NULL DEFAULT 'inference',
                limits text NOT NULL DEFAULT '{}',
                created_at timestamptz NOT NULL,
                expires_at timestamptz,
                last_used_at timestamptz,
                revoked boolean NOT NULL DEFAULT false
            )
            """,
            """
            CREATE TABLE ledger (
                id text COLLATE "C" PRIMARY KEY,
                created_ms bigint NOT NULL,
                account_id text COLLATE "C" NOT NULL,
                key_id text COLLATE "C" NOT NULL,
                requested_model text COLLATE "C" NOT NULL,
                model text COLLATE "C",
                provider text,
                upstream_model text,
                attempts text NOT NULL,
                route text,
                tier text,
                prompt_tokens bigint NOT NULL,
                completion_tokens bigint NOT NULL,
                cached_tokens bigint NOT NULL,
                cache_write_tokens bigint NOT NULL,
                reasoning_tokens bigint NOT NULL,
                cost bigint NOT NULL,
                price_date text,
                latency_ms bigint NOT NULL,
                ttft_ms bigint,
                status bigint NOT NULL,
                error text,
                stream boolean NOT NULL,
                estimated boolean NOT NULL,
                cancelled boolean NOT NULL
            )
            """,
            "CREATE INDEX ledger_account_created ON ledger (account_id, created_ms)",
            "CREATE INDEX ledger_key_created ON ledger (key_id, created_ms)",
            // With the id, so that newest-first pages (ORDER BY created_ms DESC, id DESC) read the index in order.
            "CREATE INDEX ledger_created ON ledger (created_ms, id)",
            "CREATE TABLE change_log (id integer PRIMARY KEY, version bigint NOT NULL)",
            "INSERT INTO change_log (id, version) VALUES (1, 1)",
            "CREATE TABLE gateway_instances (instance text PRIMARY KEY, seen_ms bigint NOT NULL)",
            """
            CREATE TABLE rate_counts (
                window_start bigint NOT NULL,
                instance text NOT NULL,
                key_id text NOT NULL,
                requests bigint NOT NULL,
                tokens bigint NOT NULL,
                PRIMARY KEY (window_start, instance, key_id)
            )
            """,
        ]),
        Migration(version: "v5-rate-grants", statements: [
            "ALTER TABLE rate_counts ADD COLUMN granted_requests bigint NOT NULL DEFAULT 0",
            "ALTER TABLE rate_counts ADD COLUMN granted_tokens bigint NOT NULL DEFAULT 0",
        ]),
        // Running spend totals per key and budget period (`KeySpendPeriod`), filled from the records stored before.
        Migration(version: "v6-key-spend", statements: [
            """
            CREATE TABLE key_spend (
                key_id text COLLATE "C" NOT NULL,
                period text NOT NULL,
                start_ms bigint NOT NULL,
                spent bigint NOT NULL,
                PRIMARY KEY (key_id, period, start_ms)
            )
            """,
            """
            INSERT INTO key_spend (key_id, period, start_ms, spent)
            SELECT key_id, 'total', 0, SUM(cost)::bigint FROM ledger WHERE cost <> 0 GROUP BY key_id
            UNION ALL
            SELECT key_id, 'day', created_ms / 86400000 * 86400000, SUM(cost)::bigint FROM ledger WHERE cost <> 0
                GROUP BY key_id, created_ms / 86400000
            UNION ALL
            SELECT key_id, 'month', month_start, SUM(cost)::bigint FROM (
                SELECT key_id, cost,
                    (EXTRACT(EPOCH FROM date_trunc('month', to_timestamp(created_ms / 1000) AT TIME ZONE 'UTC')))::bigint * 1000 AS month_start
                FROM ledger WHERE cost <> 0
            ) AS dated GROUP BY key_id, month_start
            """,
        ]),
    ]

    /// Applies the migrations `schema_migrations` does not list, in one transaction under the advisory lock: a second
    /// process waits for the first to commit, then finds every version recorded and does nothing.
    static func migrate(_ client: PostgresClient, logger: Logger) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.run("SELECT pg_advisory_xact_lock(\(advisoryLockKey))", logger: logger)
            try await connection.run("CREATE TABLE IF NOT EXISTS schema_migrations (version text PRIMARY KEY)", logger: logger)
            var applied: Set<String> = []
            for row in try await connection.rows("SELECT version FROM schema_migrations", logger: logger) {
                applied.insert(try row.decode("version"))
            }
            for migration in all where !applied.contains(migration.version) {
                logger.info("Applying PostgreSQL migration", metadata: ["version": "\(migration.version)"])
                for statement in migration.statements {
                    try await connection.run(statement, logger: logger)
                }
                try await connection.run("INSERT INTO schema_migrations (version) VALUES (\(migration.version))", logger: logger)
            }
        }
    }
}
