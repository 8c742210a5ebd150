import KlingModels

/// The client-side half of the account's concurrency limit (kling-api.md §6).
///
/// The server counts the `n` images of every task from `submitted` until it ends and answers 1303
/// beyond the plan's limit. Submissions go through this queue, first come first served: a submission
/// reserves its `n` slots before its create is sent, the slots stay bound to the task id, and they are
/// released when the client sees the task end (a query or a wait) or when the create is refused.
/// While a submission waits, it refreshes the tasks holding slots itself, so slots free up even if
/// nobody else polls. With no limit configured the queue admits everything at once.
actor SubmissionQueue {
    let limit: Int?
    private var used = 0
    private var nextTicket = 0
    private var serving = 0
    private var reservations: [Int: Int] = [:]        // ticket -> slots (create in flight)
    private var held: [String: (slots: Int, kind: TaskKind)] = [:]  // task id -> slots

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
        return true
    }

    /// Leaves the line without acquiring (cancelled or failed while waiting).
    func abandon(ticket: Int) {
        // Tickets are served in order; skip over an abandoned one when it comes up.
        abandoned.insert(ticket)
        while abandoned.remove(serving) != nil { serving += 1 }
    }
    private var abandoned: Set<Int> = []

    /// The create succeeded: the reservation now belongs to `taskID` until it ends.
    func bind(ticket: Int, taskID: String, kind: TaskKind) {
        guard let slots = reservations.removeValue(forKey: ticket) else { return }
        if let existing = held[taskID] { used -= existing.slots }
        held[taskID] = (slots, kind)
    }

    /// The create failed for good: give the slots back.
    func cancel(ticket: Int) {
        if let slots = reservations.removeValue(forKey: ticket) { used -= slots }
    }

    /// The task ended (or vanished): give its slots back.
    func release(taskID: String) {
        if let h = held.removeValue(forKey: taskID) { used -= h.slots }
    }
}
