import ArgumentParser
import Foundation
import GateRouterServer
import GateRouterStorage

struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage",
        abstract: "Read the ledger: recent requests, or totals by day, model or key; CSV with --csv."
    )

    @OptionGroup var store: StoreOptions

    @Option(help: "Only this account.") var account: String?
    @Option(help: "Only this key id.") var key: String?
    @Option(help: "Only this model.") var model: String?
    @Option(help: "From this date (YYYY-MM-DD, UTC) or Unix time.") var from: String?
    @Option(help: "Until this date (exclusive).") var to: String?
    @Option(name: .customLong("group-by"), help: "hour, day, model or key.") var groupBy: String?
    @Option(help: "Most recent records to show.") var limit = 50
    @Flag(help: "Print CSV.") var csv = false

    func run() async throws {
        var query = UsageQuery(accountID: account, keyID: key, model: model, limit: limit)
        query.from = try from.map { try Self.date($0, option: "--from") }
        query.to = try to.map { try Self.date($0, option: "--to") }
        if let groupBy {
            guard let grouping = UsageGrouping(rawValue: groupBy) else { throw ValidationError("--group-by: use hour, day, model or key") }
            let groups = try await store.withState { try await $0.store.usageGroups(query, by: grouping) }
            let header = [grouping.rawValue.uppercased(), "REQUESTS", "ERRORS", "PROMPT", "COMPLETION", "CACHED", "COST (USD)"]
            let rows = groups.map { [$0.group, String($0.requests), String($0.errors), String($0.promptTokens), String($0.completionTokens), String($0.cachedTokens), $0.cost.usd] }
            csv ? printCSV(header, rows) : printTable(header, rows)
            return
        }
        let records = try await store.withState { try await $0.store.usage(query) }
        let header = ["ID", "TIME", "ACCOUNT", "KEY", "MODEL", "STATUS", "PROMPT", "COMPLETION", "COST (USD)", "LATENCY MS", "FLAGS"]
        let rows = records.map { record -> [String] in
            var flags: [String] = []
            if record.stream { flags.append("stream") }
            if record.estimated { flags.append("estimated") }
            if record.cancelled { flags.append("cancelled") }
            return [
                record.id, formatDate(record.created), record.accountID, record.keyID, record.model ?? record.requestedModel, String(record.status),
                String(record.promptTokens), String(record.completionTokens), record.cost.usd, String(record.latencyMs), flags.joined(separator: ","),
            ]
        }
        csv ? printCSV(header, rows) : printTable(header, rows)
    }

    static func date(_ text: String, option: String) throws -> Date {
        if let date = UsageQuery.time(parsing: text) { return date }
        throw ValidationError("\(option): use YYYY-MM-DD or Unix seconds")
    }

    func printCSV(_ header: [String], _ rows: [[String]]) {
        for row in [header] + rows {
            print(row.map(CSV.field).joined(separator: ","))
        }
    }
}
