import HTTPTypes

/// Header names the gateway reads or sets.
extension HTTPField.Name {
    static let requestID = Self("x-request-id")!
    static let xForwardedFor = Self("x-forwarded-for")!
    static let upstreamModel = Self("x-gaterouter-upstream-model")!
    static let gatewayModel = Self("x-gaterouter-model")!
    static let gatewayProvider = Self("x-gaterouter-provider")!
    static let adapted = Self("x-gaterouter-adapted")!
    static let gatewayStrategy = Self("x-gaterouter-strategy")!
    static let gatewayTier = Self("x-gaterouter-tier")!
    static let gatewayAttempts = Self("x-gaterouter-attempts")!
    static let gatewayRoute = Self("x-gaterouter-route")!
    static let xAPIKey = Self("x-api-key")!
    static let accelBuffering = Self("x-accel-buffering")!
    static let csrfToken = Self("x-csrf-token")!
    static let xForwardedProto = Self("x-forwarded-proto")!
    static let secFetchSite = Self("sec-fetch-site")!
    static let xFrameOptions = Self("x-frame-options")!
    static let referrerPolicy = Self("referrer-policy")!
}
