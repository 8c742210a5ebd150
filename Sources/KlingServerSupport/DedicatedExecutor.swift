import NIOPosix

/// A task executor on threads of its own. The emulator's server task prefers it, so the connection
/// handlers and route handlers (structured children of that task) run here rather than on the
/// cooperative pool: a process whose cooperative threads are busy with CPU-bound work (an image batch,
/// a test suite) still gets its emulator's answers on time. The upload service runs its decodes and
/// encodes on one (`withTaskExecutorPreference`), so image work never occupies the cooperative pool.
@available(macOS 15.0, *)
public final class DedicatedExecutor: TaskExecutor {
    private let pool: NIOThreadPool

    /// Starts `threads` threads (at least 1).
    public init(threads: Int) {
        pool = NIOThreadPool(numberOfThreads: max(1, threads))
        pool.start()
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        // A job must run even when the pool is already stopping (its state is then `.cancelled`).
        pool.submit { _ in job.runSynchronously(on: executor) }
    }

    /// Stops the threads once the jobs queued so far have run.
    public func shutdown() async {
        try? await pool.shutdownGracefully()
    }
}

/// A server's top task on threads of its own: `body` (a `ServiceGroup.run()`, say) runs in a task
/// that prefers a ``DedicatedExecutor`` of `threads` threads where task executors exist (the
/// cooperative pool otherwise), so every connection and route handler, its structured children, is
/// served there. ``stop()`` ends the threads once the task is over.
public struct DedicatedServerTask: Sendable {
    /// The task running `body`.
    public let task: Task<Void, any Error>
    private let stopThreads: @Sendable () async -> Void

    public init(threads: Int, _ body: @escaping @Sendable () async throws -> Void) {
        if #available(macOS 15.0, *) {
            let executor = DedicatedExecutor(threads: threads)
            task = Task(executorPreference: executor) { try await body() }
            stopThreads = { await executor.shutdown() }
        } else {
            task = Task { try await body() }
            stopThreads = {}
        }
    }

    /// Stops the threads (after the task has ended).
    public func stop() async { await stopThreads() }
}
