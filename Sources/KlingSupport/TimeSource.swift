import Foundation
import NIOConcurrencyHelpers

/// The one time source of the project: the client signs tokens, backs off, polls and measures
/// deadlines through it; the emulator drives task lifecycles, checks token `nbf`/`exp` and expires
/// result URLs through it. Tests inject ``ManualClock`` so nothing waits in real time.
public protocol TimeSource: Sendable {
    /// Wall-clock time since 1970-01-01T00:00:00Z (exact: no `Double` rounding on the way).
    var sinceEpoch: Duration { get }
    /// A monotonic reading (never jumps backwards), for measuring deadlines.
    var monotonic: Duration { get }
    /// Suspends for `duration` (returns at once for zero or negative durations).
    /// - Throws: `CancellationError` when the calling task is cancelled.
    func sleep(for duration: Duration) async throws
    /// Suspends until ``unixMilliseconds`` ≥ `deadline` (Unix milliseconds). The default sleeps for the
    /// difference; a manual clock parks on the absolute instant.
    /// - Throws: `CancellationError` when the calling task is cancelled.
    func sleep(untilUnixMilliseconds deadline: Int64) async throws
}

extension TimeSource {
    /// Wall-clock time as Unix seconds with a fraction (JWT `exp`/`nbf` truncate it; journals keep it).
    public var unixTime: Double { sinceEpoch.seconds }

    /// Wall-clock time as whole Unix milliseconds (rounded down).
    public var unixMilliseconds: Int64 {
        let c = sinceEpoch.components
        return c.seconds * 1000 + c.attoseconds / 1_000_000_000_000_000
    }

    public func sleep(untilUnixMilliseconds deadline: Int64) async throws {
        let wait = deadline - unixMilliseconds
        if wait > 0 { try await sleep(for: .milliseconds(wait)) } else { try Task.checkCancellation() }
    }
}

/// The real clock: the system's wall time, `ContinuousClock` for deadlines and sleeping.
public struct SystemClock: TimeSource {
    private static let origin = ContinuousClock.now
    public init() {}
    public var sinceEpoch: Duration { .nanoseconds(Int64((Date().timeIntervalSince1970 * 1e9).rounded(.down))) }
    public var monotonic: Duration { ContinuousClock.now - Self.origin }
    public func sleep(for duration: Duration) async throws {
        if duration > .zero { try await ContinuousClock().sleep(for: duration) } else { try Task.checkCancellation() }
    }
}

/// A clock that moves only when told to, for tests.
///
/// Two ways to sleep, chosen at creation:
/// - ``SleepMode/advances``: `sleep(for:)` returns at once and moves time forward by the duration,
///   recording it in ``sleeps`` (a polling or backoff test compares the waits as an array).
/// - ``SleepMode/waits``: `sleep(for:)` parks until ``advance(by:)`` reaches its deadline (a server's
///   background timers run exactly when a test moves time).
public final class ManualClock: TimeSource, Sendable {
    /// How ``sleep(for:)`` behaves.
    public enum SleepMode: Sendable { case advances, waits }

    private struct Sleeper {
        var deadline: Duration
        var continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var elapsed: Duration = .zero
        var recorded: [Duration] = []
        var sleepers: [UInt64: Sleeper] = [:]
        var nextID: UInt64 = 0
    }
    private let start: Duration
    private let mode: SleepMode
    private let state = NIOLockedValueBox(State())

    /// - Parameters:
    ///   - unixMilliseconds: the starting wall time; default 1_735_689_600_000 (2025-01-01T00:00:00Z).
    ///   - mode: how sleeping behaves; default ``SleepMode/advances``.
    public init(unixMilliseconds: Int64 = 1_735_689_600_000, mode: SleepMode = .advances) {
        start = .milliseconds(unixMilliseconds)
        self.mode = mode
    }

    /// A clock starting at `unixTime` Unix seconds (rounded to the microsecond).
    public init(unixTime: Double, mode: SleepMode = .advances) {
        start = .seconds(double: unixTime)
        self.mode = mode
    }

    public var sinceEpoch: Duration { start + state.withLockedValue { $0.elapsed } }
    public var monotonic: Duration { state.withLockedValue { $0.elapsed } }
    /// Every duration slept in ``SleepMode/advances`` mode, in order.
    public var sleeps: [Duration] { state.withLockedValue { $0.recorded } }
    /// Tasks parked in ``SleepMode/waits`` mode (lets a test wait until a background task sleeps).
    public var sleeperCount: Int { state.withLockedValue { $0.sleepers.count } }

    /// Moves time forward (negative amounts are ignored) and resumes the sleepers that are due.
    public func advance(by duration: Duration) {
        let due: [CheckedContinuation<Void, any Error>] = state.withLockedValue { s in
            s.elapsed += max(.zero, duration)
            let now = s.elapsed
            let ids = s.sleepers.filter { $0.value.deadline <= now }.map(\.key)
            return ids.compactMap { s.sleepers.removeValue(forKey: $0)?.continuation }
        }
        for continuation in due { continuation.resume() }
    }

    /// Moves time forward by `seconds` (rounded to the millisecond).
    public func advance(bySeconds seconds: Double) { advance(by: .milliseconds(Int64((seconds * 1000).rounded()))) }

    public func sleep(for duration: Duration) async throws {
        try Task.checkCancellation()
        switch mode {
        case .advances:
            state.withLockedValue { $0.recorded.append(duration) }
            advance(by: duration)
            await Task.yield()
        case .waits:
            try await park(until: monotonic + duration)
        }
    }

    public func sleep(untilUnixMilliseconds deadline: Int64) async throws {
        switch mode {
        case .advances:
            try await sleep(for: .milliseconds(deadline - unixMilliseconds))
        case .waits:
            try Task.checkCancellation()
            try await park(until: .milliseconds(deadline) - start)
        }
    }

    private func park(until deadline: Duration) async throws {
        let id: UInt64 = state.withLockedValue { s in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = state.withLockedValue { s in
                    if s.elapsed >= deadline || Task.isCancelled { return true }
                    s.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLockedValue { $0.sleepers.removeValue(forKey: id)?.continuation }
            continuation?.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }
}

extension Duration {
    /// The duration in seconds as a `Double`.
    public var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }

    /// A duration from (possibly fractional) seconds, rounded to the microsecond; negatives become zero.
    public static func seconds(double value: Double) -> Duration {
        .microseconds(Int64((max(value, 0) * 1_000_000).rounded()))
    }
}
