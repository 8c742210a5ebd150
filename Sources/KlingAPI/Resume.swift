import Foundation
import KlingModels

/// What settling one journal entry came to.
public struct SettledTask: Sendable {
    /// The entry as now recorded.
    public var entry: JournalEntry
    /// The task's final state, when it was found.
    public var task: TaskObject?
    /// Images written (empty when the entry has no output directory or the task did not succeed).
    public var images: [DownloadedImage]
    /// Why the entry is not `completed`, if it is not.
    public var error: ClientError?
}

extension KlingClient {
    /// Takes a journal entry to its end without ever submitting: finds the task (by `task_id`, or by
    /// `external_task_id` when the process died before learning the id), waits for it, downloads its
    /// images into the entry's output directory, and records the outcome in the journal.
    ///
    /// An entry whose task the server does not know becomes `not-created` (the create never arrived);
    /// a task that failed becomes `failed` with `task_status_msg`; a wait that runs out of time leaves
    /// the entry `submitted` for a later resume.
    /// - Parameters:
    ///   - queryFirst: query at once (resuming) rather than after the polling policy's first wait.
    ///   - progress: called with every status answer while waiting.
    public func settle(_ entry: JournalEntry, queryFirst: Bool = true,
                       progress: (@Sendable (TaskObject) -> Void)? = nil) async -> SettledTask {
        var entry = entry
        func save(_ state: JournalEntry.State, _ message: String? = nil) {
            entry.state = state
            entry.message = message
            entry.updatedAt = configuration.clock.unixTime
            try? configuration.journal?.record(entry)
        }
        do {
            var taskID = entry.taskID
            if taskID == nil {
                guard let found = try await findTask(externalID: entry.externalTaskID, kind: entry.kind), let id = found.taskID else {
                    let error = ClientError(.notFound, "the server has no task with external_task_id \(entry.externalTaskID): the create never arrived; submit it again")
                    save(.notCreated, error.description)
                    return SettledTask(entry: entry, task: nil, images: [], error: error)
                }
                taskID = id
                entry.taskID = id
                save(.submitted)
            }
            let task = try await waitForCompletion(taskID: taskID!, kind: entry.kind, queryFirst: queryFirst, progress: progress)
            var images: [DownloadedImage] = []
            if let out = entry.outputDirectory {
                images = try await download(task, to: URL(fileURLWithPath: out), includeWatermarked: entry.includeWatermarked)
                entry.files = images.map(\.path)
            }
            save(.completed)
            return SettledTask(entry: entry, task: task, images: images, error: nil)
        } catch let error as ClientError {
            switch error.code {
            case .taskFailed: save(.failed, error.message)
            case .notFound where entry.taskID != nil: save(.failed, "the server no longer knows task \(entry.taskID!)")
            default: break   // transient or local trouble: leave it for the next resume
            }
            return SettledTask(entry: entry, task: nil, images: [], error: error)
        } catch {
            let wrapped = ClientError(.transport, String(describing: error))
            return SettledTask(entry: entry, task: nil, images: [], error: wrapped)
        }
    }
}
