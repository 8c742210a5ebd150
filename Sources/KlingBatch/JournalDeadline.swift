import Foundation

/// Bounds one journal call in time. postgres-nio can leave a query waiting for good when the server
/// dies under it (seen here: a worker that stalled for minutes after an immediate shutdown and restart
/// of PostgreSQL, with no error raised), and an await that never returns stops the whole runner loop.
/// Past the deadline the call is abandoned (cancelled, and its result, should it come, dropped) and
/// ``BatchError/Code/journalUnavailable`` is thrown, which ``PatientJournal`` retries on a fresh
/// connection. Abandoning is safe for the same reason retrying is: every journal call is idempotent.
enum JournalDeadline {
    /// Runs `body`, throwing `.journalUnavailable` with `message` when it has not finished in `seconds`.
    static func run<T: Sendable>(seconds: Double, message: @autoclosure () -> String,
                                 _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        let text = message()
        let outcome = Outcome<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, Error>) in
                outcome.start(continuation,
                              work: Task { outcome.finish(await Result(catching: body)) },
                              timer: Task {
                                  try? await Task.sleep(for: .milliseconds(Int64(seconds * 1000)))
                                  if !Task.isCancelled { outcome.finish(.failure(BatchError(.journalUnavailable, text))) }
                              })
            }
        } onCancel: {
            outcome.finish(.failure(CancellationError()))
        }
    }

    /// The first of the work, the timer and a cancellation to finish wins; the others are cancelled.
    private final class Outcome<T: Sendable>: @unchecked Sendable {  // `state` is read and written under `lock`
        private enum State {
            case waiting(early: Result<T, Error>?)  // before `start`: a result that came first is kept
            case started(CheckedContinuation<T, Error>, [Task<Void, Never>])
            case done
        }
        private let lock = NSLock()
        private var state = State.waiting(early: nil)

        func start(_ continuation: CheckedContinuation<T, Error>, work: Task<Void, Never>, timer: Task<Void, Never>) {
            lock.lock()
            guard case .waiting(let early) = state else { lock.unlock(); return }
            if let early {
                state = .done
                lock.unlock()
                work.cancel(); timer.cancel()
                continuation.resume(with: early)
                return
            }
            state = .started(continuation, [work, timer])
            lock.unlock()
        }

        func finish(_ result: Result<T, Error>) {
            lock.lock()
            switch state {
            case .waiting(nil):
                state = .waiting(early: result)
                lock.unlock()
            case .started(let continuation, let tasks):
                state = .done
                lock.unlock()
                for task in tasks { task.cancel() }
                continuation.resume(with: result)
            case .waiting, .done:
                lock.unlock()
            }
        }
    }
}

extension Result where Failure == Error {
    /// The result of an async throwing body.
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
