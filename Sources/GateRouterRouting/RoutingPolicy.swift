import Foundation

/// How auto routing trades quality, price and latency.
public enum RoutingStrategy: String, Sendable, Codable, CaseIterable {
    case balanced, price, latency

    /// Weights of the score's terms: ln(quality), −ln(cost), −ln(latency), ln(availability). Quality dominates in every
    /// strategy so a strategy reorders fitting models rather than sending hard work to weak ones.
    var weights: (quality: Double, price: Double, latency: Double, availability: Double) {
        switch self {
        case .balanced: (4, 1, 1, 2)
        case .price: (4, 3, 0.25, 2)
        case .latency: (4, 0.25, 3, 2)
        }
    }
}

/// An account's routing settings (stored with the account, cached in memory, applied on the next request).
public struct RoutingPolicy: Sendable, Equatable, Codable {
    public var strategy: RoutingStrategy
    /// When non-empty, only these providers (`openai`, `anthropic`, …) are candidates.
    public var allowedProviders: [String]
    public var blockedProviders: [String]
    /// When non-empty, only these catalog ids are candidates.
    public var allowedModels: [String]
    public var blockedModels: [String]
    /// The highest output price (USD per million tokens) a candidate may have; nil means no cap.
    public var maxOutputPrice: Decimal?
    /// Whether a failed attempt moves on to the next candidate (and a fixed model is retried once).
    public var fallback: Bool
    /// Hedging: when an attempt's time to first token runs past that model's recent p95, the next candidate starts in
    /// parallel and the first to produce content wins. At most this many extra requests per 100; 0 turns it off.
    public var hedgingPercent: Int

    public init(
        strategy: RoutingStrategy = .balanced, allowedProviders: [String] = [], blockedProviders: [String] = [],
        allowedModels: [String] = [], blockedModels: [String] = [], maxOutputPrice: Decimal? = nil, fallback: Bool = true,
        hedgingPercent: Int = 0
    ) {
        self.strategy = strategy
        self.allowedProviders = allowedProviders
        self.blockedProviders = blockedProviders
        self.allowedModels = allowedModels
        self.blockedModels = blockedModels
        self.maxOutputPrice = maxOutputPrice
        self.fallback = fallback
        self.hedgingPercent = hedgingPercent
    }

    enum CodingKeys: String, CodingKey {
        case strategy
        case allowedProviders = "allowed_providers"
        case blockedProviders = "blocked_providers"
        case allowedModels = "allowed_models"
        case blockedModels = "blocked_models"
        case maxOutputPrice = "max_output_price"
        case fallback
        case hedgingPercent = "hedging_percent"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        strategy = try container.decodeIfPresent(RoutingStrategy.self, forKey: .strategy) ?? .balanced
        allowedProviders = try container.decodeIfPresent([String].self, forKey: .allowedProviders) ?? []
        blockedProviders = try container.decodeIfPresent([String].self, forKey: .blockedProviders) ?? []
        allowedModels = try container.decodeIfPresent([String].self, forKey: .allowedModels) ?? []
        blockedModels = try container.decodeIfPresent([String].self, forKey: .blockedModels) ?? []
        maxOutputPrice = try container.decodeIfPresent(String.self, forKey: .maxOutputPrice).flatMap { Decimal(string: $0, locale: Locale(identifier: "en_US_POSIX")) }
        fallback = try container.decodeIfPresent(Bool.self, forKey: .fallback) ?? true
        hedgingPercent = try container.decodeIfPresent(Int.self, forKey: .hedgingPercent) ?? 0
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(strategy, forKey: .strategy)
        try container.encode(allowedProviders, forKey: .allowedProviders)
        try container.encode(blockedProviders, forKey: .blockedProviders)
        try container.encode(allowedModels, forKey: .allowedModels)
        try container.encode(blockedModels, forKey: .blockedModels)
        try container.encode(maxOutputPrice.map { "\($0)" }, forKey: .maxOutputPrice)
        try container.encode(fallback, forKey: .fallback)
        try container.encode(hedgingPercent, forKey: .hedgingPercent)
    }
}
