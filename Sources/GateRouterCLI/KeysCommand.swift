import ArgumentParser
import Foundation
import GateRouterServer
import GateRouterStorage

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys",
        abstract: "Create, list and revoke API keys in the data folder or database.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an API key and print it once.")

        @OptionGroup var store: StoreOptions

        @Option(help: "A name to recognise the key by.")
        var name = "cli key"

        @Option(help: "The account the key belongs to (default: the default account).")
        var account = Account.defaultAccountID

        @Option(help: "manage (may manage the account's keys and settings) or inference (default for all but an account's first key).")
        var scope: String?

        @Option(help: "Requests per minute.")
        var rpm: Int?

        @Option(help: "Tokens per minute.")
        var tpm: Int?

        @Option(help: "Spending budget in USD.")
        var budget: String?

        @Option(name: .customLong("budget-period"), help: "total, day or month (default total).")
        var budgetPeriod = "total"

        @Option(name: .customLong("allow-model"), help: "A model the key may call (repeat; `provider/*` allowed). Default: all.")
        var allowedModels: [String] = []

        @Option(name: .customLong("expires-in-days"), help: "Days until the key expires (default: never).")
        var expiresInDays: Double?

        func run() async throws {
            guard let period = BudgetPeriod(rawValue: budgetPeriod) else { throw ValidationError("--budget-period: use total, day or month") }
            let scope = try self.scope.map { text -> KeyScope in
                guard let scope = KeyScope(rawValue: text) else { throw ValidationError("--scope: use manage or inference") }
                return scope
            }
            let limits = KeyLimits(
                requestsPerMinute: rpm, tokensPerMinute: tpm, budget: try budget.map { try parseUSD($0, option: "--budget") },
                budgetPeriod: period, allowedModels: allowedModels
            )
            let issued = try await store.withState { state in
                guard try await state.store.accounts().contains(where: { $0.id == account }) else {
                    throw ValidationError("no account with id '\(account)' (see `gaterouter accounts list`)")
                }
                return try await KeyIssuer(store: state.store, cache: nil).issue(
                    accountID: account, name: name, scope: scope, limits: limits,
                    expiresAt: expiresInDays.map { Date().addingTimeInterval($0 * 86_400) }
                )
            }
            print(issued.secret)
            FileHandle.standardError.write(Data("created \(issued.record.id) (\(issued.record.scope.rawValue)) in account \(account); the key is shown once\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (never their secrets).")

        @OptionGroup var store: StoreOptions

        @Option(help: "Only this account's keys.")
        var account: String?

        func run() async throws {
            let keys = try await store.withState { try await $0.store.apiKeys() }.filter { account == nil || $0.accountID == account }
            printTable(
                ["ID", "ACCOUNT", "NAME", "PREFIX", "SCOPE", "CREATED", "LAST USED", "EXPIRES", "STATUS"],
                keys.map {
                    [
                        $0.id, $0.accountID, $0.name, $0.displayPrefix + "…", $0.scope.rawValue, formatDate($0.createdAt), formatDate($0.lastUsedAt),
                        formatDate($0.expiresAt), $0.revoked ? "revoked" : $0.isExpired(at: Date()) ? "expired" : "active",
                    ]
                }
            )
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key: a running gateway refuses it within a second.")

        @OptionGroup var store: StoreOptions

        @Argument(help: "The key's id (key_…), as `keys list` shows it.")
        var id: String

        func run() async throws {
            try await store.withState { state in
                guard var key = try await state.store.apiKeys().first(where: { $0.id == id }) else {
                    throw ValidationError("no key with id '\(id)'")
                }
                key.revoked = true
                try await state.store.updateAPIKey(key)
            }
            print("revoked \(id)")
        }
    }
}
