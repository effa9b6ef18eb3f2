import Foundation
import GateRouterCatalog
import GateRouterRouting
import GateRouterStorage
import Hummingbird

/// The data each console page shows, read through the same operations and cache the APIs use.
extension ConsoleController {
    func dashboard(_ session: ConsoleSession, _ request: Request, accountID: String?) async throws -> [String: Any] {
        let period = request.uri.queryParameters["period"].flatMap { ConsoleDashboard.Period(rawValue: String($0)) } ?? .week
        let now = Date()
        let query = UsageQuery(
            accountID: accountID, from: Date(timeIntervalSince1970: TimeInterval(ConsoleDashboard.start(of: period, now: now))),
            limit: ConsoleDashboard.sampleLimit
        )
        let store = operations.store
        async let buckets = store.usageGroups(query, by: period.grouping)
        async let models = store.usageGroups(query, by: .model)
        async let keys = store.usageGroups(query, by: .key)
        async let samples = store.latencySamples(query)
        let data = try await ConsoleDashboard(period: period, buckets: buckets, models: models, keys: keys, samples: samples, now: now)
        let keyNames = Dictionary(operations.authCache.keys(accountID: accountID).map { ($0.id, "\($0.name) (\($0.displayPrefix)…)") }, uniquingKeysWith: { $1 })

        var values: [String: Any] = [
            "periods": ConsoleDashboard.Period.allCases.map { ["value": $0.rawValue, "label": $0.label, "selected": $0 == period] },
            "periodLabel": period.label,
            "totalRequests": ConsoleFormat.count(Double(data.totalRequests)),
            "totalTokens": ConsoleFormat.count(Double(data.totalTokens)),
            "totalCost": ConsoleFormat.money(data.totalCost),
            "errorRate": ConsoleFormat.percent(data.errorRate),
            "sampled": data.sampled,
            "empty": data.totalRequests == 0,
            "requestsChart": SVGChart.columns(
                title: "Requests per \(period == .day ? "hour" : "day")", categories: data.bucketLabels,
                series: [.init(name: "answered", style: "s1", values: data.requestsOK), .init(name: "failed", style: "s3", values: data.requestsFailed)],
                wholeNumbers: true, format: ConsoleFormat.count
            ),
            "tokensChart": SVGChart.columns(
                title: "Tokens per \(period == .day ? "hour" : "day")", categories: data.bucketLabels,
                series: [.init(name: "prompt", style: "s1", values: data.promptTokens), .init(name: "completion", style: "s2", values: data.completionTokens)],
                wholeNumbers: true, format: ConsoleFormat.count
            ),
            "spendChart": SVGChart.columns(
                title: "Spend per \(period == .day ? "hour" : "day") (USD)", categories: data.bucketLabels,
                series: [.init(name: "spend", style: "s2", values: data.spend)], format: ConsoleFormat.dollars
            ),
            "modelSpendChart": SVGChart.bars(
                title: "Spend by model", items: data.byModel.prefix(10).map { ($0.model, $0.cost.approximateDollars, ConsoleFormat.money($0.cost)) }, style: "s2"
            ),
            "keyChart": SVGChart.bars(
                title: "Requests by key",
                items: data.byKey.prefix(10).map { (keyNames[$0.group] ?? $0.group, Double($0.requests), "\($0.requests) · \(ConsoleFormat.money($0.cost))") }
            ),
            "models": data.byModel.map { row -> [String: Any] in
                [
                    "model": row.model, "requests": row.requests, "tokens": ConsoleFormat.count(Double(row.tokens)),
                    "cost": ConsoleFormat.money(row.cost),
                    "p50": ConsoleFormat.milliseconds(ConsoleDashboard.percentile(row.latencies, 0.5)),
                    "p95": ConsoleFormat.milliseconds(ConsoleDashboard.percentile(row.latencies, 0.95)),
                    "ttft50": ConsoleFormat.milliseconds(ConsoleDashboard.percentile(row.ttfts, 0.5)),
                    "ttft95": ConsoleFormat.milliseconds(ConsoleDashboard.percentile(row.ttfts, 0.95)),
                    "errorRate": ConsoleFormat.percent(row.requests == 0 ? 0 : Double(row.errors) / Double(row.requests)),
                ]
            },
            "keys": data.byKey.map { row -> [String: Any] in
                ["key": keyNames[row.group] ?? row.group, "requests": row.requests, "tokens": ConsoleFormat.count(Double(row.promptTokens + row.completionTokens)), "cost": ConsoleFormat.money(row.cost)]
            },
        ]
        let latencyItems = data.byModel.prefix(8).flatMap { row -> [(label: String, value: Double, text: String)] in
            guard let p50 = ConsoleDashboard.percentile(row.latencies, 0.5), let p95 = ConsoleDashboard.percentile(row.latencies, 0.95) else { return [] }
            return [(row.model + " p50", Double(p50), ConsoleFormat.milliseconds(p50)), (row.model + " p95", Double(p95), ConsoleFormat.milliseconds(p95))]
        }
        values["latencyChart"] = SVGChart.bars(title: "Latency by model (p50 and p95)", items: latencyItems, style: "s4")
        if let accountID, let account = operations.authCache.account(accountID) {
            values["balance"] = account.prepaid
                ? ConsoleFormat.money(account.balance - operations.meter.spend.pending(accountID: accountID)) : "Unlimited"
        } else {
            values["balance"] = "\(operations.authCache.allAccounts().count) accounts"
            values["balanceLabel"] = "Accounts"
        }
        return values
    }

