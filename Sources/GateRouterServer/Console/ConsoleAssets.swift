import Crypto
import Foundation
import Mustache

/// The console's templates, stylesheet and script, loaded from the bundled resources once at start-up (no file reads
/// while serving).
struct ConsoleAssets: Sendable {
    struct StaticFile: Sendable {
        var bytes: [UInt8]
        var contentType: String
    }

    let templates: MustacheLibrary
    let staticFiles: [String: StaticFile]
    /// A short digest of the static files, appended to their URLs so browsers fetch them again after an upgrade.
    let version: String

    static func load() throws -> ConsoleAssets {
        guard let root = Bundle.module.url(forResource: "Resources", withExtension: nil) else { throw ConsoleAssetsError("resources not found") }
        var templates = MustacheLibrary()
        let directory = root.appendingPathComponent("templates")
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path) where name.hasSuffix(".mustache") {
            let text = try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
            try templates.register(text, named: String(name.dropLast(".mustache".count)))
        }
        var files: [String: StaticFile] = [:]
        var digest = SHA256()
        for (name, type) in [("console.css", "text/css; charset=utf-8"), ("console.js", "text/javascript; charset=utf-8")] {
            let bytes = Array(try Data(contentsOf: root.appendingPathComponent("static").appendingPathComponent(name)))
            digest.update(data: bytes)
            files[name] = StaticFile(bytes: bytes, contentType: type)
        }
        let version = digest.finalize().prefix(6).map { String(format: "%02x", $0) }.joined()
        return ConsoleAssets(templates: templates, staticFiles: files, version: version)
    }
}

struct ConsoleAssetsError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = "console assets: " + description }
}
