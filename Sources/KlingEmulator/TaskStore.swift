import KlingSupport
import Foundation
import KlingModels

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
    private struct Account {
        var tasks: [String: StoredTask] = [:]
        var order: [String] = []              // creation order, oldest first
        var byExternalID: [String: String] = [:]
        var running: Set<String> = []
        /// Creates answered 429 / 1303 because the account's concurrency limit was reached.
        var concurrencyRefusals = 0
        /// The most image slots ever running at once (after an accepted create).
        var peakRunningSlots = 0
        /// Tasks ever created (eviction does not lower it).
        var created = 0
    }
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
        var account = accounts[provider]!
        if let external = new.externalID, let existing = account.byExternalID[external] {
            return .failure(.duplicateExternalID(external, existing: existing))
        }
        let running = account.running.reduce(0) { $0 + (account.tasks[$1]?.n ?? 0) }
        if running + new.n > configuration.concurrencyLimit {
            accounts[provider]!.concurrencyRefusals += 1
            return .failure(.concurrency(running: running, requested: new.n, limit: configuration.concurrencyLimit))
        }
        let total = Int64((configuration.taskSeconds * 1000).rounded())
        let willFail = configuration.faults.taskFailureRate > 0 && rng.nextUnit() < configuration.faults.taskFailureRate
        let task = StoredTask(
            id: nextTaskID(), provider: provider, kind: new.kind, externalID: new.externalID,
            createdAt: now, processingAt: now + total / 4, endsAt: now + total, willFail: willFail,
            failureMessage: configuration.faults.taskFailureMessage, n: new.n, watermark: new.watermark,
            callbackURL: new.callbackURL, render: new.render, status: .submitted, updatedAt: now)
        account.tasks[task.id] = task
        account.order.append(task.id)
        if let external = new.externalID { account.byExternalID[external] = task.id }
        account.running.insert(task.id)
        account.created += 1
        account.peakRunningSlots = max(account.peakRunningSlots, running + new.n)
        evictIfNeeded(&account)
        accounts[provider] = account
        emit(task)
        startDriver(for: task)
        return .success(task)
    }

    /// The task with `id` (or, failing that, with external id `id`) of this account and route family.
    func task(id: String, provider: EmulatorProvider, kind: TaskKind) -> StoredTask? {
        let resolved = accounts[provider]!.tasks[id] != nil ? id : accounts[provider]!.byExternalID[id]
        guard let resolved, let task = refresh(resolved, provider: provider), task.kind == kind else { return nil }
        return task
    }

    /// The task whose external id is `externalID`.
    func task(externalID: String, provider: EmulatorProvider, kind: TaskKind) -> StoredTask? {
        guard let id = accounts[provider]!.byExternalID[externalID], let task = refresh(id, provider: provider),
              task.kind == kind else { return nil }
        return task
    }

    /// Any task by id, whatever its family (for result downloads).
    func anyTask(id: String) -> StoredTask? {
        for provider in EmulatorProvider.allCases where accounts[provider]!.tasks[id] != nil {
            return refresh(id, provider: provider)
        }
        return nil
    }

    /// One page of the account's tasks of a family, newest first.
    func list(provider: EmulatorProvider, kind: TaskKind, page: PageQuery) -> [StoredTask] {
        refreshRunning(provider, now: clock.unixMilliseconds)
        let account = accounts[provider]!
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
        let account = accounts[provider]!
        return account.running.reduce(0) { $0 + (account.tasks[$1]?.n ?? 0) }
    }

    /// Counts of tasks per status, over both accounts (for the load test and `/_emulator/stats`), and
    /// per account (`native_…`, `cometapi_…`): `tasks_created` (every task ever created),
    /// `concurrency_refusals` (creates answered 1303 because the account's limit was reached) and
    /// `peak_running_slots` (the most images running at once), so a test can prove a budget held.
    func statistics() -> [String: Int] {
        var counts: [String: Int] = [:]
        for provider in EmulatorProvider.allCases {
            refreshRunning(provider, now: clock.unixMilliseconds)
            let account = accounts[provider]!
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

    private func refreshRunning(_ provider: EmulatorProvider, now: Int64) {
        for id in accounts[provider]!.running { _ = refresh(id, provider: provider, now: now) }
    }

    @discardableResult
    private func refresh(_ id: String, provider: EmulatorProvider, now: Int64? = nil) -> StoredTask? {
        guard var task = accounts[provider]!.tasks[id] else { return nil }
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
        accounts[provider]!.tasks[id] = task
        if task.isTerminal {
            accounts[provider]!.running.remove(id)
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

    private func tick(_ id: String, provider: EmulatorProvider) {
        refresh(id, provider: provider)
    }

    private func evictIfNeeded(_ account: inout Account) {
        guard account.tasks.count > configuration.maxRetainedTasks else { return }
        var index = 0
        while account.tasks.count > configuration.maxRetainedTasks, index < account.order.count {
            let id = account.order[index]
            if let task = account.tasks[id], task.isTerminal {
                account.tasks[id] = nil
                if let external = task.externalID { account.byExternalID[external] = nil }
                account.order.remove(at: index)
            } else {
                index += 1
            }
        }
    }
}
