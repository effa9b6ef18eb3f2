import Foundation
import GateRouterStorage

/// Creates API keys: store first, then cache, returning the secret exactly once.
public struct KeyIssuer: Sendable {
    let store: any GatewayStore
    let cache: AuthCache?

    public init(store: any GatewayStore, cache: AuthCache?) {
        self.store = store
        self.cache = cache
    }

    public struct Issued: Sendable {
        public var record: APIKeyRecord
        public var secret: String
    }

    /// Issues a key. An account's first key gets the `manage` scope unless told otherwise; later keys `inference`.
    public func issue(
        accountID: String, name: String, scope: KeyScope? = nil, limits: KeyLimits = KeyLimits(), expiresAt: Date? = nil
    ) async throws -> Issued {
        let secret = APIKeyHasher.generate()
        let isFirst = try await !store.apiKeys().contains { $0.accountID == accountID }
        let record = APIKeyRecord(
            id: APIKeyRecord.makeID(),
            accountID: accountID,
            name: name,
            displayPrefix: APIKeyHasher.displayPrefix(secret),
            hash: APIKeyHasher.hash(secret),
            scope: scope ?? (isFirst ? .manage : .inference),
            limits: limits,
            expiresAt: expiresAt
        )
        try await store.insertAPIKey(record)
        cache?.insert(key: record)
        return Issued(record: record, secret: secret)
    }
}
