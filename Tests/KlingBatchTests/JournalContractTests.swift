import Foundation
import KlingBatch
import KlingModels
import Testing

/// The one set of journal tests every ``BatchJournal`` passes (SQLite and PostgreSQL alike).
@Suite("Batch journal contract")
struct JournalContractTests {
    static func descriptor(_ id: String, budget: Int, lines: Int) -> BatchDescriptor {
        BatchDescriptor(id: id, account: "kling http://test-\(id)", budget: budget, source: "{}", lines: lines)
    }

    static func jobs(_ batch: String, slots: [Int]) -> [BatchJob] {
        slots.enumerated().map { i, n in
            BatchJob(batchID: batch, line: i + 1, lineID: "l\(i + 1)", externalTaskID: BatchJob.externalID(batch: batch, line: "l\(i + 1)"),
                     kind: .generation, slots: n, request: "{\"prompt\":\"p\(i)\"}")
        }
    }

    @Test("registering is idempotent: a second open keeps every line's state", arguments: JournalKind.all)
    func reopenKeepsState(_ kind: JournalKind) async throws {
        try await kind.with { journal in
            let d = Self.descriptor("b1", budget: 5, lines: 3)
            try await journal.open(d, jobs: Self.jobs("b1", slots: [1, 1, 1]))
            var job = try #require(try await journal.claim(batch: "b1", worker: "w", limit: 1, leaseSeconds: 600).first)
            job.state = .failed
            job.message = "refused"
            try await journal.update(job, worker: "w")
            try await journal.open(d, jobs: Self.jobs("b1", slots: [1, 1, 1]))
            let all = try await journal.jobs(batch: "b1")
            #expect(all.count == 3 && all[0].state == .failed && all[0].message == "refused" && all[1].state == .pending)
            #expect(try await journal.batch("b1")?.budget == 5)
            #expect(try await journal.batch("nope") == nil)
        }
    }

    @Test("two workers claiming at once get disjoint lines; together, every line once", arguments: JournalKind.all)
    func claimsAreExclusive(_ kind: JournalKind) async throws {
        try await kind.with { journal in
            try await journal.open(Self.descriptor("b2", budget: 5, lines: 40), jobs: Self.jobs("b2", slots: Array(repeating: 1, count: 40)))
            let results = try await withThrowingTaskGroup(of: [String].self) { group in
                for w in 0..<4 {
                    group.addTask {
                        var mine: [String] = []
                        while true {
                            let got = try await journal.claim(batch: "b2", worker: "w\(w)", limit: 3, leaseSeconds: 600)
                            if got.isEmpty { return mine }
                            mine += got.map(\.externalTaskID)
                        }
                    }
                }
                var all: [[String]] = []
                for try await r in group { all.append(r) }
                return all
            }
            let flat = results.flatMap { $0 }
            #expect(flat.count == 40 && Set(flat).count == 40)
        }
    }

    @Test("an expired lease is claimed by another worker, and the old holder's changes are refused", arguments: JournalKind.all)
    func expiredLeaseReclaimed(_ kind: JournalKind) async throws {
        try await kind.with { journal in
            try await journal.open(Self.descriptor("b3", budget: 5, lines: 2), jobs: Self.jobs("b3", slots: [2, 1]))
            let first = try await journal.claim(batch: "b3", worker: "old", limit: 5, leaseSeconds: 600)
            #expect(first.count == 2)
            #expect(try await journal.takeSlots(batch: "b3", externalTaskID: first[0].externalTaskID, worker: "old", cap: 5))
            #expect(try await journal.claim(batch: "b3", worker: "new", limit: 5, leaseSeconds: 600).isEmpty)
            // The old worker's last renewal is short, and then it goes quiet.
            #expect(try await journal.renew(batch: "b3", worker: "old", leaseSeconds: 0.3).count == 2)
            try await Task.sleep(for: .milliseconds(1000))
            #expect(try await journal.renew(batch: "b3", worker: "old", leaseSeconds: 600).isEmpty)   // too late
            let taken = try await journal.claim(batch: "b3", worker: "new", limit: 5, leaseSeconds: 600)
            #expect(taken.count == 2)
            // The reclaimed line still holds its slots and says `submitting`: the new holder looks it up first.
            let reclaimed = try #require(taken.first { $0.line == 1 })
            #expect(reclaimed.state == .submitting && reclaimed.slotsHeld == 2)
            var stale = first[0]
            stale.state = .running
            stale.taskID = "T1"
            await #expect(throws: BatchError.self) { try await journal.update(stale, worker: "old") }
            await #expect(throws: BatchError.self) { try await journal.takeSlots(batch: "b3", externalTaskID: first[1].externalTaskID, worker: "old", cap: 5) }
            // Taking slots again for a line that holds them is a no-op, not a second helping.
            #expect(try await journal.takeSlots(batch: "b3", externalTaskID: reclaimed.externalTaskID, worker: "new", cap: 5))
            #expect(try await journal.counts(batch: "b3").slotsInUse == 2)
        }
    }

