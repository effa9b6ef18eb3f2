import AsyncHTTPClient
import Foundation
import GateRouterCatalog
import GateRouterServer
import GateRouterStorage
import GateRouterWire
import NIOCore
import NIOHTTP1
import Testing

extension GatewayHarness {
    func admin(_ method: HTTPMethod, _ path: String, body: String? = nil) async throws -> Reply {
        try await request(method, "/admin/v1" + path, body: body, key: .some(adminToken))
    }

    /// A new account (prepaid with `balance` when given) and an inference key for it.
    func makeAccount(name: String, balance: String?, limits: String = "{}") async throws -> (id: String, key: String, keyID: String) {
        let body = balance.map { #"{"name":"\#(name)","prepaid":true,"balance":"\#($0)"}"# } ?? #"{"name":"\#(name)"}"#
        let account = try await admin(.POST, "/accounts", body: body)
        try #require(account.status == 201, "\(account.body)")
        let id = try #require(account.json?["id"] as? String)
        let key = try await admin(.POST, "/keys", body: #"{"account_id":"\#(id)","name":"k","limits":\#(limits)}"#)
        try #require(key.status == 201, "\(key.body)")
        return (id, try #require(key.json?["key"] as? String), try #require(key.json?["id"] as? String))
    }

    /// The ledger records of an account, once there are `count` of them (records are written behind responses).
    func ledger(account: String, count: Int, timeout: Duration = .seconds(15)) async throws -> [[String: Any]] {
        let deadline = ContinuousClock.now + timeout
        var records: [[String: Any]] = []
        while ContinuousClock.now < deadline {
            let reply = try await admin(.GET, "/usage?account_id=\(account)&limit=1000")
            records = reply.json?["data"] as? [[String: Any]] ?? []
            if records.count >= count { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        return records
    }
}

extension GatewayHarness {
    /// Reads a streamed chat answer in a task of its own; `seen` gets an element once the body contains `marker` (and
    /// finishes when the reader ends), so a test can leave the stream at a known point by cancelling the task.
    func readStream(_ body: String, key: String, marker: String) -> (reader: Task<Void, any Error>, seen: AsyncStream<Void>) {
        var request = rawChatRequest(body)
        request.headers.replaceOrAdd(name: "authorization", value: "Bearer \(key)")
        let (seen, continuation) = AsyncStream<Void>.makeStream()
        let client = self.client
        let reader = Task {
            defer { continuation.finish() }
            let response = try await client.execute(request, timeout: .seconds(30))
            var received = ""
            for try await part in response.body {
                received += String(buffer: part)
                if received.contains(marker) { continuation.yield() }
            }
        }
        return (reader, seen)
    }
}

func usd(_ value: Any?) -> Decimal {
    (value as? String).flatMap { Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX")) } ?? -1
}

@Suite struct MeteringTests {
    static let model = "deepseek/deepseek-v3.2"

    @Test func everyRequestWritesExactlyOneRecordAndTheBalanceDropsByTheirCost() async throws {
        try await withGateway { gateway in
            let account = try await gateway.makeAccount(name: "ledger", balance: "5")
            let long = #""mock":{"reply":"\#(String(repeating: "slow words ", count: 200))","token_delay_ms":20}"#
            enum Kind: CaseIterable { case json, stream, streamWithUsage, failing, cancelled, noUsage }
            let kinds = Kind.allCases.flatMap { Array(repeating: $0, count: 6) }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for (index, kind) in kinds.enumerated() {
                    group.addTask {
                        let message = #"{"role":"user","content":"request \#(index) \#(String(repeating: "x", count: index * 7))"}"#
                        switch kind {
                        case .json:
                            let reply = try await gateway.chat(#"{"model":"\#(Self.model)","messages":[\#(message)]}"#, key: .some(account.key))
                            #expect(reply.status == 200)
                            let cost = (reply.json?["usage"] as? [String: Any])?["cost"]
                            #expect(cost is NSNumber, "usage.cost is reported on the response")
                        case .stream, .streamWithUsage:
                            let options = kind == .streamWithUsage ? #","stream_options":{"include_usage":true}"# : ""
                            let reply = try await gateway.chat(#"{"model":"\#(Self.model)","stream":true\#(options),"messages":[\#(message)]}"#, key: .some(account.key))
                            #expect(reply.status == 200 && reply.body.contains("[DONE]"))
                            if kind == .streamWithUsage {
                                let usageChunk = reply.events.compactMap(\.jsonObject).first { $0["usage"] is [String: Any] }
                                #expect((usageChunk?["usage"] as? [String: Any])?["cost"] is NSNumber)
                            }
                        case .failing:
                            let reply = try await gateway.chat(#"{"model":"\#(Self.model)","messages":[\#(message)],"mock":{"status":400}}"#, key: .some(account.key))
                            #expect(reply.status == 400)
                        case .noUsage:
                            let reply = try await gateway.chat(#"{"model":"\#(Self.model)","stream":true,"messages":[\#(message)],"mock":{"no_usage":true}}"#, key: .some(account.key))
                            #expect(reply.status == 200)
                        case .cancelled:
                            let (reader, contentSeen) = gateway.readStream(
                                #"{"model":"\#(Self.model)","stream":true,"messages":[\#(message)],\#(long)}"#, key: account.key, marker: "slow"
                            )
                            // Leave once content has arrived (not after a fixed time: on a loaded machine the request
                            // may not even have reached the gateway by then, and there would be nothing to meter).
                            var sawContent = false
                            for await _ in contentSeen {
                                sawContent = true
                                break
                            }
                            #expect(sawContent)
                            reader.cancel()
                            _ = await reader.result
                        }
                    }
                }
                try await group.waitForAll()
            }

            let records = try await gateway.ledger(account: account.id, count: kinds.count)
            #expect(records.count == kinds.count, "one record per request")
            #expect(Set(records.compactMap { $0["id"] as? String }).count == kinds.count, "no record twice")
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await gateway.ledger(account: account.id, count: kinds.count + 1, timeout: .milliseconds(200)).count == kinds.count)

            // Tokens billed from upstream reports add up to what the mock reported, priced from the catalog.
            let reported = gateway.mock.reportedUsage
            let measured = records.filter { ($0["estimated"] as? Bool) == false && ($0["status"] as? Int) == 200 }
            #expect(measured.count == 18, "json, streams with and without include_usage")
            #expect(reported.count == measured.count)
            #expect(measured.reduce(0) { $0 + ($1["prompt_tokens"] as? Int ?? 0) } == reported.reduce(0) { $0 + $1.promptTokens })
            #expect(measured.reduce(0) { $0 + ($1["completion_tokens"] as? Int ?? 0) } == reported.reduce(0) { $0 + $1.completionTokens })
            let pricing = try #require(try ModelCatalog.bundled().model(named: Self.model)?.pricing)
            let expected = reported.reduce(Picodollars.zero) { $0 + CostCalculator.cost(of: $1, pricing: pricing) }
            let billedMeasured = measured.reduce(Decimal(0)) { $0 + usd($1["cost"]) }
            #expect(billedMeasured == Decimal(string: expected.usd), "exact decimal cost")

            // Failed requests are recorded with their status and no cost; cancelled and usage-less streams are
            // counted by the gateway and marked estimated.
            #expect(records.filter { ($0["status"] as? Int) == 400 }.count == 6)
            let estimated = records.filter { ($0["estimated"] as? Bool) == true }
            #expect(estimated.count == 12)
            #expect(estimated.allSatisfy { ($0["completion_tokens"] as? Int ?? 0) > 0 && usd($0["cost"]) > 0 })
            #expect(records.filter { ($0["cancelled"] as? Bool) == true }.count == 6)

            // The balance dropped by exactly the total cost.
            let total = records.reduce(Decimal(0)) { $0 + usd($1["cost"]) }
            try await Task.sleep(for: .milliseconds(1200))  // a balance reload from the store
            let after = try await gateway.admin(.GET, "/accounts/\(account.id)")
            #expect(usd(after.json?["balance"]) == Decimal(5) - total)
        }
    }

    /// A client that leaves a stream is metered as cancelled long before the upstream would have finished, whether it
    /// leaves before the response starts (the upstream is still silent) or in the middle of the content.
    @Test(arguments: [false, true]) func aClientThatLeavesAStreamIsMeteredAtOnce(midStream: Bool) async throws {
        try await withGateway { gateway in
            let account = try await gateway.makeAccount(name: "leaver", balance: "5")
            // About eight seconds of tokens, after a first token that comes late when the client leaves early.
            let latency = midStream ? 0 : 1500
            let mock = #""mock":{"reply":"\#(String(repeating: "slow words ", count: 200))","token_delay_ms":20,"latency_ms":\#(latency)}"#
            let (reader, contentSeen) = gateway.readStream(
                #"{"model":"\#(Self.model)","stream":true,"messages":[{"role":"user","content":"hi"}],\#(mock)}"#, key: account.key, marker: "slow"
            )
            if midStream {
                for await _ in contentSeen { break }
            } else {
                // The upstream has the request and is still silent.
                let deadline = ContinuousClock.now + .seconds(10)
                while gateway.mock.receivedRequests.isEmpty, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
                try #require(gateway.mock.receivedRequests.count == 1)
            }
            let left = ContinuousClock.now
            reader.cancel()
            _ = await reader.result
            let records = try await gateway.ledger(account: account.id, count: 1, timeout: .seconds(6))
            let elapsed = ContinuousClock.now - left
            try #require(records.count == 1, "the stream is metered once the client has left")
            #expect(elapsed < .seconds(4), "the gateway notices at once, not when the upstream ends: \(elapsed)")
            let record = records[0]
            #expect(record["cancelled"] as? Bool == true)
            #expect(record["error"] as? String == "client_closed_request")
            if midStream {
                #expect(record["estimated"] as? Bool == true)
                #expect((record["completion_tokens"] as? Int ?? 0) > 0 && usd(record["cost"]) > 0, "what was streamed is billed")
            }
        }
    }

    @Test func anExhaustedBalanceIsRefusedWithInsufficientQuotaAndCreditsRestoreIt() async throws {
        try await withGateway { gateway in
            let account = try await gateway.makeAccount(name: "tiny", balance: "0.000001")
            let body = #"{"model":"\#(Self.model)","messages":[{"role":"user","content":"\#(String(repeating: "hello ", count: 100))"}]}"#
            let first = try await gateway.chat(body, key: .some(account.key))
            #expect(first.status == 200)
            let refused = try await gateway.chat(body, key: .some(account.key))
            #expect(refused.status == 429)
            #expect(refused.error?["code"] as? String == "insufficient_quota")
            #expect(refused.error?["type"] as? String == "insufficient_quota")
            #expect(refused.headers["x-should-retry"] == "false")
            let upstreamCalls = gateway.mock.receivedRequests.count
            #expect(upstreamCalls == 1, "a refused request never reaches the upstream")

            let credited = try await gateway.admin(.POST, "/accounts/\(account.id)/credits", body: #"{"amount":"1.5"}"#)
            #expect(credited.status == 200)
            #expect(usd(credited.json?["balance"]) > 1)
            #expect(try await gateway.chat(body, key: .some(account.key)).status == 200)
            #expect(try await gateway.ledger(account: account.id, count: 3).count == 3, "the refused request is recorded too")
        }
    }

    @Test func keyBudgetAndRateLimitsHoldWithTheGatewaysOwnHeaders() async throws {
        try await withGateway { gateway in
            let limited = try await gateway.makeAccount(name: "limited", balance: nil, limits: #"{"requests_per_minute":3}"#)
            let body = #"{"model":"\#(Self.model)","messages":[{"role":"user","content":"hi"}]}"#
            // Windows are fixed Unix minutes: five requests straddling a new minute would rightly get 4 or 5 through.
            let second = Int(Date().timeIntervalSince1970) % 60
            if second > 55 { try await Task.sleep(for: .seconds(61 - second)) }
            var statuses: [Int] = []
            var last: GatewayHarness.Reply?
            for _ in 0..<5 {
                let reply = try await gateway.chat(body, key: .some(limited.key))
                statuses.append(reply.status)
                last = reply
            }
            #expect(statuses == [200, 200, 200, 429, 429])
            let refused = try #require(last)
            #expect(refused.error?["code"] as? String == "rate_limit_exceeded")
            #expect(Int(refused.headers["retry-after"] ?? "") ?? 0 >= 1)
            #expect(refused.headers["x-ratelimit-limit-requests"] == "3")
            #expect(refused.headers["x-ratelimit-remaining-requests"] == "0")

            let budgeted = try await gateway.makeAccount(name: "budget", balance: nil, limits: #"{"budget":"0.0000001","budget_period":"day"}"#)
            #expect(try await gateway.chat(body, key: .some(budgeted.key)).status == 200)
            let overBudget = try await gateway.chat(body, key: .some(budgeted.key))
            #expect(overBudget.status == 429)
            #expect(overBudget.error?["code"] as? String == "insufficient_quota")
            #expect(overBudget.errorMessage?.contains("daily budget") == true)

            let restricted = try await gateway.makeAccount(name: "models", balance: nil, limits: #"{"allowed_models":["openai/*"]}"#)
            let forbidden = try await gateway.chat(body, key: .some(restricted.key))
            #expect(forbidden.status == 403)
            #expect(forbidden.error?["code"] as? String == "model_not_allowed")
        }
    }

    @Test func revokedAndExpiredKeysStopOnTheNextRequest() async throws {
        try await withGateway { gateway in
            let account = try await gateway.makeAccount(name: "revoke", balance: nil)
            let body = #"{"model":"\#(Self.model)","messages":[{"role":"user","content":"hi"}]}"#
            #expect(try await gateway.chat(body, key: .some(account.key)).status == 200)
            #expect(try await gateway.admin(.DELETE, "/keys/\(account.keyID)").status == 200)
            let revoked = try await gateway.chat(body, key: .some(account.key))
            #expect(revoked.status == 401)
            #expect(revoked.error?["code"] as? String == "invalid_api_key")

            let expiry = Int(Date().timeIntervalSince1970) + 3
            let expiring = try await gateway.admin(.POST, "/keys", body: #"{"account_id":"\#(account.id)","expires_at":\#(expiry)}"#)
            let key = try #require(expiring.json?["key"] as? String)
            #expect(try await gateway.chat(body, key: .some(key)).status == 200)
            try await Task.sleep(for: .milliseconds(Int((Double(expiry) - Date().timeIntervalSince1970) * 1000) + 100))
            let expired = try await gateway.chat(body, key: .some(key))
            #expect(expired.status == 401)
            #expect(expired.error?["code"] as? String == "expired_api_key")
        }
    }

    @Test func aKeyReadsOnlyItsOwnAccountAndOnlyManageKeysChangeIt() async throws {
        try await withGateway { gateway in
            let a = try await gateway.makeAccount(name: "A", balance: "1")
            let b = try await gateway.makeAccount(name: "B", balance: "1")
            let body = #"{"model":"\#(Self.model)","messages":[{"role":"user","content":"hi"}]}"#
            #expect(try await gateway.chat(body, key: .some(a.key)).status == 200)
            #expect(try await gateway.chat(body, key: .some(b.key)).status == 200)
            _ = try await gateway.ledger(account: a.id, count: 1)
            _ = try await gateway.ledger(account: b.id, count: 1)

            let account = try await gateway.request(.GET, "/api/v1/account", key: .some(a.key))
            #expect(account.json?["id"] as? String == a.id)
            let usage = try await gateway.request(.GET, "/api/v1/usage?account_id=\(b.id)", key: .some(a.key))
            let records = usage.json?["data"] as? [[String: Any]] ?? []
            #expect(records.count == 1 && records.allSatisfy { $0["account_id"] as? String == a.id }, "account_id cannot widen the view")
            let keys = try await gateway.request(.GET, "/api/v1/keys", key: .some(a.key))
            #expect((keys.json?["data"] as? [[String: Any]])?.map { $0["id"] as? String } == [a.keyID])
            #expect(!keys.body.contains(b.keyID))

            // An account's first key manages it; later keys are inference keys and cannot. Another account's key id
            // is "not found", not "forbidden".
            #expect((try await gateway.request(.GET, "/api/v1/keys", key: .some(a.key)).json?["data"] as? [[String: Any]])?.first?["scope"] as? String == "manage")
            let reader = try await gateway.admin(.POST, "/keys", body: #"{"account_id":"\#(a.id)"}"#)
            #expect(reader.json?["scope"] as? String == "inference")
            let readerKey = try #require(reader.json?["key"] as? String)
            #expect(try await gateway.request(.POST, "/api/v1/keys", body: "{}", key: .some(readerKey)).status == 403)
            #expect(try await gateway.request(.DELETE, "/api/v1/keys/\(a.keyID)", key: .some(readerKey)).status == 403)
            #expect(try await gateway.request(.GET, "/api/v1/usage", key: .some(readerKey)).status == 200)
            #expect(try await gateway.request(.GET, "/admin/v1/accounts", key: .some(a.key)).status == 401)
            let managerKey = a.key
            #expect(try await gateway.request(.DELETE, "/api/v1/keys/\(b.keyID)", key: .some(managerKey)).status == 404)
            let created = try await gateway.request(.POST, "/api/v1/keys", body: #"{"name":"ci"}"#, key: .some(managerKey))
            #expect(created.status == 201 && created.json?["account_id"] as? String == a.id && created.json?["scope"] as? String == "inference")
            let settings = try await gateway.request(.PATCH, "/api/v1/settings", body: #"{"auto_routing":false}"#, key: .some(managerKey))
            #expect(settings.status == 200 && settings.json?["account_id"] as? String == a.id)
            #expect(try await gateway.admin(.GET, "/settings?account_id=\(b.id)").json?["auto_routing"] as? Bool == true)
            #expect(try await gateway.chat(#"{"model":"auto","messages":[{"role":"user","content":"hi"}]}"#, key: .some(a.key)).errorMessage?.contains("auto routing is not enabled") == true)
        }
    }

    @Test func usageGroupsPagesAndExportsAsCSV() async throws {
        try await withGateway { gateway in
            let account = try await gateway.makeAccount(name: "usage", balance: nil)
            let body = #"{"model":"\#(Self.model)","messages":[{"role":"user","content":"hi"}]}"#
            for _ in 0..<5 { #expect(try await gateway.chat(body, key: .some(account.key)).status == 200) }
            _ = try await gateway.ledger(account: account.id, count: 5)

            var seen: [String] = []
            var cursor: String?
            repeat {
                let page = try await gateway.admin(.GET, "/usage?account_id=\(account.id)&limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""))
                seen += (page.json?["data"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
                cursor = page.json?["next_cursor"] as? String
            } while cursor != nil
            #expect(seen.count == 5 && Set(seen).count == 5, "paging returns each record once")

            let byModel = try await gateway.admin(.GET, "/usage?account_id=\(account.id)&group_by=model")
            let groups = byModel.json?["data"] as? [[String: Any]] ?? []
            #expect(groups.count == 1 && groups.first?["group"] as? String == Self.model && groups.first?["requests"] as? Int == 5)
            let byDay = try await gateway.admin(.GET, "/usage?account_id=\(account.id)&group_by=day")
            #expect((byDay.json?["data"] as? [[String: Any]])?.first?["requests"] as? Int == 5)

            let csv = try await gateway.admin(.GET, "/usage?account_id=\(account.id)&format=csv")
            #expect(csv.headers["content-type"]?.hasPrefix("text/csv") == true)
            let lines = csv.body.split(separator: "\r\n")
            #expect(lines.count == 6 && lines.first?.hasPrefix("id,created,account_id") == true)

            let bad = try await gateway.admin(.GET, "/usage?group_by=week")
            #expect(bad.status == 400 && bad.error?["param"] as? String == "group_by")
        }
    }
}
