import Foundation
import GateRouterStorage
import GateRouterWire
import Hummingbird

/// Usage queries over the ledger: records newest first with cursor paging, totals grouped by day, model or key, and
/// CSV export. `GET /admin/v1/usage` reaches every account (or `account_id=`); `GET /api/v1/usage` the caller's own.
extension ManagementOperations {
    func usage(_ request: Request, accountID fixedAccount: String?) async throws -> Response {
        let parameters = request.uri.queryParameters
        func text(_ name: String) -> String? { parameters[name[...]].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
        var query = UsageQuery(
            accountID: fixedAccount ?? text("account_id"), keyID: text("key_id"), model: text("model"), limit: 100
        )
        if let from = text("from") { query.from = try Self.time(from, parameter: "from") }
        if let to = text("to") { query.to = try Self.time(to, parameter: "to") }
        if let status = text("status") {
            guard let value = Int(status) else { throw GatewayError.invalidValue("status", "'status' must be an HTTP status code.") }
            query.status = value
        }
        if let limit = text("limit") {
            guard let value = Int(limit), (1...1000).contains(value) else { throw GatewayError.invalidValue("limit", "'limit' must be 1 to 1000.") }
            query.limit = value
        }
        if let cursor = text("cursor") { query.cursor = try Self.cursor(cursor) }
        let csv = text("format") == "csv"
        if let grouping = text("group_by") {
            guard let by = UsageGrouping(rawValue: grouping) else {
                throw GatewayError.invalidValue("group_by", "'group_by' must be one of: hour, day, model, key.")
            }
            let groups = try await store.usageGroups(query, by: by)
            if csv {
                return CSV.response(
                    header: [by.rawValue, "requests", "errors", "prompt_tokens", "completion_tokens", "cached_tokens", "cost"],
                    rows: groups.map { [$0.group, String($0.requests), String($0.errors), String($0.promptTokens), String($0.completionTokens), String($0.cachedTokens), $0.cost.usd] },
                    filename: "usage-by-\(by.rawValue).csv"
                )
            }
            return try Self.json(ListView(data: groups.map(UsageGroupView.init)))
        }
        if csv {
            // An export is every matching record, page by page, not one page.
            var rows: [[String]] = []
            var page = query
            page.limit = 1000
            while true {
                let records = try await store.usage(page)
                rows += records.map { LedgerView(record: $0).csvRow }
                guard records.count == page.limit, let last = records.last, rows.count < 1_000_000 else { break }
                page.cursor = .init(created: last.created, id: last.id)
            }
            return CSV.response(header: LedgerView.csvColumns, rows: rows, filename: "usage.csv")
        }
        let records = try await store.usage(query)
        let hasMore = records.count == query.limit
        return try Self.json(ListView(
            data: records.map { LedgerView(record: $0) }, hasMore: hasMore, nextCursor: hasMore ? records.last.map(Self.cursorText) : nil
        ))
    }

    /// A time as Unix seconds or an ISO 8601 date (`2026-11-25`) or date-time (`2026-11-25T10:00:00Z`).
    static func time(_ text: String, parameter: String) throws -> Date {
        if let date = UsageQuery.time(parsing: text) { return date }
        throw GatewayError.invalidValue(parameter, "'\(parameter)' must be Unix seconds or an ISO 8601 date such as 2026-11-25.")
    }

    static func cursorText(_ record: LedgerRecord) -> String {
        "\(LedgerRecord.milliseconds(record.created))_\(record.id)"
    }

    static func cursor(_ text: String) throws -> UsageQuery.Cursor {
        let parts = text.split(separator: "_", maxSplits: 1)
        guard parts.count == 2, let milliseconds = Int64(parts[0]) else {
            throw GatewayError.invalidValue("cursor", "'cursor' must be a next_cursor value from a previous page.")
        }
        return .init(created: Date(timeIntervalSince1970: Double(milliseconds) / 1000), id: String(parts[1]))
    }
}
