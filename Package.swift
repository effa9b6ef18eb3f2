// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "GateRouter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gaterouter-bench", targets: ["GateRouterBench"]),
        .executable(name: "gaterouter", targets: ["GateRouterCLI"]),
        .library(name: "GateRouterServer", targets: ["GateRouterServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", from: "1.1.4"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // Layer 1: OpenAI wire types, the error envelope and the SSE codec. Knows no HTTP server.
        .target(
            name: "GateRouterWire",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Layer 1b: the model catalog (ids, upstream ids, prices, capabilities) shared by every layer above.
        .target(
            name: "GateRouterCatalog",
            dependencies: [
                "GateRouterWire",
                .product(name: "Yams", package: "Yams"),
            ],
            resources: [.copy("Resources/catalog.yaml")],
            swiftSettings: swiftSettings
        ),
        // Layer 2: upstream adapters (OpenAI-compatible today; Anthropic and Gemini plug in here).
        .target(
            name: "GateRouterProviders",
            dependencies: [
                "GateRouterWire",
                "GateRouterCatalog",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Layer 3: pure routing decisions over the catalog and provider configuration.
        .target(
            name: "GateRouterRouting",
            dependencies: ["GateRouterWire", "GateRouterCatalog", "GateRouterProviders"],
            resources: [.copy("Resources/difficulty-model.json")],
            swiftSettings: swiftSettings
        ),
        // Layer 4: account, key and settings stores (protocols, in-memory cache, key hashing).
        .target(
            name: "GateRouterStorage",
            dependencies: [
                "GateRouterWire",
                "GateRouterCatalog",
                "GateRouterRouting",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Layer 4b: the embedded SQLite backend.
        .target(
            name: "GateRouterSQLite",
            dependencies: [
                "GateRouterStorage",
                "GateRouterRouting",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API, for the ledger's bulk insert.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // Layer 4c: the PostgreSQL backend, for several gateway instances sharing one state.
        .target(
            name: "GateRouterPostgres",
            dependencies: [
                "GateRouterStorage",
                "GateRouterRouting",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // A mock OpenAI-compatible upstream for tests, demos and benchmarks.
        .target(
            name: "GateRouterMockProvider",
            dependencies: [
                "GateRouterWire",
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: swiftSettings
        ),
        // Layer 5: the Hummingbird application.
        .target(
            name: "GateRouterServer",
            dependencies: [
                "GateRouterWire",
                "GateRouterCatalog",
                "GateRouterProviders",
                "GateRouterRouting",
                "GateRouterStorage",
                "GateRouterSQLite",
                "GateRouterPostgres",
                "GateRouterMockProvider",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOExtras", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            // The web console's templates, stylesheet and script, loaded once at start-up.
            resources: [.copy("Console/Resources")],
            swiftSettings: swiftSettings
        ),
        // Benchmarks that print numbers (`swift run -c release gaterouter-bench routing`).
        .executableTarget(
            name: "GateRouterBench",
            dependencies: [
                "GateRouterWire", "GateRouterCatalog", "GateRouterProviders", "GateRouterRouting", "GateRouterStorage", "GateRouterServer",
                "CAllocationCounter",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Counts heap allocations for the benchmarks (wraps glibc's allocator; linked only into gaterouter-bench).
        .target(name: "CAllocationCounter"),
        // Layer 6: the `gaterouter` executable, an ArgumentParser shell only.
        .executableTarget(
            name: "GateRouterCLI",
            dependencies: [
                "GateRouterServer",
                "GateRouterMockProvider",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GateRouterServerTests",
            dependencies: [
                "GateRouterServer",
                "GateRouterCLI",
                "GateRouterMockProvider",
                "GateRouterSQLite",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .testTarget(
            name: "GateRouterCoreTests",
            dependencies: [
                "GateRouterWire", "GateRouterCatalog", "GateRouterProviders", "GateRouterRouting",
                "GateRouterStorage", "GateRouterSQLite", "GateRouterPostgres",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
    ]
)
