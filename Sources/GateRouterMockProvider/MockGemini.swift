import Foundation
import GateRouterWire
import Hummingbird
import NIOCore

/// The mock's Gemini dialect (`POST /v1beta/models/{model}:generateContent` and `:streamGenerateContent?alt=sse`):
/// validates requests the way the Generative Language API does and answers with text, thoughts, function calls (signed
/// as Gemini 3 signs them) and structured output, as JSON or as Gemini's SSE stream.
extension MockProvider {
    /// The request fields the API knows; anything else is rejected, as Google's JSON parser does.
    static let geminiRequestFields: Set<String> = [
        "contents", "systemInstruction", "tools", "toolConfig", "generationConfig", "safetySettings", "cachedContent", "labels", "model",
    ]
    static let geminiGenerationConfigFields: Set<String> = [
        "temperature", "topP", "topK", "maxOutputTokens", "stopSequences", "candidateCount", "seed", "presencePenalty",
        "frequencyPenalty", "responseMimeType", "responseSchema", "responseJsonSchema", "thinkingConfig", "responseLogprobs",
        "logprobs", "responseModalities", "mediaResolution", "speechConfig", "enableEnhancedCivicAnswers",
    ]

    func geminiGenerate(_ request: Request, target: String, bytes: [UInt8]) async throws -> Response {
        let pieces = target.split(separator: ":", maxSplits: 1).map(String.init)
        guard pieces.count == 2, ["generateContent", "streamGenerateContent"].contains(pieces[1]) else {
            return Self.geminiError(404, status: "NOT_FOUND", message: "Method not found: \(target)")
        }
        let model = pieces[0]
        let streaming = pieces[1] == "streamGenerateContent"
        if let expected = options.apiKey {
            let given = request.headers[.init("x-goog-api-key")!] ?? request.uri.queryParameters["key"].map(String.init)
            guard let given else {
                return Self.geminiError(403, status: "PERMISSION_DENIED", message: "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.")
            }
            if given != expected {
                return Self.geminiError(400, status: "INVALID_ARGUMENT", message: "API key not valid. Please pass a valid API key.", details: [[
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com",
                ]])
            }
        }
        guard let parsed = try? JSONValue.parse(bytes), parsed.objectValue != nil else {
            return Self.geminiError(400, status: "INVALID_ARGUMENT", message: "Invalid JSON payload received. Unexpected token.")
        }
        let body = Self.camelCased(parsed)
        if let problem = Self.geminiValidationProblem(body, model: model) {
            return Self.geminiError(400, status: "INVALID_ARGUMENT", message: problem)
        }
        let contents = body["contents"]?.arrayValue ?? []
        let lastUserText = (contents.last { $0["role"]?.stringValue ?? "user" == "user" }?["parts"]?.arrayValue ?? [])
            .compactMap { $0["text"]?.stringValue }.joined(separator: " ")
        let directives = MockProvider.inlineDirectives(in: lastUserText)
        if let latency = directives?["latency_ms"]?.intValue ?? (options.latency > .zero ? Int(options.latency / .milliseconds(1)) : nil) {
            try await Task.sleep(for: .milliseconds(latency))
        }
        if let status = directives?["status"]?.intValue {
            return Self.geminiInjectedError(status)
        }

        let plan = GeminiAnswerPlan(request: body, model: model)
        let responseID = "mock-\(UInt32.random(in: .min ... .max))"
        let promptTokens = max(1, bytes.count / 8)
        @Sendable func usage(_ candidates: Int) -> JSONValue {
            var usage: [String: JSONValue] = ["promptTokenCount": .number(Double(promptTokens)), "candidatesTokenCount": .number(Double(candidates))]
            if plan.thoughtTokens > 0 { usage["thoughtsTokenCount"] = .number(Double(plan.thoughtTokens)) }
            usage["totalTokenCount"] = .number(Double(promptTokens + candidates + plan.thoughtTokens))
            return .object(usage)
        }
        @Sendable func response(parts: [JSONValue], finish: Bool, candidates: Int) -> JSONValue {
            var candidate: [String: JSONValue] = ["content": ["role": "model", "parts": .array(parts)], "index": 0]
            if finish { candidate["finishReason"] = .string(plan.finishReason) }
            return ["candidates": [.object(candidate)], "usageMetadata": usage(candidates), "modelVersion": .string(model), "responseId": .string(responseID)]
        }
        guard streaming else {
            let answer = response(parts: plan.parts, finish: true, candidates: plan.outputTokens)
            return Response(status: .ok, headers: [.contentType: "application/json; charset=UTF-8"], body: .init(byteBuffer: ByteBuffer(bytes: answer.serialized())))
        }
        guard request.uri.queryParameters["alt"] == "sse" else {
            return Self.geminiError(400, status: "INVALID_ARGUMENT", message: "mock: only alt=sse streaming is simulated")
        }
        let tokenDelay = directives?["token_delay_ms"]?.intValue.map { Duration.milliseconds($0) } ?? options.tokenDelay
        let errorAfter = directives?["error_after"]?.intValue
        let cutAfter = directives?["cut_after"]?.intValue
        return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
            func send(_ data: JSONValue) async throws {
                // Gemini ends each event with CRLF CRLF.
                try await writer.write(ByteBuffer(bytes: Array("data: ".utf8) + data.serialized() + [0x0D, 0x0A, 0x0D, 0x0A]))
            }
            var sentTextChunks = 0
            var produced = 0
            for (index, part) in plan.parts.enumerated() {
                let isLast = index == plan.parts.count - 1
                guard let text = part["text"]?.stringValue, part["thought"]?.boolValue != true else {
                    try await send(response(parts: [part], finish: isLast, candidates: produced))
                    continue
                }
                let words = MockProvider.tokens(of: text)
                if words.isEmpty { try await send(response(parts: [], finish: isLast, candidates: produced)) }
                for (wordIndex, word) in words.enumerated() {
                    if let errorAfter, sentTextChunks == errorAfter {
                        try await send(["error": ["code": 503, "message": "mock: injected mid-stream error", "status": "UNAVAILABLE"]])
                        try await writer.finish(nil)
                        return
                    }
                    if let cutAfter, sentTextChunks == cutAfter {
                        try await writer.finish(nil)
                        return
                    }
                    if tokenDelay > .zero { try await Task.sleep(for: tokenDelay) }
                    produced += 1
                    var piece = part.objectValue ?? [:]
                    piece["text"] = .string(word)
                    if wordIndex < words.count - 1 { piece["thoughtSignature"] = nil }  // Gemini signs the last piece
                    try await send(response(parts: [.object(piece)], finish: isLast && wordIndex == words.count - 1, candidates: produced))
                    sentTextChunks += 1
                }
            }
            try await writer.finish(nil)
        })
    }

    /// Google's JSON parser takes proto field names in either spelling (`mime_type` or `mimeType`), and the official
    /// SDK sends some nested ones in snake_case; the mock reads camelCase only, so it renames keys first, leaving alone
    /// the user data inside function arguments, results and JSON schemas.
    static func camelCased(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let fields):
            var out: [String: JSONValue] = [:]
            for (key, field) in fields {
                let name = camelCase(key)
                out[name] = geminiOpaqueFields.contains(name) ? field : camelCased(field)
            }
            return .object(out)
        case .array(let elements): return .array(elements.map(camelCased))
        default: return value
        }
    }

    static let geminiOpaqueFields: Set<String> = ["args", "response", "parametersJsonSchema", "responseJsonSchema", "parameters", "responseSchema"]

    static func camelCase(_ key: String) -> String {
        guard key.contains("_") else { return key }
        let words = key.split(separator: "_")
        return words.enumerated().map { $0.offset == 0 ? String($0.element) : $0.element.prefix(1).uppercased() + $0.element.dropFirst() }.joined()
    }

    static func geminiError(_ code: Int, status: String, message: String, details: [JSONValue] = []) -> Response {
        var error: [String: JSONValue] = ["code": .number(Double(code)), "message": .string(message), "status": .string(status)]
        if !details.isEmpty { error["details"] = .array(details) }
        return Response(status: .init(code: code), headers: [.contentType: "application/json; charset=UTF-8"], body: .init(byteBuffer: ByteBuffer(bytes: JSONValue.object(["error": .object(error)]).serialized())))
    }

    static func geminiInjectedError(_ code: Int) -> Response {
        switch code {
        case 429:
            var response = geminiError(429, status: "RESOURCE_EXHAUSTED", message: "mock: injected error 429 (quota exceeded)", details: [
                ["@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "1s"],
            ])
            response.headers[.retryAfter] = "1"
            return response
        case 503: return geminiError(503, status: "UNAVAILABLE", message: "The model is overloaded. Please try again later.")
        default:
            let status = [400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 500: "INTERNAL", 504: "DEADLINE_EXCEEDED"][code] ?? "UNKNOWN"
            return geminiError(code, status: status, message: "mock: injected error \(code)")
        }
    }

    /// The checks the Generative Language API makes that translators most often fail.
    static func geminiValidationProblem(_ body: JSONValue, model: String) -> String? {
        for key in (body.objectValue ?? [:]).keys.sorted() where !geminiRequestFields.contains(key) {
            return "Invalid JSON payload received. Unknown name \"\(key)\": Cannot find field."
        }
        let config = body["generationConfig"] ?? body["generation_config"]
        for key in (config?.objectValue ?? [:]).keys.sorted() where !geminiGenerationConfigFields.contains(key) {
            return "Invalid JSON payload received. Unknown name \"\(key)\" at 'generation_config': Cannot find field."
        }
        if config?["responseJsonSchema"] != nil, config?["responseMimeType"]?.stringValue != "application/json" {
            return "* GenerateContentRequest.generation_config.response_mime_type: must be application/json when response_json_schema is set."
        }
        if let schema = config?["responseSchema"], String(decoding: schema.serialized(), as: UTF8.self).contains("\"additionalProperties\"") {
            return "Invalid JSON payload received. Unknown name \"additionalProperties\" at 'generation_config.response_schema': Cannot find field."
        }
        guard let contents = body["contents"]?.arrayValue, !contents.isEmpty else {
            return "* GenerateContentRequest.contents: contents is not specified"
        }
        let requiresSignatures = model.contains("gemini-3")
        var pendingCalls = 0
        for (index, content) in contents.enumerated() {
            let role = content["role"]?.stringValue ?? "user"
            guard role == "user" || role == "model" else { return "Please use a valid role: user, model." }
            guard let parts = content["parts"]?.arrayValue, !parts.isEmpty else {
                return "* GenerateContentRequest.contents[\(index)].parts: contents.parts must not be empty."
            }
            let calls = parts.filter { $0["functionCall"] != nil }
            let responses = parts.filter { $0["functionResponse"] != nil }
            for part in responses where part["functionResponse"]?["response"]?.objectValue == nil {
                return "Invalid value at 'contents[\(index)].parts.function_response.response' (type.googleapis.com/google.protobuf.Struct): must be an object."
            }
            if !responses.isEmpty, responses.count != pendingCalls {
                return "Please ensure that the number of function response parts is equal to the number of function call parts of the function call turn."
            }
            if requiresSignatures, let first = calls.first, first["thoughtSignature"]?.stringValue == nil {
                return "Function call is missing a thought_signature in functionCall parts. This is required for tools to work correctly, and missing thought_signature may lead to degraded model performance. Additional data, function call `default_api:\(first["functionCall"]?["name"]?.stringValue ?? "?")` , position \(index + 1). Please refer to https://ai.google.dev/gemini-api/docs/thought-signatures for more details."
            }
            for part in parts where part["text"] == nil && part["inlineData"] == nil && part["fileData"] == nil && part["functionCall"] == nil && part["functionResponse"] == nil {
                return "* GenerateContentRequest.contents[\(index)].parts: a part must hold text, inlineData, fileData, functionCall or functionResponse."
            }
            pendingCalls = role == "model" ? calls.count : 0
        }
        for tool in body["tools"]?.arrayValue ?? [] {
            for declaration in tool["functionDeclarations"]?.arrayValue ?? [] where declaration["name"]?.stringValue == nil {
                return "* GenerateContentRequest.tools[0].function_declarations[0].name: Name cannot be empty."
            }
        }
        return nil
    }
}

