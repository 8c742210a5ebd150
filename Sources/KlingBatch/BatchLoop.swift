import Foundation
import KlingAPI
import KlingModels
import KlingSupport

/// The state of one ``BatchRunner/run()``: the lines this worker holds (``Work``), the queue waiting for
/// slots, the window, the calls in flight and the timers of claiming, renewing, submitting and
/// reporting. One task drives it: ``step()`` claims, renews and starts what is due; ``handle(_:)``
/// (BatchLoopCompletions.swift) moves a line on when its call completes. Calls run in tasks of their own
/// and report back through `continuation`, so the state is only ever touched by the driving task.
final class BatchLoop {
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

    let runner: BatchRunner
    let client: KlingClient
    let options: BatchRunnerOptions
    let batch: BatchDescriptor
    let lines: [String: BatchLine]
    let hints: CallbackHints?
    let events: @Sendable (BatchEvent) -> Void
    /// The runner's journal behind ``PatientJournal``: every call rides out an outage.
    let journal: PatientJournal
    let continuation: AsyncStream<Completion>.Continuation
    let worker: String
    let claimAhead: Int
    private let clock: any TimeSource
    private let start: Duration

    var works: [String: Work] = [:]
    var queue: [String] = []             // lines waiting for slots, in line order
    var window: AIMDWindow
    var tally = Tally()
    var inFlight: [CallKind: Int] = [:]
    var nextClaim = 0.0, nextRenew: Double, nextSubmit = 0.0, nextProgress = 0.0
    var lastCounts: BatchCounts?

    init(runner: BatchRunner, journal: PatientJournal, clock: any TimeSource, start: Duration,
         continuation: AsyncStream<Completion>.Continuation) {
        self.runner = runner
        client = runner.client
        options = runner.options
        batch = runner.batch
        lines = runner.lines
        hints = runner.hints
        events = runner.events
        self.journal = journal
        self.clock = clock
        self.start = start
        self.continuation = continuation
        worker = options.worker
        claimAhead = options.claimAhead ?? max(8, options.budget * 2)
        window = AIMDWindow(maximum: options.budget)
        nextRenew = options.leaseSeconds / 3
    }

    /// Seconds since the run started, on the client's clock.
    func now() -> Double { (clock.monotonic - start).seconds }

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
        let continuation = self.continuation
        Task { continuation.yield(await body()) }
    }

    func startCreate(_ id: String) {
        guard var w = works[id], let line = lines[id] else { return }
        w.phase = .creating
        works[id] = w
        let lookup = w.lookupFirst, kind = w.job.kind, client = self.client
        let body = runner.wireBody(line, externalID: id)
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
}
