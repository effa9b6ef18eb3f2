import Hummingbird
import HTTPTypes

/// CORS for browser clients, off unless origins are configured. A listed origin (or `*`) is echoed back, and
/// preflight requests are answered directly.
struct CORSPolicyMiddleware<Context: RequestContext>: RouterMiddleware {
    let allowedOrigins: Set<String>

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let origin = request.headers[.origin], allowedOrigins.contains(origin) || allowedOrigins.contains("*") else {
            return try await next(request, context)
        }
        if request.method == .options, request.headers[.accessControlRequestMethod] != nil {
            var headers = corsHeaders(origin: origin)
            headers[.accessControlAllowMethods] = "GET, POST, PATCH, DELETE, OPTIONS"
            headers[.accessControlAllowHeaders] = request.headers[.accessControlRequestHeaders] ?? "authorization, content-type"
            headers[.accessControlMaxAge] = "600"
            return Response(status: .noContent, headers: headers)
        }
        var response = try await next(request, context)
        for field in corsHeaders(origin: origin) { response.headers[field.name] = field.value }
        return response
    }

    private func corsHeaders(origin: String) -> HTTPFields {
        [
            .accessControlAllowOrigin: allowedOrigins.contains("*") ? "*" : origin,
            .vary: "Origin",
            .accessControlExposeHeaders: "x-request-id, x-gaterouter-upstream-model, x-gaterouter-model",
        ]
    }
}