/// What the mock Gemini model answers: thoughts when asked for, a function call when tools are offered and the last
/// turn is not a function response, the function's result after one, structured output for a schema, else an echo.
struct GeminiAnswerPlan {
    var parts: [JSONValue] = []
    var finishReason = "STOP"
    var outputTokens = 0
    var thoughtTokens = 0

    init(request: JSONValue, model: String) {
        let contents = request["contents"]?.arrayValue ?? []
        let lastParts = contents.last?["parts"]?.arrayValue ?? []
        let responses = lastParts.compactMap { $0["functionResponse"] }
        let images = contents.flatMap { $0["parts"]?.arrayValue ?? [] }.filter {
            ($0["inlineData"]?["mimeType"] ?? $0["fileData"]?["mimeType"])?.stringValue?.hasPrefix("image/") == true
        }.count
        let userText = lastParts.compactMap { $0["text"]?.stringValue }.joined(separator: " ")
        let config = request["generationConfig"]
        let thinking = config?["thinkingConfig"]?["includeThoughts"]?.boolValue == true
        let signed = thinking || model.contains("gemini-3")
        let mode = request["toolConfig"]?["functionCallingConfig"]?["mode"]?.stringValue

        if thinking {
            parts.append(["text": "Let me think about this.", "thought": true])
            thoughtTokens = 5
        }
        let declarations = (request["tools"]?.arrayValue ?? []).flatMap { $0["functionDeclarations"]?.arrayValue ?? [] }
        let allowed = request["toolConfig"]?["functionCallingConfig"]?["allowedFunctionNames"]?.arrayValue?.compactMap(\.stringValue)
        if let declaration = declarations.first(where: { allowed?.contains($0["name"]?.stringValue ?? "") ?? true }), responses.isEmpty, mode != "NONE" {
            let schema = declaration["parametersJsonSchema"] ?? declaration["parameters"] ?? [:]
            var part: [String: JSONValue] = ["functionCall": ["name": declaration["name"] ?? "", "args": MockJSONSchema.instance(of: schema)]]
            if signed { part["thoughtSignature"] = .string(Data("mock-signature-\(contents.count)".utf8).base64EncodedString()) }
            parts.append(.object(part))
            outputTokens = 8
            return
        }
        var text: String
        if !responses.isEmpty {
            text = "The tool said: " + responses.map { String(decoding: ($0["response"] ?? [:]).serialized(), as: UTF8.self) }.joined(separator: "; ")
        } else if let schema = config?["responseJsonSchema"] ?? config?["responseSchema"] {
            text = String(decoding: MockJSONSchema.instance(of: schema).serialized(), as: UTF8.self)
        } else {
            text = "Hello from the mock Gemini model (\(model)). You said: \(userText.prefix(80))"
            if images > 0 { text += " I see \(images) image(s)." }
        }
        var words = MockProvider.tokens(of: text)
        if let limit = config?["maxOutputTokens"]?.intValue, limit < words.count {
            words = Array(words.prefix(max(limit, 0)))
            finishReason = "MAX_TOKENS"
        }
        outputTokens = max(1, words.count)
        var part: [String: JSONValue] = ["text": .string(words.joined())]
        if model.contains("gemini-3") { part["thoughtSignature"] = .string(Data("mock-text-signature".utf8).base64EncodedString()) }
        parts.append(.object(part))
    }
}