    func keys(_ session: ConsoleSession, accountID: String) -> [String: Any] {
        let now = Date()
        let keys = operations.authCache.keys(accountID: accountID).map { key -> [String: Any] in
            let limits = key.limits
            return [
                "id": key.id, "name": key.name, "prefix": key.displayPrefix, "scope": key.scope.rawValue,
                "created": ConsoleFormat.time(key.createdAt), "lastUsed": key.lastUsedAt.map(ConsoleFormat.time) ?? "never",
                "expires": key.expiresAt.map(ConsoleFormat.time) ?? "", "revoked": key.revoked, "expired": key.isExpired(at: now),
                "rpm": limits.requestsPerMinute.map(String.init) ?? "", "tpm": limits.tokensPerMinute.map(String.init) ?? "",
                "budget": limits.budget?.usd ?? "", "budgetPeriod": limits.budgetPeriod.rawValue,
                "allowedModels": limits.allowedModels.joined(separator: ", "),
                "spent": ConsoleFormat.money(operations.meter.spend.spent(keyID: key.id, period: limits.budgetPeriod, now: now)),
                "periods": BudgetPeriod.allCases.map { ["value": $0.rawValue, "selected": $0 == limits.budgetPeriod] },
                "current": { if case .key(let identity) = session.user { identity.key.id == key.id } else { false } }(),
            ]
        }
        return ["keys": keys, "canManage": canManage(session), "periods": BudgetPeriod.allCases.map { ["value": $0.rawValue] }]
    }

    func settings(_ session: ConsoleSession, accountID: String) -> [String: Any] {
        guard let account = operations.authCache.account(accountID) else { return [:] }
        let routing = account.routing
        return [
            "autoRouting": account.autoRouting, "strictParams": account.strictParams, "fallback": routing.fallback,
            "strategies": RoutingStrategy.allCases.map { ["value": $0.rawValue, "selected": $0 == routing.strategy] },
            "allowedProviders": routing.allowedProviders.joined(separator: ", "), "blockedProviders": routing.blockedProviders.joined(separator: ", "),
            "allowedModels": routing.allowedModels.joined(separator: ", "), "blockedModels": routing.blockedModels.joined(separator: ", "),
            "maxOutputPrice": routing.maxOutputPrice.map { "\($0)" } ?? "", "hedgingPercent": routing.hedgingPercent,
            "providers": configuration.providers.keys.sorted().joined(separator: ", "),
            "canManage": canManage(session),
        ]
    }

