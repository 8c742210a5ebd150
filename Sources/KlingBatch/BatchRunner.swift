import Foundation
import KlingAPI
import KlingModels
import KlingSupport

// One loop's state machine (claim, submit, poll, download, renew) in one file, a little past 400
// lines on purpose: every step updates the same lease and budget bookkeeping.

/// Takes a batch through the API under an n-weighted slot budget, exactly once per line.
///
/// - **Budget:** a line's `n` slots are taken in the journal (with the line's move to `submitting`)
///   before its create is sent, and returned when a query shows the task ended — so slots in use never
///   exceed the budget, across every worker sharing the journal. Within it, an ``AIMDWindow`` shrinks
///   on 1303 and grows back slowly, so the runner never retries into the limit.
/// - **Exactly once:** every create carries the line's stable `external_task_id`
///   (``BatchJob/externalID(batch:line:)``); a line that may already have a task (any earlier attempt,
///   a reclaimed lease) is looked up by that id before anything is sent again.
/// - **One poller:** running tasks are queried from one loop, each on its own jittered schedule (the
///   client's ``PollingPolicy``), not one loop per task; a task that succeeds is downloaded at once.
/// - **Leases:** lines are claimed from the journal for ``BatchRunnerOptions/leaseSeconds`` and renewed;
///   a line whose lease was lost is dropped here (its new holder finishes it).
///
/// ``run()`` returns when every line of the batch is finished, by this worker or others.
public final class BatchRunner: Sendable {
    public let client: KlingClient
    public let journal: any BatchJournal
    public let batch: BatchDescriptor
    public let options: BatchRunnerOptions
    let lines: [String: BatchLine]
    let digests: [String: String]
    let store: ReferenceStore
    let events: @Sendable (BatchEvent) -> Void
    let hints: CallbackHints?

    /// - Parameters:
    ///   - client: configured with `retry.retriesConcurrencyLimit = false` for the window to see 1303s
    ///     (the runner sets nothing on it).
    ///   - file: the parsed batch; `validation` its validation (digests of the local images), whose
    ///     prepared images are in `store`.
    ///   - events: called on the runner's loop for every ``BatchEvent``; keep it quick.
    ///   - hints: callback deliveries, if a listener runs (see ``CallbackHints``).
    public init(client: KlingClient, journal: any BatchJournal, batch: BatchDescriptor, file: BatchFile,
                validation: BatchValidation, store: ReferenceStore, options: BatchRunnerOptions,
                hints: CallbackHints? = nil, events: @escaping @Sendable (BatchEvent) -> Void = { _ in }) {
        self.client = client
        self.journal = journal
        self.batch = batch
        self.options = options
        self.lines = Dictionary(file.lines.map { (BatchJob.externalID(batch: batch.id, line: $0.id), $0) }, uniquingKeysWith: { a, _ in a })
        self.digests = validation.digests
        self.store = store
        self.events = events
        self.hints = hints
    }

    /// The journal rows for a batch file's lines (what ``BatchJournal/open(_:jobs:)`` registers).
    public static func jobs(for file: BatchFile, batch: String) -> [BatchJob] {
        file.lines.map {
            BatchJob(batchID: batch, line: $0.number, lineID: $0.id, externalTaskID: BatchJob.externalID(batch: batch, line: $0.id),
                     kind: $0.spec.kind, slots: $0.spec.slots, request: $0.spec.json())
        }
    }

    // MARK: - The loop

    enum Phase: Sendable { case queued, creating, running, polling, downloading }
    enum CallKind: Hashable, Sendable { case create, query, download }

    struct Work: Sendable {
        var job: BatchJob
        var phase: Phase
        var lookupFirst: Bool
        var nextAction: Double
        var polls = 0
        var pollErrors = 0
        var downloads = 0
        var hinted = false
    }

    enum Completion: Sendable {
        case tick
        case created(String, Result<(TaskObject, recovered: Bool), ClientError>)
        case polled(String, Result<TaskObject, ClientError>)
        case downloaded(String, Result<[DownloadedImage], ClientError>)
        case hint(String)
    }

    struct Tally {
        var succeeded = 0, failed = 0, images = 0, created = 0, limited = 0, peak = 0
    }

