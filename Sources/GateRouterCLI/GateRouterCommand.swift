import ArgumentParser

/// `gaterouter`: the command-line shell. Each subcommand parses its flags and calls into the libraries.
@main
struct GateRouterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gaterouter",
        abstract: "A self-hosted, OpenAI-compatible LLM gateway.",
        subcommands: [ServeCommand.self, MockProviderCommand.self, KeysCommand.self, AccountsCommand.self, UsageCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
