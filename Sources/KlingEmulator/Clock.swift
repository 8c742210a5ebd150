import Foundation
import NIOConcurrencyHelpers

/// The time source of the emulator: task lifecycles, token `nbf`/`exp` checks and URL expiry all read it,
/// so tests can drive a task from `submitted` to `succeed` without waiting.
public protocol EmulatorClock: Sendable {
    /// Now, in Unix milliseconds.
    func nowMilliseconds() -> Int64
    /// Suspends until ``nowMilliseconds()`` ≥ `deadline`.
    /// - Throws: `CancellationError` when the calling task is cancelled.
    func sleep(untilMilliseconds deadline: Int64) async throws
}

/// The system's wall clock.
public struct SystemEmulatorClock: EmulatorClock {
    public init() {}
    public func nowMilliseconds() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
    public func sleep(untilMilliseconds deadline: Int64) async throws {
        let wait = deadline - nowMilliseconds()
        if wait > 0 { try await Task.sleep(for: .milliseconds(wait)) }
    }
}

/// A clock that moves only when told to: ``advance(byMilliseconds:)`` wakes every sleeper whose
/// deadline has been reached. Starts at a fixed instant (2025-01-01T00:00:00Z) unless given one.
public final class ManualEmulatorClock: EmulatorClock, @unchecked Sendable {
    private struct Sleeper {
        var deadline: Int64
        var continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var now: Int64
        var sleepers: [UInt64: Sleeper] = [:]
        var nextID: UInt64 = 0
    }
    private let state: NIOLockedValueBox<State>

    /// - Parameter startMilliseconds: the initial time, Unix milliseconds.
    public init(startMilliseconds: Int64 = 1_735_689_600_000) {
        state = NIOLockedValueBox(State(now: startMilliseconds))
    }

    public func nowMilliseconds() -> Int64 { state.withLockedValue { $0.now } }

    /// Moves time forward and resumes the sleepers that are due.
    public func advance(byMilliseconds delta: Int64) {
        let due: [CheckedContinuation<Void, any Error>] = state.withLockedValue { s in
            s.now += max(0, delta)
            let now = s.now
            let ids = s.sleepers.filter { $0.value.deadline <= now }.map(\.key)
            return ids.compactMap { s.sleepers.removeValue(forKey: $0)?.continuation }
        }
        for continuation in due { continuation.resume() }
    }

    /// Moves time forward by `seconds`.
    public func advance(bySeconds seconds: Double) { advance(byMilliseconds: Int64((seconds * 1000).rounded())) }

    /// The number of tasks sleeping on this clock (lets a test wait until a background task is parked).
    public var sleeperCount: Int { state.withLockedValue { $0.sleepers.count } }

    public func sleep(untilMilliseconds deadline: Int64) async throws {
        let id: UInt64 = state.withLockedValue { s in
            s.nextID += 1
            return s.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow: Bool = state.withLockedValue { s in
                    if s.now >= deadline || Task.isCancelled { return true }
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

