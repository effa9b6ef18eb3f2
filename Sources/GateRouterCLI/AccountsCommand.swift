import ArgumentParser
import Foundation
import GateRouterServer
import GateRouterStorage

struct AccountsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "accounts",
        abstract: "Create, list, credit and suspend accounts.",
        subcommands: [Create.self, List.self, Credit.self, Suspend.self, Resume.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account and print its id.")

        @OptionGroup var store: StoreOptions

        @Option(help: "The account's name.")
        var name: String

        @Option(help: "Starting credit in USD; makes the account prepaid.")
        var balance: String?

        @Flag(help: "Prepaid (spends a balance) rather than unlimited (metered only).")
        var prepaid = false

        func run() async throws {
            let amount = try balance.map { try parseUSD($0, option: "--balance") }
            let account = Account(id: Account.makeID(), name: name, prepaid: prepaid || amount != nil, balance: amount ?? .zero)
            try await store.withState { try await $0.store.insertAccount(account) }
            print(account.id)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List accounts with their balances.")

        @OptionGroup var store: StoreOptions

        func run() async throws {
            let accounts = try await store.withState { try await $0.store.accounts() }
            printTable(
                ["ID", "NAME", "KIND", "BALANCE (USD)", "STATUS", "CREATED"],
                accounts.map {
                    [$0.id, $0.name, $0.prepaid ? "prepaid" : "unlimited", $0.prepaid ? $0.balance.usd : "-", $0.suspended ? "suspended" : "active", formatDate($0.createdAt)]
                }
            )
        }
    }

    struct Credit: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add credit (or, negative, remove it) and print the new balance.")

        @OptionGroup var store: StoreOptions

        @Argument(help: "The account id.")
        var id: String

        @Argument(help: "USD, e.g. 25 or 0.50.")
        var amount: String

        func run() async throws {
            let value = try parseUSD(amount, option: "amount")
            let balance = try await store.withState { try await $0.store.addCredits(accountID: id, amount: value) }
            guard let balance else { throw ValidationError("no account with id '\(id)'") }
            print(balance.usd)
        }
    }

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suspend an account: its keys are refused within a second.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The account id.") var id: String
        func run() async throws { try await AccountsCommand.setSuspended(true, id: id, store: store) }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resume a suspended account.")
        @OptionGroup var store: StoreOptions
        @Argument(help: "The account id.") var id: String
        func run() async throws { try await AccountsCommand.setSuspended(false, id: id, store: store) }
    }

    static func setSuspended(_ suspended: Bool, id: String, store: StoreOptions) async throws {
        try await store.withState { state in
            guard var account = try await state.store.accounts().first(where: { $0.id == id }) else { throw ValidationError("no account with id '\(id)'") }
            account.suspended = suspended
            try await state.store.updateAccount(account)
        }
        print("\(suspended ? "suspended" : "resumed") \(id)")
    }
}
