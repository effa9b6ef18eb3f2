import Foundation
import GateRouterCatalog
import GateRouterWire

/// An image downloaded by the adapter so it can travel inline (Gemini cannot fetch arbitrary http(s) URLs).
public struct GeminiInlineImage: Sendable, Equatable {
    public var mimeType: String
    /// Base64 of the image bytes.
    public var data: String

    public init(mimeType: String, data: String) {
        self.mimeType = mimeType
        self.data = data
    }
}

/// OpenAI Chat Completions request → Gemini `generateContent` request.
///
/// The rules that most often break translators: roles are only `user` and `model`, so system text goes to
/// `systemInstruction` and tool results become `functionResponse` parts of a user turn (named, because Gemini matches
/// them by function name, not id); consecutive turns of one role are merged; function results must be objects; JSON
/// Schema travels as `parametersJsonSchema`/`responseJsonSchema`, which accept what OpenAI clients send (the older
/// `parameters`/`responseSchema` reject `additionalProperties`).
public enum GeminiRequestTranslation {
    public struct Result: Sendable {
        public var body: JSONValue
        /// What was changed to fit the model (`logprobs dropped`, …), for the `x-gaterouter-adapted` header.
        public var adapted: [String]
    }

    /// Google's documented value for function calls that a Gemini 3 model did not produce itself (a history from
    /// another model, or a client that dropped the signature).
    static let skipSignature = "skip_thought_signature_validator"

    public static func translate(
        _ request: JSONValue, upstreamModel: String, model: CatalogModel?, fetchedImages: [String: GeminiInlineImage] = [:]
    ) throws(GatewayError) -> Result {
        var adapted: [String] = []
        var body: [String: JSONValue] = [:]
        let messages = request["messages"]?.arrayValue ?? []
        let signaturesRequired = isGemini3OrLater(upstreamModel)

        // Function names by tool-call id, so tool results can name the function they answer.
        var functionNames: [String: String] = [:]
        for message in messages where message["role"]?.stringValue == "assistant" {
            for call in message["tool_calls"]?.arrayValue ?? [] {
                if let id = call["id"]?.stringValue, let name = call["function"]?["name"]?.stringValue { functionNames[id] = name }
            }
        }

        var systemTexts: [String] = []
        var conversation = ConversationTurns()
        for (index, message) in messages.enumerated() {
            let role = message["role"]?.stringValue ?? ""
            let param = "messages[\(index)]"
            switch role {
            case "system", "developer":
                systemTexts.append(try MessageText.of(message["content"], param: param + ".content"))
            case "user":
                conversation.append("user", try userParts(message["content"], param: param + ".content", fetchedImages: fetchedImages))
            case "assistant":
                conversation.append("model", try modelParts(message, param: param, signaturesRequired: signaturesRequired))
            case "tool", "function":
                let id = message["tool_call_id"]?.stringValue ?? ""
                guard let name = functionNames[id] ?? message["name"]?.stringValue else {
                    throw .invalidValue(param + ".tool_call_id", "Invalid '\(param).tool_call_id': no earlier assistant tool call has the id '\(id)'.")
                }
                let text = try MessageText.of(message["content"], param: param + ".content")
                let response: JSONValue
                if let parsed = try? JSONValue.parse(Array(text.utf8)), case .object = parsed {
                    response = parsed
                } else {
                    response = ["result": .string(text)]  // Gemini requires an object
                }
                conversation.append("user", [["functionResponse": ["name": .string(name), "response": response]]])
            default:
                throw .invalidValue(param + ".role", "Invalid value for '\(param).role': '\(role)'.")
            }
        }
        guard !conversation.isEmpty else {
            throw .invalidValue("messages", "Gemini models need at least one user or assistant message besides system messages.")
        }
        body["contents"] = .array(conversation.turns.map { ["role": .string($0.role), "parts": .array($0.parts)] })
        if !systemTexts.isEmpty { body["systemInstruction"] = ["parts": [["text": .string(systemTexts.joined(separator: "\n\n"))]]] }

        let config = try generationConfig(request, upstreamModel: upstreamModel, model: model, adapted: &adapted)
        if !config.isEmpty { body["generationConfig"] = .object(config) }

        if let tools = request["tools"]?.arrayValue, !tools.isEmpty {
            var declarations: [JSONValue] = []
            for (index, tool) in tools.enumerated() {
                guard tool["type"]?.stringValue ?? "function" == "function", let function = tool["function"], let name = function["name"]?.stringValue else {
                    throw .invalidValue("tools[\(index)]", "Invalid 'tools[\(index)]': only function tools are supported by Gemini models.")
                }
                var declaration: [String: JSONValue] = ["name": .string(name)]
                if let description = function["description"] { declaration["description"] = description }
                if let parameters = function["parameters"] { declaration["parametersJsonSchema"] = parameters }
                declarations.append(.object(declaration))
            }
            body["tools"] = [["functionDeclarations": .array(declarations)]]
            switch request["tool_choice"] {
            case .string("auto"): body["toolConfig"] = ["functionCallingConfig": ["mode": "AUTO"]]
            case .string("none"): body["toolConfig"] = ["functionCallingConfig": ["mode": "NONE"]]
            case .string("required"): body["toolConfig"] = ["functionCallingConfig": ["mode": "ANY"]]
            case .object(let choice):
                if let name = choice["function"]?["name"]?.stringValue {
                    body["toolConfig"] = ["functionCallingConfig": ["mode": "ANY", "allowedFunctionNames": [.string(name)]]]
                }
            default: break
            }
        }
        if request["parallel_tool_calls"]?.boolValue == false { adapted.append("parallel_tool_calls dropped") }  // Gemini may always call in parallel

        for unsupported in ["logprobs", "top_logprobs", "logit_bias"] where request[unsupported] != nil && request[unsupported] != false {
            adapted.append("\(unsupported) dropped")
        }
        if let n = request["n"]?.intValue, n > 1, request["stream"]?.boolValue == true {
            throw .unsupportedParameter("n")  // one streamed choice only
        }
        return Result(body: .object(body), adapted: adapted)
    }