    @Test("slots never exceed the budget (nor the caller's cap), however many workers take them at once", arguments: JournalKind.all)
    func slotsWithinBudget(_ kind: JournalKind) async throws {
        try await kind.with { journal in
            let slots = (0..<30).map { 1 + $0 % 3 }
            try await journal.open(Self.descriptor("b4", budget: 7, lines: 30), jobs: Self.jobs("b4", slots: slots))
            let peak = try await withThrowingTaskGroup(of: Int.self) { group in
                for w in 0..<3 {
                    group.addTask {
                        var mine = try await journal.claim(batch: "b4", worker: "w\(w)", limit: 10, leaseSeconds: 600)
                        var peak = 0
                        var rounds = 0
                        while !mine.isEmpty && rounds < 400 {
                            rounds += 1
                            var job = mine.removeFirst()
                            if try await journal.takeSlots(batch: "b4", externalTaskID: job.externalTaskID, worker: "w\(w)", cap: 7) {
                                peak = max(peak, try await journal.counts(batch: "b4").slotsInUse)
                                job.slotsHeld = job.slots
                                job.state = .running
                                job.taskID = "T-\(job.line)"
                                try await journal.update(job, worker: "w\(w)")
                                job.state = .succeeded
                                job.slotsHeld = 0
                                try await journal.update(job, worker: "w\(w)")
                            } else {
                                mine.append(job)
                                try await Task.sleep(for: .milliseconds(5))
                            }
                        }
                        return peak
                    }
                }
                var peak = 0
                for try await p in group { peak = max(peak, p) }
                return peak
            }
            let counts = try await journal.counts(batch: "b4")
            #expect(peak <= 7 && peak >= 3)
            #expect(counts.isFinished && counts.byState[.succeeded] == 30 && counts.slotsInUse == 0)
        }
    }

    @Test("a cap below the budget is respected, an update can only lower slots, and a finished line never changes", arguments: JournalKind.all)
    func capAndMonotonicity(_ kind: JournalKind) async throws {
        try await kind.with { journal in
            try await journal.open(Self.descriptor("b5", budget: 10, lines: 3), jobs: Self.jobs("b5", slots: [3, 3, 3]))
            let jobs = try await journal.claim(batch: "b5", worker: "w", limit: 3, leaseSeconds: 600)
            #expect(try await journal.takeSlots(batch: "b5", externalTaskID: jobs[0].externalTaskID, worker: "w", cap: 4))
            #expect(try await !journal.takeSlots(batch: "b5", externalTaskID: jobs[1].externalTaskID, worker: "w", cap: 4))
            #expect(try await journal.takeSlots(batch: "b5", externalTaskID: jobs[1].externalTaskID, worker: "w", cap: 10))
            var raised = jobs[2]
            raised.slotsHeld = 3        // an update cannot take slots
            raised.state = .running
            try await journal.update(raised, worker: "w")
            #expect(try await journal.counts(batch: "b5").slotsInUse == 6)
            var done = jobs[0]
            done.state = .failed
            done.slotsHeld = 0
            done.message = "task_status_msg"
            done.businessCode = 1301
            done.requestID = "req-1"
            try await journal.update(done, worker: "w")
            #expect(try await journal.counts(batch: "b5").slotsInUse == 3)
            done.state = .pending
            await #expect(throws: BatchError.self) { try await journal.update(done, worker: "w") }
            let stored = try await journal.jobs(batch: "b5")[0]
            #expect(stored.state == .failed && stored.businessCode == 1301 && stored.requestID == "req-1" && stored.leaseOwner == nil)
            try await journal.release(batch: "b5", worker: "w")
            #expect(try await journal.claim(batch: "b5", worker: "x", limit: 5, leaseSeconds: 600).map(\.line) == [2, 3])
        }
    }
}
