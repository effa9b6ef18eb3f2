import Foundation
import Yams

/// The set of models the gateway knows, indexed by id and alias.
///
/// Immutable once built: the bundled file is read at start, the config file's entries are merged over it, and the
/// result is shared by value.
public struct ModelCatalog: Sendable {
    public let models: [CatalogModel]
    private let byID: [String: Int]
    private let byAlias: [String: Int]

    public init(models: [CatalogModel]) throws(CatalogError) {
        var byID: [String: Int] = [:]
        var byAlias: [String: Int] = [:]
        for (index, model) in models.enumerated() {
            guard model.id.contains("/") else { throw CatalogError("model id '\(model.id)' must have the form provider/name") }
            guard byID[model.id] == nil else { throw CatalogError("model id '\(model.id)' appears twice") }
            byID[model.id] = index
        }
        for (index, model) in models.enumerated() {
            for alias in model.aliases where byID[alias] == nil {
                guard byAlias[alias] == nil else { throw CatalogError("alias '\(alias)' is used by two models") }
                byAlias[alias] = index
            }
        }
        self.models = models
        self.byID = byID
        self.byAlias = byAlias
    }

    /// The model a client id names: a catalog id (`openai/gpt-4.1`) or an alias (`gpt-4.1`).
    public func model(named id: String) -> CatalogModel? {
        index(named: id).map { models[$0] }
    }

    /// The position in ``models`` of the model a client id names.
    public func index(named id: String) -> Int? {
        byID[id] ?? byAlias[id]
    }

    /// The catalog shipped with the package (`Resources/catalog.yaml`).
    public static func bundled() throws -> ModelCatalog {
        guard let url = Bundle.module.url(forResource: "catalog", withExtension: "yaml") else {
            throw CatalogError("the bundled catalog.yaml is missing from the package resources")
        }
        return try ModelCatalog(yaml: String(contentsOf: url, encoding: .utf8))
    }

    /// Parses a catalog document (`models: [...]`).
    public init(yaml: String) throws {
        struct Document: Decodable { var models: [CatalogModel] }
        do {
            let document = try YAMLDecoder().decode(Document.self, from: yaml)
            try self.init(models: document.models)
        } catch let error as CatalogError {
            throw error
        } catch {
            throw CatalogError("the catalog could not be read: \(error)")
        }
    }

    /// A catalog with `overrides` applied: entries with a known id change only the fields they set, new ids are added.
    public func merging(_ overrides: [CatalogModelOverride]) throws -> ModelCatalog {
        var models = self.models
        for override in overrides {
            if let index = models.firstIndex(where: { $0.id == override.id }) {
                models[index] = override.applied(to: models[index])
            } else {
                models.append(try override.newModel())
            }
        }
        return try ModelCatalog(models: models)
    }
}

public struct CatalogError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