    /// Gemini 3 and later require thought signatures back on function calls and take `thinkingLevel`.
    static func isGemini3OrLater(_ upstreamModel: String) -> Bool {
        guard upstreamModel.hasPrefix("gemini-") else { return false }
        return !upstreamModel.hasPrefix("gemini-1") && !upstreamModel.hasPrefix("gemini-2")
    }

    static func generationConfig(_ request: JSONValue, upstreamModel: String, model: CatalogModel?, adapted: inout [String]) throws(GatewayError) -> [String: JSONValue] {
        var config: [String: JSONValue] = [:]
        if let temperature = request["temperature"], temperature != .null { config["temperature"] = temperature }
        if let topP = request["top_p"], topP != .null { config["topP"] = topP }
        if let limit = request["max_completion_tokens"]?.intValue ?? request["max_tokens"]?.intValue {
            config["maxOutputTokens"] = .number(Double(min(limit, model?.maxOutputTokens ?? limit)))
        }
        switch request["stop"] {
        case .string(let stop): config["stopSequences"] = [.string(stop)]
        case .array(let stops): config["stopSequences"] = .array(stops)
        default: break
        }
        if let n = request["n"], n != .null { config["candidateCount"] = n }
        if let seed = request["seed"], seed != .null { config["seed"] = seed }
        if let penalty = request["presence_penalty"], penalty != .null { config["presencePenalty"] = penalty }
        if let penalty = request["frequency_penalty"], penalty != .null { config["frequencyPenalty"] = penalty }
        switch request["response_format"]?["type"]?.stringValue {
        case "json_object":
            config["responseMimeType"] = "application/json"
        case "json_schema":
            config["responseMimeType"] = "application/json"
            if let schema = request["response_format"]?["json_schema"]?["schema"] { config["responseJsonSchema"] = schema }
        default: break
        }
        if let effort = request["reasoning_effort"]?.stringValue {
            if let model, !model.supports(.reasoning) {
                adapted.append("reasoning_effort dropped")
            } else {
                config["thinkingConfig"] = thinkingConfig(effort: effort, upstreamModel: upstreamModel)
            }
        }
        return config
    }

    /// OpenAI's `reasoning_effort` as Gemini 3's `thinkingLevel` or Gemini 2.5's `thinkingBudget`.
    static func thinkingConfig(effort: String, upstreamModel: String) -> JSONValue {
        var config: [String: JSONValue] = [:]
        if isGemini3OrLater(upstreamModel) {
            // Pro models take only low and high.
            let pro = upstreamModel.contains("-pro")
            switch effort {
            case "none", "minimal": config["thinkingLevel"] = pro ? "low" : "minimal"
            case "low": config["thinkingLevel"] = "low"
            case "medium": config["thinkingLevel"] = pro ? "high" : "medium"
            default: config["thinkingLevel"] = "high"
            }
        } else {
            // 2.5 Pro cannot stop thinking (its floor is 128) and thinks up to 32768; Flash models stop at 0 and 24576.
            let pro = upstreamModel.contains("-pro")
            let budgets = ["none": pro ? 128 : 0, "minimal": 512, "low": 1024, "medium": 8192, "high": 24576]
            config["thinkingBudget"] = .number(Double(budgets[effort] ?? (pro ? 32768 : 24576)))
        }
        if effort != "none" { config["includeThoughts"] = true }
        return .object(config)
    }

