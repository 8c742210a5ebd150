import DequeModule
import Foundation
import HeapModule
import KlingModels
import KlingSupport

/// Which front door a request came through. Each provider is a separate account: its own tasks,
/// external ids and concurrency limit.
public enum EmulatorProvider: String, Sendable, Hashable, CaseIterable {
    /// Kling's own API: JWT auth, native paths.
    case native
    /// The CometAPI proxy: bearer key, every path under `/kling`.
    case cometAPI
}

/// One task as the emulator keeps it. Its timeline is fixed at creation: `submitted` until
/// `processingAt`, `processing` until `endsAt`, then `succeed` or `failed`.
struct StoredTask: Sendable {
    let id: String
    let provider: EmulatorProvider
    let kind: TaskKind
    let externalID: String?
    let createdAt: Int64
    let processingAt: Int64
    let endsAt: Int64
    let willFail: Bool
    let failureMessage: String
    let n: Int
    let watermark: Bool
    let callbackURL: String?
    let render: RenderSpec
    var status: TaskStatus
    var updatedAt: Int64

    var isTerminal: Bool { status.isTerminal }
}

/// A status change to report to the task's `callback_url`.
struct StatusChange: Sendable {
    var task: StoredTask
}

/// Why a create was refused by the account's state.
enum CreateRefusal: Error, Sendable {
    case duplicateExternalID(String, existing: String)
    case concurrency(running: Int, requested: Int, limit: Int)
}

