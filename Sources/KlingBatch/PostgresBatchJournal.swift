import Foundation
import KlingModels
import Logging
import NIOSSL
import PostgresNIO

/// The shared batch journal: PostgreSQL (postgres-nio), so `klingkit batch run` workers on several
/// machines work one batch under one account budget.
///
/// - Leases: ``claim(batch:worker:limit:leaseSeconds:)`` takes lines with `FOR UPDATE SKIP LOCKED`
///   (two workers never wait on, nor get, the same line); leases are renewed by the runner and an
///   expired one is claimed by whoever asks next. Lease times are the database server's clock
///   (`now()`), so the workers' clocks need not agree.
/// - Slots: ``takeSlots(batch:externalTaskID:worker:cap:)`` locks the account's row (`FOR UPDATE`),
///   sums the slots its lines hold and marks the line `submitting` in the same transaction, so the
///   budget holds however many workers ask at once.
/// - Schema: created and migrated by the tool (`kk_schema` holds the version; migrations run under a
///   transaction-scoped advisory lock, so workers starting together migrate once).
public final class PostgresBatchJournal: BatchJournal {
    /// The URL with any password replaced by `***` (safe to print).
    public let redactedURL: String
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger

    /// Connects to `url` (`postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?sslmode=disable|prefer|require]`;
    /// the password may come from `PGPASSWORD` instead) and migrates the schema.
    /// - Throws: ``BatchError`` `.configuration` for a malformed URL, `.journal` when the server cannot be used.
    /// - Parameter logger: for postgres-nio's own messages (default: errors only, on standard error).
    public init(url: String, logger: Logger = PostgresBatchJournal.quietLogger) async throws {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql" else {
            throw BatchError(.configuration, "--journal must be a postgres://USER@HOST:PORT/DATABASE URL")
        }
        var redacted = c
        if redacted.password != nil { redacted.password = "***" }
        redactedURL = redacted.string ?? "postgres://…"
        let host = c.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
        let user = c.user ?? ProcessInfo.processInfo.environment["PGUSER"] ?? ProcessInfo.processInfo.environment["USER"] ?? "postgres"
        let password = c.password ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
        var database = c.path
        if database.hasPrefix("/") { database.removeFirst() }
        let sslmode = c.queryItems?.first(where: { $0.name == "sslmode" })?.value ?? (["127.0.0.1", "localhost", "::1"].contains(host) ? "disable" : "prefer")
        let tls: PostgresClient.Configuration.TLS
        switch sslmode {
        case "disable": tls = .disable
        case "prefer", "allow": tls = .prefer(.makeClientConfiguration())
        case "require", "verify-ca", "verify-full": tls = .require(.makeClientConfiguration())
        default: throw BatchError(.configuration, "--journal: sslmode must be disable, prefer or require, not \(sslmode)")
        }
        var config = PostgresClient.Configuration(host: host, port: c.port ?? 5432, username: user, password: password,
                                                  database: database.isEmpty ? nil : database, tls: tls)
        config.options.maximumConnections = 4
        config.options.connectionIdleTimeout = .seconds(60)
        self.logger = logger
        let client = PostgresClient(configuration: config, backgroundLogger: logger)
        self.client = client
        runner = Task { await client.run() }
        do {
            try await migrate()
        } catch {
            runner.cancel()
            throw error
        }
    }

    /// A logger that lets only errors through.
    public static var quietLogger: Logger {
        var logger = Logger(label: "klingkit.batch.postgres")
        logger.logLevel = .error
        return logger
    }

    /// The schema versions, applied in order.
    static let migrations: [String] = [
        """
        CREATE TABLE kk_accounts (account TEXT PRIMARY KEY, budget INTEGER NOT NULL CHECK (budget >= 1));
        CREATE TABLE kk_batches (id TEXT PRIMARY KEY, account TEXT NOT NULL, source TEXT NOT NULL,
            lines INTEGER NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());
        CREATE TABLE kk_jobs (
            batch_id TEXT NOT NULL, line INTEGER NOT NULL, line_id TEXT NOT NULL,
            external_task_id TEXT NOT NULL UNIQUE, account TEXT NOT NULL, kind TEXT NOT NULL,
            slots INTEGER NOT NULL, request TEXT NOT NULL, state TEXT NOT NULL,
            task_id TEXT, slots_held INTEGER NOT NULL DEFAULT 0 CHECK (slots_held >= 0),
            attempts INTEGER NOT NULL DEFAULT 0, files TEXT NOT NULL DEFAULT '[]', message TEXT,
            business_code INTEGER, request_id TEXT, lease_owner TEXT, lease_expires TIMESTAMPTZ,
            updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (batch_id, line_id));
        CREATE INDEX kk_jobs_claim ON kk_jobs (batch_id, state, line);
        CREATE INDEX kk_jobs_slots ON kk_jobs (account) WHERE slots_held > 0
        """,
    ]

    private func migrate() async throws {
        // The first transaction also connects: on a loaded machine (or a server still recovering) that
        // may take longer than a statement should, so it has a deadline of its own.
        try await transaction("migrate the schema", deadline: Self.openDeadline) { conn, logger in
            try await conn.query("SELECT pg_advisory_xact_lock(7245301151)", logger: logger)
            try await conn.query("CREATE TABLE IF NOT EXISTS kk_schema (version INTEGER NOT NULL)", logger: logger)
            var version = 0
            for try await v in try await conn.query("SELECT version FROM kk_schema", logger: logger).decode(Int.self) { version = v }
            if version == 0 { try await conn.query("INSERT INTO kk_schema (version) VALUES (0)", logger: logger) }
            for (i, sql) in Self.migrations.enumerated() where i + 1 > version {
                for statement in sql.split(separator: ";") where !statement.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                    try await conn.query(PostgresQuery(unsafeSQL: String(statement)), logger: logger)
                }
                try await conn.query("UPDATE kk_schema SET version = \(i + 1)", logger: logger)
            }
        }
    }

    /// Seconds one transaction may take before it is abandoned as `journalUnavailable` (see
    /// ``JournalDeadline``): far above any statement here (milliseconds, lock waits included).
    static let callDeadline = 30.0
    /// The deadline of the first transaction (connecting and migrating the schema).
    static let openDeadline = 120.0

    @discardableResult
    private func transaction<T: Sendable>(_ what: String, deadline: Double = callDeadline,
                                          _ body: @escaping @Sendable (PostgresConnection, Logger) async throws -> T) async throws -> T {
        let logger = self.logger, client = self.client
        do {
            return try await JournalDeadline.run(seconds: deadline,
                                                 message: "batch journal \(redactedURL): \(what): no answer within \(Int(deadline)) s") {
              try await client.withConnection { conn in
                try await conn.query("BEGIN", logger: logger)
                do {
                    let value = try await body(conn, logger)
                    try await conn.query("COMMIT", logger: logger)
                    return value
                } catch {
                    _ = try? await conn.query("ROLLBACK", logger: logger)
                    throw error
                }
              }
            }
        } catch let e as BatchError {
            throw e
        } catch {
            throw BatchError(Self.isUnavailable(error) ? .journalUnavailable : .journal,
                             "batch journal \(redactedURL): \(what): \(Self.reason(error))")
        }
    }

    /// Whether `error` says the server could not be reached or went away (so a retry may succeed), not
    /// that it refused the statement: the connection-level client errors, and the server's SQLSTATE
    /// class 08 (connection exception), 57P01–57P03 (shutting down, crashed, starting up) and 53300
    /// (too many connections). (SQLSTATE meanings: PostgreSQL's "Appendix A. Error Codes".)
    static func isUnavailable(_ error: Error) -> Bool {
        guard let e = error as? PSQLError else { return false }
        switch e.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown: return true
        case .server:
            guard let state = e.serverInfo?[.sqlState] else { return false }
            return state.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(state)
        default: return false
        }
    }

    public func open(_ batch: BatchDescriptor, jobs: [BatchJob]) async throws {
        try await transaction("register the batch") { conn, logger in
            try await conn.query("""
                INSERT INTO kk_accounts (account, budget) VALUES (\(batch.account), \(batch.budget))
                ON CONFLICT (account) DO UPDATE SET budget = excluded.budget
                """, logger: logger)
            try await conn.query("""
                INSERT INTO kk_batches (id, account, source, lines) VALUES (\(batch.id), \(batch.account), \(batch.source), \(batch.lines))
                ON CONFLICT (id) DO NOTHING
                """, logger: logger)
            // In chunks of 500 rows: one statement per chunk, arrays unnested.
            var start = 0
            while start < jobs.count {
                let chunk = jobs[start..<min(start + 500, jobs.count)]
                start += 500
                try await conn.query("""
                    INSERT INTO kk_jobs (batch_id, line, line_id, external_task_id, account, kind, slots, request, state)
                    SELECT \(batch.id), l, i, e, \(batch.account), k, s, r, 'pending'
                    FROM unnest(\(chunk.map(\.line)), \(chunk.map(\.lineID)), \(chunk.map(\.externalTaskID)),
                                \(chunk.map(\.kind.rawValue)), \(chunk.map(\.slots)), \(chunk.map(\.request))) AS t(l, i, e, k, s, r)
                    ON CONFLICT DO NOTHING
                    """, logger: logger)
            }
        }
    }

    private static let columns = """
        batch_id, line, line_id, external_task_id, kind, slots, request, state, task_id, slots_held, attempts, files,
        message, business_code, request_id, lease_owner
        """

    public func claim(batch: String, worker: String, limit: Int, leaseSeconds: Double) async throws -> [BatchJob] {
        try await transaction("claim lines") { conn, logger in
            let rows = try await conn.query("""
                UPDATE kk_jobs SET lease_owner = \(worker), lease_expires = now() + make_interval(secs => \(leaseSeconds))
                WHERE external_task_id IN (
                    SELECT external_task_id FROM kk_jobs WHERE batch_id = \(batch) AND state NOT IN ('succeeded', 'failed')
                    AND (lease_owner IS NULL OR lease_expires < now()) ORDER BY line LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                RETURNING \(unescaped: Self.columns)
                """, logger: logger)
            var out: [BatchJob] = []
            for try await row in rows { out.append(try Self.job(row)) }
            return out.sorted { $0.line < $1.line }
        }
    }

    public func renew(batch: String, worker: String, leaseSeconds: Double) async throws -> Set<String> {
        try await transaction("renew leases") { conn, logger in
            let rows = try await conn.query("""
                UPDATE kk_jobs SET lease_expires = now() + make_interval(secs => \(leaseSeconds))
                WHERE batch_id = \(batch) AND lease_owner = \(worker) AND lease_expires >= now()
                RETURNING external_task_id
                """, logger: logger)
            var out = Set<String>()
            for try await id in rows.decode(String.self) { out.insert(id) }
            return out
        }
    }

    public func takeSlots(batch: String, externalTaskID: String, worker: String, cap: Int) async throws -> Bool {
        try await transaction("take slots") { conn, logger in
            var account: String?
            for try await a in try await conn.query("SELECT account FROM kk_jobs WHERE external_task_id = \(externalTaskID) AND batch_id = \(batch)",
                                                    logger: logger).decode(String.self) { account = a }
            guard let account else { throw BatchError(.leaseLost, "line \(externalTaskID) is not in batch \(batch)") }
            // The account row's lock serialises every slot decision of the account.
            var budget = 0
            for try await b in try await conn.query("SELECT budget FROM kk_accounts WHERE account = \(account) FOR UPDATE",
                                                    logger: logger).decode(Int.self) { budget = b }
            var found: (slots: Int, held: Int, owned: Bool)?
            for try await (slots, held, owned) in try await conn.query("""
                SELECT slots, slots_held, (lease_owner = \(worker) AND lease_expires >= now()) IS TRUE
                FROM kk_jobs WHERE external_task_id = \(externalTaskID) FOR UPDATE
                """, logger: logger).decode((Int, Int, Bool).self) { found = (slots, held, owned) }
            guard let found, found.owned else { throw BatchError(.leaseLost, "line \(externalTaskID) is no longer leased to \(worker)") }
            if found.held >= found.slots { return true }
            var used = 0
            for try await u in try await conn.query("SELECT COALESCE(SUM(slots_held), 0)::BIGINT FROM kk_jobs WHERE account = \(account) AND slots_held > 0",
                                                    logger: logger).decode(Int.self) { used = u }
            guard used + found.slots <= min(budget, cap) else { return false }
            try await conn.query("UPDATE kk_jobs SET slots_held = slots, state = 'submitting', updated_at = now() WHERE external_task_id = \(externalTaskID)",
                                 logger: logger)
            return true
        }
    }

    public func update(_ job: BatchJob, worker: String) async throws {
        let files = String(decoding: try JSONEncoder().encode(job.files), as: UTF8.self)
        let finished = job.state.isFinished
        try await transaction("record line \(job.line)") { conn, logger in
            let rows = try await conn.query("""
                UPDATE kk_jobs SET state = \(job.state.rawValue), task_id = \(job.taskID), slots_held = LEAST(slots_held, \(max(0, job.slotsHeld))),
                    attempts = \(job.attempts), files = \(files), message = \(job.message), business_code = \(job.businessCode),
                    request_id = \(job.requestID), updated_at = now(),
                    lease_owner = CASE WHEN \(finished) THEN NULL ELSE lease_owner END,
                    lease_expires = CASE WHEN \(finished) THEN NULL ELSE lease_expires END
                WHERE external_task_id = \(job.externalTaskID) AND batch_id = \(job.batchID) AND lease_owner = \(worker)
                    AND lease_expires >= now() AND state NOT IN ('succeeded', 'failed')
                RETURNING line
                """, logger: logger)
            var changed = 0
            for try await _ in rows { changed += 1 }
            if changed == 0 { throw BatchError(.leaseLost, "line \(job.line) (\(job.externalTaskID)) is no longer leased to \(worker)") }
        }
    }

    public func release(batch: String, worker: String) async throws {
        try await transaction("release leases") { conn, logger in
            try await conn.query("UPDATE kk_jobs SET lease_owner = NULL, lease_expires = NULL WHERE batch_id = \(batch) AND lease_owner = \(worker)",
                                 logger: logger)
        }
    }

    public func jobs(batch: String) async throws -> [BatchJob] {
        try await transaction("read lines") { conn, logger in
            var out: [BatchJob] = []
            for try await row in try await conn.query("SELECT \(unescaped: Self.columns) FROM kk_jobs WHERE batch_id = \(batch) ORDER BY line",
                                                      logger: logger) {
                out.append(try Self.job(row))
            }
            return out
        }
    }

    public func counts(batch: String) async throws -> BatchCounts {
        try await transaction("read counts") { conn, logger in
            var by: [JobState: Int] = [:]
            for try await (state, n) in try await conn.query("SELECT state, COUNT(*)::BIGINT FROM kk_jobs WHERE batch_id = \(batch) GROUP BY state",
                                                             logger: logger).decode((String, Int).self) {
                if let s = JobState(rawValue: state) { by[s] = n }
            }
            var budget = 0, used = 0
            for try await (b, u) in try await conn.query("""
                SELECT a.budget, (SELECT COALESCE(SUM(slots_held), 0)::BIGINT FROM kk_jobs j WHERE j.account = a.account)
                FROM kk_batches b JOIN kk_accounts a ON a.account = b.account WHERE b.id = \(batch)
                """, logger: logger).decode((Int, Int).self) { budget = b; used = u }
            return BatchCounts(byState: by, slotsInUse: used, budget: budget)
        }
    }

    public func batch(_ id: String) async throws -> BatchDescriptor? {
        try await transaction("read batch") { conn, logger in
            var out: BatchDescriptor?
            for try await (id, account, source, lines, budget) in try await conn.query("""
                SELECT b.id, b.account, b.source, b.lines, a.budget FROM kk_batches b JOIN kk_accounts a ON a.account = b.account WHERE b.id = \(id)
                """, logger: logger).decode((String, String, String, Int, Int).self) {
                out = BatchDescriptor(id: id, account: account, budget: budget, source: source, lines: lines)
            }
            return out
        }
    }

    public func close() async {
        runner.cancel()
        _ = await runner.value
    }

    static func job(_ row: PostgresRow) throws -> BatchJob {
        let r = row.makeRandomAccess()
        let filesText = try r["files"].decode(String.self)
        let state = try r["state"].decode(String.self)
        guard let s = JobState(rawValue: state) else { throw BatchError(.journal, "a line has an unknown state \(state)") }
        return BatchJob(batchID: try r["batch_id"].decode(String.self), line: try r["line"].decode(Int.self),
                        lineID: try r["line_id"].decode(String.self), externalTaskID: try r["external_task_id"].decode(String.self),
                        kind: TaskKind(rawValue: try r["kind"].decode(String.self)) ?? .generation,
                        slots: try r["slots"].decode(Int.self), request: try r["request"].decode(String.self), state: s,
                        taskID: try r["task_id"].decode(String?.self), slotsHeld: try r["slots_held"].decode(Int.self),
                        attempts: try r["attempts"].decode(Int.self),
                        files: (try? JSONDecoder().decode([String].self, from: Data(filesText.utf8))) ?? [],
                        message: try r["message"].decode(String?.self), businessCode: try r["business_code"].decode(Int?.self),
                        requestID: try r["request_id"].decode(String?.self), leaseOwner: try r["lease_owner"].decode(String?.self))
    }

    static func reason(_ error: Error) -> String {
        if let e = error as? PSQLError {
            if let message = e.serverInfo?[.message] { return message }
            return "\(e.code)"
        }
        return String(describing: error)
    }
}
