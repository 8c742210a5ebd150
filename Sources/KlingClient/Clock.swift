import Foundation

/// The time source the client sleeps and signs tokens through.
///
/// Everything time-dependent in ``KlingClient`` (token lifetimes, backoff, polling, deadlines) goes
/// through one value of this type, so a test can replace real waiting with ``ManualClock``.
public protocol ClientClock: Sendable {
    /// Wall-clock time as Unix seconds (used for JWT `exp`/`nbf` and journal timestamps).
    var unixTime: Double { get }
    /// A monotonic reading (never jumps backwards) used to measure deadlines.
    var monotonic: Duration { get }
    /// Suspends for `duration`. Throws `CancellationError` if the task is cancelled.
    func sleep(for duration: Duration) async throws
}

/// The real clock: `Date` for wall time, `ContinuousClock` for deadlines and sleeping.
public struct SystemClock: ClientClock {
    private static let origin = ContinuousClock.now
    public init() {}
    public var unixTime: Double { Date().timeIntervalSince1970 }
    public var monotonic: Duration { ContinuousClock.now - Self.origin }
    public func sleep(for duration: Duration) async throws {
        try await ContinuousClock().sleep(for: duration)
    }
}

/// A clock for tests: `sleep(for:)` returns at once and advances both readings by the duration,
/// recording every sleep so a test can compare the waits as an array.
public final class ManualClock: ClientClock, @unchecked Sendable {
    private let lock = NSLock()
    private var wall: Double
    private var elapsed: Duration = .zero
    private var recorded: [Duration] = []

    /// - Parameter unixTime: the starting wall time (Unix seconds); default 1_700_000_000.
    public init(unixTime: Double = 1_700_000_000) { self.wall = unixTime }

    public var unixTime: Double { lock.withLock { wall } }
    public var monotonic: Duration { lock.withLock { elapsed } }
    /// Every duration passed to `sleep(for:)`, in order.
    public var sleeps: [Duration] { lock.withLock { recorded } }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        advance(by: duration, record: true)
        await Task.yield()
    }

    /// Moves time forward without recording a sleep (e.g. to expire a token).
    public func advance(by duration: Duration) { advance(by: duration, record: false) }

    private func advance(by duration: Duration, record: Bool) {
        lock.withLock {
            wall += duration.seconds
            elapsed += duration
            if record { recorded.append(duration) }
        }
    }
}

/// A source of uniformly distributed numbers in `0..<1` for backoff jitter.
public protocol JitterSource: Sendable {
    /// The next number in `0..<1`.
    func next() -> Double
}

/// Jitter from the system's cryptographic generator (the default).
public struct SystemJitter: JitterSource {
    public init() {}
    public func next() -> Double { Double.random(in: 0..<1) }
}

/// A deterministic jitter source for tests: SplitMix64 (Steele, Lea and Flood, "Fast splittable
/// pseudorandom number generators", OOPSLA 2014), top 53 bits mapped to `0..<1`.
public final class SeededJitter: JitterSource, @unchecked Sendable {
    private let lock = NSLock()
    private var state: UInt64
    public init(seed: UInt64) { self.state = seed }
    public func next() -> Double {
        let z: UInt64 = lock.withLock {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        return Double(z >> 11) / Double(1 << 53)
    }
}

/// A jitter source that always answers the same value (0 = no randomness, handy in tests).
public struct ConstantJitter: JitterSource {
    public var value: Double
    public init(_ value: Double) { self.value = min(max(value, 0), 0.999_999_999) }
    public func next() -> Double { value }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }

    /// A duration from (possibly fractional) seconds, rounded to the microsecond.
    static func seconds(double value: Double) -> Duration {
        .microseconds(Int64((max(value, 0) * 1_000_000).rounded()))
    }
}
