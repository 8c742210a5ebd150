import KlingModels

/// The client-side half of the account's concurrency limit (kling-api.md §6).
///
/// The server counts the `n` images of every task from `submitted` until it ends and answers 1303
/// beyond the plan's limit. Submissions go through this queue, first come first served: a submission
/// reserves its `n` slots before its create is sent, the slots stay bound to the task id, and they are
/// released when the client sees the task end (a query or a wait) or when the create is refused.
/// While a submission waits, the first in line refreshes the tasks holding slots itself, so slots free
/// up even if nobody else polls; the others (and the first, while every slot belongs to a create still
/// in flight) wait for the queue to change instead of polling, so nobody spins on the clock. With no
/// limit configured the queue admits everything at once.
actor SubmissionQueue {
    /// What a waiting submission does next (see ``turn(ticket:slots:)``).
    enum Turn {
        /// The slots are reserved: send the create.
        case acquired
        /// First in line and the slots are held by these tasks: refresh them, then wait a polling interval.
        case refresh([(id: String, kind: TaskKind)])
        /// The queue changed (a slot came back, a create answered, someone left the line): look again.
        case changed
    }

    let limit: Int?
    private var used = 0
    private var nextTicket = 0
    private var serving = 0
    private var reservations: [Int: Int] = [:]        // ticket -> slots (create in flight)
    private var held: [String: (slots: Int, kind: TaskKind)] = [:]  // task id -> slots
    private var watchers: [Int: CheckedContinuation<Void, any Error>] = [:]
    private var nextWatcher = 0

    init(limit: Int?) { self.limit = limit }

    /// Slots in use (reserved or held by running tasks).
    var inUse: Int { used }
    /// Task ids currently holding slots, with their kind.
    var holders: [(id: String, kind: TaskKind)] { held.map { ($0.key, $0.value.kind) } }

    /// Takes a place in line. Returns a ticket for ``tryAcquire(ticket:slots:)``.
    func enqueue() -> Int {
        defer { nextTicket += 1 }
        return nextTicket
    }

    /// Reserves `slots` if this ticket is first in line and the slots are free.
    func tryAcquire(ticket: Int, slots: Int) -> Bool {
        guard ticket == serving else { return false }
        if let limit, used > 0, used + slots > limit { return false }
        used += slots
        reservations[ticket] = slots
        serving += 1
        changed()
        return true
    }

    /// Reserves the slots, or says what to do meanwhile. Deciding and starting to wait happen in one
    /// actor turn, so a change between the two cannot be missed.
    /// - Throws: `CancellationError` when the waiting task is cancelled.
    func turn(ticket: Int, slots: Int) async throws -> Turn {
        if tryAcquire(ticket: ticket, slots: slots) { return .acquired }
        if ticket == serving, !held.isEmpty { return .refresh(holders) }
        try await nextChange()
        return .changed
    }

    private func nextChange() async throws {
        let id = nextWatcher
        nextWatcher += 1
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                if Task.isCancelled { continuation.resume(throwing: CancellationError()) } else { watchers[id] = continuation }
            }
        } onCancel: {
            Task { await self.stopWatching(id) }
        }
    }

    private func stopWatching(_ id: Int) {
        watchers.removeValue(forKey: id)?.resume(throwing: CancellationError())
    }

    private func changed() {
        let due = watchers
        watchers.removeAll()
        for continuation in due.values { continuation.resume() }
    }

    /// Leaves the line without acquiring (cancelled or failed while waiting).
    func abandon(ticket: Int) {
        // Tickets are served in order; skip over an abandoned one when it comes up.
        abandoned.insert(ticket)
        while abandoned.remove(serving) != nil { serving += 1 }
        changed()
    }
    private var abandoned: Set<Int> = []

    /// The create succeeded: the reservation now belongs to `taskID` until it ends.
    func bind(ticket: Int, taskID: String, kind: TaskKind) {
        guard let slots = reservations.removeValue(forKey: ticket) else { return }
        if let existing = held[taskID] { used -= existing.slots }
        held[taskID] = (slots, kind)
        changed()
    }

    /// The create failed for good: give the slots back.
    func cancel(ticket: Int) {
        if let slots = reservations.removeValue(forKey: ticket) { used -= slots }
        changed()
    }

    /// The task ended (or vanished): give its slots back.
    func release(taskID: String) {
        if let h = held.removeValue(forKey: taskID) {
            used -= h.slots
            changed()
        }
    }
}
