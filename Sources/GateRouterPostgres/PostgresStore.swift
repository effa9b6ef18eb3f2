import Foundation
import GateRouterRouting
import GateRouterStorage
import Logging
import PostgresNIO
import ServiceLifecycle

/// The shared store: one PostgreSQL database that several gateway instances (and the CLI) use at once.
///
/// Behaves exactly like `SQLiteStore`; where SQLite relies on its single writer, this store relies on row-level atomic
/// statements (`balance = balance - cost`, `ON CONFLICT DO NOTHING`) so that concurrent writers from several processes
/// keep balances exact and ledger records unique.
///
/// The store is a ServiceLifecycle `Service` around a `PostgresClient` connection pool, which works only while
/// ``run()`` is running: start it in a `ServiceGroup` (before the services that use it, so that it shuts down after
/// them) or a task group, then call the other methods.
///
/// ```swift
/// let store = try PostgresStore(url: "postgres://gaterouter:secret@127.0.0.1:5432/gaterouter", logger: logger)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { await store.run() }
///     try await store.migrate()
///     // … use the store, then cancel the group to close the connections.
/// }
/// ```
public struct PostgresStore: GatewayStore, Service {
    let client: PostgresClient
    let logger: Logger
    /// What ``migrate()`` connects with once before using the pool (see ``checkConnection()``); nil skips the check.
    let connectionCheck: PostgresConnection.Configuration?

    /// Creates a store for the database at `url` (see ``configuration(url:)`` for the accepted form). Connects lazily,
    /// once ``run()`` is running.
    public init(url: String, logger: Logger) throws {
        let parts = try URLParts(url)
        self.init(configuration: parts.clientConfiguration, connectionCheck: try parts.connectionConfiguration(), logger: logger)
    }

    /// Creates a store with a client configuration built by the caller (Unix sockets, custom TLS, pool sizes).
    public init(configuration: PostgresClient.Configuration, logger: Logger) {
        self.init(configuration: configuration, connectionCheck: nil, logger: logger)
    }

    private init(configuration: PostgresClient.Configuration, connectionCheck: PostgresConnection.Configuration?, logger: Logger) {
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
        self.connectionCheck = connectionCheck
    }

    /// Runs the connection pool until the task is cancelled or graceful shutdown is triggered. Call it once.
    public func run() async {
        await client.run()
    }

    /// Applies the versioned migrations this build knows; safe to call on every start, from several processes at once.
    /// Checks first that the database can be reached at all (``checkConnection()``).
    public func migrate() async throws {
        try await checkConnection()
        try await PostgresMigrations.migrate(client, logger: logger)
    }

