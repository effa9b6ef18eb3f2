import Foundation
import GateRouterPostgres
import GateRouterSQLite
import GateRouterStorage
import Logging

/// Opens the store and makes sure the default account exists; on the very first start, issues its first key.
public struct GatewayBootstrap: Sendable {
    public struct Result: Sendable {
        public var store: any GatewayStore
        public var authCache: AuthCache
        /// Key spend per budget period, loaded from the ledger at start.
        public var spend: SpendTracker
        /// The default account's first key, returned only on the start that created the account.
        public var firstStartKey: String?
    }

    /// Opens the store — PostgreSQL when `databaseURL` is given (`postgres://…`), else SQLite in `dataDirectory` —
    /// prepares it, runs `body`, and closes it. PostgreSQL's connection pool runs as a child task for as long as
    /// `body` does, so a gateway serving from it keeps it until its own graceful shutdown (ledger flush included)
    /// has finished.
    public static func withState<T: Sendable>(
        databaseURL: String?, dataDirectory: String, logger: Logger, _ body: (Result) async throws -> T
    ) async throws -> T {
        guard let databaseURL, !databaseURL.isEmpty else {
            return try await body(openSQLite(dataDirectory: dataDirectory, logger: logger))
        }
        let store = try PostgresStore(url: databaseURL, logger: logger)
        // The connection pool runs in its own task, stopped only after `body` has returned: cancelling the caller
        // first stops the gateway, whose ledger flush still needs the database, and only then the pool.
        let pool = Task { await store.run() }
        do {
            let value = try await body(prepare(store: store, logger: logger))
            pool.cancel()
            await pool.value
            return value
        } catch {
            pool.cancel()
            await pool.value
            throw error
        }
    }

    /// Opens (creating) `<dataDirectory>/gaterouter.sqlite`, migrates it and loads keys and accounts into memory.
    public static func openSQLite(dataDirectory: String, logger: Logger) async throws -> Result {
        try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
        let store = try SQLiteStore(path: (dataDirectory as NSString).appendingPathComponent("gaterouter.sqlite"))
        return try await prepare(store: store, logger: logger)
    }

    public static func prepare(store: any GatewayStore, logger: Logger) async throws -> Result {
        try await store.migrate()
        var firstStartKey: String?
        var accounts = try await store.accounts()
        if !accounts.contains(where: { $0.id == Account.defaultAccountID }) {
            let account = Account(id: Account.defaultAccountID, name: "Default account", prepaid: false, autoRouting: true, spendLimit: nil)
            try await store.insertAccount(account)
            accounts.append(account)
            firstStartKey = try await KeyIssuer(store: store, cache: nil).issue(accountID: account.id, name: "first key", scope: .manage).secret
            logger.info("created the default account and its first API key")
        }
        let cache = AuthCache(accounts: accounts, keys: try await store.apiKeys())
        let spend = SpendTracker()
        try await spend.reload(from: store, readAfter: 0, now: Date())
        return Result(store: store, authCache: cache, spend: spend, firstStartKey: firstStartKey)
    }
}
