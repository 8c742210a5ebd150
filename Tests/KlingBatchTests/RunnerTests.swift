import Foundation
import KlingAPI
import KlingBatch
import KlingEmulator
import KlingKit
import KlingKitCLI
import KlingModels
import KlingSupport
import NIOConcurrencyHelpers
import Testing

/// A client for an in-process emulator, tuned for fast tasks: short polls, short retry waits, 1303
/// handed to the runner.
func batchClientConfiguration(_ server: EmulatorServer) -> ClientConfiguration {
    var c = ClientConfiguration(provider: .kling(accessKey: server.configuration.accessKey, secretKey: server.configuration.secretKey),
                                baseURL: server.baseURL)
    c.images = ReferenceImageChecks()
    c.jitter = SeededJitter(seed: 7)
    c.polling = PollingPolicy(initialDelay: .milliseconds(250), interval: .milliseconds(200), jitter: 0.2, timeout: .seconds(120))
    c.retry = RetryPolicy(maxAttempts: 6, initialDelay: .milliseconds(50), maxDelay: .milliseconds(400), deadline: .seconds(30))
    c.retry.retriesConcurrencyLimit = false
    c.requestTimeout = .seconds(10)
    return c
}

/// Writes a JSON Lines batch of `count` text→image lines: `n` = 1, or 3 on every `nEvery`-th line.
func writeBatch(_ dir: URL, count: Int, nEvery: Int = 0, name: String = "batch.jsonl") throws -> String {
    var text = "{\"defaults\": {\"aspect_ratio\": \"1:1\"}}\n"
    for i in 0..<count {
        let n = nEvery > 0 && i % nEvery == 0 ? 3 : 1
        text += "{\"id\": \"p\(i)\", \"prompt\": \"product shot \(i)\", \"n\": \(n)}\n"
    }
    let path = dir.appendingPathComponent(name).path
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
}

/// Every event the runner reported, for assertions.
final class EventLog: Sendable {
    let events = NIOLockedValueBox<[BatchEvent]>([])
    func record(_ e: BatchEvent) { events.withLockedValue { $0.append(e) } }
    func count(_ kind: BatchEvent.Kind) -> Int { events.withLockedValue { $0.filter { $0.event == kind }.count } }
}

@Suite("Batch runner against the emulator", .serialized)
struct RunnerTests {
    /// Runs a batch file through one or more runners sharing an embedded journal.
    static func run(server: EmulatorServer, path: String, out: URL, budget: Int, workers: Int = 1,
                    log: EventLog = EventLog()) async throws -> (BatchSummary, [BatchJob]) {
        let file = try BatchFile.load(path: path)
        let store = try ReferenceStore(directory: out.appendingPathComponent("refs").path)
        let validation = await BatchValidator(images: ReferenceImageChecks(), budget: budget, store: store).validate(file)
        #expect(validation.isValid, "\(validation.problems)")
        let journal = try SQLiteBatchJournal(path: out.appendingPathComponent("journal.sqlite").path)
        let descriptor = BatchDescriptor(id: file.contentID, account: "kling \(server.baseURL)", budget: budget, source: path, lines: file.lines.count)
        try await journal.open(descriptor, jobs: BatchRunner.jobs(for: file, batch: descriptor.id))
        let client = KlingClient(configuration: batchClientConfiguration(server))
        do {
            let summaries = try await withThrowingTaskGroup(of: BatchSummary.self) { group in
                for w in 0..<workers {
                    let runner = BatchRunner(client: client, journal: journal, batch: descriptor, file: file, validation: validation,
                                             store: store, options: BatchRunnerOptions(budget: budget, leaseSeconds: 10, worker: "w\(w)",
                                                                                       outputDirectory: out.path),
                                             events: log.record)
                    group.addTask { try await runner.run() }
                }
                var all: [BatchSummary] = []
                for try await s in group { all.append(s) }
                return all
            }
            let jobs = try await journal.jobs(batch: descriptor.id)
            try await client.shutdown()
            await journal.close()
            var total = summaries[0]
            total.created = summaries.reduce(0) { $0 + $1.created }
            total.concurrencyLimited = summaries.reduce(0) { $0 + $1.concurrencyLimited }
            total.images = summaries.reduce(0) { $0 + $1.images }
            return (total, jobs)
        } catch {
            try? await client.shutdown()
            await journal.close()
            throw error
        }
    }

