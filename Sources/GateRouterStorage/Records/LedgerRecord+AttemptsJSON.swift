import GateRouterWire

/// The attempts column's JSON text (`[{"model":…,"outcome":…,"provider":…}]`), written and read with the gateway's own
/// JSON parser: Foundation's `JSONDecoder` took about 40% of the time of reading 5,000 records for the dashboard.
extension LedgerRecord.Attempt {
    public static func json(_ attempts: [Self]) -> String {
        let value = JSONValue.array(attempts.map { .object(["model": .string($0.model), "outcome": .string($0.outcome), "provider": .string($0.provider)]) })
        return String(decoding: value.serialized(), as: UTF8.self)
    }

    public static func list(json text: String) throws -> [Self] {
        guard let elements = try JSONValue.parse(Array(text.utf8)).arrayValue else { throw AttemptsJSONError(text: text) }
        return try elements.map { element in
            guard let model = element["model"]?.stringValue, let provider = element["provider"]?.stringValue,
                  let outcome = element["outcome"]?.stringValue
            else { throw AttemptsJSONError(text: text) }
            return Self(model: model, provider: provider, outcome: outcome)
        }
    }
}

public struct AttemptsJSONError: Error, CustomStringConvertible {
    public var text: String
    public var description: String { "a ledger record's attempts column is not a list of attempts: \(text.prefix(200))" }
}
