import Foundation
import GateRouterWire

/// The turns of a conversation being translated for a provider that wants roles to alternate (Anthropic, Gemini):
/// consecutive turns of one role are merged, so parallel tool results share one turn and a user text after them joins it.
struct ConversationTurns {
    private(set) var turns: [(role: String, parts: [JSONValue])] = []

    var isEmpty: Bool { turns.isEmpty }

    mutating func append(_ role: String, _ parts: [JSONValue]) {
        guard !parts.isEmpty else { return }
        if let last = turns.last, last.role == role {
            turns[turns.count - 1].parts += parts
        } else {
            turns.append((role, parts))
        }
    }
}

/// An OpenAI tool call's `function.arguments` (a JSON object encoded as a string) as the object providers take.
enum ToolCallArguments {
    static func object(of call: JSONValue, param: String) throws(GatewayError) -> JSONValue {
        let arguments = call["function"]?["arguments"]?.stringValue ?? ""
        if arguments.trimmingCharacters(in: .whitespaces).isEmpty { return [:] }
        guard let parsed = try? JSONValue.parse(Array(arguments.utf8)), case .object = parsed else {
            throw .invalidValue(param + ".function.arguments", "Invalid '\(param).function.arguments': it must be a JSON object encoded as a string.")
        }
        return parsed
    }
}

/// The text of a system, developer or tool message, which providers take as plain text: a string, or text parts
/// joined by newlines.
enum MessageText {
    static func of(_ content: JSONValue?, param: String) throws(GatewayError) -> String {
        switch content {
        case .string(let text): return text
        case .array(let parts):
            var texts: [String] = []
            for (index, part) in parts.enumerated() {
                guard let text = part["text"]?.stringValue else {
                    throw .invalidValue("\(param)[\(index)]", "Invalid '\(param)[\(index)]': only text parts are allowed here.")
                }
                texts.append(text)
            }
            return texts.joined(separator: "\n")
        case .none, .null: return ""
        default: throw .invalidType(param, expected: "a string or an array of text parts")
        }
    }
}
