import KlingSupport
import Foundation
import KlingModels
import NIOHTTP1

extension KlingClient {
    // MARK: - Submitting

    /// Submits an already encoded generations body (images as base64 or URLs), validated first.
    ///
    /// Most callers use ``submit(_:options:)`` with a ``GenerationRequest``; this is for bodies built
    /// by hand. An `external_task_id` is generated when the body has none.
    /// - Throws: ``ClientError`` `invalidRequest` (nothing sent) or the API failure after retries.
    public func submit(wire request: ImageGenerationRequest, options: SubmitOptions = .init()) async throws -> SubmittedTask {
        var request = request
        if (request.externalTaskID ?? "").isEmpty { request.externalTaskID = UUID().uuidString.lowercased() }
        try Self.check(RequestRules.validate(request))
        let body = try Self.encodeBody(request)
        return try await createExactlyOnce(kind: .generation, body: body, externalID: request.externalTaskID!,
                                           slots: request.imageCount, prompt: request.prompt, options: options)
    }

    /// Submits an already encoded multi-image body, validated first.
    public func submit(wire request: MultiImageRequest, options: SubmitOptions = .init()) async throws -> SubmittedTask {
        var request = request
        if (request.externalTaskID ?? "").isEmpty { request.externalTaskID = UUID().uuidString.lowercased() }
        try Self.check(RequestRules.validate(request))
        let body = try Self.encodeBody(request)
        return try await createExactlyOnce(kind: .multiImage, body: body, externalID: request.externalTaskID!,
                                           slots: request.imageCount, prompt: request.prompt, options: options)
    }

    static func check(_ violations: [FieldViolation]) throws {
        guard let first = violations.first else { return }
        throw ClientError(.invalidRequest, FieldViolation.summary(violations), field: first.field)
    }