    @Test("300 lines with faults on (1302, 5xx, dropped creates, failed tasks): every line accounted for, exactly 300 tasks, no 1303, peak slots within the budget")
    func threeHundredWithFaults() async throws {
        let dir = try temporaryFolder("runner300")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try writeBatch(dir, count: 300, nEvery: 10)
        var config = EmulatorConfiguration(port: 0, taskSeconds: 0.3, concurrencyLimit: 20)
        config.faults = FaultConfiguration(taskFailureRate: 0.1, rateLimitRate: 0.05, serverErrorRate: 0.05, dropAfterCreateRate: 0.05)
        try await withEmulator(config) { server in
            let log = EventLog()
            let (summary, jobs) = try await Self.run(server: server, path: path, out: dir.appendingPathComponent("out"), budget: 20, workers: 2, log: log)
            let stats = await server.statistics()
            #expect(jobs.count == 300 && jobs.allSatisfy(\.state.isFinished))
            #expect(stats["native_tasks_created"] == 300)
            #expect(Set(jobs.compactMap(\.taskID)).count == 300)
            #expect(stats["native_concurrency_refusals"] == 0)
            #expect((stats["native_peak_running_slots"] ?? 99) <= 20)
            // Tasks ran side by side (how many at once depends on the machine's speed, so only "more than one").
            #expect((stats["native_peak_running_slots"] ?? 0) >= 2)
            let failed = jobs.filter { $0.state == .failed }
            #expect(failed.allSatisfy { $0.message == FaultConfiguration.defaultFailureMessage && $0.taskID != nil })
            #expect(failed.count == stats["failed"])
            for job in jobs where job.state == .succeeded {
                #expect(job.files.count == job.slots && job.files.allSatisfy { FileManager.default.fileExists(atPath: $0) })
            }
            #expect(summary.succeeded + summary.failed == 300)
            #expect(log.count(.succeeded) + log.count(.failed) == 300 && log.count(.finished) == 2)
        }
    }

    @Test("a budget above the account's limit: 1303s shrink the window, every line still gets exactly one task")
    func aimdBacksOff() async throws {
        let dir = try temporaryFolder("aimd")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try writeBatch(dir, count: 40)
        try await withEmulator(EmulatorConfiguration(port: 0, taskSeconds: 0.5, concurrencyLimit: 4)) { server in
            let log = EventLog()
            let (summary, jobs) = try await Self.run(server: server, path: path, out: dir.appendingPathComponent("out"), budget: 12, log: log)
            let stats = await server.statistics()
            #expect(jobs.allSatisfy { $0.state == .succeeded })
            #expect(stats["native_tasks_created"] == 40)
            #expect(summary.concurrencyLimited > 0 && summary.concurrencyLimited == stats["native_concurrency_refusals"])
            #expect(log.events.withLockedValue { $0.filter { $0.event == .concurrencyLimited }.compactMap(\.window).min() ?? 99 } < 12)
            // Backing off, not hammering: far fewer refusals than creates.
            #expect(summary.concurrencyLimited < 40)
        }
    }

    @Test("a second run of a finished batch sends nothing; a refused line records code and request id")
    func rerunSendsNothing() async throws {
        let dir = try temporaryFolder("rerun")
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = "{\"id\": \"ok\", \"prompt\": \"a calm lake\"}\n{\"id\": \"blocked\", \"prompt\": \"a forbidden thing\"}\n"
        let path = dir.appendingPathComponent("b.jsonl").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        var config = EmulatorConfiguration(port: 0, taskSeconds: 0.3)
        config.faults.blockedPromptTerms = ["forbidden"]
        try await withEmulator(config) { server in
            let out = dir.appendingPathComponent("out")
            let (_, jobs) = try await Self.run(server: server, path: path, out: out, budget: 5)
            let blocked = try #require(jobs.first { $0.lineID == "blocked" })
            #expect(blocked.state == .failed && blocked.businessCode == 1301 && blocked.requestID?.isEmpty == false && blocked.taskID == nil)
            #expect(jobs.first { $0.lineID == "ok" }?.state == .succeeded)
            let requests = await server.statistics()["requests"] ?? 0
            let (again, _) = try await Self.run(server: server, path: path, out: out, budget: 5)
            #expect(again.created == 0)
            #expect(await server.statistics()["requests"] == requests)
            #expect(await server.statistics()["native_tasks_created"] == 1)
        }
    }
}
