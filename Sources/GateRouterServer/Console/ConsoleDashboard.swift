import Foundation
import GateRouterStorage

/// The dashboard's figures for one period, from the store's totals (per time bucket, model and key) and the latency
/// samples of the newest answered requests: the database adds up, so a large ledger renders as fast as a small one.
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
        var grouping: UsageGrouping { self == .day ? .hour : .day }
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
        var tokens = 0
        var cost = Picodollars.zero
        var latencies: [Int] = []
        var ttfts: [Int] = []
    }

    /// The most latency samples one dashboard reads (the newest answered requests).
    static let sampleLimit = 20_000

    var period: Period
    /// The first bucket's start (Unix seconds); buckets end at the end of the current hour or day.
    var start: Int
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
    var byKey: [UsageGroup] = []
    /// True when the period had more answered requests than the latency samples read.
    var sampled = false

    /// Where the period starts, for the store queries.
    static func start(of period: Period, now: Date) -> Int {
        let size = period.bucketSeconds
        return (Int(now.timeIntervalSince1970) / size + 1) * size - size * period.buckets
    }

    init(period: Period, buckets: [UsageGroup], models: [UsageGroup], keys: [UsageGroup], samples: [LatencySample], now: Date) {
        self.period = period
        let size = period.bucketSeconds
        start = Self.start(of: period, now: now)
        let labels = DateFormatter()
        labels.locale = Locale(identifier: "en_US_POSIX")
        labels.timeZone = TimeZone(identifier: "UTC")
        labels.dateFormat = period == .day ? "HH:00" : "MMM d"
        // The store's group values for each bucket: `YYYY-MM-DDTHH` or `YYYY-MM-DD`.
        let groupValues = DateFormatter()
        groupValues.locale = labels.locale
        groupValues.timeZone = labels.timeZone
        groupValues.dateFormat = period == .day ? "yyyy-MM-dd'T'HH" : "yyyy-MM-dd"
        var index: [String: Int] = [:]
        for bucket in 0..<period.buckets {
            let date = Date(timeIntervalSince1970: TimeInterval(start + bucket * size))
            bucketLabels.append(labels.string(from: date))
            index[groupValues.string(from: date)] = bucket
        }
        requestsOK = Array(repeating: 0, count: period.buckets)
        requestsFailed = requestsOK
        promptTokens = requestsOK
        completionTokens = requestsOK
        spend = requestsOK
        for group in buckets {
            guard let bucket = index[group.group] else { continue }
            requestsOK[bucket] = Double(group.requests - group.errors)
            requestsFailed[bucket] = Double(group.errors)
            promptTokens[bucket] = Double(group.promptTokens)
            completionTokens[bucket] = Double(group.completionTokens)
            spend[bucket] = group.cost.approximateDollars
            totalRequests += group.requests
            totalErrors += group.errors
            totalTokens += group.promptTokens + group.completionTokens
            totalCost += group.cost
        }

        var rows = Dictionary(uniqueKeysWithValues: models.map { group in
            (group.group, ModelRow(model: group.group, requests: group.requests, errors: group.errors,
                                   tokens: group.promptTokens + group.completionTokens, cost: group.cost))
        })
        for sample in samples where sample.status < 400 {
            rows[sample.model]?.latencies.append(sample.latencyMs)
            if let ttft = sample.ttftMs { rows[sample.model]?.ttfts.append(ttft) }
        }
        sampled = samples.count >= Self.sampleLimit
        byModel = rows.values.sorted { ($0.requests, $0.model) > ($1.requests, $1.model) }
        byKey = keys.sorted { ($0.requests, $0.group) > ($1.requests, $1.group) }
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

    /// `2026-11-25 14:02:17 UTC`, by hand: a `DateFormatter` per row cost more than the rest of the logs page.
    static func time(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(parts.tm_year + 1900)-\(two(parts.tm_mon + 1))-\(two(parts.tm_mday)) \(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) UTC"
    }
}