    /// Opens one connection of its own and closes it, so that a wrong password, an unknown database or a server that
    /// is down fails the start with the server's (or the network's) reason: the pool retries such connections in the
    /// background and every query would wait for one, so `gaterouter serve` hung without a word.
    public func checkConnection() async throws {
        guard let configuration = connectionCheck else { return }
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(configuration: configuration, id: 0, logger: logger)
        } catch {
            throw PostgresConnectError(
                host: configuration.host ?? "?", port: configuration.port ?? 5432, user: configuration.username, reason: Self.reason(error)
            )
        }
        try? await connection.close()
    }

    private static func reason(_ error: any Error) -> String {
        guard let error = error as? PSQLError else { return String(describing: error) }
        if let message = error.serverInfo?[.message] { return message }
        if let underlying = error.underlying { return String(describing: underlying) }
        return String(describing: error.code)
    }

    // MARK: Accounts

    /// Every account, oldest first (ties by id).
    public func accounts() async throws -> [Account] {
        let query: PostgresQuery = """
            SELECT id, name, prepaid, balance, suspended, auto_routing, spend_limit, strict_params, routing_policy, created_at
            FROM accounts ORDER BY created_at, id
            """
        return try await client.rows(query, logger: logger).map(Self.account)
    }

    /// Inserts an account, balance included; fails if its id exists. Bumps the change version in the same transaction.
    public func insertAccount(_ account: Account) async throws {
        let routing = try StoreJSON.encode(account.routing)
        try await changingSettings { connection in
            try await connection.run(
                """
                INSERT INTO accounts (id, name, prepaid, balance, suspended, auto_routing, spend_limit, strict_params, routing_policy, created_at)
                VALUES (\(account.id), \(account.name), \(account.prepaid), \(account.balance.value), \(account.suspended),
                    \(account.autoRouting), \(account.spendLimit.map { "\($0)" }), \(account.strictParams), \(routing), \(account.createdAt))
                """,
                logger: logger
            )
        }
    }

    /// Writes an account's name, flags and settings, never its balance, and bumps the change version.
    public func updateAccount(_ account: Account) async throws {
        let routing = try StoreJSON.encode(account.routing)
        try await changingSettings { connection in
            try await connection.run(
                """
                UPDATE accounts SET name = \(account.name), prepaid = \(account.prepaid), suspended = \(account.suspended),
                    auto_routing = \(account.autoRouting), spend_limit = \(account.spendLimit.map { "\($0)" }),
                    strict_params = \(account.strictParams), routing_policy = \(routing)
                WHERE id = \(account.id)
                """,
                logger: logger
            )
        }
    }

    /// Adds `amount` in one atomic UPDATE (safe against concurrent charges from other gateways) and returns the new
    /// balance, or nil for an unknown account (the change version is then left alone).
    public func addCredits(accountID: String, amount: Picodollars) async throws -> Picodollars? {
        try await client.withTransaction(logger: logger) { connection in
            let rows = try await connection.rows(
                "UPDATE accounts SET balance = balance + \(amount.value) WHERE id = \(accountID) RETURNING balance", logger: logger
            )
            guard let row = rows.first else { return nil }
            let balance: Int64 = try row.decode("balance")
            try await Self.bumpVersion(connection, logger: logger)
            return Picodollars(balance)
        }
    }

    // MARK: Keys

    /// Every key, oldest first (ties by id).
    public func apiKeys() async throws -> [APIKeyRecord] {
        let query: PostgresQuery = """
            SELECT id, account_id, name, display_prefix, hash, scope, limits, created_at, expires_at, last_used_at, revoked
            FROM api_keys ORDER BY created_at, id
            """
        return try await client.rows(query, logger: logger).map(Self.key)
    }

    /// Inserts a key; fails if its id or hash exists. Bumps the change version in the same transaction.
    public func insertAPIKey(_ key: APIKeyRecord) async throws {
        let limits = try StoreJSON.encode(key.limits)
        try await changingSettings { connection in
            try await connection.run(
                """
                INSERT INTO api_keys (id, account_id, name, display_prefix, hash, scope, limits, created_at, expires_at, last_used_at, revoked)
                VALUES (\(key.id), \(key.accountID), \(key.name), \(key.displayPrefix), \(key.hash), \(key.scope.rawValue), \(limits),
                    \(key.createdAt), \(key.expiresAt), \(key.lastUsedAt), \(key.revoked))
                """,
                logger: logger
            )
        }
    }

    /// Writes a key's name, scope, limits, expiry and revocation (never its hash, owner or last use) and bumps the
    /// change version.
    public func updateAPIKey(_ key: APIKeyRecord) async throws {
        let limits = try StoreJSON.encode(key.limits)
        try await changingSettings { connection in
            try await connection.run(
                """
                UPDATE api_keys SET name = \(key.name), scope = \(key.scope.rawValue), limits = \(limits), expires_at = \(key.expiresAt),
                    revoked = \(key.revoked)
                WHERE id = \(key.id)
                """,
                logger: logger
            )
        }
    }

    // MARK: Change feed and shared rate-limit windows

    /// The change counter shared by every process on this database.
    public func changeVersion() async throws -> Int64 {
        let rows = try await client.rows("SELECT version FROM change_log WHERE id = 1", logger: logger)
        return try rows.first?.decode("version") ?? 0
    }

    /// Publishes this instance's use of each rate-limited key in `window` and computes its grants (``RateGrants``) in
    /// one transaction, under an advisory lock so exchanges of all instances are serialised; windows more than two
    /// minutes older are deleted, and instances count as alive when seen in the last two seconds.
    public func exchangeRateCounts(instance: String, window: Int64, usage: [String: RateUsage]) async throws -> RateExchange {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.run("SELECT pg_advisory_xact_lock(\(Self.rateLockKey))", logger: logger)
            // The database's clock rather than this process's: instances on several hosts then agree on who is recent.
            let rows = try await connection.rows(
                """
                INSERT INTO gateway_instances (instance, seen_ms) VALUES (\(instance), (extract(epoch FROM now()) * 1000)::bigint)
                ON CONFLICT (instance) DO UPDATE SET seen_ms = excluded.seen_ms
                RETURNING seen_ms
                """,
                logger: logger
            )
            let now: Int64 = try rows.first?.decode("seen_ms") ?? 0
            try await connection.run("DELETE FROM rate_counts WHERE window_start < \(window - 120)", logger: logger)
            var alive = Set<String>()
            for row in try await connection.rows("SELECT instance FROM gateway_instances WHERE seen_ms >= \(now - 2_000)", logger: logger) {
                alive.insert(try row.decode("instance"))
            }
            var stored: [RateRow] = []
            let windowRows = try await connection.rows(
                "SELECT instance, key_id, requests, tokens, granted_requests, granted_tokens FROM rate_counts WHERE window_start = \(window)",
                logger: logger
            )
            for row in windowRows {
                stored.append(RateRow(
                    instance: try row.decode("instance"), keyID: try row.decode("key_id"),
                    used: RateCount(requests: try row.decode("requests"), tokens: try row.decode("tokens")),
                    granted: RateCount(requests: try row.decode("granted_requests"), tokens: try row.decode("granted_tokens"))
                ))
            }
            let instances = max(1, alive.count)
            let grants = RateGrants.compute(instance: instance, usage: usage, rows: stored, alive: alive, instances: instances)
            let published = try Self.countsJSON(usage, grants: grants)
            try await connection.run(
                """
                INSERT INTO rate_counts (window_start, instance, key_id, requests, tokens, granted_requests, granted_tokens)
                SELECT \(window), \(instance), c.key_id, c.requests, c.tokens, c.granted_requests, c.granted_tokens
                FROM jsonb_to_recordset(\(published)::jsonb) AS c (key_id text, requests bigint, tokens bigint, granted_requests bigint, granted_tokens bigint)
                ON CONFLICT (window_start, instance, key_id) DO UPDATE SET requests = excluded.requests, tokens = excluded.tokens,
                    granted_requests = excluded.granted_requests, granted_tokens = excluded.granted_tokens
                """,
                logger: logger
            )
            return RateExchange(grants: grants, instances: instances)
        }
    }

    /// The advisory lock that serialises rate-limit exchanges (distinct from the migrations' lock).
    static let rateLockKey: Int64 = 0x4752_5261_7465_4C6D

    // MARK: Helpers

    /// Runs `body` in a transaction that also bumps the change version, so other processes reload keys and accounts.
    func changingSettings(_ body: (PostgresConnection) async throws -> Void) async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await body(connection)
            try await Self.bumpVersion(connection, logger: logger)
        }
    }

    static func bumpVersion(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.run("UPDATE change_log SET version = version + 1 WHERE id = 1", logger: logger)
    }

    /// One JSON array for all of this instance's counts and grants, so that publishing them is one statement however
    /// many keys.
    static func countsJSON(_ usage: [String: RateUsage], grants: [String: RateCount]) throws -> String {
        // Field names are the column names that `jsonb_to_recordset` reads.
        struct Published: Encodable {
            var keyID: String
            var requests: Int
            var tokens: Int
            var grantedRequests: Int
            var grantedTokens: Int
            enum CodingKeys: String, CodingKey {
                case keyID = "key_id", requests, tokens
                case grantedRequests = "granted_requests", grantedTokens = "granted_tokens"
            }
        }
        return try StoreJSON.encode(usage.map {
            let grant = grants[$0.key] ?? RateCount()
            return Published(keyID: $0.key, requests: $0.value.used.requests, tokens: $0.value.used.tokens, grantedRequests: grant.requests, grantedTokens: grant.tokens)
        })
    }

    static func account(_ row: PostgresRandomAccessRow) throws -> Account {
        let spendLimit: String? = try row.decode("spend_limit")
        return Account(
            id: try row.decode("id"), name: try row.decode("name"), prepaid: try row.decode("prepaid"),
            balance: Picodollars(try row.decode("balance")), suspended: try row.decode("suspended"), autoRouting: try row.decode("auto_routing"),
            spendLimit: spendLimit.flatMap { Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX")) },
            strictParams: try row.decode("strict_params"), routing: try StoreJSON.decode(RoutingPolicy.self, row.decode("routing_policy")),
            createdAt: try row.decode("created_at")
        )
    }

    static func key(_ row: PostgresRandomAccessRow) throws -> APIKeyRecord {
        APIKeyRecord(
            id: try row.decode("id"), accountID: try row.decode("account_id"), name: try row.decode("name"),
            displayPrefix: try row.decode("display_prefix"), hash: try row.decode("hash"),
            scope: KeyScope(rawValue: try row.decode("scope")) ?? .inference, limits: try StoreJSON.decode(KeyLimits.self, row.decode("limits")),
            createdAt: try row.decode("created_at"), expiresAt: try row.decode("expires_at"), lastUsedAt: try row.decode("last_used_at"),
            revoked: try row.decode("revoked")
        )
    }
}

// MARK: - Query plumbing

extension PostgresConnection {
    /// Runs a statement whose rows, if any, are not needed, reading them to the end so the connection is free after.
    func run(_ query: PostgresQuery, logger: Logger) async throws {
        _ = try await self.query(query, logger: logger).collect()
    }

    /// Runs a query and reads all its rows.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try await self.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }
}

extension PostgresClient {
    /// Runs a query on a pooled connection, outside any transaction, and reads all its rows.
    func rows(_ query: PostgresQuery, logger: Logger) async throws -> [PostgresRandomAccessRow] {
        try await self.query(query, logger: logger).collect().map { $0.makeRandomAccess() }
    }
}

extension PostgresRandomAccessRow {
    /// The value of `column`, by name, as `T` (an optional type for a nullable column).
    func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        try self[column].decode(T.self)
    }
}
