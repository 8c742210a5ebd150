/// A journal that rides out an outage of the one it wraps: a call that fails with
/// ``BatchError/Code/journalUnavailable`` is tried again, 0.25 s later and then twice as long each time up
/// to 5 s, until it succeeds, fails otherwise, or has kept failing for `patience` seconds (then its last
/// error is thrown). Every other error passes through at once.
///
/// Retrying is safe because every call is idempotent for its worker, even when the first try committed
/// and only its answer was lost: ``BatchJournal/takeSlots(batch:externalTaskID:worker:cap:)`` answers
/// `true` for a line that already holds its slots, a repeated finishing
/// ``BatchJournal/update(_:worker:)`` is refused as `leaseLost` (the line is finished; the runner drops
/// it), renewals and releases repeat harmlessly, and lines a lost ``BatchJournal/claim(batch:worker:limit:leaseSeconds:)``
/// answer leased to the worker come back in its next ``BatchJournal/renew(batch:worker:leaseSeconds:)``,
/// where ``BatchRunner`` adopts them.
struct PatientJournal: BatchJournal {
    let base: any BatchJournal
    let patience: Double
    /// Monotonic seconds and a sleep on the runner's clock (virtual in tests).
    let now: @Sendable () -> Double
    let sleep: @Sendable (Double) async throws -> Void
    /// Told once per call that starts waiting, with the error that made it wait.
    let waiting: @Sendable (BatchError) -> Void

    private func patiently<T: Sendable>(_ call: () async throws -> T) async throws -> T {
        var since: Double?
        var delay = 0.25
        while true {
            do {
                return try await call()
            } catch let error as BatchError where error.code == .journalUnavailable {
                let t = now()
                if since == nil { since = t; waiting(error) }
                guard t - since! < patience else { throw error }
                try await sleep(min(delay, max(0.01, patience - (t - since!))))
                delay = min(delay * 2, 5)
            }
        }
    }

    func open(_ batch: BatchDescriptor, jobs: [BatchJob]) async throws {
        try await patiently { try await base.open(batch, jobs: jobs) }
    }
    func claim(batch: String, worker: String, limit: Int, leaseSeconds: Double) async throws -> [BatchJob] {
        try await patiently { try await base.claim(batch: batch, worker: worker, limit: limit, leaseSeconds: leaseSeconds) }
    }
    func renew(batch: String, worker: String, leaseSeconds: Double) async throws -> Set<String> {
        try await patiently { try await base.renew(batch: batch, worker: worker, leaseSeconds: leaseSeconds) }
    }
    func takeSlots(batch: String, externalTaskID: String, worker: String, cap: Int) async throws -> Bool {
        try await patiently { try await base.takeSlots(batch: batch, externalTaskID: externalTaskID, worker: worker, cap: cap) }
    }
    func update(_ job: BatchJob, worker: String) async throws {
        try await patiently { try await base.update(job, worker: worker) }
    }
    func release(batch: String, worker: String) async throws {
        try await patiently { try await base.release(batch: batch, worker: worker) }
    }
    func jobs(batch: String) async throws -> [BatchJob] { try await patiently { try await base.jobs(batch: batch) } }
    func counts(batch: String) async throws -> BatchCounts { try await patiently { try await base.counts(batch: batch) } }
    func batch(_ id: String) async throws -> BatchDescriptor? { try await patiently { try await base.batch(id) } }
    func close() async { await base.close() }
}
