import KlingSupport
import AsyncHTTPClient
import NIOConcurrencyHelpers
import Foundation
import KlingModels
import Logging
import NIOCore
import NIOHTTP1

/// The Kling image API client: submit, query, wait, download — for the native API and CometAPI.
///
/// One client owns one `HTTPClient` (connection pool); call ``shutdown()`` when done, or use
/// ``withClient(_:_:)`` which always does. Safe to share between tasks.
///
/// - Important: every create carries an `external_task_id` (yours or a generated UUID). After an
///   ambiguous failure (timeout, dropped connection, 5xx) the client asks the server for that id before
///   it ever sends the create again, so one call of ``submit(_:options:)`` never creates two tasks.
public final class KlingClient: Sendable {
    public let configuration: ClientConfiguration
    let http: HTTPClient
    let tokens: TokenCache?
    let queue: SubmissionQueue
    private let state = NIOLockedValueBox(false)

    /// Creates a client and its connection pool.
    public init(configuration: ClientConfiguration) {
        self.configuration = configuration
        var httpConfig = HTTPClient.Configuration(
            redirectConfiguration: .disallow,
            timeout: .init(connect: timeAmount(configuration.connectTimeout), read: timeAmount(configuration.requestTimeout)),
            decompression: .enabled(limit: .ratio(50)))
        httpConfig.connectionPool = .init(idleTimeout: .seconds(60))
        // A refused or unresolvable connection fails the request at once, so it is reported (and
        // retried or not) by this client's own policy, instead of the pool re-dialling silently
        // until the connect timeout.
        httpConfig.connectionPool.retryConnectionEstablishment = false
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfig)
        switch configuration.provider {
        case .kling(let accessKey, let secretKey):
            self.tokens = TokenCache(signer: JWTSigner(accessKey: accessKey, secretKey: secretKey,
                                                       lifetime: configuration.tokenLifetime),
                                     refreshMargin: Double(configuration.tokenRefreshMargin))
        case .cometAPI:
            self.tokens = nil
        }
        self.queue = SubmissionQueue(limit: configuration.concurrencyLimit)
    }

    /// Runs `body` with a new client and shuts it down afterwards, whether `body` throws or not. `body`
    /// runs in the caller's isolation (a main-actor program's top-level code included), so it may use
    /// the caller's state without sending it anywhere.
    public static func withClient<T: Sendable>(_ configuration: ClientConfiguration,
                                               isolation: isolated (any Actor)? = #isolation,
                                               _ body: (KlingClient) async throws -> T) async throws -> T {
        let client = KlingClient(configuration: configuration)
        do {
            let value = try await body(client)
            try await client.shutdown()
            return value
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    /// Closes every connection. Call exactly once; later calls do nothing.
    public func shutdown() async throws {
        let already = state.withLockedValue { (done: inout Bool) -> Bool in
            defer { done = true }
            return done
        }
        if !already { try await http.shutdown() }
    }

    /// Number of JWTs signed so far (native provider; 0 for CometAPI). For diagnostics and tests.
    public var tokensSigned: Int { tokens?.signCount ?? 0 }

    // MARK: - Authentication and retries

    func currentToken() -> String {
        switch configuration.provider {
        case .kling: return tokens!.token(now: configuration.clock.unixTime)
        case .cometAPI(let key): return key
        }
    }

    /// One logical call: re-signs once on 1003/1004, retries retryable failures per the retry policy.
    /// - Parameter idempotent: whether an ambiguous failure may be retried by simply sending again (GETs).
    func call(method: HTTPMethod, path: String, query: [(String, String)] = [], body: [UInt8]? = nil,
              idempotent: Bool) async throws -> APISuccess {
        var delays = configuration.retry.delays(jitter: configuration.jitter)
        let start = configuration.clock.monotonic
        var resigned = false
        var attempts = 0
        while true {
            attempts += 1
            let token = currentToken()
            do {
                return try await attempt(method: method, path: path, query: query, body: body, token: token)
            } catch let failure as AttemptFailure {
                if let code = failure.error.businessCode, BusinessCode(code).needsFreshToken, tokens != nil, !resigned {
                    resigned = true
                    tokens!.invalidate(token)
                    configuration.logger.debug("token rejected (\(code)); signing a new one")
                    continue
                }
                guard failure.error.isRetryable, idempotent || !failure.ambiguous else { throw failure.error }
                try await backoff(after: failure, delays: &delays, start: start, attempts: attempts)
            }
        }
    }

    /// Sleeps before the next attempt, or throws the failure when the policy (attempts, deadline) is spent.
    func backoff(after failure: AttemptFailure, delays: inout RetryPolicy.Delays, start: Duration, attempts: Int) async throws {
        if failure.error.businessCode == BusinessCode.concurrencyLimit.rawValue, !configuration.retry.retriesConcurrencyLimit {
            throw failure.error
        }
        guard var delay = delays.next() else {
            var e = failure.error
            if attempts > 1 { e.message += " (gave up after \(attempts) attempts)" }
            throw e
        }
        if failure.error.businessCode == BusinessCode.concurrencyLimit.rawValue {
            delay = max(delay, configuration.retry.concurrencyLimitDelay)
        }
        if let after = failure.retryAfter, after > 0 {
            delay = max(delay, .seconds(double: min(after, configuration.retry.maxDelay.seconds)))
        }
        if let deadline = configuration.retry.deadline, configuration.clock.monotonic - start + delay > deadline {
            var e = failure.error
            e.message += " (retry deadline of \(deadline) reached after \(attempts) attempt\(attempts == 1 ? "" : "s"))"
            throw e
        }
        configuration.logger.debug("retrying in \(delay): \(failure.error.code) \(failure.error.businessCode.map(String.init) ?? "")")
        configuration.onRetry?(RetryNotice(nextAttempt: attempts + 1, maxAttempts: configuration.retry.maxAttempts,
                                           delay: delay, reason: failure.error.message))
        try await configuration.clock.sleep(for: delay)
    }
}

