import KlingSupport
import Foundation
import Logging

/// Which service the client talks to, with its credentials.
///
/// The description never shows a key.
public enum Provider: Sendable, Equatable {
    /// Kling's own API: every request carries an HS256 JWT signed from the access key and secret key.
    case kling(accessKey: String, secretKey: String)
    /// The CometAPI proxy: a bearer key, every path prefixed with `/kling`.
    case cometAPI(key: String)

    /// `kling` or `cometapi` (the CLI's `--provider` value and the journal's record).
    public var name: String {
        switch self {
        case .kling: return "kling"
        case .cometAPI: return "cometapi"
        }
    }

    /// Global native endpoint (Singapore).
    public static let klingGlobalURL = "https://api-singapore.klingai.com"
    /// China native endpoint.
    public static let klingChinaURL = "https://api-beijing.klingai.com"
    /// CometAPI endpoint.
    public static let cometAPIURL = "https://api.cometapi.com"

    /// The native service's regional endpoints (keys are bound to one: a wrong region shows up as
    /// persistent 1000/1002 answers).
    public enum Region: String, Sendable, CaseIterable {
        /// `https://api-singapore.klingai.com` (the global console).
        case global
        /// `https://api-beijing.klingai.com` (the China console).
        case china
        /// `https://api.klingai.com` (the legacy endpoint).
        case legacy

        /// The base URL of this region.
        public var baseURL: String {
            switch self {
            case .global: return Provider.klingGlobalURL
            case .china: return Provider.klingChinaURL
            case .legacy: return "https://api.klingai.com"
            }
        }
    }

    /// The default base URL of this provider.
    public var defaultBaseURL: String {
        switch self {
        case .kling: return Self.klingGlobalURL
        case .cometAPI: return Self.cometAPIURL
        }
    }

    /// The environment variable that sets this provider's base URL.
    public var baseURLVariable: String {
        switch self {
        case .kling: return "KLING_BASE_URL"
        case .cometAPI: return "COMETAPI_BASE_URL"
        }
    }

    /// The path prefix in front of every native route (`/kling` for CometAPI).
    var pathPrefix: String {
        switch self {
        case .kling: return ""
        case .cometAPI: return "/kling"
        }
    }

    /// Reads credentials from the environment: `KLING_ACCESS_KEY` + `KLING_SECRET_KEY` for `kling`,
    /// `COMETAPI_KEY` for `cometapi`.
    /// - Parameter name: `kling` or `cometapi`.
    /// - Throws: ``ClientError`` (`configuration`) naming the missing variable (never its value).
    public static func fromEnvironment(_ name: String,
                                       environment: [String: String] = ProcessInfo.processInfo.environment) throws -> Provider {
        func value(_ key: String) throws -> String {
            guard let v = environment[key]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else {
                throw ClientError(.configuration, "environment variable \(key) is not set")
            }
            return v
        }
        switch name.lowercased() {
        case "kling", "native":
            return .kling(accessKey: try value("KLING_ACCESS_KEY"), secretKey: try value("KLING_SECRET_KEY"))
        case "cometapi", "comet":
            return .cometAPI(key: try value("COMETAPI_KEY"))
        default:
            throw ClientError(.configuration, "unknown provider '\(name)' (expected kling or cometapi)")
        }
    }

    /// The base URL from `KLING_BASE_URL` / `COMETAPI_BASE_URL`, if set.
    public func baseURLFromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
        guard let v = environment[baseURLVariable]?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
        return v
    }
}

extension Provider: CustomStringConvertible, CustomDebugStringConvertible {
    public var description: String {
        switch self {
        case .kling: return "kling(accessKey: <redacted>, secretKey: <redacted>)"
        case .cometAPI: return "cometAPI(key: <redacted>)"
        }
    }
    public var debugDescription: String { description }
}

