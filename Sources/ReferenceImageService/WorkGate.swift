import NIOConcurrencyHelpers

/// Admits at most `slots` image jobs at once and lets at most `queueLimit` more wait; beyond that a
/// request is refused at once (503), so a burst costs memory for the queue only, never unbounded.
///
/// Waiting is cancellable: a request whose deadline passes (or whose client goes away) leaves the
/// queue. `onDepthChange` reports the queue's length after every change (the metrics' gauge).
final class WorkGate: Sendable {
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var running = 0
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    let slots: Int
    let queueLimit: Int
    private let state = NIOLockedValueBox(State())
    private let onDepthChange: @Sendable (_ queued: Int, _ running: Int) -> Void

    init(slots: Int, queueLimit: Int, onDepthChange: @escaping @Sendable (Int, Int) -> Void = { _, _ in }) {
        self.slots = max(1, slots)
        self.queueLimit = max(0, queueLimit)
        self.onDepthChange = onDepthChange
    }

    /// Runs `body` holding a slot.
    /// - Throws: ``ServiceRefusal`` `overloaded` when the queue is full; `CancellationError` when the
    ///   task is cancelled while waiting; whatever `body` throws.
    func withSlot<T>(retryAfterSeconds: Int, _ body: () async throws -> T) async throws -> T {
        try await enter(retryAfterSeconds: retryAfterSeconds)
        defer { leave() }
        return try await body()
    }

    private func enter(retryAfterSeconds: Int) async throws {
        enum Admission { case admitted, queued, refused, cancelled }
        let id = state.withLockedValue { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        let slots = self.slots, queueLimit = self.queueLimit
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                // One decision under one lock: a slot freed since the caller arrived is taken at once.
                let admission = state.withLockedValue { state -> Admission in
                    if Task.isCancelled { return .cancelled }
                    if state.running < slots && state.waiters.isEmpty {
                        state.running += 1
                        return .admitted
                    }
                    if state.waiters.count >= queueLimit { return .refused }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return .queued
                }
                switch admission {
                case .admitted: continuation.resume()
                case .queued: break
                case .cancelled: continuation.resume(throwing: CancellationError())
                case .refused:
                    continuation.resume(throwing: ServiceRefusal(.overloaded, rule: "decode-queue",
                        "all \(slots) decode slots are busy and \(queueLimit) requests are already waiting; retry in \(retryAfterSeconds) s",
                        retryAfterSeconds: retryAfterSeconds))
                }
                report()
            }
        } onCancel: {
            let waiter = state.withLockedValue { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
            report()
        }
    }

    private func leave() {
        // The slot passes straight to the first waiter (running stays the same), or is freed.
        let next = state.withLockedValue { state -> Waiter? in
            if state.waiters.isEmpty {
                state.running -= 1
                return nil
            }
            return state.waiters.removeFirst()
        }
        next?.continuation.resume()
        report()
    }

    private func report() {
        let (queued, running) = state.withLockedValue { ($0.waiters.count, $0.running) }
        onDepthChange(queued, running)
    }

    /// Refuses at once (503) when every slot is busy and the queue is full, so a request that would be
    /// refused anyway is answered before its body is read (a client retrying at once costs no upload).
    func refuseIfSaturated(retryAfterSeconds: Int) throws {
        if isSaturated {
            throw ServiceRefusal(.overloaded, rule: "decode-queue",
                                 "all \(slots) decode slots are busy and \(queueLimit) requests are already waiting; retry in \(retryAfterSeconds) s",
                                 retryAfterSeconds: retryAfterSeconds, closesConnection: true)
        }
    }

    /// Every slot busy and the queue full: a request arriving now would be refused.
    var isSaturated: Bool { state.withLockedValue { $0.running >= slots && $0.waiters.count >= queueLimit } }

    /// Requests waiting and jobs running now.
    var depth: (queued: Int, running: Int) { state.withLockedValue { ($0.waiters.count, $0.running) } }
}
