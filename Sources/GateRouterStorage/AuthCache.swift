import Synchronization

/// What the request path needs from the store, held in memory: keys by digest and accounts by id.
///
/// Reads take a short lock on a dictionary (no database round trip); writes come from the admin API after the store
/// has accepted them.
public final class AuthCache: Sendable {
    public struct Identity: Sendable, Equatable {
        public var key: APIKeyRecord
        public var account: Account
    }

    private struct State {
        var keysByHash: [String: APIKeyRecord] = [:]
        var accounts: [String: Account] = [:]
    }

    private let state = Mutex(State())

    public init(accounts: [Account] = [], keys: [APIKeyRecord] = []) {
        replaceAll(accounts: accounts, keys: keys)
    }

    public func replaceAll(accounts: [Account], keys: [APIKeyRecord]) {
        state.withLock { state in
            state.accounts = Dictionary(accounts.map { ($0.id, $0) }, uniquingKeysWith: { $1 })
            state.keysByHash = Dictionary(keys.filter { !$0.revoked }.map { ($0.hash, $0) }, uniquingKeysWith: { $1 })
        }
    }

    /// The key and account a presented secret belongs to, or nil.
    public func authenticate(_ presentedKey: String) -> Identity? {
        let digest = APIKeyHasher.hash(presentedKey)
        return state.withLock { state in
            guard let record = state.keysByHash[digest],
                  APIKeyHasher.constantTimeEquals(record.hash, digest),
                  let account = state.accounts[record.accountID]
            else { return nil }
            return Identity(key: record, account: account)
        }
    }

    public func account(_ id: String) -> Account? {
        state.withLock { $0.accounts[id] }
    }

    public func upsert(account: Account) {
        state.withLock { $0.accounts[account.id] = account }
    }

    public func insert(key: APIKeyRecord) {
        state.withLock { $0.keysByHash[key.hash] = key }
    }
}