    static func encodeBody<T: Encodable>(_ value: T) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do { return Array(try encoder.encode(value)) } catch {
            throw ClientError(.invalidRequest, "cannot encode the request: \(error)")
        }
    }

    /// The exactly-once create: journal first, queue for a slot, send, and after any ambiguous failure
    /// ask the server for the external id before sending again.
    func createExactlyOnce(kind: TaskKind, body: [UInt8], externalID: String, slots: Int, prompt: String?,
                           options: SubmitOptions) async throws -> SubmittedTask {
        let clock = configuration.clock
        var entry = JournalEntry(externalTaskID: externalID, kind: kind, provider: configuration.provider.name,
                                 baseURL: configuration.baseURL, state: .submitting, count: slots,
                                 outputDirectory: options.outputDirectory, includeWatermarked: options.includeWatermarked,
                                 sheetPath: options.sheetPath, createdAt: clock.unixTime, updatedAt: clock.unixTime,
                                 prompt: prompt)
        let journal = configuration.journal
        var knownBefore = false
        if let journal {
            if let previous = try journal.entry(externalTaskID: externalID) {
                // The same logical request again (a retry by the caller): never create a second task.
                knownBefore = true
                if let id = previous.taskID {
                    let task = try await self.task(id: id, kind: previous.kind)
                    return SubmittedTask(taskID: id, externalTaskID: externalID, kind: previous.kind, task: task,
                                         recovered: true, attempts: 0)
                }
                entry.createdAt = previous.createdAt
            }
            try journal.record(entry)
        }

        if let limit = queue.limit, slots > limit {
            throw ClientError(.invalidRequest, "n = \(slots) is more than the concurrency limit of \(limit) images", field: "n")
        }
        let ticket = await queue.enqueue()
        do {
            try await waitForSlots(ticket: ticket, slots: slots)
        } catch {
            await queue.abandon(ticket: ticket)
            if !knownBefore, let e = error as? ClientError { try? markNotCreated(&entry, e) }
            throw error
        }

        var delays = configuration.retry.delays(jitter: configuration.jitter)
        let start = clock.monotonic
        var uncertain = knownBefore   // a task with this external id may exist
        var resigned = false
        var adoptedDuplicate = false
        var attempts = 0
        while true {
            do {
                if uncertain, let existing = try await findTask(externalID: externalID, kind: kind) {
                    return try await accept(existing, entry: &entry, ticket: ticket, kind: kind, recovered: true, attempts: attempts)
                }
                uncertain = false
                let token = currentToken()
                attempts += 1
                do {
                    let success = try await attempt(method: .POST, path: kind.path, body: body, token: token)
                    guard let task = try Self.decodeData(TaskObject.self, from: success, what: "create"),
                          let id = task.taskID, !id.isEmpty else {
                        throw AttemptFailure(error: ClientError(.invalidResponse, "create answered success without a task_id",
                                                                httpStatus: success.status, requestID: success.requestID,
                                                                isRetryable: true), ambiguous: true)
                    }
                    return try await accept(task, entry: &entry, ticket: ticket, kind: kind, recovered: false, attempts: attempts)
                } catch let failure as AttemptFailure {
                    if let code = failure.error.businessCode, BusinessCode(code).needsFreshToken, let tokens, !resigned {
                        resigned = true
                        tokens.invalidate(token)
                        continue
                    }
                    if failure.ambiguous { uncertain = true }
                    // A duplicate external id after an attempt whose outcome we could not see: it is ours.
                    if failure.error.businessCode == BusinessCode.invalidParameter.rawValue, attempts > 1, !adoptedDuplicate,
                       failure.error.message.lowercased().contains("external_task_id") {
                        adoptedDuplicate = true   // once: a server that reports a duplicate it cannot find must not loop us
                        uncertain = true
                        continue
                    }
                    throw failure
                }
            } catch let failure as AttemptFailure {
                guard failure.error.isRetryable else {
                    await queue.cancel(ticket: ticket)
                    if !uncertain { try? markNotCreated(&entry, failure.error) }
                    throw failure.error
                }
                do {
                    try await backoff(after: failure, delays: &delays, start: start, attempts: attempts)
                } catch {
                    await queue.cancel(ticket: ticket)
                    if !uncertain { try? markNotCreated(&entry, failure.error) }
                    throw error
                }
            } catch let error as ClientError {
                // A recovery query failed for good (auth, configuration): the task may exist; keep the
                // journal entry `submitting` so `resume` can settle it.
                await queue.cancel(ticket: ticket)
                throw error
            } catch {
                // Cancellation (or anything unforeseen): give the slots back; the entry stays `submitting`.
                await queue.cancel(ticket: ticket)
                throw error
            }
        }
    }

    private func accept(_ task: TaskObject, entry: inout JournalEntry, ticket: Int, kind: TaskKind,
                        recovered: Bool, attempts: Int) async throws -> SubmittedTask {
        guard let id = task.taskID, TaskIDs.problem(id) == nil else {
            // Not believed: the create's answer names no usable task. The entry stays `submitting`, so a
            // resume looks the task up by external id instead of trusting this answer.
            await queue.cancel(ticket: ticket)
            throw ClientError(.invalidResponse, "the create answered with an unusable task id \(TaskIDs.printable(task.taskID ?? "")): \(TaskIDs.problem(task.taskID ?? "") ?? "")")
        }
        await queue.bind(ticket: ticket, taskID: id, kind: kind)
        if task.taskStatus?.isTerminal == true { await queue.release(taskID: id) }
        if let journal = configuration.journal {
            entry.taskID = id
            entry.state = .submitted
            entry.updatedAt = configuration.clock.unixTime
            try journal.record(entry)   // durable before the caller hears of the task
        }
        return SubmittedTask(taskID: id, externalTaskID: entry.externalTaskID, kind: kind, task: task,
                             recovered: recovered, attempts: attempts)
    }

    private func markNotCreated(_ entry: inout JournalEntry, _ error: ClientError) throws {
        guard let journal = configuration.journal else { return }
        entry.state = .notCreated
        entry.message = error.description
        entry.updatedAt = configuration.clock.unixTime
        try journal.record(entry)
    }

    /// Waits (first come, first served) until `slots` images fit under the client-side limit. The first
    /// in line refreshes the tasks that hold slots so finished ones give theirs back; the rest wait for
    /// the queue to change. Gives up after `polling.timeout`.
    private func waitForSlots(ticket: Int, slots: Int) async throws {
        let start = configuration.clock.monotonic
        while true {
            switch try await queue.turn(ticket: ticket, slots: slots) {
            case .acquired:
                return
            case .changed:
                break
            case .refresh(let holders):
                for holder in holders { _ = try? await task(id: holder.id, kind: holder.kind) }
                if await queue.tryAcquire(ticket: ticket, slots: slots) { return }
                try await configuration.clock.sleep(for: configuration.polling.interval)
            }
            try Task.checkCancellation()
            if configuration.clock.monotonic - start > configuration.polling.timeout {
                throw ClientError(.deadlineExceeded, "no free slot under the concurrency limit of \(queue.limit ?? 0) images after \(configuration.polling.timeout); nothing was submitted",
                                  isRetryable: true)
            }
        }
    }

    // MARK: - Querying

    /// One task by id.
    /// - Parameter kind: the route it was created on (multi-image tasks live under their own route).
    /// - Throws: ``ClientError`` (`notFound` when the server does not know the id).
    public func task(id: String, kind: TaskKind = .generation) async throws -> TaskObject {
        let encoded = TaskIDs.pathSegment(try TaskIDs.checked(id))
        let success: APISuccess
        do {
            success = try await call(method: .GET, path: kind.path + "/" + encoded, idempotent: true)
        } catch var error as ClientError {
            if error.code == .notFound { await queue.release(taskID: id) }
            error.taskID = error.taskID ?? id
            throw error
        }
        guard let task = try Self.decodeData(TaskObject.self, from: success, what: "query") else {
            throw ClientError(.invalidResponse, "query answered without data", httpStatus: success.status,
                              requestID: success.requestID, taskID: id)
        }
        if task.taskStatus?.isTerminal == true { await queue.release(taskID: id) }
        return task
    }

    /// One task by id, trying the generations route and then the multi-image route.
    public func task(anyKindID id: String) async throws -> (TaskObject, TaskKind) {
        do {
            return (try await task(id: id, kind: .generation), .generation)
        } catch let error as ClientError where error.code == .notFound {
            return (try await task(id: id, kind: .multiImage), .multiImage)
        }
    }

    /// One task by the caller's `external_task_id`.
    /// - Throws: ``ClientError`` `notFound` when no task has that id.
    public func task(externalID: String, kind: TaskKind = .generation) async throws -> TaskObject {
        guard let task = try await findTask(externalID: externalID, kind: kind) else {
            throw ClientError(.notFound, "no task has external_task_id \(externalID)")
        }
        return task
    }

    /// The task with an external id, or `nil` if the server has none (retries transient failures).
    func findTask(externalID: String, kind: TaskKind) async throws -> TaskObject? {
        let success: APISuccess
        do {
            success = try await call(method: .GET, path: kind.path, query: [("external_task_id", externalID)], idempotent: true)
        } catch let error as ClientError where error.code == .notFound {
            return nil
        }
        let candidates = try Self.decodeData(TaskCandidates.self, from: success, what: "query by external_task_id")?.tasks ?? []
        for task in candidates where task.taskID.map({ TaskIDs.problem($0) == nil }) == true {
            // Trust the echo when present: a server that ignores the filter must not hand us someone else's task.
            if let echoed = task.externalTaskID, echoed != externalID { continue }
            return task
        }
        return nil
    }

    /// A page of tasks, newest first (the native list route; CometAPI documents none).
    /// - Parameters:
    ///   - page: 1…1000. - pageSize: 1…500.
    public func list(page: Int = 1, pageSize: Int = 30, kind: TaskKind = .generation) async throws -> [TaskObject] {
        guard PageQuery.pageNumRange.contains(page) else {
            throw ClientError(.invalidRequest, "page must be in 1...1000, got \(page)", field: "pageNum")
        }
        guard PageQuery.pageSizeRange.contains(pageSize) else {
            throw ClientError(.invalidRequest, "page size must be in 1...500, got \(pageSize)", field: "pageSize")
        }
        let success = try await call(method: .GET, path: kind.path,
                                     query: [("pageNum", String(page)), ("pageSize", String(pageSize))], idempotent: true)
        return try Self.decodeData([TaskObject].self, from: success, what: "list") ?? []
    }

    // MARK: - Waiting

    /// Polls a task until it ends, per ``ClientConfiguration/polling``.
    ///
    /// Transient query failures are tolerated (the next poll tries again); the wait ends on `succeed`,
    /// on `failed`, on a final error, or at the polling timeout.
    /// - Parameters:
    ///   - queryFirst: query at once instead of waiting the initial delay (e.g. when resuming).
    ///   - progress: called with every answer (status changes and all).
    /// - Returns: the succeeded task.
    /// - Throws: ``ClientError`` `taskFailed` carrying `task_status_msg`; `deadlineExceeded` (the task
    ///   may still finish: resume later).
    public func waitForCompletion(taskID: String, kind: TaskKind = .generation, queryFirst: Bool = false,
                                  progress: (@Sendable (TaskObject) -> Void)? = nil) async throws -> TaskObject {
        var delays = configuration.polling.delays(jitter: configuration.jitter)
        // The timeout is a deadline on the clock, so slow queries count against it too.
        let deadline = configuration.clock.monotonic + configuration.polling.timeout
        var first = true
        var lastError: ClientError?
        while true {
            if !(first && queryFirst) {
                let remaining = deadline - configuration.clock.monotonic
                guard remaining > .zero, let next = delays.next() else {
                    throw ClientError(.deadlineExceeded,
                                      "task still not finished after \(configuration.polling.timeout)" +
                                        (lastError.map { " (last error: \($0.description))" } ?? "") + "; resume it later",
                                      taskID: taskID, isRetryable: true)
                }
                try await configuration.clock.sleep(for: min(next, remaining))
            }
            first = false
            let task: TaskObject
            do {
                task = try await self.task(id: taskID, kind: kind)
            } catch let error as ClientError where error.isRetryable {
                lastError = error
                continue
            }
            progress?(task)
            switch task.taskStatus {
            case .succeed?:
                return task
            case .failed?:
                let reason = (task.taskStatusMessage ?? "").isEmpty ? "the service gave no reason" : task.taskStatusMessage!
                throw ClientError(.taskFailed, reason, taskID: taskID)
            default:
                continue
            }
        }
    }
}

/// The `data` of a query by external id: one task object or a list of them (a relay that ignores the
/// filter answers the list). Elements that are not task objects are skipped.
struct TaskCandidates: Decodable {
    var tasks: [TaskObject]

    init(from decoder: any Decoder) throws {
        if var list = try? decoder.unkeyedContainer() {
            tasks = []
            while !list.isAtEnd {
                if let task = try? list.decode(TaskObject.self) {
                    tasks.append(task)
                } else if (try? list.decode(Skipped.self)) == nil {
                    break
                }
            }
        } else {
            tasks = (try? TaskObject(from: decoder)).map { [$0] } ?? []
        }
    }

    private struct Skipped: Decodable { init(from decoder: any Decoder) throws {} }
}