/// Everything a ``KlingClient`` needs; every field has a sensible default except the provider.
public struct ClientConfiguration: Sendable {
    /// The service and credentials.
    public var provider: Provider
    /// Scheme, host and optional port (and path prefix) of the service, without a trailing slash.
    /// Default: the provider's public endpoint.
    public var baseURL: String
    /// Time allowed to open a connection. Default 10 s.
    public var connectTimeout: Duration
    /// Time allowed for one API call (send + full answer). Default 30 s.
    public var requestTimeout: Duration
    /// Time allowed for one image download, as one deadline over the answer's head and its whole body
    /// (a body trickling in does not extend it). A download that misses it is retried per ``retry``.
    /// Default 120 s.
    public var downloadTimeout: Duration
    /// The slowest accepted download: a body that delivers fewer than this many bytes per second,
    /// averaged over any ``downloadRateWindow``, is abandoned (and retried per ``retry``). 0 turns the
    /// rule off. Default 8 KiB/s (a 1 MiB result then takes at most about two minutes).
    public var minimumDownloadRate: Int = 8 << 10
    /// The window ``minimumDownloadRate`` is averaged over; the rule applies once a download has run
    /// this long. Default 10 s.
    public var downloadRateWindow: Duration = .seconds(10)
    /// Largest accepted API answer body. Default 8 MiB.
    public var maxResponseBytes: Int
    /// Largest accepted result image. Default 50 MiB.
    public var maxImageBytes: Int
    /// Fetch result URLs whose host is on a private, link-local or loopback network (an on-premise
    /// relay). Default false: only public addresses, and loopback when ``baseURL`` is on loopback.
    public var allowPrivateDownloads: Bool = false
    /// Simultaneous image downloads. Default 4.
    public var downloadConcurrency: Int
    /// Retries of API calls (transient errors, 1302, 1303, 5xxx).
    public var retry: RetryPolicy
    /// Waiting for tasks to end.
    public var polling: PollingPolicy
    /// Images (`n`) this client lets run at once, account-wide limit of the plan; `nil` = no client-side
    /// limit (the server's 1303 answers are still retried). Default `nil`.
    public var concurrencyLimit: Int?
    /// A journal that every submit records into before it returns; `nil` = none.
    public var journal: TaskJournal?
    /// Token lifetime for the native provider, seconds. Default 1800.
    public var tokenLifetime: Int
    /// Sign a new token when fewer than this many seconds remain. Default 60.
    public var tokenRefreshMargin: Int
    /// The time source (tests inject `ManualClock`).
    public var clock: any TimeSource
    /// The jitter source (tests inject ``SeededJitter``).
    public var jitter: any JitterSource
    /// Request logging (method, path, status, request_id, timing; never headers or bodies).
    public var logger: Logger
    /// Sent as `User-Agent`.
    public var userAgent: String
    /// Checks and prepares local reference images and verifies downloads; `nil` (default) = none, and
    /// then local images and downloads are refused with ``ClientError/Code/configuration``.
    public var images: (any ReferenceImageProcessor)?
    /// Called before each wait between attempts of one call (for a "retrying 2/5 in 3 s" line);
    /// `nil` (default) says nothing. Never given secrets: the reason is the error's own message.
    public var onRetry: (@Sendable (RetryNotice) -> Void)?

    public init(provider: Provider, baseURL: String? = nil) {
        self.provider = provider
        self.baseURL = Self.normalise(baseURL ?? provider.defaultBaseURL)
        self.connectTimeout = .seconds(10)
        self.requestTimeout = .seconds(30)
        self.downloadTimeout = .seconds(120)
        self.maxResponseBytes = 8 << 20
        self.maxImageBytes = 50 << 20
        self.downloadConcurrency = 4
        self.retry = .standard
        switch provider {
        case .kling: self.polling = .standard
        case .cometAPI: self.polling = .cometAPI
        }
        self.concurrencyLimit = nil
        self.journal = nil
        self.tokenLifetime = 1800
        self.tokenRefreshMargin = 60
        self.clock = SystemClock()
        self.jitter = SystemJitter()
        self.logger = Logger(label: "klingkit.client", factory: { _ in SwiftLogNoOpLogHandler() })
        self.userAgent = "klingkit/0.1"
        self.images = nil
    }

    /// A configuration from the environment (see ``Provider/fromEnvironment(_:environment:)``); the base URL
    /// is `baseURL`, else `KLING_BASE_URL`/`COMETAPI_BASE_URL`, else the provider's default.
    public static func fromEnvironment(provider name: String, baseURL: String? = nil,
                                       environment: [String: String] = ProcessInfo.processInfo.environment) throws -> ClientConfiguration {
        let provider = try Provider.fromEnvironment(name, environment: environment)
        return ClientConfiguration(provider: provider, baseURL: baseURL ?? provider.baseURLFromEnvironment(environment))
    }

    static func normalise(_ url: String) -> String {
        var s = url.trimmingCharacters(in: .whitespacesAndNewlines)
        while s.hasSuffix("/") { s.removeLast() }
        return s
    }
}

extension ClientConfiguration: CustomStringConvertible {
    public var description: String {
        "ClientConfiguration(provider: \(provider), baseURL: \(baseURL), requestTimeout: \(requestTimeout))"
    }
}

/// One retry about to happen: which attempt comes next, of how many, after what wait, and why.
public struct RetryNotice: Sendable {
    /// The attempt that follows the wait (2 for the first retry).
    public var nextAttempt: Int
    /// The policy's cap on attempts.
    public var maxAttempts: Int
    /// The wait before it.
    public var delay: Duration
    /// The failure that is being retried, as one line.
    public var reason: String
}
