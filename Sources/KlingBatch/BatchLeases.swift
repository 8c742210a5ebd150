import Foundation

/// Leases of workers that died on this machine.
public enum BatchLeases {
    /// Releases the leases of `batch` held by workers named `HOST-PID-…` (``BatchRunnerOptions/defaultWorker()``)
    /// whose host is this machine and whose process no longer exists — a `batch run` killed here —
    /// so a `resume` need not wait for them to expire. Leases of live or remote workers are untouched
    /// (those expire on their own).
    /// - Returns: the workers whose leases were released.
    @discardableResult
    public static func releaseDeadLocalWorkers(journal: any BatchJournal, batch: String) async throws -> [String] {
        let owners = Set(try await journal.jobs(batch: batch).compactMap(\.leaseOwner))
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "host"
        var released: [String] = []
        for owner in owners.sorted() where isDeadLocal(owner, host: host) {
            try await journal.release(batch: batch, worker: owner)
            released.append(owner)
        }
        return released
    }

    /// Whether `worker` names a process of this host that is gone.
    static func isDeadLocal(_ worker: String, host: String) -> Bool {
        guard worker.hasPrefix(host + "-") else { return false }
        let rest = worker.dropFirst(host.count + 1).split(separator: "-")
        guard rest.count >= 2, let pid = Int32(rest[0]), pid > 0, pid != getpid() else { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
