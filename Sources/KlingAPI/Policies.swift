import KlingSupport

/// How a failed call is retried: exponential backoff with jitter, a cap on attempts and an overall
/// deadline.
///
/// The waits form a plain `Sequence` (``delays(jitter:)``) so a test can compare them as an array.
/// Delay *k* (0-based) is `min(maxDelay, initialDelay × multiplier^k)`, of which the fraction `jitter`
/// is randomised: `d × (1 − jitter) + d × jitter × u` with `u` in `0..<1` ("equal jitter" when
/// `jitter` = 0.5; see Marc Brooker, "Exponential Backoff And Jitter", AWS Architecture Blog, 2015).
/// The sequence ends after `maxAttempts − 1` waits or when the waits alone would pass `deadline`.
public struct RetryPolicy: Sendable, Equatable {
    /// Total attempts including the first one; 1 disables retrying. Default 5.
    public var maxAttempts: Int
    /// The first wait. Default 0.5 s.
    public var initialDelay: Duration
    /// Growth per retry. Default 2.
    public var multiplier: Double
    /// No single wait exceeds this. Default 20 s.
    public var maxDelay: Duration
    /// Fraction (0…1) of each wait that is random. Default 0.5.
    public var jitter: Double
    /// The smallest wait after a 1303 (concurrency limit) answer; the API asks for at least 1 s.
    public var concurrencyLimitDelay: Duration
    /// Overall budget for one logical call including its retries; `nil` = no deadline. Default 120 s.
    public var deadline: Duration?
    /// Whether a 1303 (concurrency limit) answer is retried here (default `true`). A caller that keeps
    /// its own slot budget (KlingBatch's runner, which shrinks its window on 1303) sets `false` to hear
    /// of every 1303 at once instead of retrying into the limit.
    public var retriesConcurrencyLimit: Bool = true

    public init(
        maxAttempts: Int = 5, initialDelay: Duration = .milliseconds(500), multiplier: Double = 2,
        maxDelay: Duration = .seconds(20), jitter: Double = 0.5, concurrencyLimitDelay: Duration = .seconds(1),
        deadline: Duration? = .seconds(120)
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialDelay = initialDelay
        self.multiplier = max(1, multiplier)
        self.maxDelay = maxDelay
        self.jitter = min(max(jitter, 0), 1)
        self.concurrencyLimitDelay = concurrencyLimitDelay
        self.deadline = deadline
    }

    /// The default policy.
    public static let standard = RetryPolicy()
    /// Never retry.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// The un-jittered wait before retry number `k` (0-based).
    public func baseDelay(forRetry k: Int) -> Duration {
        let raw = initialDelay.seconds * pow2(multiplier, k)
        return .seconds(double: min(raw, maxDelay.seconds))
    }

    /// The wait before retry `k` for a jitter draw `u` in `0..<1`.
    public func delay(forRetry k: Int, unit u: Double) -> Duration {
        let d = baseDelay(forRetry: k).seconds
        return .seconds(double: d * (1 - jitter) + d * jitter * u)
    }

    /// The waits between attempts, drawing jitter from `jitter`.
    public func delays(jitter source: some JitterSource) -> Delays {
        Delays(policy: self, source: source)
    }

    /// The waits of a ``RetryPolicy``: at most `maxAttempts − 1`, ending early at the deadline.
    public struct Delays: Sequence, IteratorProtocol {
        let policy: RetryPolicy
        let source: any JitterSource
        var index = 0
        var total: Duration = .zero

        public mutating func next() -> Duration? {
            guard index < policy.maxAttempts - 1 else { return nil }
            let d = policy.delay(forRetry: index, unit: source.next())
            if let deadline = policy.deadline, total + d > deadline { return nil }
            index += 1
            total += d
            return d
        }
    }
}

/// How a task is polled until it ends: a first wait, then a steady interval with jitter, within a
/// deadline.
///
/// Defaults follow the API guidance: first query after ~3 s, then every ~5 s natively
/// (``cometAPI`` polls every 20 s), ±20 % jitter, give up after 10 minutes.
public struct PollingPolicy: Sendable, Equatable {
    /// Wait before the first query. Default 3 s.
    public var initialDelay: Duration
    /// Wait between later queries. Default 5 s.
    public var interval: Duration
    /// Fraction (0…1) of each wait that is random, centred: `d × (1 + jitter × (2u − 1))`. Default 0.2.
    public var jitter: Double
    /// Give up (``ClientError/Code/deadlineExceeded``) once the waits pass this. Default 600 s.
    public var timeout: Duration

    public init(initialDelay: Duration = .seconds(3), interval: Duration = .seconds(5), jitter: Double = 0.2,
                timeout: Duration = .seconds(600)) {
        self.initialDelay = initialDelay
        self.interval = interval
        self.jitter = min(max(jitter, 0), 1)
        self.timeout = timeout
    }

    /// Native Kling guidance.
    public static let standard = PollingPolicy()
    /// CometAPI suggests polling every 20–30 s.
    public static let cometAPI = PollingPolicy(initialDelay: .seconds(5), interval: .seconds(20))

    /// The wait before query `k` (0-based) for a jitter draw `u`.
    public func delay(forPoll k: Int, unit u: Double) -> Duration {
        let d = (k == 0 ? initialDelay : interval).seconds
        return .seconds(double: d * (1 + jitter * (2 * u - 1)))
    }

    /// The waits before each query. Their sum is exactly `timeout` when the task never ends: the wait
    /// that would pass it is shortened to end at the timeout (one last query at the deadline), so a
    /// timeout shorter than the first wait still waits that long instead of giving up at once.
    public func delays(jitter source: some JitterSource) -> Delays { Delays(policy: self, source: source) }

    public struct Delays: Sequence, IteratorProtocol {
        let policy: PollingPolicy
        let source: any JitterSource
        var index = 0
        var total: Duration = .zero
        public mutating func next() -> Duration? {
            guard total < policy.timeout else { return nil }
            let d = Swift.min(policy.delay(forPoll: index, unit: source.next()), policy.timeout - total)
            index += 1
            total += d
            return d
        }
    }
}

private func pow2(_ base: Double, _ exponent: Int) -> Double {
    var result = 1.0
    for _ in 0..<min(exponent, 64) { result *= base; if result > 1e12 { break } }
    return result
}