/// The emulator's state: every task of both accounts, behind an actor. Status is recomputed from the
/// injected clock whenever a task is touched, so a query at the instant a task ends already sees it
/// ended; a background driver makes the same transitions on time so callbacks fire without queries.
actor TaskStore {
    /// One account's tasks. Every operation on it is O(log n) or better in the number of tasks held
    /// (creates stay flat to `maxRetainedTasks`): slots in use are a running sum, and the transitions
    /// that are due come off a min-heap instead of a scan of every running task.
    private struct Account {
        var tasks: [String: StoredTask] = [:]
        /// Creation order, oldest first. Evicted ids are dropped lazily (``list`` skips them) and the
        /// deque is compacted when they outnumber the live ones.
        var order: Deque<String> = []
        /// Ended tasks in the order they ended: eviction takes from the front.
        var ended: Deque<String> = []
        var byExternalID: [String: String] = [:]
        var running: Set<String> = []
        /// `n` summed over `running`.
        var runningSlots = 0
        /// Each running task's coming transitions (processing, then end), earliest first.
        var due = Heap<Transition>()
        /// Creates answered 429 / 1303 because the account's concurrency limit was reached.
        var concurrencyRefusals = 0
        /// The most image slots ever running at once (after an accepted create).
        var peakRunningSlots = 0
        /// Tasks ever created (eviction does not lower it).
        var created = 0
    }
    /// When a task's next status is due. Ties go in creation order, so tasks that end at the same
    /// millisecond end (and are later forgotten) in a fixed order.
    private struct Transition: Comparable {
        var at: Int64
        var sequence: UInt64
        var id: String
        static func < (a: Transition, b: Transition) -> Bool { (a.at, a.sequence) < (b.at, b.sequence) }
    }
    // Always reached through `accounts[provider, default: Account()]`, whose modify accessor edits the
    // account in place: copying an account out and back costs O(tasks) per request.
    private var accounts: [EmulatorProvider: Account] = [.native: Account(), .cometAPI: Account()]
    private var rng: SplitMix64
    private var sequence: UInt64 = 0
    private let configuration: EmulatorConfiguration
    private let clock: any TimeSource
    private var drivers: [String: Task<Void, Never>] = [:]
    private let onChange: @Sendable (StatusChange) -> Void

    init(configuration: EmulatorConfiguration, onChange: @escaping @Sendable (StatusChange) -> Void) {
        self.configuration = configuration
        self.clock = configuration.clock
        self.rng = SplitMix64(seed: configuration.seed)
        self.onChange = onChange
    }

    struct NewTask: Sendable {
        var kind: TaskKind
        var externalID: String?
        var n: Int
        var watermark: Bool
        var callbackURL: String?
        var render: RenderSpec
    }

    /// Creates a task after checking the external id is unused and the account has `n` free slots.
    func create(_ new: NewTask, provider: EmulatorProvider) -> Result<StoredTask, CreateRefusal> {
        let now = clock.unixMilliseconds
        refreshRunning(provider, now: now)
        if let external = new.externalID, let existing = accounts[provider, default: Account()].byExternalID[external] {
            return .failure(.duplicateExternalID(external, existing: existing))
        }
        let running = accounts[provider, default: Account()].runningSlots
        if running + new.n > configuration.concurrencyLimit {
            accounts[provider, default: Account()].concurrencyRefusals += 1
            return .failure(.concurrency(running: running, requested: new.n, limit: configuration.concurrencyLimit))
        }
        let total = Int64((configuration.taskSeconds * 1000).rounded())
        let willFail = configuration.faults.taskFailureRate > 0 && rng.nextUnit() < configuration.faults.taskFailureRate
        let task = StoredTask(
            id: nextTaskID(), provider: provider, kind: new.kind, externalID: new.externalID,
            createdAt: now, processingAt: now + total / 4, endsAt: now + total, willFail: willFail,
            failureMessage: configuration.faults.taskFailureMessage, n: new.n, watermark: new.watermark,
            callbackURL: new.callbackURL, render: new.render, status: .submitted, updatedAt: now)
        let limit = configuration.maxRetainedTasks
        Self.insert(task, sequence: sequence, into: &accounts[provider, default: Account()], retaining: limit)
        emit(task)
        startDriver(for: task)
        return .success(task)
    }

    private static func insert(_ task: StoredTask, sequence: UInt64, into account: inout Account, retaining limit: Int) {
        account.tasks[task.id] = task
        account.order.append(task.id)
        if let external = task.externalID { account.byExternalID[external] = task.id }
        account.running.insert(task.id)
        account.runningSlots += task.n
        account.due.insert(Transition(at: task.processingAt, sequence: sequence, id: task.id))
        account.due.insert(Transition(at: task.endsAt, sequence: sequence, id: task.id))
        account.created += 1
        account.peakRunningSlots = max(account.peakRunningSlots, account.runningSlots)
        evict(&account, retaining: limit)
    }

    /// The task with `id` (or, failing that, with external id `id`) of this account and route family.
    func task(id: String, provider: EmulatorProvider, kind: TaskKind) -> StoredTask? {
        refreshRunning(provider, now: clock.unixMilliseconds)
        let account = accounts[provider, default: Account()]
        guard let task = account.tasks[id] ?? account.byExternalID[id].flatMap({ account.tasks[$0] }), task.kind == kind else { return nil }
        return task
    }

    /// The task whose external id is `externalID`.
    func task(externalID: String, provider: EmulatorProvider, kind: TaskKind) -> StoredTask? {
        refreshRunning(provider, now: clock.unixMilliseconds)
        let account = accounts[provider, default: Account()]
        guard let task = account.byExternalID[externalID].flatMap({ account.tasks[$0] }), task.kind == kind else { return nil }
        return task
    }

    /// Any task by id, whatever its family (for result downloads).
    func anyTask(id: String) -> StoredTask? {
        for provider in EmulatorProvider.allCases {
            refreshRunning(provider, now: clock.unixMilliseconds)
            if let task = accounts[provider, default: Account()].tasks[id] { return task }
        }
        return nil
    }

    /// One page of the account's tasks of a family, newest first.
    func list(provider: EmulatorProvider, kind: TaskKind, page: PageQuery) -> [StoredTask] {
        refreshRunning(provider, now: clock.unixMilliseconds)
        let account = accounts[provider, default: Account()]
        var out: [StoredTask] = []
        var skip = (page.pageNum - 1) * page.pageSize
        for id in account.order.reversed() {
            guard let task = account.tasks[id], task.kind == kind else { continue }
            if skip > 0 { skip -= 1; continue }
            out.append(task)
            if out.count == page.pageSize { break }
        }
        return out
    }

    /// Slots in use: `n` summed over the account's tasks that have not ended.
    func runningSlots(provider: EmulatorProvider) -> Int {
        refreshRunning(provider, now: clock.unixMilliseconds)
        return accounts[provider, default: Account()].runningSlots
    }

    /// Counts of tasks per status, over both accounts (for the load test and `/_emulator/stats`), and
    /// per account (`native_…`, `cometapi_…`): `tasks_created` (every task ever created),
    /// `concurrency_refusals` (creates answered 1303 because the account's limit was reached) and
    /// `peak_running_slots` (the most images running at once), so a test can prove a budget held.
    func statistics() -> [String: Int] {
        var counts: [String: Int] = [:]
        for provider in EmulatorProvider.allCases {
            refreshRunning(provider, now: clock.unixMilliseconds)
            let account = accounts[provider, default: Account()]
            for task in account.tasks.values { counts[task.status.rawValue, default: 0] += 1 }
            let prefix = provider == .native ? "native_" : "cometapi_"
            counts[prefix + "tasks_created"] = account.created
            counts[prefix + "concurrency_refusals"] = account.concurrencyRefusals
            counts[prefix + "peak_running_slots"] = account.peakRunningSlots
        }
        return counts
    }

    /// Stops every background driver (at shutdown).
    func cancelDrivers() {
        for driver in drivers.values { driver.cancel() }
        drivers.removeAll()
    }

    // MARK: Internals

    private func nextTaskID() -> String {
        sequence += 1
        // Opaque like the vendor's ids: 18 random base-62 characters from the system generator (so
        // ids never repeat across emulator runs, which would confuse a client's journal), then the
        // sequence number in base 36, which makes every id of a run unique whatever is drawn.
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        var system = SystemRandomNumberGenerator()
        var id = ""
        var bits = system.next(), left = 10
        for _ in 0..<18 {
            if left == 0 { bits = system.next(); left = 10 }
            id.append(alphabet[Int(bits % 62)])
            bits /= 62
            left -= 1
        }
        return id + String(sequence, radix: 36)
    }

    /// Makes every transition that is due by `now`, earliest first.
    private func refreshRunning(_ provider: EmulatorProvider, now: Int64) {
        while let next = accounts[provider, default: Account()].due.min, next.at <= now {
            _ = accounts[provider, default: Account()].due.removeMin()
            refresh(next.id, provider: provider, now: next.at)   // as of its own time: changes stay in time order
        }
    }

    @discardableResult
    private func refresh(_ id: String, provider: EmulatorProvider, now: Int64? = nil) -> StoredTask? {
        guard var task = accounts[provider, default: Account()].tasks[id] else { return nil }
        if task.isTerminal { return task }
        let now = now ?? clock.unixMilliseconds
        // Walk every transition that is due, emitting one change per step.
        while true {
            if task.status == .submitted && now >= task.processingAt {
                task.status = .processing
                task.updatedAt = task.processingAt
            } else if !task.isTerminal && now >= task.endsAt {
                task.status = task.willFail ? .failed : .succeed
                task.updatedAt = task.endsAt
            } else {
                break
            }
            emit(task)
        }
        accounts[provider, default: Account()].tasks[id] = task
        if task.isTerminal {
            if accounts[provider, default: Account()].running.remove(id) != nil {
                accounts[provider, default: Account()].runningSlots -= task.n
                accounts[provider, default: Account()].ended.append(id)
                Self.evict(&accounts[provider, default: Account()], retaining: configuration.maxRetainedTasks)
            }
            drivers.removeValue(forKey: id)?.cancel()
        }
        return task
    }

    private func emit(_ task: StoredTask) {
        if task.callbackURL != nil { onChange(StatusChange(task: task)) }
    }

    private func startDriver(for task: StoredTask) {
        let clock = self.clock
        let id = task.id, provider = task.provider
        let deadlines = [task.processingAt, task.endsAt]
        drivers[id] = Task { [weak self] in
            for deadline in deadlines {
                do { try await clock.sleep(untilUnixMilliseconds: deadline) } catch { return }
                guard let self else { return }
                await self.tick(id, provider: provider)
            }
        }
    }

    /// A driver's deadline came: make every transition due by now (this task's among them), in order.
    private func tick(_ id: String, provider: EmulatorProvider) {
        refreshRunning(provider, now: clock.unixMilliseconds)
    }

    /// Forgets the tasks that ended first, beyond `limit` tasks (running ones are kept whatever their
    /// age). O(1) per forgotten task, amortised.
    private static func evict(_ account: inout Account, retaining limit: Int) {
        while account.tasks.count > limit, let id = account.ended.popFirst() {
            if let task = account.tasks.removeValue(forKey: id), let external = task.externalID {
                account.byExternalID[external] = nil
            }
        }
        if account.order.count > 2 * account.tasks.count + 64 {
            account.order = Deque(account.order.filter { account.tasks[$0] != nil })
        }
    }
}
