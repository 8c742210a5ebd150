/// What a ``BatchRunner`` reports while it works: one value per happening, in order. `klingkit batch run
/// --json` prints each as one JSON line (sorted keys; absent fields left out).
public struct BatchEvent: Sendable, Hashable, Codable {
    /// The kind of event.
    public enum Kind: String, Sendable, Codable {
        /// The worker started: ``batch``, ``lines``, ``budget``, ``worker``.
        case started
        /// A line's task exists: ``line``, ``id``, ``taskID``, ``slots``, ``recovered`` (found by external id).
        case submitted
        /// A create was answered 1303: ``line``, ``window`` (the runner's new cap).
        case concurrencyLimited = "concurrency-limited"
        /// A line is done: ``line``, ``id``, ``taskID``, ``files``.
        case succeeded
        /// A line failed for good: ``line``, ``id``, ``taskID``, ``message``, ``code``, ``requestID``.
        case failed
        /// A snapshot, at most twice a second: ``queued``, ``runningSlots``, ``done``, ``failedCount``,
        /// ``images``, ``rate`` (images/s), ``eta`` (s).
        case progress
        /// The batch is finished (every line succeeded or failed): the totals.
        case finished
        /// A journal call found the journal's server unreachable and waits for it: ``message`` (the
        /// error), ``worker``, ``elapsed`` (the patience, s). The runner goes on once it answers.
        case journalWaiting = "journal-waiting"
    }

    public var event: Kind
    public var batch: String?
    public var worker: String?
    public var line: Int?
    public var id: String?
    public var taskID: String?
    public var slots: Int?
    public var recovered: Bool?
    public var files: [String]?
    public var message: String?
    public var code: Int?
    public var requestID: String?
    public var window: Int?
    public var lines: Int?
    public var budget: Int?
    public var queued: Int?
    public var runningSlots: Int?
    public var done: Int?
    public var failedCount: Int?
    public var images: Int?
    public var rate: Double?
    public var eta: Double?
    public var elapsed: Double?

    public init(_ event: Kind) { self.event = event }

    enum CodingKeys: String, CodingKey {
        case event, batch, worker, line, id, slots, recovered, files, message, code, window, lines, budget, queued, done, images, rate, eta, elapsed
        case taskID = "task_id", requestID = "request_id", runningSlots = "running_slots", failedCount = "failed"
    }
}

/// What a finished run came to (this worker's view plus the journal's totals).
public struct BatchSummary: Sendable, Hashable, Codable {
    public var batchID: String
    public var lines: Int
    public var succeeded: Int
    public var failed: Int
    /// Images written by this worker.
    public var images: Int
    /// Creates this worker sent that made a task (recovered ones not counted).
    public var created: Int
    /// 1303 answers this worker received.
    public var concurrencyLimited: Int
    /// The most slots this worker held at once.
    public var peakSlots: Int
    /// Seconds.
    public var elapsed: Double
    /// Whether every line is finished.
    public var isFinished: Bool { succeeded + failed == lines }
}
