import Foundation
import GateRouterCatalog
import GateRouterRouting
import Hummingbird

/// Ready-to-paste client configuration with this gateway's base URL. The key appears masked: the page's script fills
/// in the key the user signed in with (kept in the browser tab only, never by the server) when they reveal it.
extension ConsoleController {
    /// Where the key goes in a snippet; replaced by a masked slot the script can fill.
    static let keySlot = "\u{1}KEY\u{1}"

    func integrations(_ session: ConsoleSession, _ request: Request) -> [String: Any] {
        let host = request.head.authority ?? "\(configuration.host):\(configuration.port)"
        let scheme = isSecure(request) ? "https" : "http"
        let baseURL = "\(scheme)://\(host)/openai/v1"
        let available = configuration.catalog.models.filter(resolver.isAvailable)
        let example = available.first { $0.provider == "deepseek" } ?? available.first
        let exampleID = example?.id ?? "deepseek/deepseek-v3.2"
        let isLoopback = host.hasPrefix("127.") || host.hasPrefix("localhost") || host.hasPrefix("[::1]")

        let snippets: [(id: String, title: String, note: String, text: String)] = [
            ("python", "OpenAI Python SDK", "pip install openai", """
            from openai import OpenAI

            client = OpenAI(base_url="\(baseURL)", api_key="\(Self.keySlot)")
            reply = client.chat.completions.create(
                model="auto",  # or a fixed model such as "\(exampleID)"
                messages=[{"role": "user", "content": "Hello!"}],
            )
            print(reply.model, reply.choices[0].message.content)
            """),
            ("node", "OpenAI Node SDK", "npm install openai", """
            import OpenAI from "openai";

            const client = new OpenAI({ baseURL: "\(baseURL)", apiKey: "\(Self.keySlot)" });
            const reply = await client.chat.completions.create({
              model: "auto", // or "\(exampleID)"
              messages: [{ role: "user", content: "Hello!" }],
            });
            console.log(reply.model, reply.choices[0].message.content);
            """),
            ("curl", "curl", "Any HTTP client works the same way.", """
            curl \(baseURL)/chat/completions \\
              -H "Authorization: Bearer \(Self.keySlot)" \\
              -H "Content-Type: application/json" \\
              -d '{"model": "auto", "messages": [{"role": "user", "content": "Hello!"}]}'
            """),
            ("openclaw", "OpenClaw", "Merge into ~/.openclaw/openclaw.json, then restart the gateway (openclaw gateway restart).", openClawConfig(baseURL: baseURL, models: available)),
            ("qclaw", "QClaw", "QClaw adds providers from chat: send it this message.", qClawMessage(baseURL: baseURL, models: available)),
            ("cursor", "Cursor", "Settings → Models → API Keys.", """
            1. OpenAI API Key: \(Self.keySlot)
            2. Turn on "Override OpenAI Base URL" and enter: \(isLoopback ? "https://<your public host>/openai/v1" : baseURL)
            3. Under Models, add custom models: auto, \(exampleID)
            4. Click Verify, then pick one of them in the chat's model menu.
            """),
        ]
        return [
            "baseURL": baseURL, "isLoopback": isLoopback, "signedInWithKey": !session.user.isAdmin,
            "snippets": snippets.map { snippet -> [String: Any] in
                ["id": snippet.id, "title": snippet.title, "note": snippet.note, "html": Self.withKeySlots(snippet.text)]
            },
        ]
    }

    /// The `models.providers` entry, the model list with context windows and output limits, and the default model.
    func openClawConfig(baseURL: String, models: [CatalogModel]) -> String {
        let listed = Array(models.prefix(6))
        var entries = [#"          { "id": "auto", "name": "GateRouter auto", "reasoning": false, "input": ["text"], "contextWindow": \#(listed.map(\.contextLength).min() ?? 128000), "maxTokens": 8192 }"#]
        for model in listed {
            let reasoning = model.capabilities.contains(.reasoning)
            let input = model.capabilities.contains(.vision) ? #"["text", "image"]"# : #"["text"]"#
            entries.append(#"          { "id": "\#(model.id)", "name": "\#(model.name)", "reasoning": \#(reasoning), "input": \#(input), "contextWindow": \#(model.contextLength), "maxTokens": \#(model.maxOutputTokens) }"#)
        }
        return """
        {
          "models": {
            "mode": "merge",
            "providers": {
              "gaterouter": {
                "baseUrl": "\(baseURL)",
                "apiKey": "\(Self.keySlot)",
                "api": "openai-completions",
                "models": [
        \(entries.joined(separator: ",\n"))
                ]
              }
            }
          },
          "agents": { "defaults": { "model": { "primary": "gaterouter/auto" } } }
        }
        """
    }

    func qClawMessage(baseURL: String, models: [CatalogModel]) -> String {
        let names = (["auto"] + models.prefix(6).map(\.id)).joined(separator: ", ")
        return """
        Add a custom model provider:
        - name: gaterouter
        - baseUrl: \(baseURL)
        - apiKey: \(Self.keySlot)
        - api: openai-completions
        - models: \(names)
        Then make gaterouter/auto the default model.
        """
    }

    /// HTML-escapes a snippet and turns each key slot into a masked element the page's script can fill.
    static func withKeySlots(_ text: String) -> String {
        SVGChart.escape(text).replacingOccurrences(of: keySlot, with: #"<span class="key-slot">gr-••••••••••••</span>"#)
    }
}
