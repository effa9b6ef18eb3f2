import GateRouterCatalog
import GateRouterProviders
import GateRouterRouting
import Foundation
import Yams

/// The YAML config file (`--config FILE` or `GATEROUTER_CONFIG`). Every key is optional.
///
/// ```yaml
/// server:   { host: 127.0.0.1, port: 8090, data_dir: ./gaterouter-data, max_body_bytes: 33554432,
///             client_idle_timeout_seconds: 120, cors_allowed_origins: [], trust_forwarded_headers: false }
/// upstream: { connect_timeout_seconds: 10, idle_timeout_seconds: 300, request_timeout_seconds: 900 }
/// routing:  { default_model: openai/gpt-5-mini }
/// providers:
///   openai: { api_key: sk-… }                       # or OPENAI_API_KEY
///   ollama: { kind: openai-compatible, base_url: http://127.0.0.1:11434/v1 }
/// models:                                           # add models or override catalog fields
///   - { id: ollama/llama3.2, context_length: 131072 }
/// ```
public struct ConfigFile: Sendable, Decodable {
    public struct Server: Sendable, Decodable {
        var host: String?
        var port: Int?
        var dataDir: String?
        var maxBodyBytes: Int?
        var clientIdleTimeoutSeconds: Int?
        var corsAllowedOrigins: [String]?
        var trustForwardedHeaders: Bool?
        enum CodingKeys: String, CodingKey {
            case host, port
            case dataDir = "data_dir"
            case maxBodyBytes = "max_body_bytes"
            case clientIdleTimeoutSeconds = "client_idle_timeout_seconds"
            case corsAllowedOrigins = "cors_allowed_origins"
            case trustForwardedHeaders = "trust_forwarded_headers"
        }
    }

    public struct Upstream: Sendable, Decodable {
        var connectTimeoutSeconds: Int?
        var idleTimeoutSeconds: Int?
        var requestTimeoutSeconds: Int?
        var maxConnectionsPerHost: Int?
        enum CodingKeys: String, CodingKey {
            case connectTimeoutSeconds = "connect_timeout_seconds"
            case idleTimeoutSeconds = "idle_timeout_seconds"
            case requestTimeoutSeconds = "request_timeout_seconds"
            case maxConnectionsPerHost = "max_connections_per_host"
        }
    }

    public struct Routing: Sendable, Decodable {
        var defaultModel: String?
        var maxAttempts: Int?
        var stallTimeoutSeconds: Double?
        var keepAliveSeconds: Double?
        var deadlineSeconds: Double?
        var attemptTimeoutSeconds: Double?
        var breakerFailures: Int?
        var breakerCooldownSeconds: Double?
        enum CodingKeys: String, CodingKey {
            case defaultModel = "default_model"
            case maxAttempts = "max_attempts"
            case stallTimeoutSeconds = "stall_timeout_seconds"
            case keepAliveSeconds = "keep_alive_seconds"
            case deadlineSeconds = "deadline_seconds"
            case attemptTimeoutSeconds = "attempt_timeout_seconds"
            case breakerFailures = "breaker_failures"
            case breakerCooldownSeconds = "breaker_cooldown_seconds"
        }
    }

    var server: Server?
    var upstream: Upstream?
    var routing: Routing?
    var providers: [String: ProviderConfigEntry]?
    var models: [CatalogModelOverride]?

    public init() {}

    /// Parses a config document.
    public init(yaml: String) throws {
        if yaml.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            self.init()
            return
        }
        do {
            self = try YAMLDecoder().decode(ConfigFile.self, from: yaml)
        } catch {
            throw ConfigurationError("the config file is not valid: \(error)")
        }
    }
}

/// Settings given on the command line; each beats the environment, which beats the config file.
public struct CommandLineSettings: Sendable {
    public var host: String?
    public var port: Int?
    public var dataDirectory: String?
    public var configFile: String?
    public var isDemo: Bool

    public init(host: String? = nil, port: Int? = nil, dataDirectory: String? = nil, configFile: String? = nil, isDemo: Bool = false) {
        self.host = host
        self.port = port
        self.dataDirectory = dataDirectory
        self.configFile = configFile
        self.isDemo = isDemo
    }
}

public struct ConfigurationError: Error, Sendable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

extension GatewayConfiguration {
    /// Merges command-line flags, `GATEROUTER_*` variables, the config file and the bundled catalog.
    /// - Parameter environment: the process environment, passed in so nothing deeper reads it.
    public static func load(commandLine: CommandLineSettings, environment: [String: String]) throws -> GatewayConfiguration {
        let configPath = commandLine.configFile ?? environment["GATEROUTER_CONFIG"]
        var file = ConfigFile()
        if let configPath {
            guard let text = try? String(contentsOfFile: configPath, encoding: .utf8) else {
                throw ConfigurationError("cannot read the config file at \(configPath)")
            }
            file = try ConfigFile(yaml: text)
        }
        return try resolve(file: file, commandLine: commandLine, environment: environment)
    }

