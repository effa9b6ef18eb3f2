import Foundation
import GateRouterCatalog
import GateRouterRouting
import GateRouterWire
import Hummingbird
import NIOCore

/// `GET /openai/v1/models` and `GET /openai/v1/models/{id}`.
///
/// Catalog ids contain a slash; the OpenAI SDK percent-encodes it (`deepseek%2Fdeepseek-v3.2`) and curl users do not,
/// so both forms are routed.
struct ModelsController: Sendable {
    let resolver: ModelResolver

    func addRoutes(to group: RouterGroup<GatewayRequestContext>) {
        group.get("/models") { _, _ in
            let list = ModelList(data: resolver.catalog.models.map { ModelObject(model: $0, available: resolver.isAvailable($0)) })
            return try Self.json(list)
        }
        // `**` takes the rest of the path, so `provider/name` and `provider%2Fname` both arrive here.
        group.get("/models/**") { _, context in
            try self.model(id: context.parameters.getCatchAll().joined(separator: "/"))
        }
    }

    private func model(id rawID: String) throws -> Response {
        let id = rawID.removingPercentEncoding ?? rawID
        guard let model = resolver.catalog.model(named: id) else { throw GatewayError.modelNotFound(id) }
        return try Self.json(ModelObject(model: model, available: resolver.isAvailable(model)))
    }

    static func json(_ value: some Encodable) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        let data = try encoder.encode(value)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
