import GRDB
import GateRouterRouting
import GateRouterStorage
import Foundation

/// The embedded default store: one SQLite file in the data folder, in WAL mode through a GRDB pool.
///
/// GRDB runs every statement on its own dispatch queues, so awaiting `read`/`write` never blocks an event loop.
public struct SQLiteStore: GatewayStore {
    let pool: DatabasePool

    /// Opens (creating if needed) the database at `path`.
    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        self.pool = try DatabasePool(path: path, configuration: configuration)
    }

    public func migrate() async throws {
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
        try migrator.migrate(pool)
    }

    public func accounts() async throws -> [Account] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, auto_routing, spend_limit, strict_params, routing_policy, created_at FROM accounts ORDER BY created_at").map { row in
                Account(
                    id: row["id"],
                    name: row["name"],
                    autoRouting: row["auto_routing"],
                    spendLimit: (row["spend_limit"] as String?).flatMap { Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX")) },
                    strictParams: row["strict_params"],
                    routing: try JSONDecoder().decode(RoutingPolicy.self, from: Data((row["routing_policy"] as String).utf8)),
                    createdAt: row["created_at"]
                )
            }
        }
    }

    public func insertAccount(_ account: Account) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO accounts (id, name, auto_routing, spend_limit, strict_params, routing_policy, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [account.id, account.name, account.autoRouting, account.spendLimit.map { "\($0)" }, account.strictParams, try Self.json(account.routing), account.createdAt]
            )
        }
    }

    public func updateAccount(_ account: Account) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "UPDATE accounts SET name = ?, auto_routing = ?, spend_limit = ?, strict_params = ?, routing_policy = ? WHERE id = ?",
                arguments: [account.name, account.autoRouting, account.spendLimit.map { "\($0)" }, account.strictParams, try Self.json(account.routing), account.id]
            )
        }
    }

    public func apiKeys() async throws -> [APIKeyRecord] {
        try await pool.read { db in
            try Row.fetchAll(db, sql: "SELECT id, account_id, name, display_prefix, hash, created_at, revoked FROM api_keys ORDER BY created_at").map { row in
                APIKeyRecord(
                    id: row["id"],
                    accountID: row["account_id"],
                    name: row["name"],
                    displayPrefix: row["display_prefix"],
                    hash: row["hash"],
                    createdAt: row["created_at"],
                    revoked: row["revoked"]
                )
            }
        }
    }

    public func insertAPIKey(_ key: APIKeyRecord) async throws {
        try await pool.write { db in
            try db.execute(
                sql: "INSERT INTO api_keys (id, account_id, name, display_prefix, hash, created_at, revoked) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [key.id, key.accountID, key.name, key.displayPrefix, key.hash, key.createdAt, key.revoked]
            )
        }
    }

    static func json(_ policy: RoutingPolicy) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(policy), as: UTF8.self)
    }
}
