import Foundation
import GateRouterCatalog
import GateRouterWire

/// Prices a completion's usage from the catalog, exactly.
///
/// Each usage field has its own price: uncached input, cache reads, cache writes, output and reasoning (reasoning
/// tokens are part of `completionTokens`, billed at the output price unless the catalog gives a reasoning price).
/// Arithmetic is in `Decimal` (USD per million tokens) and the result is rounded once, to the picodollar.
public enum CostCalculator {
    public static func cost(of usage: Usage, pricing: Pricing) -> Picodollars {
        guard pricing.isPriced else { return .zero }
        let cached = max(0, usage.cachedTokens ?? 0)
        let cacheWrite = max(0, usage.cacheWriteTokens ?? 0)
        let uncached = max(0, usage.promptTokens - cached - cacheWrite)
        let reasoning = min(max(0, usage.reasoningTokens ?? 0), max(0, usage.completionTokens))
        let output = max(0, usage.completionTokens - reasoning)
        if let prices = pricing.perToken, let exact = exactCost(prices, uncached, cached, cacheWrite, output, reasoning) {
            return exact
        }
        var total = Decimal(uncached) * pricing.input
        total += Decimal(cached) * pricing.cachedInput
        total += Decimal(cacheWrite) * pricing.cacheWrite
        total += Decimal(output) * pricing.output
        total += Decimal(reasoning) * (pricing.reasoning ?? pricing.output)
        return Picodollars(usd: total / Decimal(1_000_000))
    }

    /// Integer picodollars, or nil on overflow (the `Decimal` path then rounds as before).
    private static func exactCost(
        _ prices: Pricing.TokenPrices, _ uncached: Int, _ cached: Int, _ cacheWrite: Int, _ output: Int, _ reasoning: Int
    ) -> Picodollars? {
        var total: Int64 = 0
        func add(_ count: Int, _ rate: Int64) -> Bool {
            let (product, overflow) = Int64(count).multipliedReportingOverflow(by: rate)
            let (sum, sumOverflow) = total.addingReportingOverflow(product)
            total = sum
            return !overflow && !sumOverflow
        }
        guard add(uncached, prices.input), add(cached, prices.cachedInput), add(cacheWrite, prices.cacheWrite), add(output, prices.output),
              add(reasoning, prices.reasoning)
        else { return nil }
        return Picodollars(total)
    }
}
