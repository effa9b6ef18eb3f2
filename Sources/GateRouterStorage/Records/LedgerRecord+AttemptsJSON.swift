import GateRouterWire

/// The attempts column's JSON text (`[{"model":…,"outcome":…,"provider":…}]`), written and read with the gateway's own
/// JSON parser: Foundation's `JSONDecoder` took about 40% of the time of reading 5,000 records for the dashboard.
extension LedgerRecord.Attempt {
    /// The same text `JSONValue.serialized()` writes (keys sorted, no spaces), written field by field: the ledger
    /// writer calls this for every record, and building a dictionary per attempt cost more than the writing.
    public static func json(_ attempts: [Self]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(2 + attempts.count * 96)
        bytes.append(UInt8(ascii: "["))
        for (index, attempt) in attempts.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            bytes.append(contentsOf: #"{"model":"#.utf8)
            JSONString.append(attempt.model, to: &bytes)
            bytes.append(contentsOf: #","outcome":"#.utf8)
            JSONString.append(attempt.outcome, to: &bytes)
            bytes.append(contentsOf: #","provider":"#.utf8)
            JSONString.append(attempt.provider, to: &bytes)
            bytes.append(UInt8(ascii: "}"))
        }
        bytes.append(UInt8(ascii: "]"))
        return String(decoding: bytes, as: UTF8.self)
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
