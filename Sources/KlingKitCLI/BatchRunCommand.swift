import ArgumentParser
import ContactSheets
import Foundation
import KlingBatch
import KlingAPI
import KlingSupport
import NIOConcurrencyHelpers

/// How a batch is worked: budget, workers, leases, outputs (shared by `batch run` and `batch resume`).
struct BatchWorkOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Output folder: images, manifest.jsonl, sheets/, and the embedded journal.", valueName: "DIR"), completion: .directory)
    var out: String

    @Option(name: .long, help: ArgumentHelp("Most slots (n summed over running tasks) in use at once (default: the plan's limit if known, else 5).", valueName: "N"))
    var budget: Int?

    @Option(name: .long, help: ArgumentHelp("Runner loops in this process, each with its own leases (default 1).", valueName: "N"))
    var workers: Int = 1

    @Option(name: .customLong("lease-seconds"), help: ArgumentHelp("How long a claimed line stays this worker's without renewal (default 30).", valueName: "S"))
    var leaseSeconds: Double = 30

    @Option(name: .customLong("journal-patience"), help: ArgumentHelp("Seconds a journal call keeps retrying while the journal's server is unreachable (a PostgreSQL restart or failover) before the worker gives up (default 120).", valueName: "S"))
    var journalPatience: Double = 120

    @Option(name: .customLong("sheet-every"), help: ArgumentHelp("A contact sheet per this many results at the end (0: none; default 100).", valueName: "N"))
    var sheetEvery: Int = 100

    @Flag(name: .long, help: "Also download watermarked copies.")
    var watermark = false

    @Option(name: .customLong("callback-listen"), help: ArgumentHelp("Receive status callbacks on this address (with --callback-url).", valueName: "HOST:PORT"))
    var callbackListen: String?

    @Option(name: .customLong("callback-url"), help: ArgumentHelp("The URL the service can reach for --callback-listen (sent as every task's callback_url).", valueName: "URL"))
    var callbackURL: String?

    @Flag(name: .long, help: "One JSON event per line on stdout instead of the progress display.")
    var json = false

    func validate() throws {
        if let budget, budget < 1 { throw ValidationError("--budget must be at least 1") }
        guard (1...64).contains(workers) else { throw ValidationError("--workers must be in 1...64") }
        guard leaseSeconds.isFinite, (2...3600).contains(leaseSeconds) else { throw ValidationError("--lease-seconds must be in 2...3600") }
        guard journalPatience.isFinite, (0...86_400).contains(journalPatience) else {
            throw ValidationError("--journal-patience must be in 0...86400 seconds")
        }
        guard sheetEvery >= 0 else { throw ValidationError("--sheet-every must be 0 or more") }
        if (callbackListen == nil) != (callbackURL == nil) {
            throw ValidationError("--callback-listen and --callback-url go together")
        }
    }
}

/// `klingkit batch run FILE --out DIR`.
struct BatchRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Validate a batch file, then generate every line under the slot budget, exactly once per line.",
        discussion: """
            Every line is validated first (nothing is sent when any line is wrong). Each line's task carries the \
            external_task_id kkb-BATCH-LINEID, so a rerun, `batch resume` or another worker never creates a \
            second task for it. --journal postgres://… shares the batch with workers on other machines. \
            Exit 0 when every line succeeded; 3 when every line is finished and some failed; 2 for an invalid \
            batch (nothing sent); 1 otherwise.
            """
    )

    @OptionGroup var input: BatchFileOptions
    @OptionGroup var connection: APIConnectionOptions
    @OptionGroup var work: BatchWorkOptions

    @Option(name: .customLong("batch-id"), help: ArgumentHelp("Name the batch yourself (default: a hash of its content).", valueName: "ID"))
    var batchID: String?

    @OptionGroup var display: DisplayOptions

    func run() async throws {
        display.apply()
        let file = try input.load()
        let source = BatchSource(path: URL(fileURLWithPath: input.file).standardizedFileURL.path, set: input.set,
                                 prepare: input.prepare, content: file.contentID)
        try await BatchExecution(connection: connection, work: work)
            .execute(file: file, source: source, batchID: batchID ?? file.contentID)
    }
}

