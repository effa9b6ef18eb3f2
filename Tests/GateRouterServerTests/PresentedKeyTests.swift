import Testing

@testable import GateRouterServer

/// The key in `Authorization`, read from the header's bytes on every request.
@Suite struct PresentedKeyTests {
    @Test(arguments: [
        ("Bearer gr-abc", "gr-abc"),
        ("bearer gr-abc", "gr-abc"),
        ("BEARER  gr-abc \t", "gr-abc"),
        ("  Bearer gr-abc", "gr-abc"),
        ("Bearer gr abc", "gr abc"),
        ("Bearer ключ", "ключ"),
    ])
    func readsTheKeyAfterTheScheme(header: String, key: String) {
        #expect(APIKeyAuthMiddleware.presentedKey(authorization: header) == key)
    }

    @Test(arguments: ["Bearer", "Bearer ", "Bearer \t ", "Bearerx gr-abc", "Basic abc", "Bearer\tgr-abc", "Bearér gr-abc", ""])
    func findsNoKeyInAnythingElse(header: String) {
        #expect(APIKeyAuthMiddleware.presentedKey(authorization: header) == nil)
    }
}
