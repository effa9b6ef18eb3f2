import Foundation
import PostgresNIO

/// Why a PostgreSQL URL could not be used. The message never repeats the URL, which may hold a password.
public struct PostgresURLError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the URL, without its secrets.
    public var message: String

    /// Creates an error with `message`.
    public init(_ message: String) { self.message = message }

    /// The message, prefixed so that logs say which setting it is about.
    public var description: String { "invalid PostgreSQL URL: " + message }
}

extension PostgresStore {
    /// Reads `postgres://user:password@host:port/database` (or `postgresql://`) into a client configuration.
    ///
    /// User, password and database are percent-decoded; the port defaults to 5432 and the database to the user's name.
    /// The one query parameter understood is `sslmode`, with libpq's meanings: `disable`, `allow` and `prefer` (the
    /// default) connect without TLS, `require` encrypts without checking the certificate, `verify-ca` checks the
    /// certificate chain and `verify-full` also the host name. Anything else is refused rather than silently ignored.
    public static func configuration(url text: String) throws -> PostgresClient.Configuration {
        try URLParts(text).clientConfiguration
    }

    /// A URL's parts, checked and decoded.
    struct URLParts {
        var host: String
        var port: Int
        var user: String
        var password: String?
        var database: String?
        /// nil without TLS.
        var tls: TLSConfiguration?

        /// For the store's connection pool.
        var clientConfiguration: PostgresClient.Configuration {
            PostgresClient.Configuration(
                host: host, port: port, username: user, password: password, database: database, tls: tls.map { .require($0) } ?? .disable
            )
        }

        /// For a single connection: what the start-up check connects with.
        func connectionConfiguration() throws -> PostgresConnection.Configuration {
            PostgresConnection.Configuration(
                host: host, port: port, username: user, password: password, database: database,
                tls: try tls.map { .require(try NIOSSLContext(configuration: $0)) } ?? .disable
            )
        }

        init(_ text: String) throws {
            guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased() else {
                throw PostgresURLError("expected postgres://user:password@host:port/database")
            }
            guard scheme == "postgres" || scheme == "postgresql" else {
                throw PostgresURLError("the scheme must be postgres:// or postgresql://, not \(scheme)://")
            }
            guard var host = components.host, !host.isEmpty else { throw PostgresURLError("no host") }
            // An IPv6 literal may come back still bracketed, which a socket address does not accept.
            if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
            guard let user = components.user, !user.isEmpty else { throw PostgresURLError("no user name") }
            let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
            guard !path.contains("/") else { throw PostgresURLError("the path must be one database name") }
            var tls: TLSConfiguration?
            for item in components.queryItems ?? [] {
                guard item.name == "sslmode" else { throw PostgresURLError("unsupported parameter \(item.name)") }
                tls = try Self.tls(sslmode: item.value ?? "")
            }
            (self.host, self.port, self.user, self.password) = (host, components.port ?? 5432, user, components.password)
            self.database = path.isEmpty ? nil : path
            self.tls = tls
        }

        private static func tls(sslmode: String) throws -> TLSConfiguration? {
            var configuration = TLSConfiguration.makeClientConfiguration()
            switch sslmode {
            case "disable", "allow", "prefer":
                // libpq would try TLS first for allow/prefer; a gateway should say what it wants, so only the modes
                // that insist on TLS turn it on.
                return nil
            case "require":
                configuration.certificateVerification = .none
            case "verify-ca":
                configuration.certificateVerification = .noHostnameVerification
            case "verify-full":
                configuration.certificateVerification = .fullVerification
            default:
                throw PostgresURLError("unsupported sslmode \(sslmode)")
            }
            return configuration
        }
    }
}

/// The database could not be reached at start-up. The reason is the server's own message (`password authentication
/// failed for user …`, `database … does not exist`) or the network's (`connection refused`); never the password.
public struct PostgresConnectError: Error, Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var reason: String

    public var description: String { "cannot connect to PostgreSQL at \(host):\(port) as \(user): \(reason)" }
}