    /// The configuration a parsed config file, flags and environment give.
    public static func resolve(file: ConfigFile, commandLine: CommandLineSettings, environment: [String: String]) throws -> GatewayConfiguration {
        func envInt(_ name: String) throws -> Int? {
            guard let text = environment[name], !text.isEmpty else { return nil }
            guard let value = Int(text) else { throw ConfigurationError("\(name) must be a whole number, got '\(text)'") }
            return value
        }
        let host = commandLine.host ?? environment["GATEROUTER_HOST"] ?? file.server?.host ?? "127.0.0.1"
        let port = try commandLine.port ?? envInt("GATEROUTER_PORT") ?? file.server?.port ?? 8090
        guard (0...65535).contains(port) else { throw ConfigurationError("port must be between 0 and 65535, got \(port)") }
        let dataDirectory = commandLine.dataDirectory ?? environment["GATEROUTER_DATA_DIR"] ?? file.server?.dataDir ?? "./gaterouter-data"

        var limits = Limits()
        if let value = file.server?.maxBodyBytes { limits.maxRequestBodyBytes = value }
        if let value = file.server?.clientIdleTimeoutSeconds { limits.clientIdleTimeout = .seconds(value) }
        if let value = file.upstream?.connectTimeoutSeconds { limits.upstreamConnectTimeout = .seconds(value) }
        if let value = file.upstream?.idleTimeoutSeconds { limits.upstreamIdleTimeout = .seconds(value) }
        if let value = file.upstream?.requestTimeoutSeconds { limits.upstreamRequestTimeout = .seconds(value) }
        if let value = file.upstream?.maxConnectionsPerHost { limits.upstreamConnectionsPerHost = max(1, value) }

        var routing = RoutingLimits()
        if let value = file.routing?.maxAttempts { routing.maxAttempts = max(1, value) }
        if let value = file.routing?.stallTimeoutSeconds { routing.stallTimeout = .milliseconds(Int(value * 1000)) }
        if let value = file.routing?.keepAliveSeconds { routing.keepAliveInterval = .milliseconds(Int(value * 1000)) }
        if let value = file.routing?.deadlineSeconds { routing.deadline = .milliseconds(Int(value * 1000)) }
        if let value = file.routing?.attemptTimeoutSeconds { routing.attemptTimeout = .milliseconds(Int(value * 1000)) }
        if let value = file.routing?.breakerFailures { routing.breaker.failureThreshold = max(1, value) }
        if let value = file.routing?.breakerCooldownSeconds { routing.breaker.cooldown = .milliseconds(Int(value * 1000)) }

        let catalog = try ModelCatalog.bundled().merging(file.models ?? [])
        let providers = try ProviderSettings.resolveAll(config: file.providers ?? [:], environment: environment)
        let adminToken = environment["GATEROUTER_ADMIN_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
        let defaultModel = environment["GATEROUTER_DEFAULT_MODEL"] ?? file.routing?.defaultModel
        if let defaultModel, defaultModel != "auto", catalog.model(named: defaultModel) == nil, !defaultModel.contains("/") {
            throw ConfigurationError("routing.default_model '\(defaultModel)' is not in the catalog")
        }
        var configuration = GatewayConfiguration(
            host: host,
            port: port,
            dataDirectory: dataDirectory,
            limits: limits,
            routing: routing,
            corsAllowedOrigins: file.server?.corsAllowedOrigins ?? [],
            trustForwardedHeaders: file.server?.trustForwardedHeaders ?? false,
            adminToken: adminToken,
            defaultModel: defaultModel,
            providers: providers,
            catalog: catalog,
            isDemo: commandLine.isDemo
        )
        configuration.fastPath = !["0", "false", "off", "no"].contains(environment["GATEROUTER_FAST_PATH"]?.lowercased() ?? "")
        return configuration
    }

    /// The same configuration with every provider pointed at one simulated upstream (`serve --demo`).
    public func simulatingProviders(at baseURL: String) -> GatewayConfiguration {
        var copy = self
        copy.isDemo = true
        for (id, settings) in providers {
            let base: String = switch settings.kind {
            case .openAICompatible: baseURL + "/v1"
            case .anthropic, .gemini: baseURL
            }
            copy.providers[id] = ProviderSettings(id: id, kind: settings.kind, baseURL: base, apiKey: "demo", keyVariable: settings.keyVariable, requiresKey: false)
        }
        return copy
    }
}
