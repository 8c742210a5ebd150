import Foundation
import KlingAPI
import KlingModels

/// What a completed call does to its line: a create gives it a task (or, refused, back to the queue or
/// failed), a query moves it on or schedules the next, a download finishes it.
extension BatchLoop {
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
}