    func models() -> [String: Any] {
        let catalog = configuration.catalog.models
        let rows = catalog.map { model -> [String: Any] in
            let live = health.snapshot(model: model.id, provider: model.provider)
            let available = resolver.isAvailable(model)
            return [
                "id": model.id, "name": model.name, "provider": model.provider, "useCase": model.useCase.rawValue,
                "capabilities": model.capabilities.map(\.rawValue).joined(separator: " "),
                "context": ConsoleFormat.count(Double(model.contextLength)), "maxOutput": ConsoleFormat.count(Double(model.maxOutputTokens)),
                "input": model.pricing.isPriced ? "$\(model.pricing.input)" : "–", "output": model.pricing.isPriced ? "$\(model.pricing.output)" : "–",
                "available": available, "description": model.description,
                "ttft": live.samples > 0 ? live.timeToFirstToken.map { ConsoleFormat.milliseconds(Int($0 * 1000)) } ?? "–" : "–",
                "throughput": live.samples > 0 ? live.tokensPerSecond.map { String(format: "%.0f tok/s", $0) } ?? "–" : "–",
                "availability": live.samples > 0 ? ConsoleFormat.percent(1 - live.errorRate) : "–",
                "state": live.state == .closed ? "" : live.state.rawValue.replacingOccurrences(of: "_", with: " "),
                "samples": live.samples,
            ]
        }
        return [
            "models": rows, "count": catalog.count, "availableCount": catalog.filter(resolver.isAvailable).count,
            "providers": Set(catalog.map(\.provider)).sorted(),
            "useCases": UseCase.allCases.map(\.rawValue), "capabilities": Capability.allCases.map(\.rawValue),
        ]
    }

    func logs(_ request: Request, accountID: String?) async throws -> [String: Any] {
        let parameters = request.uri.queryParameters
        func text(_ name: String) -> String? { parameters[name[...]].map(String.init).flatMap { $0.isEmpty ? nil : $0 } }
        var query = UsageQuery(accountID: accountID, keyID: text("key"), model: text("model"), limit: 100)
        query.status = text("status").flatMap(Int.init)
        let records = try await operations.store.usage(query)
        let keys = operations.authCache.keys(accountID: accountID)
        let keyNames = Dictionary(keys.map { ($0.id, $0.name) }, uniquingKeysWith: { $1 })
        let rows = records.map { record -> [String: Any] in
            [
                "id": record.id, "time": ConsoleFormat.time(record.created), "requested": record.requestedModel, "model": record.model ?? "–",
                "provider": record.provider ?? "", "key": keyNames[record.keyID] ?? record.keyID, "status": record.status,
                "failed": record.status >= 400, "promptTokens": record.promptTokens, "completionTokens": record.completionTokens,
                "cost": ConsoleFormat.money(record.cost), "latency": ConsoleFormat.milliseconds(record.latencyMs),
                "ttft": ConsoleFormat.milliseconds(record.ttftMs), "route": record.route ?? "", "tier": record.tier ?? "",
                "attempts": record.attempts.map { "\($0.model) → \($0.outcome)" }.joined(separator: "; "),
                "error": record.error ?? "", "stream": record.stream, "estimated": record.estimated, "cancelled": record.cancelled,
            ]
        }
        return [
            "records": rows, "filterModel": text("model") ?? "", "filterStatus": text("status") ?? "",
            "keyChoices": [["id": "", "name": "All keys", "selected": text("key") == nil]]
                + keys.map { ["id": $0.id, "name": "\($0.name) (\($0.displayPrefix)…)", "selected": $0.id == text("key")] as [String: Any] },
        ]
    }

    func playground(_ session: ConsoleSession, accountID: String) -> [String: Any] {
        let autoOn = operations.authCache.account(accountID)?.autoRouting ?? false
        let models = configuration.catalog.models.filter(resolver.isAvailable).map { ["id": $0.id, "name": $0.name] }
        return ["models": models, "autoOn": autoOn, "adminNote": session.user.isAdmin]
    }

    func accounts() -> [String: Any] {
        let rows = operations.authCache.allAccounts().map { account -> [String: Any] in
            let pending = operations.meter.spend.pending(accountID: account.id)
            return [
                "id": account.id, "name": account.name, "prepaid": account.prepaid, "suspended": account.suspended,
                "balance": account.prepaid ? ConsoleFormat.money(account.balance - pending) : "unlimited",
                "autoRouting": account.autoRouting, "keys": operations.authCache.keys(accountID: account.id).filter { !$0.revoked }.count,
                "created": ConsoleFormat.time(account.createdAt),
            ]
        }
        return ["accounts": rows]
    }

    func canManage(_ session: ConsoleSession) -> Bool {
        switch session.user {
        case .admin: true
        case .key(let identity): identity.key.scope == .manage
        }
    }
}