/// `klingkit batch resume --out DIR`: finish the batch the journal holds.
struct BatchResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Finish a batch from its journal (after an interruption): nothing already created is sent again.",
        discussion: "Reads the batch file named in the journal again (it must be unchanged) and works every unfinished line. Exit codes as for `batch run`."
    )

    @OptionGroup var connection: APIConnectionOptions
    @OptionGroup var work: BatchWorkOptions

    @Option(name: .customLong("batch-id"), help: ArgumentHelp("Which batch of the journal (default: the newest).", valueName: "ID"))
    var batchID: String?

    @OptionGroup var display: DisplayOptions

    func run() async throws {
        display.apply()
        let journal = try await openBatchJournal(connection.journal, out: work.out, mustExist: true)
        let descriptor: BatchDescriptor
        do {
            let id: String
            if let batchID { id = batchID } else if let sqlite = journal as? SQLiteBatchJournal, let newest = try await sqlite.batchIDs().first {
                id = newest
            } else {
                throw CommandFailure("name the batch with --batch-id (the journal holds none, or several)")
            }
            guard let d = try await journal.batch(id) else { throw CommandFailure("the journal has no batch \(id)") }
            descriptor = d
            await journal.close()
        } catch {
            await journal.close()
            throw error
        }
        guard let source = BatchSource(json: descriptor.source) else {
            throw CommandFailure("batch \(descriptor.id): the journal does not say which file it came from")
        }
        let file: BatchFile
        do { file = try BatchFile.load(path: source.path, overrides: source.set) } catch {
            throw CommandFailure(error.message, exitCode: APIExit.invalid)
        }
        guard file.contentID == source.content else {
            throw CommandFailure("\(source.path) changed since batch \(descriptor.id) started (content \(file.contentID), was \(source.content)); run it as a new batch", exitCode: APIExit.invalid)
        }
        try await BatchExecution(connection: connection, work: work, prepare: source.prepare)
            .execute(file: file, source: source, batchID: descriptor.id)
    }
}

/// Where a batch came from, kept in the journal for `resume`.
struct BatchSource: Codable {
    var path: String
    var set: [String]
    var prepare: Bool
    var content: String

    init(path: String, set: [String], prepare: Bool, content: String) {
        self.path = path
        self.set = set
        self.prepare = prepare
        self.content = content
    }

    init?(json: String) {
        guard let s = try? JSONDecoder().decode(BatchSource.self, from: Data(json.utf8)) else { return nil }
        self = s
    }

    var json: String { (try? JSONEncoder().encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}" }
}

/// Validate, register, run the workers, write the manifest and sheets: the body of `run` and `resume`.
struct BatchExecution {
    var connection: APIConnectionOptions
    var work: BatchWorkOptions
    var prepare: Bool?

