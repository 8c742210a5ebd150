import Foundation
import KlingModels

/// Where one line of a batch is in its life.
///
/// `pending` → (slots taken) `submitting` → (task id known) `running` → (task ended, slots returned)
/// `downloading` → `succeeded`; or `failed` from any of them. Slots are held exactly in `submitting`
/// and `running`: from before the create is sent until the task is seen ending — never less than the
/// server counts them.
public enum JobState: String, Sendable, Codable, CaseIterable {
    /// Not yet sent (or sent and definitely refused, to be tried again).
    case pending
    /// Slots taken; a create may be on its way (the task may exist: look it up by external id first).
    case submitting
    /// The task exists and has not ended.
    case running
    /// The task succeeded; its images are being written.
    case downloading
    /// Every image written.
    case succeeded
    /// Ended without images (task failed, refused, or gave up); ``BatchJob/message`` says why.
    case failed

    /// Whether nothing is left to do for the line.
    public var isFinished: Bool { self == .succeeded || self == .failed }
}

/// One line of a batch as a journal keeps it.
public struct BatchJob: Sendable, Hashable, Codable {
    public var batchID: String
    /// 1-based line (or CSV row) in the batch file.
    public var line: Int
    public var lineID: String
    /// The `external_task_id` every create of this line carries: `kkb-BATCH-LINEID`.
    public var externalTaskID: String
    public var kind: TaskKind
    /// Slots the task holds while it runs (`n`).
    public var slots: Int
    /// The request (``BatchSpec`` as JSON), for status and the manifest.
    public var request: String
    public var state: JobState
    public var taskID: String?
    /// Slots this line holds now (0 or ``slots``).
    public var slotsHeld: Int
    /// Create attempts so far (any of them may have reached the server).
    public var attempts: Int
    /// Files written, once downloaded.
    public var files: [String]
    /// `task_status_msg` of a failed task, or why the line failed.
    public var message: String?
    /// The API's business code of a refusal, if any.
    public var businessCode: Int?
    /// The `request_id` of the answer that failed the line, if any.
    public var requestID: String?
    /// The worker holding the line's lease, if any.
    public var leaseOwner: String?

    public init(batchID: String, line: Int, lineID: String, externalTaskID: String, kind: TaskKind, slots: Int,
                request: String, state: JobState = .pending, taskID: String? = nil, slotsHeld: Int = 0, attempts: Int = 0,
                files: [String] = [], message: String? = nil, businessCode: Int? = nil, requestID: String? = nil,
                leaseOwner: String? = nil) {
        self.batchID = batchID
        self.line = line
        self.lineID = lineID
        self.externalTaskID = externalTaskID
        self.kind = kind
        self.slots = slots
        self.request = request
        self.state = state
        self.taskID = taskID
        self.slotsHeld = slotsHeld
        self.attempts = attempts
        self.files = files
        self.message = message
        self.businessCode = businessCode
        self.requestID = requestID
        self.leaseOwner = leaseOwner
    }

    /// The external id of a line: `kkb-` + batch id + `-` + line id (at most 85 characters).
    public static func externalID(batch: String, line: String) -> String { "kkb-\(batch)-\(line)" }
}

/// A batch as a journal registers it.
public struct BatchDescriptor: Sendable, Hashable, Codable {
    /// The batch's id (``BatchFile/contentID`` unless pinned).
    public var id: String
    /// The account whose slots the batch uses: provider and base URL (never a key). Every batch of an
    /// account shares its budget.
    public var account: String
    /// Most slots the account may have in use at once through this journal.
    public var budget: Int
    /// The batch file as given, for `batch status`.
    public var source: String
    public var lines: Int

    public init(id: String, account: String, budget: Int, source: String, lines: Int) {
        self.id = id
        self.account = account
        self.budget = budget
        self.source = source
        self.lines = lines
    }
}

/// Counts of a batch's lines by state, and its account's slots.
public struct BatchCounts: Sendable, Hashable, Codable {
    public var byState: [JobState: Int]
    /// Slots held by the account's lines (every batch of it), now.
    public var slotsInUse: Int
    /// The account's budget.
    public var budget: Int
    public var total: Int { byState.values.reduce(0, +) }
    public var finished: Int { (byState[.succeeded] ?? 0) + (byState[.failed] ?? 0) }
    public var isFinished: Bool { total > 0 && finished == total }

    public init(byState: [JobState: Int], slotsInUse: Int, budget: Int) {
        self.byState = byState
        self.slotsInUse = slotsInUse
        self.budget = budget
    }
}

/// The state a batch shares between its workers: its lines, their leases and the account's slot
/// budget. Two implementations: ``SQLiteBatchJournal`` (embedded, one machine, the default) and
/// ``PostgresBatchJournal`` (several machines); both pass the same tests (KlingBatchTests'
/// `JournalContract`).
///
/// Rules every implementation keeps, each change in one transaction:
/// - a line is worked by at most one worker at a time: the holder of its lease (``claim(batch:worker:limit:leaseSeconds:)``);
///   an expired lease may be claimed by anyone, and the previous holder's later changes are refused
///   (``BatchError/Code/leaseLost``);
/// - slots are taken (``takeSlots(batch:externalTaskID:worker:cap:)``) only while the account's slots
///   in use plus the line's `n` stay within the budget (and the caller's cap), together with the line's
///   move to `submitting`; they are returned only together with the line's move out of `running`;
/// - a finished line never changes again.
public protocol BatchJournal: Sendable {
    /// Creates or migrates the schema, registers the batch and its lines unless already registered
    /// (lines already known keep their state), and sets the account's budget.
    func open(_ batch: BatchDescriptor, jobs: [BatchJob]) async throws

    /// Leases up to `limit` unfinished lines of `batch` that have no live lease (never leased,
    /// released, or expired), lowest line first, to `worker` for `leaseSeconds`.
    func claim(batch: String, worker: String, limit: Int, leaseSeconds: Double) async throws -> [BatchJob]

    /// Extends every lease `worker` holds on `batch`. Returns the external ids it still holds.
    func renew(batch: String, worker: String, leaseSeconds: Double) async throws -> Set<String>

    /// Takes the line's `n` slots and marks it `submitting`, if the account's slots in use plus `n` stay
    /// within `min(budget, cap)`. Returns `false` (nothing changed) when they do not fit.
    /// - Throws: ``BatchError`` `.leaseLost` when `worker` does not hold the line.
    func takeSlots(batch: String, externalTaskID: String, worker: String, cap: Int) async throws -> Bool

    /// Records the line's new state and details (task id, attempts, files, message, code, request id)
    /// and its slots: `slotsHeld` may only go down here. A finished state releases the lease.
    /// - Throws: ``BatchError`` `.leaseLost` when `worker` does not hold the line.
    func update(_ job: BatchJob, worker: String) async throws

    /// Gives up every lease `worker` holds on `batch` (at exit), so others need not wait for expiry.
    func release(batch: String, worker: String) async throws

    /// Every line of `batch`, in line order.
    func jobs(batch: String) async throws -> [BatchJob]

    /// Counts by state, and the account's slots in use and budget.
    func counts(batch: String) async throws -> BatchCounts

    /// The registered batch, if any.
    func batch(_ id: String) async throws -> BatchDescriptor?

    /// Closes connections.
    func close() async
}
