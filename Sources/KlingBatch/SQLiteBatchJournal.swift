import Foundation
import GRDB
import KlingModels

/// The embedded batch journal: one SQLite file (through GRDB), the default of `klingkit batch run`.
///
/// Why SQLite rather than the client's directory journal (one JSON file per task): a batch changes a
/// line's state, its lease and the account's slots *together* — taking slots is "sum the slots in use,
/// compare with the budget, mark the line" — and a directory of files cannot make that one atomic
/// step, nor let two processes on one machine share a batch without a lock protocol of its own. SQLite
/// gives real transactions (`BEGIN IMMEDIATE` serialises writers across processes), one file instead
/// of thousands, and the same SQL shape as ``PostgresBatchJournal``, so both pass one contract.
/// WAL mode with `synchronous = NORMAL` (see ``init(path:)``); writers wait up to 30 s for the lock. Leases use this machine's clock (Unix seconds).
public final class SQLiteBatchJournal: BatchJournal {
    /// The database file.
    public let path: String
    private let db: DatabaseQueue

    /// Opens (creating) the journal database at `path` and migrates its schema.
    /// - Throws: ``BatchError`` `.journal` with SQLite's reason.
    public init(path: String) throws {
        self.path = path
        var config = Configuration()
        config.busyMode = .timeout(30)
        config.journalMode = .wal
        // WAL with synchronous=NORMAL: a commit survives the process being killed (kill -9, a crash),
        // not a power cut of the machine; every state change no longer waits for an fsync (with
        // FULL, a 300-line batch spent most of its time in fsync). After a power cut the worst case is
        // a line rolled back to an earlier state, which its external id makes safe to redo.
        config.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            db = try DatabaseQueue(path: path, configuration: config)
            try Self.migrator.migrate(db)
        } catch {
            throw BatchError(.journal, "cannot open the batch journal \(path): \(Self.reason(error))")
        }
    }

    /// The schema, versioned by GRDB's migrator (table `grdb_migrations`).
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE kk_accounts (account TEXT PRIMARY KEY, budget INTEGER NOT NULL CHECK (budget >= 1));
                CREATE TABLE kk_batches (id TEXT PRIMARY KEY, account TEXT NOT NULL, source TEXT NOT NULL,
                    lines INTEGER NOT NULL, created_at REAL NOT NULL);
                CREATE TABLE kk_jobs (
                    batch_id TEXT NOT NULL, line INTEGER NOT NULL, line_id TEXT NOT NULL,
                    external_task_id TEXT NOT NULL UNIQUE, account TEXT NOT NULL, kind TEXT NOT NULL,
                    slots INTEGER NOT NULL, request TEXT NOT NULL, state TEXT NOT NULL,
                    task_id TEXT, slots_held INTEGER NOT NULL DEFAULT 0 CHECK (slots_held >= 0),
                    attempts INTEGER NOT NULL DEFAULT 0, files TEXT NOT NULL DEFAULT '[]', message TEXT,
                    business_code INTEGER, request_id TEXT, lease_owner TEXT, lease_expires REAL,
                    updated_at REAL NOT NULL,
                    PRIMARY KEY (batch_id, line_id));
                CREATE INDEX kk_jobs_claim ON kk_jobs (batch_id, state, line);
                CREATE INDEX kk_jobs_slots ON kk_jobs (account) WHERE slots_held > 0;
                """)
        }
        return m
    }

    private static func now() -> Double { Date().timeIntervalSince1970 }

    private func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await db.writeWithoutTransaction { db in
                var result: T?
                try db.inTransaction(.immediate) {
                    result = try body(db)
                    return .commit
                }
                return result!
            }
        } catch let e as BatchError {
            throw e
        } catch {
            throw BatchError(.journal, "batch journal \(path): \(what): \(Self.reason(error))")
        }
    }

    public func open(_ batch: BatchDescriptor, jobs: [BatchJob]) async throws {
        try await write("register the batch") { db in
            try db.execute(sql: "INSERT INTO kk_accounts (account, budget) VALUES (?, ?) ON CONFLICT (account) DO UPDATE SET budget = excluded.budget",
                           arguments: [batch.account, batch.budget])
            try db.execute(sql: "INSERT INTO kk_batches (id, account, source, lines, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                           arguments: [batch.id, batch.account, batch.source, batch.lines, Self.now()])
            let now = Self.now()
            for job in jobs {
                try db.execute(sql: """
                    INSERT INTO kk_jobs (batch_id, line, line_id, external_task_id, account, kind, slots, request, state, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?) ON CONFLICT DO NOTHING
                    """, arguments: [batch.id, job.line, job.lineID, job.externalTaskID, batch.account, job.kind.rawValue,
                                     job.slots, job.request, now])
            }
        }
    }

    public func claim(batch: String, worker: String, limit: Int, leaseSeconds: Double) async throws -> [BatchJob] {
        try await write("claim lines") { db in
            let now = Self.now()
            let rows = try Row.fetchAll(db, sql: """
                SELECT * FROM kk_jobs WHERE batch_id = ? AND state NOT IN ('succeeded', 'failed')
                AND (lease_owner IS NULL OR lease_expires < ?) ORDER BY line LIMIT ?
                """, arguments: [batch, now, limit])
            var out: [BatchJob] = []
            for row in rows {
                let id: String = row["external_task_id"]
                try db.execute(sql: "UPDATE kk_jobs SET lease_owner = ?, lease_expires = ? WHERE external_task_id = ?",
                               arguments: [worker, now + leaseSeconds, id])
                var job = try Self.job(row)
                job.leaseOwner = worker
                out.append(job)
            }
            return out
        }
    }

    public func renew(batch: String, worker: String, leaseSeconds: Double) async throws -> Set<String> {
        try await write("renew leases") { db in
            let now = Self.now()
            try db.execute(sql: "UPDATE kk_jobs SET lease_expires = ? WHERE batch_id = ? AND lease_owner = ? AND lease_expires >= ?",
                           arguments: [now + leaseSeconds, batch, worker, now])
            return Set(try String.fetchAll(db, sql: "SELECT external_task_id FROM kk_jobs WHERE batch_id = ? AND lease_owner = ? AND lease_expires >= ?",
                                           arguments: [batch, worker, now]))
        }
    }

    public func takeSlots(batch: String, externalTaskID: String, worker: String, cap: Int) async throws -> Bool {
        try await write("take slots") { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM kk_jobs WHERE external_task_id = ? AND batch_id = ?",
                                             arguments: [externalTaskID, batch]),
                  (row["lease_owner"] as String?) == worker, (row["lease_expires"] as Double? ?? 0) >= Self.now() else {
                throw BatchError(.leaseLost, "line \(externalTaskID) is no longer leased to \(worker)")
            }
            let job = try Self.job(row)
            if job.slotsHeld >= job.slots { return true }   // already holds them (a reclaimed `submitting` line)
            let account: String = row["account"]
            let budget = try Int.fetchOne(db, sql: "SELECT budget FROM kk_accounts WHERE account = ?", arguments: [account]) ?? 0
            let used = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(slots_held), 0) FROM kk_jobs WHERE account = ? AND slots_held > 0",
                                        arguments: [account]) ?? 0
            guard used + job.slots <= min(budget, cap) else { return false }
            try db.execute(sql: "UPDATE kk_jobs SET slots_held = slots, state = 'submitting', updated_at = ? WHERE external_task_id = ?",
                           arguments: [Self.now(), externalTaskID])
            return true
        }
    }

    public func update(_ job: BatchJob, worker: String) async throws {
        try await write("record line \(job.line)") { db in
            let now = Self.now()
            let files = String(decoding: try JSONEncoder().encode(job.files), as: UTF8.self)
            let finished = job.state.isFinished
            try db.execute(sql: """
                UPDATE kk_jobs SET state = ?, task_id = ?, slots_held = MIN(slots_held, ?), attempts = ?, files = ?,
                    message = ?, business_code = ?, request_id = ?, updated_at = ?,
                    lease_owner = CASE WHEN ? THEN NULL ELSE lease_owner END,
                    lease_expires = CASE WHEN ? THEN NULL ELSE lease_expires END
                WHERE external_task_id = ? AND batch_id = ? AND lease_owner = ? AND lease_expires >= ?
                    AND state NOT IN ('succeeded', 'failed')
                """, arguments: [job.state.rawValue, job.taskID, max(0, job.slotsHeld), job.attempts, files, job.message,
                                 job.businessCode, job.requestID, now, finished, finished, job.externalTaskID, job.batchID,
                                 worker, now])
            if db.changesCount == 0 {
                throw BatchError(.leaseLost, "line \(job.line) (\(job.externalTaskID)) is no longer leased to \(worker)")
            }
        }
    }

    public func release(batch: String, worker: String) async throws {
        try await write("release leases") { db in
            try db.execute(sql: "UPDATE kk_jobs SET lease_owner = NULL, lease_expires = NULL WHERE batch_id = ? AND lease_owner = ?",
                           arguments: [batch, worker])
        }
    }

    public func jobs(batch: String) async throws -> [BatchJob] {
        do {
            return try await db.read { db in
                try Row.fetchAll(db, sql: "SELECT * FROM kk_jobs WHERE batch_id = ? ORDER BY line", arguments: [batch]).map(Self.job)
            }
        } catch {
            throw BatchError(.journal, "batch journal \(path): read lines: \(Self.reason(error))")
        }
    }

    public func counts(batch: String) async throws -> BatchCounts {
        do {
            return try await db.read { db in
                var by: [JobState: Int] = [:]
                for row in try Row.fetchAll(db, sql: "SELECT state, COUNT(*) AS n FROM kk_jobs WHERE batch_id = ? GROUP BY state", arguments: [batch]) {
                    if let s = JobState(rawValue: row["state"]) { by[s] = row["n"] }
                }
                let account = try String.fetchOne(db, sql: "SELECT account FROM kk_batches WHERE id = ?", arguments: [batch]) ?? ""
                let budget = try Int.fetchOne(db, sql: "SELECT budget FROM kk_accounts WHERE account = ?", arguments: [account]) ?? 0
                let used = try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(slots_held), 0) FROM kk_jobs WHERE account = ?", arguments: [account]) ?? 0
                return BatchCounts(byState: by, slotsInUse: used, budget: budget)
            }
        } catch {
            throw BatchError(.journal, "batch journal \(path): read counts: \(Self.reason(error))")
        }
    }

    public func batch(_ id: String) async throws -> BatchDescriptor? {
        do {
            return try await db.read { db in
                guard let row = try Row.fetchOne(db, sql: """
                    SELECT b.id, b.account, b.source, b.lines, a.budget FROM kk_batches b JOIN kk_accounts a ON a.account = b.account WHERE b.id = ?
                    """, arguments: [id]) else { return nil }
                return BatchDescriptor(id: row["id"], account: row["account"], budget: row["budget"], source: row["source"], lines: row["lines"])
            }
        } catch {
            throw BatchError(.journal, "batch journal \(path): read batch: \(Self.reason(error))")
        }
    }

    /// Every registered batch id, newest first.
    public func batchIDs() async throws -> [String] {
        do {
            return try await db.read { db in try String.fetchAll(db, sql: "SELECT id FROM kk_batches ORDER BY created_at DESC") }
        } catch {
            throw BatchError(.journal, "batch journal \(path): list batches: \(Self.reason(error))")
        }
    }

    public func close() async {
        try? db.close()
    }

    static func job(_ row: Row) throws -> BatchJob {
        let filesText: String = row["files"]
        let files = (try? JSONDecoder().decode([String].self, from: Data(filesText.utf8))) ?? []
        guard let state = JobState(rawValue: row["state"]) else {
            throw BatchError(.journal, "line \(row["line"] as Int? ?? 0) has an unknown state \(row["state"] as String? ?? "")")
        }
        return BatchJob(batchID: row["batch_id"], line: row["line"], lineID: row["line_id"], externalTaskID: row["external_task_id"],
                        kind: TaskKind(rawValue: row["kind"]) ?? .generation, slots: row["slots"], request: row["request"],
                        state: state, taskID: row["task_id"], slotsHeld: row["slots_held"], attempts: row["attempts"],
                        files: files, message: row["message"], businessCode: row["business_code"], requestID: row["request_id"],
                        leaseOwner: row["lease_owner"])
    }

    static func reason(_ error: Error) -> String {
        if let e = error as? DatabaseError { return e.message ?? "\(e.resultCode)" }
        return String(describing: error)
    }
}
