import Foundation
import KlingAPI
import KlingModels
import KlingSupport

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

        let (stream, continuation) = AsyncStream<BatchLoop.Completion>.makeStream()
        let loop = BatchLoop(runner: self, journal: journal, clock: clock, start: start, continuation: continuation)

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

        do {
            var iterator = stream.makeAsyncIterator()
            var done = try await loop.step()
            while !done {
                guard let completion = await iterator.next() else { break }
                try await loop.handle(completion)
                done = try await loop.step()
            }
        } catch {
            // Straight to the journal: after an outage that outlasted the patience, do not wait it out again.
            try? await self.journal.release(batch: batch.id, worker: options.worker)
            throw error
        }
        try? await journal.release(batch: batch.id, worker: options.worker)
        let counts = try await journal.counts(batch: batch.id)
        let summary = BatchSummary(batchID: batch.id, lines: counts.total, succeeded: counts.byState[.succeeded] ?? 0,
                                   failed: counts.byState[.failed] ?? 0, images: loop.tally.images, created: loop.tally.created,
                                   concurrencyLimited: loop.tally.limited, peakSlots: loop.tally.peak, elapsed: now())
        var e = BatchEvent(.finished)
        e.batch = batch.id; e.lines = summary.lines; e.done = summary.succeeded; e.failedCount = summary.failed
        e.images = summary.images; e.elapsed = summary.elapsed
        events(e)
        return summary
    }
}