    func execute(file: BatchFile, source: BatchSource, batchID: String) async throws {
        if let problem = BatchFileIDCheck.problem(batchID) { throw CommandFailure("--batch-id: \(problem)", exitCode: APIExit.invalid) }
        var configuration = try connection.configuration(withJournal: false)
        let budget = work.budget ?? configuration.concurrencyLimit ?? 5
        configuration.concurrencyLimit = nil              // the runner keeps the budget
        configuration.retry.retriesConcurrencyLimit = false  // the runner's window hears every 1303
        let out = URL(fileURLWithPath: work.out).standardizedFileURL
        let store: ReferenceStore
        do { store = try ReferenceStore(directory: out.appendingPathComponent(".klingkit-batch/references").path) } catch {
            throw CommandFailure(error.message)
        }
        let validation = await BatchValidator(images: configuration.images, prepare: prepare ?? source.prepare, budget: budget,
                                              store: store).validate(file)
        guard validation.isValid else {
            for p in validation.problems { note(p.description) }
            throw CommandFailure("\(file.path): \(validation.problems.count) problem(s); nothing sent", exitCode: APIExit.invalid)
        }
        let journal = try await openBatchJournal(connection.journal, out: out.path)
        let printer = BatchEventPrinter(json: work.json, total: file.lines.count)
        let hints = work.callbackListen != nil ? CallbackHints() : nil
        var listener: CallbackListener?
        do {
            let descriptor = BatchDescriptor(id: batchID, account: "\(configuration.provider.name) \(configuration.baseURL)",
                                             budget: budget, source: source.json, lines: file.lines.count)
            try await journal.open(descriptor, jobs: BatchRunner.jobs(for: file, batch: batchID))
            try await BatchLeases.releaseDeadLocalWorkers(journal: journal, batch: batchID)
            if let hints, let address = work.callbackListen {
                listener = try await CallbackListener.start(address: address, hints: hints)
            }
            let interrupts = installInterruptHandlers(out: work.out, json: work.json)
            defer { for s in interrupts { s.cancel() } }
            let client = KlingClient(configuration: configuration)
            let base = BatchRunnerOptions.defaultWorker()
            let summaries: [BatchSummary]
            do {
                summaries = try await withThrowingTaskGroup(of: BatchSummary.self) { group in
                    for i in 0..<work.workers {
                        var options = BatchRunnerOptions(budget: budget, leaseSeconds: work.leaseSeconds,
                                                         worker: work.workers == 1 ? base : "\(base)-\(i + 1)",
                                                         outputDirectory: out.path, includeWatermarked: work.watermark,
                                                         callbackURL: work.callbackURL)
                        options.maxConcurrentCalls = 16
                        options.journalPatience = work.journalPatience
                        let runner = BatchRunner(client: client, journal: journal, batch: descriptor, file: file, validation: validation,
                                                 store: store, options: options, hints: hints, events: printer.handle)
                        group.addTask { try await runner.run() }
                    }
                    var all: [BatchSummary] = []
                    for try await s in group { all.append(s) }
                    return all
                }
                try await client.shutdown()
            } catch {
                try? await client.shutdown()
                throw error
            }
            printer.finish()
            let jobs = try await journal.jobs(batch: batchID)
            try ManifestEntry.write(jobs, to: out.appendingPathComponent("manifest.jsonl").path)
            let sheets = work.sheetEvery > 0 ? try BatchSheets.write(jobs, every: work.sheetEvery, batch: batchID, to: out) : []
            await listener?.stop()
            await journal.close()
            let succeeded = jobs.filter { $0.state == .succeeded }.count
            let failed = jobs.filter { $0.state == .failed }.count
            let created = summaries.reduce(0) { $0 + $1.created }, limited = summaries.reduce(0) { $0 + $1.concurrencyLimited }
            let images = jobs.filter { $0.state == .succeeded }.reduce(0) { $0 + $1.files.count }
            let elapsed = summaries.map(\.elapsed).max() ?? 0
            if !work.json {
                for job in jobs where job.state == .failed {
                    note("klingkit: line \(job.line) (\(job.lineID)): failed: \(job.message ?? "no reason")"
                         + (job.businessCode.map { " (code \($0))" } ?? "") + (job.requestID.map { " [request \($0)]" } ?? ""))
                }
                output("batch \(batchID): \(succeeded) succeeded, \(failed) failed of \(jobs.count) line(s); \(images) image(s); "
                      + "\(created) task(s) created here, \(limited) concurrency refusal(s); \(String(format: "%.1f", elapsed)) s")
                output(out.appendingPathComponent("manifest.jsonl").path)
                for s in sheets { output(s) }
            }
            if succeeded + failed < jobs.count { throw CommandFailure("batch \(batchID) is not finished", exitCode: APIExit.unfinished) }
            if failed > 0 { throw ExitCode(APIExit.taskFailed) }
        } catch {
            await listener?.stop()
            await journal.close()
            printer.finish()
            if let e = error as? BatchError { throw CommandFailure(e.message) }
            throw error
        }
    }

