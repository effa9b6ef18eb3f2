import Foundation

/// JSON text for structured columns (routing policy, key limits, ledger attempts), with sorted keys so equal values
/// store equal text. Shared by the SQLite and PostgreSQL backends.
public enum StoreJSON {
    public static func encode<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    public static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}
