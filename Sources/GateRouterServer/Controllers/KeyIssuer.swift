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

    public func issue(accountID: String, name: String) async throws -> Issued {
        let secret = APIKeyHasher.generate()
        let record = APIKeyRecord(
            id: "key_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16),
            accountID: accountID,
            name: name,
            displayPrefix: APIKeyHasher.displayPrefix(secret),
            hash: APIKeyHasher.hash(secret)
        )
        try await store.insertAPIKey(record)
        cache?.insert(key: record)
        return Issued(record: record, secret: secret)
    }
}
