import Foundation
import Synchronization

/// What the request path needs from the store, held in memory: keys by digest and accounts by id.
///
/// Reads take a short lock on a dictionary (no database round trip). Writes come from the admin and account APIs
/// after the store has accepted them, and from the change watcher when another process (a second gateway instance,
/// the CLI) changed the database.
public final class AuthCache: Sendable {
    public struct Identity: Sendable, Equatable {
        public var key: APIKeyRecord
        public var account: Account
        public init(key: APIKeyRecord, account: Account) {
            self.key = key
            self.account = account
        }
    }

    private struct State {
        var keysByHash: [String: APIKeyRecord] = [:]
        var keysByID: [String: APIKeyRecord] = [:]
        var accounts: [String: Account] = [:]
        /// Counts writes made by this process (``upsert(account:)``, ``upsert(key:)``, ``setBalances(_:)``).
        var localWrites: UInt64 = 0
    }

    private let state = Mutex(State())

    public init(accounts: [Account] = [], keys: [APIKeyRecord] = []) {
        replaceAll(accounts: accounts, keys: keys)
    }

    /// Replaces everything with what the store holds now (start-up, or a change made by another process).
    public func replaceAll(accounts: [Account], keys: [APIKeyRecord]) {
        state.withLock { state in Self.replace(&state, accounts: accounts, keys: keys) }
    }

    /// A token to take before reading the store for ``replaceAll(accounts:keys:readAfter:)``.
    public var writeGeneration: UInt64 {
        state.withLock { $0.localWrites }
    }

    /// Replaces everything with a snapshot read from the store, unless this process wrote to the cache after
    /// `generation` was taken: the snapshot may then predate that write (an account created here a moment ago, a
    /// key revoked here) and would undo it until the next reload. Returns false when it was dropped; the caller
    /// reads again.
    @discardableResult
    public func replaceAll(accounts: [Account], keys: [APIKeyRecord], readAfter generation: UInt64) -> Bool {
        state.withLock { state in
            guard state.localWrites == generation else { return false }
            Self.replace(&state, accounts: accounts, keys: keys)
            return true
        }
    }

    private static func replace(_ state: inout State, accounts: [Account], keys: [APIKeyRecord]) {
        state.accounts = Dictionary(accounts.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        state.keysByID = Dictionary(keys.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
        state.keysByHash = Dictionary(keys.filter { !$0.revoked }.map { ($0.hash, $0) }, uniquingKeysWith: { $1 })
    }

    /// The key and account a presented secret belongs to, or nil (unknown or revoked). Expiry and suspension are
    /// the caller's to check, so it can say which applies.
    public func authenticate(_ presentedKey: String) -> Identity? {
        let digest = APIKeyHasher.hash(presentedKey)
        // The comparison runs after the lock: every request on every event loop takes it.
        let identity = state.withLock { state -> Identity? in
            guard let record = state.keysByHash[digest], let account = state.accounts[record.accountID] else { return nil }
            return Identity(key: record, account: account)
        }
        guard let identity, APIKeyHasher.constantTimeEquals(identity.key.hash, digest) else { return nil }
        return identity
    }

    public func account(_ id: String) -> Account? {
        state.withLock { $0.accounts[id] }
    }

    public func allAccounts() -> [Account] {
        state.withLock { Array($0.accounts.values) }.sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func key(_ id: String) -> APIKeyRecord? {
        state.withLock { $0.keysByID[id] }
    }

    /// The keys of one account (all accounts when nil), oldest first, revoked ones included.
    public func keys(accountID: String?) -> [APIKeyRecord] {
        state.withLock { state in state.keysByID.values.filter { accountID == nil || $0.accountID == accountID } }
            .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
    }

    public func upsert(account: Account) {
        state.withLock { state in
            state.accounts[account.id] = account
            state.localWrites += 1
        }
    }

    /// Adds or replaces a key; a revoked key stops authenticating at once.
    public func upsert(key: APIKeyRecord) {
        state.withLock { state in
            if let previous = state.keysByID[key.id], previous.hash != key.hash { state.keysByHash[previous.hash] = nil }
            state.keysByID[key.id] = key
            state.keysByHash[key.hash] = key.revoked ? nil : key
            state.localWrites += 1
        }
    }

    public func insert(key: APIKeyRecord) { upsert(key: key) }

    /// Sets cached balances to what the store reports (which already includes every flushed charge), after a
    /// write made here (credits added).
    public func setBalances(_ balances: [String: Picodollars]) {
        state.withLock { state in
            for (id, balance) in balances { state.accounts[id]?.balance = balance }
            state.localWrites += 1
        }
    }

    /// Sets balances read from the store, unless this process wrote to the cache after `generation` was taken (see
    /// ``replaceAll(accounts:keys:readAfter:)``). Returns false when they were dropped.
    @discardableResult
    public func setBalances(_ balances: [String: Picodollars], readAfter generation: UInt64) -> Bool {
        state.withLock { state in
            guard state.localWrites == generation else { return false }
            for (id, balance) in balances { state.accounts[id]?.balance = balance }
            return true
        }
    }
}
