import Foundation
import GateRouterStorage

/// The dashboard's figures, computed from the ledger records of one period: totals, a series per time bucket, and
/// breakdowns by model and by key with latency percentiles.
struct ConsoleDashboard {
    enum Period: String, CaseIterable {
        case day = "24h", week = "7d", month = "30d"

        var label: String {
            switch self {
            case .day: "Last 24 hours"
            case .week: "Last 7 days"
            case .month: "Last 30 days"
            }
        }
        /// Hourly buckets for a day, daily ones otherwise.
        var bucketSeconds: Int { self == .day ? 3600 : 86400 }
        var buckets: Int {
            switch self {
            case .day: 24
            case .week: 7
            case .month: 30
            }
        }
    }

    struct ModelRow {
        var model: String
        var requests = 0
        var errors = 0
        var promptTokens = 0
        var completionTokens = 0
        var cost = Picodollars.zero
        var latencies: [Int] = []
        var ttfts: [Int] = []
    }

    var period: Period
    var bucketLabels: [String] = []
    var requestsOK: [Double] = []
    var requestsFailed: [Double] = []
    var promptTokens: [Double] = []
    var completionTokens: [Double] = []
    var spend: [Double] = []
    var totalRequests = 0
    var totalErrors = 0
    var totalTokens = 0
    var totalCost = Picodollars.zero
    var byModel: [ModelRow] = []
    var byKey: [(key: String, requests: Int, tokens: Int, cost: Picodollars)] = []
    /// True when the period had more records than the dashboard reads (the newest are shown).
    var truncated = false

    /// The most records one dashboard reads (newest first), so a busy gateway still renders in milliseconds.
    static let recordLimit = 20_000

    init(period: Period, records: [LedgerRecord], truncated: Bool, now: Date) {
        self.period = period
        self.truncated = truncated
        let size = period.bucketSeconds
        let end = (Int(now.timeIntervalSince1970) / size + 1) * size
        let start = end - size * period.buckets
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = period == .day ? "HH:00" : "MMM d"
        bucketLabels = (0..<period.buckets).map { formatter.string(from: Date(timeIntervalSince1970: TimeInterval(start + $0 * size))) }
        requestsOK = Array(repeating: 0, count: period.buckets)
        requestsFailed = requestsOK
        promptTokens = requestsOK
        completionTokens = requestsOK
        spend = requestsOK

        var models: [String: ModelRow] = [:]
        var keys: [String: (requests: Int, tokens: Int, cost: Picodollars)] = [:]
        for record in records {
            let seconds = Int(record.created.timeIntervalSince1970)
            guard seconds >= start, seconds < end else { continue }
            let bucket = (seconds - start) / size
            let failed = record.status >= 400
            if failed { requestsFailed[bucket] += 1 } else { requestsOK[bucket] += 1 }
            promptTokens[bucket] += Double(record.promptTokens)
            completionTokens[bucket] += Double(record.completionTokens)
            spend[bucket] += record.cost.approximateDollars
            totalRequests += 1
            totalErrors += failed ? 1 : 0
            totalTokens += record.promptTokens + record.completionTokens
            totalCost += record.cost

            let name = record.model ?? record.requestedModel
            var row = models[name] ?? ModelRow(model: name)
            row.requests += 1
            row.errors += failed ? 1 : 0
            row.promptTokens += record.promptTokens
            row.completionTokens += record.completionTokens
            row.cost += record.cost
            if !failed {
                row.latencies.append(record.latencyMs)
                if let ttft = record.ttftMs { row.ttfts.append(ttft) }
            }
            models[name] = row

            var key = keys[record.keyID] ?? (0, 0, .zero)
            key.requests += 1
            key.tokens += record.promptTokens + record.completionTokens
            key.cost += record.cost
            keys[record.keyID] = key
        }
        byModel = models.values.sorted { ($0.requests, $0.model) > ($1.requests, $1.model) }
        byKey = keys.map { (key: $0.key, requests: $0.value.requests, tokens: $0.value.tokens, cost: $0.value.cost) }
            .sorted { ($0.requests, $0.key) > ($1.requests, $1.key) }
    }

    var errorRate: Double { totalRequests == 0 ? 0 : Double(totalErrors) / Double(totalRequests) }

    /// The value below which `fraction` of the samples fall (nearest rank), or nil without samples.
    static func percentile(_ samples: [Int], _ fraction: Double) -> Int? {
        guard !samples.isEmpty else { return nil }
        let sorted = samples.sorted()
        let rank = Int((Double(sorted.count) * fraction).rounded(.up))
        return sorted[min(sorted.count - 1, max(0, rank - 1))]
    }
}

/// Numbers as people read them in a table or on an axis.
enum ConsoleFormat {
    static func count(_ value: Double) -> String {
        switch value {
        case 1_000_000...: String(format: "%.1fM", value / 1_000_000)
        case 10_000...: String(format: "%.0fk", value / 1000)
        case 1000...: String(format: "%.1fk", value / 1000)
        default: String(format: "%.0f", value)
        }
    }

    static func dollars(_ value: Double) -> String {
        switch value {
        case 0: "$0"
        case 100...: String(format: "$%.0f", value)
        case 1...: String(format: "$%.2f", value)
        case 0.01...: String(format: "$%.3f", value)
        default: String(format: "$%.5f", value)
        }
    }

    /// An exact amount (LLM calls cost fractions of a cent; rounding would hide them), without trailing zeros.
    static func money(_ amount: Picodollars) -> String { "$" + amount.usd }

    static func milliseconds(_ value: Int?) -> String {
        guard let value else { return "–" }
        return value >= 10_000 ? String(format: "%.1f s", Double(value) / 1000) : "\(value) ms"
    }

    static func percent(_ value: Double) -> String { String(format: "%.1f%%", value * 100) }

    static func time(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return formatter.string(from: date) + " UTC"
    }
}