    /// Works the batch until every line is finished.
    /// - Returns: the totals. - Throws: ``BatchError`` when the journal fails.
    public func run() async throws -> BatchSummary {
        try options.validate()
        let clock = client.configuration.clock
        let start = clock.monotonic
        func now() -> Double { (clock.monotonic - start).seconds }
        // Every journal call below rides out an outage of the journal's server (PatientJournal).
        let journal = PatientJournal(
            base: self.journal, patience: options.journalPatience,
            now: { (clock.monotonic - start).seconds }, sleep: { try await clock.sleep(for: .milliseconds(Int64($0 * 1000))) },
            waiting: { [events, options] error in
                var e = BatchEvent(.journalWaiting)
                e.worker = options.worker; e.message = error.message; e.elapsed = options.journalPatience
                events(e)
            })
        var started = BatchEvent(.started)
        started.batch = batch.id; started.lines = batch.lines; started.budget = options.budget; started.worker = options.worker
        events(started)

        let (stream, continuation) = AsyncStream<Completion>.makeStream()
        var works: [String: Work] = [:]
        var queue: [String] = []             // lines waiting for slots, in line order
        var window = AIMDWindow(maximum: options.budget)
        var tally = Tally()
        var inFlight: [CallKind: Int] = [:]
        var nextClaim = 0.0, nextRenew = options.leaseSeconds / 3, nextSubmit = 0.0, nextProgress = 0.0
        var lastCounts: BatchCounts?
        let claimAhead = options.claimAhead ?? max(8, options.budget * 2)
        let worker = options.worker

        let ticker = Task {
            while !Task.isCancelled {
                try? await clock.sleep(for: .milliseconds(50))
                continuation.yield(.tick)
            }
        }
        let hintTask = hints.map { hints in
            Task { for await id in hints.stream { continuation.yield(.hint(id)) } }
        }
        defer {
            ticker.cancel()
            hintTask?.cancel()
            continuation.finish()
        }

        func held() -> Int { works.values.filter { $0.job.slotsHeld > 0 }.reduce(0) { $0 + $1.job.slotsHeld } }

        /// Writes `work`'s job; a lost lease drops the line here.
        func save(_ work: Work) async throws -> Bool {
            do {
                try await journal.update(work.job, worker: worker)
                if work.job.state.isFinished { works[work.job.externalTaskID] = nil } else { works[work.job.externalTaskID] = work }
                return true
            } catch let e as BatchError where e.code == .leaseLost {
                works[work.job.externalTaskID] = nil
                queue.removeAll { $0 == work.job.externalTaskID }
                return false
            }
        }

        func schedulePoll(_ w: inout Work) {
            let policy = client.configuration.polling
            var d = policy.delay(forPoll: w.polls, unit: client.configuration.jitter.next()).seconds
            if hints != nil { d = max(d, options.callbackPollInterval) }   // callbacks say when; this is the fallback
            w.polls += 1
            w.nextAction = now() + d
            w.phase = .running
        }

        func fail(_ w: inout Work, _ message: String, code: Int? = nil, requestID: String? = nil) async throws {
            w.job.state = .failed
            w.job.slotsHeld = 0
            w.job.message = message
            w.job.businessCode = code
            w.job.requestID = requestID
            if try await save(w) {
                tally.failed += 1
                var e = BatchEvent(.failed)
                e.line = w.job.line; e.id = w.job.lineID; e.taskID = w.job.taskID; e.message = message; e.code = code; e.requestID = requestID
                events(e)
            }
        }

        func launch(_ kind: CallKind, _ body: @escaping @Sendable () async -> Completion) {
            inFlight[kind, default: 0] += 1
            Task { continuation.yield(await body()) }
        }

        func startCreate(_ id: String) {
            guard var w = works[id], let line = lines[id] else { return }
            w.phase = .creating
            works[id] = w
            let lookup = w.lookupFirst, kind = w.job.kind, client = self.client
            let body = self.wireBody(line, externalID: id)
            launch(.create) {
                do {
                    if lookup {
                        do {
                            let found = try await client.task(externalID: id, kind: kind)
                            return .created(id, .success((found, true)))
                        } catch let e as ClientError where e.code == .notFound {
                            // No task with this id: the earlier attempt never created one.
                        }
                    }
                    let submitted: SubmittedTask
                    switch try body() {
                    case .generation(let r): submitted = try await client.submit(wire: r)
                    case .multi(let r): submitted = try await client.submit(wire: r)
                    }
                    return .created(id, .success((submitted.task, submitted.recovered)))
                } catch let e as ClientError {
                    return .created(id, .failure(e))
                } catch let e as BatchError {
                    return .created(id, .failure(ClientError(.invalidImage, e.message)))
                } catch {
                    return .created(id, .failure(ClientError(.transport, String(describing: error), isRetryable: true)))
                }
            }
        }

        func startPoll(_ id: String) {
            guard var w = works[id], let taskID = w.job.taskID else { return }
            w.phase = .polling
            works[id] = w
            let kind = w.job.kind, client = self.client
            launch(.query) {
                do { return .polled(id, .success(try await client.task(id: taskID, kind: kind))) } catch let e as ClientError {
                    return .polled(id, .failure(e))
                } catch {
                    return .polled(id, .failure(ClientError(.transport, String(describing: error), isRetryable: true)))
                }
            }
        }

        func startDownload(_ id: String, _ task: TaskObject) {
            guard var w = works[id] else { return }
            w.phase = .downloading
            w.downloads += 1
            works[id] = w
            let client = self.client, out = URL(fileURLWithPath: options.outputDirectory), watermarked = options.includeWatermarked
            launch(.download) {
                do { return .downloaded(id, .success(try await client.download(task, to: out, includeWatermarked: watermarked))) } catch let e as ClientError {
                    return .downloaded(id, .failure(e))
                } catch {
                    return .downloaded(id, .failure(ClientError(.download, String(describing: error))))
                }
            }
        }

        /// A task seen by a query (or found by external id): move its line on.
        func observe(_ id: String, _ task: TaskObject) async throws {
            guard var w = works[id] else { return }
            switch task.taskStatus {
            case .succeed?:
                window.taskEnded(slots: w.job.slots)
                w.job.state = .downloading
                w.job.slotsHeld = 0
                guard try await save(w) else { return }
                nextSubmit = min(nextSubmit, now())
                startDownload(id, task)
            case .failed?:
                window.taskEnded(slots: w.job.slots)
                nextSubmit = min(nextSubmit, now())
                let reason = (task.taskStatusMessage ?? "").isEmpty ? "the service gave no reason" : task.taskStatusMessage!
                try await fail(&w, reason)
            default:
                schedulePoll(&w)
                works[id] = w
            }
        }

        func handle(_ completion: Completion) async throws {
            switch completion {
            case .tick:
                break
            case .hint(let taskID):
                // A callback said this task changed: query it now (deduplicated by the listener).
                if let (id, w) = works.first(where: { $0.value.job.taskID == taskID }), w.phase == .running {
                    var w = w
                    w.nextAction = now()
                    w.hinted = true
                    works[id] = w
                }
            case .created(let id, let result):
                inFlight[.create, default: 0] -= 1
                guard var w = works[id] else { return }
                switch result {
                case .success(let (task, recovered)):
                    w.job.taskID = task.taskID
                    w.job.state = .running
                    w.job.attempts += recovered ? 0 : 1
                    w.lookupFirst = true
                    guard try await save(w) else { return }
                    if !recovered { tally.created += 1 }
                    var e = BatchEvent(.submitted)
                    e.line = w.job.line; e.id = w.job.lineID; e.taskID = task.taskID; e.slots = w.job.slots; e.recovered = recovered
                    events(e)
                    if task.taskStatus?.isTerminal == true {
                        try await observe(id, task)
                    } else {
                        w.polls = 0
                        schedulePoll(&w)
                        works[id] = w
                    }
                case .failure(let error):
                    w.job.attempts += 1
                    w.lookupFirst = true
                    if error.businessCode == BusinessCode.concurrencyLimit.rawValue {
                        // Not created: give the slots back, shrink the window, wait ≥ 1 s, try again first.
                        tally.limited += 1
                        window.concurrencyLimited(at: now())
                        w.job.state = .pending
                        w.job.slotsHeld = 0
                        w.phase = .queued
                        guard try await save(w) else { return }
                        queue.insert(id, at: 0)
                        nextSubmit = now() + 1
                        var e = BatchEvent(.concurrencyLimited)
                        e.line = w.job.line; e.window = window.cap
                        events(e)
                    } else if error.businessCode == BusinessCode.invalidParameter.rawValue, error.message.lowercased().contains("external_task_id") {
                        // The id is taken: ours from an attempt we could not see. Find it (slots still held).
                        w.nextAction = now()
                        w.phase = .queued
                        works[id] = w
                        startCreate(id)
                    } else if error.isRetryable && w.job.attempts < options.maxSubmitAttempts {
                        // The task may exist: keep the slots, look it up before sending again.
                        w.phase = .queued
                        w.nextAction = now() + min(30, Double(1 << min(w.job.attempts, 5)) * 0.5)
                        guard try await save(w) else { return }
                    } else {
                        try await fail(&w, error.message, code: error.businessCode, requestID: error.requestID)
                    }
                }
            case .polled(let id, let result):
                inFlight[.query, default: 0] -= 1
                guard var w = works[id] else { return }
                switch result {
                case .success(let task):
                    w.pollErrors = 0
                    works[id] = w
                    if w.job.state == .downloading {
                        // A reclaimed or re-tried download: fresh URLs.
                        startDownload(id, task)
                    } else {
                        try await observe(id, task)
                    }
                case .failure(let error):
                    w.pollErrors += 1
                    if error.code == .notFound {
                        try await fail(&w, "the server no longer knows task \(w.job.taskID ?? "?")", requestID: error.requestID)
                    } else if error.isRetryable || w.pollErrors < 5 {
                        schedulePoll(&w)
                        works[id] = w
                    } else {
                        try await fail(&w, error.message, code: error.businessCode, requestID: error.requestID)
                    }
                }
            case .downloaded(let id, let result):
                inFlight[.download, default: 0] -= 1
                guard var w = works[id] else { return }
                switch result {
                case .success(let images):
                    w.job.state = .succeeded
                    w.job.files = images.map(\.path)
                    if try await save(w) {
                        tally.succeeded += 1
                        tally.images += images.filter { !$0.watermarked }.count
                        var e = BatchEvent(.succeeded)
                        e.line = w.job.line; e.id = w.job.lineID; e.taskID = w.job.taskID; e.files = w.job.files
                        events(e)
                    }
                case .failure(let error):
                    if w.downloads < options.maxDownloadAttempts {
                        w.phase = .running
                        w.nextAction = now() + 1
                        works[id] = w
                    } else {
                        try await fail(&w, "download: " + error.message, requestID: error.requestID)
                    }
                }
            }
        }

        /// Takes leased lines into the loop: new and `submitting` ones queue for slots (a line with attempts
        /// or past `pending` is looked up by external id first), `running`/`downloading` ones are polled.
        func adopt(_ jobs: [BatchJob], at t: Double) {
            for job in jobs where works[job.externalTaskID] == nil {
                var w = Work(job: job, phase: .queued, lookupFirst: job.attempts > 0 || job.state != .pending, nextAction: t)
                switch job.state {
                case .pending, .submitting:
                    queue.append(job.externalTaskID)
                case .running, .downloading:
                    w.phase = .running
                case .succeeded, .failed:
                    continue
                }
                works[job.externalTaskID] = w
            }
            queue.sort { (works[$0]?.job.line ?? 0) < (works[$1]?.job.line ?? 0) }
        }

        /// Claims, renews, and starts whatever is due.
        func step() async throws -> Bool {
            let t = now()
            if t >= nextRenew {
                nextRenew = t + options.leaseSeconds / 3
                let still = try await journal.renew(batch: batch.id, worker: worker, leaseSeconds: options.leaseSeconds)
                for id in works.keys where !still.contains(id) {
                    works[id] = nil   // another worker holds it now; its completion (if any) is ignored
                    queue.removeAll { $0 == id }
                }
                // Lines leased to this worker that it does not know: a claim whose answer was lost in a
                // journal outage (PatientJournal retried it). Adopted, or they would stay leased forever.
                let unknown = still.subtracting(works.keys)
                if !unknown.isEmpty {
                    adopt(try await journal.jobs(batch: batch.id).filter { unknown.contains($0.externalTaskID) }, at: t)
                }
            }
            if works.count < claimAhead && t >= nextClaim {
                let claimed = try await journal.claim(batch: batch.id, worker: worker, limit: claimAhead - works.count,
                                                      leaseSeconds: options.leaseSeconds)
                nextClaim = claimed.isEmpty ? t + 1 : t + 0.2
                adopt(claimed, at: t)
                if claimed.isEmpty && works.isEmpty {
                    let counts = try await journal.counts(batch: batch.id)
                    lastCounts = counts
                    if counts.isFinished { return true }
                }
            }
            // Queries and downloads first (links expire; ended tasks free slots), then creates.
            for (id, w) in works where w.phase == .running && w.nextAction <= t && inFlight[.query, default: 0] < options.maxConcurrentCalls {
                if w.job.taskID != nil { startPoll(id) }
            }
            // Lines that hold slots (reclaimed `submitting`, retries) go before new ones.
            for (id, w) in works where w.phase == .queued && w.job.slotsHeld > 0 && w.nextAction <= t && inFlight[.create, default: 0] < options.maxConcurrentCalls {
                queue.removeAll { $0 == id }
                startCreate(id)
            }
            while t >= nextSubmit, let id = queue.first, inFlight[.create, default: 0] < options.maxConcurrentCalls {
                guard let w = works[id] else { queue.removeFirst(); continue }
                if w.job.slotsHeld > 0 { queue.removeFirst(); if w.nextAction <= t { startCreate(id) }; continue }
                if w.job.slots > options.budget {
                    queue.removeFirst()
                    var w = w
                    try await fail(&w, "n = \(w.job.slots) is more than the budget of \(options.budget) slots")
                    continue
                }
                let taken: Bool
                do {
                    taken = try await journal.takeSlots(batch: batch.id, externalTaskID: id, worker: worker, cap: window.cap)
                } catch let e as BatchError where e.code == .leaseLost {
                    queue.removeFirst()
                    works[id] = nil
                    continue
                }
                guard taken else { nextSubmit = t + 0.1; break }
                queue.removeFirst()
                var taking = w
                taking.job.slotsHeld = w.job.slots
                taking.job.state = .submitting
                works[id] = taking
                tally.peak = max(tally.peak, held())
                startCreate(id)
            }
            if t >= nextProgress {
                nextProgress = t + 0.5
                if let counts = try? await journal.counts(batch: batch.id) { lastCounts = counts }
                var e = BatchEvent(.progress)
                let c = lastCounts
                e.queued = c?.byState[.pending] ?? queue.count
                e.runningSlots = c?.slotsInUse ?? held()
                e.done = c?.byState[.succeeded] ?? tally.succeeded
                e.failedCount = c?.byState[.failed] ?? tally.failed
                e.lines = batch.lines
                e.images = tally.images
                e.elapsed = t
                e.rate = t > 0 ? Double(tally.images) / t : 0
                let finished = (c?.finished ?? tally.succeeded + tally.failed)
                let perLine = finished > 0 ? t / Double(finished) : 0
                e.eta = perLine * Double(max(0, batch.lines - finished))
                events(e)
            }
            return false
        }

        do {
            var iterator = stream.makeAsyncIterator()
            var done = try await step()
            while !done {
                guard let completion = await iterator.next() else { break }
                try await handle(completion)
                done = try await step()
            }
        } catch {
            // Straight to the journal: after an outage that outlasted the patience, do not wait it out again.
            try? await self.journal.release(batch: batch.id, worker: worker)
            throw error
        }
        try? await journal.release(batch: batch.id, worker: worker)
        let counts = try await journal.counts(batch: batch.id)
        let summary = BatchSummary(batchID: batch.id, lines: counts.total, succeeded: counts.byState[.succeeded] ?? 0,
                                   failed: counts.byState[.failed] ?? 0, images: tally.images, created: tally.created,
                                   concurrencyLimited: tally.limited, peakSlots: tally.peak, elapsed: now())
        var e = BatchEvent(.finished)
        e.batch = batch.id; e.lines = summary.lines; e.done = summary.succeeded; e.failedCount = summary.failed
        e.images = summary.images; e.elapsed = summary.elapsed
        events(e)
        return summary
    }
}
