import Foundation
import GateRouterMockProvider
import Testing

/// The console in a real headless Chromium (Debian's `chromium` and `chromium-driver`, driven by selenium from
/// Tests/Console/console_browser.py): sign in, create a key and call the API with it, turn auto routing off and on,
/// see requests on the dashboard and in the logs, stream in the playground, and keep account keys out of admin pages.
///
/// Screenshots of each page land in `console-screenshots/` at the package root (ignored by git). Outside CI a
/// machine without Chromium or selenium skips the test; under `CI=true` it fails it.
@Suite struct ConsoleBrowserTests {
    static let screenshots = OpenAISDKConformanceTests.packageRoot.appendingPathComponent("console-screenshots").path
    static let chromedriver = ProcessInfo.processInfo.environment["CHROMEDRIVER"] ?? "/usr/bin/chromedriver"
    static var available: Bool {
        OpenAISDKConformanceTests.python != nil && FileManager.default.isExecutableFile(atPath: chromedriver)
    }

    @Test(.enabled(if: OpenAISDKConformanceTests.isCI || available, "no Chromium/chromedriver or selenium; see .ci/run"))
    func theConsoleWorksInARealBrowser() async throws {
        let python = try #require(OpenAISDKConformanceTests.python, "no Python with selenium (set GATEROUTER_PYTHON or create .venv)")
        #expect(FileManager.default.isExecutableFile(atPath: Self.chromedriver), "install chromium and chromium-driver (apt)")
        var mock = MockProvider.Options()
        mock.tokenDelay = .milliseconds(40)  // so the playground's stream visibly arrives in pieces
        try await withConsole(mockOptions: mock) { gateway, _ in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [OpenAISDKConformanceTests.packageRoot.appendingPathComponent("Tests/Console/console_browser.py").path]
            var environment = ProcessInfo.processInfo.environment
            environment["GATEROUTER_ROOT"] = gateway.root
            environment["GATEROUTER_API_KEY"] = gateway.apiKey
            environment["GATEROUTER_ADMIN_TOKEN"] = gateway.adminToken
            environment["GATEROUTER_MODEL"] = "deepseek/deepseek-v3.2"
            environment["GATEROUTER_SCREENSHOTS"] = Self.screenshots
            process.environment = environment
            let (status, data) = try await OpenAISDKConformanceTests.run(process)
            let text = String(decoding: data, as: UTF8.self)
            #expect(status == 0, "\(text)")
            #expect(text.contains(" 0 failed"), "\(text)")
        }
    }
}