    static func userParts(_ content: JSONValue?, param: String, fetchedImages: [String: GeminiInlineImage]) throws(GatewayError) -> [JSONValue] {
        switch content {
        case .string(let text): return text.isEmpty ? [] : [["text": .string(text)]]
        case .array(let parts):
            var out: [JSONValue] = []
            for (index, part) in parts.enumerated() {
                let partParam = "\(param)[\(index)]"
                switch part["type"]?.stringValue {
                case "text":
                    if let text = part["text"]?.stringValue, !text.isEmpty { out.append(["text": .string(text)]) }
                case "image_url":
                    guard let url = part["image_url"]?["url"]?.stringValue ?? part["image_url"]?.stringValue else {
                        throw .missingParameter(partParam + ".image_url.url")
                    }
                    out.append(try imagePart(url, param: partParam + ".image_url.url", fetchedImages: fetchedImages))
                case "input_audio":
                    guard let data = part["input_audio"]?["data"]?.stringValue, let format = part["input_audio"]?["format"]?.stringValue else {
                        throw .missingParameter(partParam + ".input_audio.data")
                    }
                    out.append(["inlineData": ["mimeType": .string("audio/\(format)"), "data": .string(data)]])
                case "file":
                    guard let url = part["file"]?["file_data"]?.stringValue, let inline = inlineData(fromDataURL: url) else {
                        throw .invalidValue(partParam + ".file", "Invalid '\(partParam).file': Gemini models take files as base64 data URLs in 'file_data'.")
                    }
                    out.append(["inlineData": ["mimeType": .string(inline.mimeType), "data": .string(inline.data)]])
                default:
                    throw .invalidValue(partParam + ".type", "Content part type '\(part["type"]?.stringValue ?? "?")' is not supported by Gemini models.")
                }
            }
            return out
        case .none, .null: return []
        default: throw .invalidType(param, expected: "a string or an array of content parts")
        }
    }

    static func inlineData(fromDataURL url: String) -> GeminiInlineImage? {
        guard url.hasPrefix("data:"), let comma = url.firstIndex(of: ","), url[..<comma].hasSuffix(";base64") else { return nil }
        let mimeType = String(url[url.index(url.startIndex, offsetBy: 5)..<comma].dropLast(";base64".count))
        return GeminiInlineImage(mimeType: mimeType, data: String(url[url.index(after: comma)...]))
    }

    static func imagePart(_ url: String, param: String, fetchedImages: [String: GeminiInlineImage]) throws(GatewayError) -> JSONValue {
        if url.hasPrefix("data:") {
            guard let inline = inlineData(fromDataURL: url) else {
                throw .invalidValue(param, "Invalid image data URL in '\(param)': expected data:<type>;base64,<data>.")
            }
            return ["inlineData": ["mimeType": .string(inline.mimeType), "data": .string(inline.data)]]
        }
        if let fetched = fetchedImages[url] {
            return ["inlineData": ["mimeType": .string(fetched.mimeType), "data": .string(fetched.data)]]
        }
        guard url.hasPrefix("https://") || url.hasPrefix("http://") || url.hasPrefix("gs://") else {
            throw .invalidValue(param, "Invalid image URL in '\(param)': expected an http(s) or data URL.")
        }
        // Files API and gs:// URIs are Gemini's own; it reads them itself.
        var fileData: [String: JSONValue] = ["fileUri": .string(url)]
        if let mimeType = imageMIMEType(forPath: url) { fileData["mimeType"] = .string(mimeType) }
        return ["fileData": .object(fileData)]
    }

    static func imageMIMEType(forPath path: String) -> String? {
        let name = path.split(separator: "?").first.map(String.init) ?? path
        switch name.split(separator: ".").last?.lowercased() {
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        case "gif": return "image/gif"
        case "webp": return "image/webp"
        case "heic": return "image/heic"
        default: return nil
        }
    }

    static func modelParts(_ message: JSONValue, param: String, signaturesRequired: Bool) throws(GatewayError) -> [JSONValue] {
        var parts: [JSONValue] = []
        switch message["content"] {
        case .string(let text) where !text.isEmpty: parts.append(["text": .string(text)])
        case .array(let contentParts):
            for part in contentParts where part["type"]?.stringValue == "text" {
                if let text = part["text"]?.stringValue, !text.isEmpty { parts.append(["text": .string(text)]) }
            }
        default: break
        }
        var firstCall = true
        for (index, call) in (message["tool_calls"]?.arrayValue ?? []).enumerated() {
            let callParam = "\(param).tool_calls[\(index)]"
            guard let name = call["function"]?["name"]?.stringValue else { throw .missingParameter(callParam + ".function.name") }
            let args = try ToolCallArguments.object(of: call, param: callParam)
            var part: [String: JSONValue] = ["functionCall": ["name": .string(name), "args": args]]
            if let signature = call["extra_content"]?["google"]?["thought_signature"]?.stringValue {
                part["thoughtSignature"] = .string(signature)
            } else if signaturesRequired, firstCall {
                part["thoughtSignature"] = .string(skipSignature)
            }
            firstCall = false
            parts.append(.object(part))
        }
        return parts
    }
}
