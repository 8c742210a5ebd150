import Foundation
import KlingBatch
import KlingEmulator
import KlingKitTestSupport
import Testing

@Suite("klingkit batch with a PostgreSQL journal", .serialized, .enabled(if: PostgresCluster.available))
struct BatchPostgresTests {
    @Test("three workers share a 300-line batch while one is killed twice: 300 tasks, none twice, none lost, the budget held")
    func workersShareABatch() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try writeLines(dir, count: 300, sparse: true)
        try await PostgresCluster.with { cluster in
            try await withEmulator(EmulatorConfiguration(port: 0, taskSeconds: 0.4, concurrencyLimit: 20)) { server in
                func worker(_ name: String) throws -> BatchChild {
                    try BatchChild(["batch", "run", path, "--out", dir.appendingPathComponent(name).path, "--journal", cluster.url,
                                    "--budget", "20", "--lease-seconds", "3", "--sheet-every", "0", "--json"] + fastFlags(server),
                                   environment: emulatorEnvironment(server), directory: dir)
                }
                let a = try worker("a"), b = try worker("b"), c = try worker("c")
                try await Task.sleep(for: .milliseconds(2500))
                a.kill9()
                _ = await a.exit(timeout: 30)
                let a2 = try worker("a")       // the same machine starts it again ...
                try await Task.sleep(for: .milliseconds(2500))
                a2.kill9()                     // ... and it is killed a second time
                _ = await a2.exit(timeout: 30)
                let exitB = await b.exit(timeout: 300), exitC = await c.exit(timeout: 300)
                func failures(_ child: BatchChild) -> String {
                    child.stderr + child.stdout.split(separator: "\n").filter { $0.contains("\"event\":\"failed\"") }.prefix(5).joined(separator: "\n")
                }
                #expect(exitB?.status == 0 && exitB?.signalled == false, "\(failures(b))")
                #expect(exitC?.status == 0 && exitC?.signalled == false, "\(failures(c))")
                let (jobs, counts) = try await Self.recorded(path, in: cluster)
                let stats = await server.statistics()
                #expect(jobs.count == 300 && jobs.allSatisfy { $0.state == .succeeded })
                #expect(stats["native_tasks_created"] == 300)                     // no line twice
                #expect(Set(jobs.compactMap(\.taskID)).count == 300)
                #expect(jobs.allSatisfy { $0.files.count == $0.slots && $0.files.allSatisfy { FileManager.default.fileExists(atPath: $0) } })
                #expect(stats["native_concurrency_refusals"] == 0)                // never over the account's limit = the budget
                #expect((stats["native_peak_running_slots"] ?? 99) <= 20)
                #expect(counts.slotsInUse == 0 && counts.isFinished)
                // Both survivors did work, and the killed worker's lines were taken over.
                let submitted = [b, c].map { $0.stdout.components(separatedBy: "\"event\":\"submitted\"").count - 1 }
                #expect(submitted.allSatisfy { $0 > 0 })
            }
        }
    }
    @Test("the PostgreSQL server goes down for 4 s mid-batch: the worker waits it out and finishes every line once")
    func serverRestart() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try writeLines(dir, count: 80, sparse: true)
        try await PostgresCluster.with { cluster in
            try await withEmulator(EmulatorConfiguration(port: 0, taskSeconds: 0.4, concurrencyLimit: 10)) { server in
                let worker = try BatchChild(["batch", "run", path, "--out", dir.appendingPathComponent("out").path, "--journal", cluster.url,
                                             "--budget", "10", "--lease-seconds", "3", "--sheet-every", "0", "--json"] + fastFlags(server),
                                            environment: emulatorEnvironment(server), directory: dir)
                try await Task.sleep(for: .milliseconds(2000))
                try await cluster.restart(downFor: .seconds(4))   // every connection drops; nothing answers for 4 s
                let exit = await worker.exit(timeout: 300)
                #expect(exit?.status == 0 && exit?.signalled == false, "\(worker.stderr)")
                // Whether a call had to wait depends on what was in flight at the kill (postgres-nio's pool
                // also queues requests while it reconnects); printed, not asserted.
                let waits = worker.stdout.split(separator: "\n").filter { $0.contains("\"event\":\"journal-waiting\"") }
                print("serverRestart: \(waits.count) journal-waiting event(s)")
                let (jobs, counts) = try await Self.recorded(path, in: cluster)
                let stats = await server.statistics()
                #expect(jobs.count == 80 && jobs.allSatisfy { $0.state == .succeeded })
                #expect(stats["native_tasks_created"] == 80)                      // no line twice
                #expect(jobs.allSatisfy { $0.leaseOwner == nil })                 // no line left leased
                #expect(counts.slotsInUse == 0 && counts.isFinished)
                #expect((stats["native_peak_running_slots"] ?? 99) <= 10)
            }
        }
    }

    @Test("with --journal-patience 1, a journal that stays away ends the worker with one line naming it, exit 1")
    func patienceRunsOut() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try writeLines(dir, count: 40, sparse: true)
        try await PostgresCluster.with { cluster in
            try await withEmulator(EmulatorConfiguration(port: 0, taskSeconds: 0.4, concurrencyLimit: 10)) { server in
                let worker = try BatchChild(["batch", "run", path, "--out", dir.appendingPathComponent("out").path, "--journal", cluster.url,
                                             "--budget", "10", "--journal-patience", "1", "--sheet-every", "0"] + fastFlags(server),
                                            environment: emulatorEnvironment(server), directory: dir)
                try await Task.sleep(for: .milliseconds(1500))
                await cluster.stop()                              // gone for good
                let exit = await worker.exit(timeout: 120)
                #expect(exit?.status == 1 && exit?.signalled == false)
                #expect(worker.stderr.contains("batch journal postgres://"), "\(worker.stderr)")
                #expect(worker.stderr.contains("unreachable"), "\(worker.stderr)")
            }
        }
    }

    /// Every line of the batch in `path` as the cluster's journal holds it, and its counts.
    static func recorded(_ path: String, in cluster: PostgresCluster) async throws -> ([BatchJob], BatchCounts) {
        let journal = try await PostgresBatchJournal(url: cluster.url)
        let id = try #require(try BatchFile.load(path: path).contentID as String?)
        let jobs = try await journal.jobs(batch: id)
        let counts = try await journal.counts(batch: id)
        await journal.close()
        return (jobs, counts)
    }
}