    /// Ctrl-C or SIGTERM: every line is journaled; say how to finish.
    private func installInterruptHandlers(out: String, json: Bool) -> [DispatchSourceSignal] {
        [Int32(SIGINT), Int32(SIGTERM)].map { (sig: Int32) -> DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("\r\u{1B}[Kklingkit: interrupted; the batch is journaled: `klingkit batch resume --out \(TerminalText.escaped(out))` finishes it\n".utf8))
                Foundation.exit(130)
            }
            source.resume()
            return source
        }
    }
}

enum BatchFileIDCheck {
    static func problem(_ id: String) -> String? {
        guard (1...40).contains(id.count), id.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else {
            return "a batch id is 1...40 letters, digits, '-' or '_'"
        }
        return nil
    }
}

/// Prints a runner's events: JSON lines, or a live progress line plus failures on a terminal.
final class BatchEventPrinter: Sendable {
    private let json: Bool
    private let progress: ProgressLine
    private let lock = NIOLockedValueBox(0)   // images written so far; also serialises JSON lines

    init(json: Bool, total: Int) {
        self.json = json
        progress = ProgressLine.live(label: "batch", enabled: !json)
    }

    func handle(_ event: BatchEvent) {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            guard let data = try? encoder.encode(event) else { return }
            lock.withLockedValue { _ in
                FileHandle.standardOutput.write(data + Data("\n".utf8))
            }
            return
        }
        switch event.event {
        case .succeeded:
            // Images of every worker of this process (each runner's own events count only its own).
            let count = (event.files ?? []).filter { !$0.contains("-watermark.") }.count
            lock.withLockedValue { $0 += count }
        case .progress:
            let images = lock.withLockedValue { $0 }
            let elapsed = max(event.elapsed ?? 0, 0.001)
            let eta = event.eta.map { $0 > 0 ? ", ~\(Int($0)) s left" : "" } ?? ""
            progress.show("\(event.queued ?? 0) queued, \(event.runningSlots ?? 0) slots running, \(event.done ?? 0) done, "
                          + "\(event.failedCount ?? 0) failed of \(event.lines ?? 0); \(images) images, "
                          + String(format: "%.1f", Double(images) / elapsed) + "/s\(eta)")
        case .failed:
            progress.clear()
            note("klingkit: line \(event.line ?? 0) (\(event.id ?? "")): \(event.message ?? "failed")")
        case .journalWaiting:
            progress.clear()
            note("klingkit: the journal is unreachable (\(event.message ?? "no answer")); retrying for up to \(Int(event.elapsed ?? 0)) s")
        default:
            break
        }
    }

    func finish() { progress.finish() }
}

/// Contact sheets of a batch's results: one per `every` images, in line order.
enum BatchSheets {
    static func write(_ jobs: [BatchJob], every: Int, batch: String, to out: URL) throws -> [String] {
        var items: [SheetItem] = []
        for job in jobs where job.state == .succeeded {
            for path in job.files where !path.contains("-watermark.") {
                items.append(SheetItem(source: .file(path), caption: job.lineID))
            }
        }
        guard !items.isEmpty else { return [] }
        let dir = out.appendingPathComponent("sheets")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        var written: [String] = []
        let count = (items.count + every - 1) / every
        for k in 0..<count {
            let chunk = Array(items[(k * every)..<min(items.count, (k + 1) * every)])
            var options = SheetOptions(captions: .task, title: "batch \(batch) — sheet \(k + 1) of \(count)")
            options.format = .jpeg
            let path = dir.appendingPathComponent(String(format: "sheet-%03d.jpg", k + 1)).path
            do {
                let result = try ContactSheet.write(chunk, options: options, to: path)
                for f in result.failures { note("klingkit: warning: sheet tile \(f.name): \(f.message)") }
                written.append(path)
            } catch {
                throw CommandFailure("cannot write the contact sheet \(path): \(error)")
            }
        }
        return written
    }
}
