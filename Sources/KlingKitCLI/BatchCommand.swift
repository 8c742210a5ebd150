import ArgumentParser
import Foundation
import KlingAPI
import KlingBatch
import KlingKit

/// `klingkit batch`: many generations from one file under one account budget (issue #15).
struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Run many generations from one file (JSON Lines or CSV) under one slot budget, resumably.",
        discussion: """
            A batch file holds one request per line: JSON Lines with the API body's or generate's field names \
            (prompt, image, image_reference, n, aspect_ratio, model, resolution, subjects, scene, style, …) and an \
            optional id, plus one optional {"defaults": {…}} line; or CSV with a header row of the same names \
            (lists separated by |). --set KEY=VALUE fills a field for every line that leaves it out.
            """,
        subcommands: [BatchValidateCommand.self, BatchRunCommand.self, BatchResumeCommand.self, BatchStatusCommand.self]
    )
}

/// Options naming a batch file and what shapes its lines.
struct BatchFileOptions: ParsableArguments {
    @Argument(help: ArgumentHelp("The batch file (.jsonl or .csv).", valueName: "FILE"), completion: .file())
    var file: String

    @Option(name: .customLong("set"), help: ArgumentHelp("A field for every line that does not set it (repeatable).", valueName: "KEY=VALUE"))
    var set: [String] = []

    @Flag(name: .long, help: "Fix local images that break an upload rule (resize, pad, re-encode) instead of refusing them.")
    var prepare = false

    /// Reads the file; a read failure is one line and exit 2.
    func load() throws -> BatchFile {
        do { return try BatchFile.load(path: file, overrides: set) } catch {
            throw CommandFailure(error.message, exitCode: APIExit.invalid)
        }
    }
}

/// `klingkit batch validate FILE`: every problem of every line, before anything is sent.
struct BatchValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check every line of a batch file (fields, n against the budget, every reference image once per content).",
        discussion: "Prints one line per problem (FILE:LINE: FIELD: RULE) and exits 2 when there is any; 0 and a one-line summary otherwise."
    )

    @OptionGroup var input: BatchFileOptions

    @Option(name: .long, help: ArgumentHelp("Refuse lines whose n exceeds this many slots.", valueName: "N"))
    var budget: Int?

    @Flag(name: .long, help: "One JSON object per problem, then a summary object, on stdout.")
    var json = false

    func run() async throws {
        let file = try input.load()
        let validation = await BatchValidator(images: ReferenceImageChecks(), prepare: input.prepare, budget: budget).validate(file)
        for p in validation.problems {
            if json { printJSON(p) } else { output(p.description) }
        }
        if json {
            printJSON(BatchValidationSummary(file: input.file, lines: validation.lines, problems: validation.problems.count,
                                             distinctImages: validation.distinctImages, batchID: file.contentID))
        } else if validation.isValid {
            output("\(input.file): \(validation.lines) line(s) valid, \(validation.distinctImages) distinct reference image(s); batch \(file.contentID)")
        }
        if !validation.isValid {
            if !json { note("klingkit: \(input.file): \(validation.problems.count) problem(s); nothing sent") }
            throw ExitCode(APIExit.invalid)
        }
    }
}

struct BatchValidationSummary: Encodable {
    var file: String
    var lines: Int
    var problems: Int
    var distinctImages: Int
    var batchID: String
    enum CodingKeys: String, CodingKey {
        case file, lines, problems
        case distinctImages = "distinct_images", batchID = "batch_id"
    }
}

/// `klingkit batch status`: what the journal knows of a batch.
struct BatchStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a batch's lines by state, the account's slots in use, and (with --lines) every line.",
        discussion: "Exit 0 when every line is finished, 4 while lines remain."
    )

    @OptionGroup var place: BatchJournalOptions

    @Flag(name: .long, help: "Also list every line: LINE ID STATE TASK_ID MESSAGE.")
    var lines = false

    @Flag(name: .long, help: "One JSON object on stdout (with --lines, one per line first).")
    var json = false

    func run() async throws {
        let journal = try await place.open()
        do {
            let id = try await place.batchID(in: journal)
            let counts = try await journal.counts(batch: id)
            if lines {
                for job in try await journal.jobs(batch: id) {
                    if json { outputJSON(try ManifestEntry(job).json()) } else {
                        output("\(job.line)\t\(job.lineID)\t\(job.state.rawValue)\t\(job.taskID ?? "-")\t\(job.message ?? "")")
                    }
                }
            }
            if json {
                printJSON(BatchStatusSummary(batchID: id, counts: counts))
            } else {
                let parts = JobState.allCases.map { "\(counts.byState[$0] ?? 0) \($0.rawValue)" }.joined(separator: ", ")
                output("batch \(id): \(counts.total) line(s): \(parts); slots in use \(counts.slotsInUse)/\(counts.budget)")
            }
            await journal.close()
            if !counts.isFinished { throw ExitCode(APIExit.unfinished) }
        } catch {
            await journal.close()
            throw error
        }
    }
}

struct BatchStatusSummary: Encodable {
    var batchID: String
    var counts: BatchCounts
    func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: DynamicKey.self)
        try c.encode(batchID, forKey: DynamicKey("batch_id"))
        for s in JobState.allCases { try c.encode(counts.byState[s] ?? 0, forKey: DynamicKey(s.rawValue)) }
        try c.encode(counts.total, forKey: DynamicKey("lines"))
        try c.encode(counts.slotsInUse, forKey: DynamicKey("slots_in_use"))
        try c.encode(counts.budget, forKey: DynamicKey("budget"))
        try c.encode(counts.isFinished, forKey: DynamicKey("finished"))
    }
    struct DynamicKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ s: String) { stringValue = s }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}

/// Where a batch's journal is: `--journal postgres://…` or a SQLite file, else `OUT/.klingkit-batch/journal.sqlite`.
struct BatchJournalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The batch's output folder (holds the embedded journal).", valueName: "DIR"), completion: .directory)
    var out: String?

    @Option(name: .customLong("journal"), help: ArgumentHelp(
        "The batch journal: postgres://USER@HOST:PORT/DB (shared by workers) or a SQLite file (default OUT/.klingkit-batch/journal.sqlite).",
        valueName: "URL|FILE"))
    var journal: String?

    @Option(name: .customLong("batch-id"), help: ArgumentHelp("Which batch of the journal (default: the only or newest one).", valueName: "ID"))
    var batchID: String?

    func validate() throws {
        if out == nil && journal == nil { throw ValidationError("give --out DIR (embedded journal) or --journal URL|FILE") }
    }

    func open() async throws -> any BatchJournal {
        try await openBatchJournal(journal, out: out ?? ".", mustExist: true)
    }

    func batchID(in journal: any BatchJournal) async throws -> String {
        if let batchID {
            guard try await journal.batch(batchID) != nil else { throw CommandFailure("the journal has no batch \(batchID)") }
            return batchID
        }
        if let sqlite = journal as? SQLiteBatchJournal, let newest = try await sqlite.batchIDs().first { return newest }
        throw CommandFailure("name the batch with --batch-id (the journal holds none, or several)")
    }
}

/// Opens the batch journal `spec` names (a postgres:// URL or a SQLite path), else the embedded one in `out`.
/// - Parameter mustExist: an embedded journal must already be there (status, resume): none is created.
func openBatchJournal(_ spec: String?, out: String, mustExist: Bool = false) async throws -> any BatchJournal {
    do {
        if let spec, spec.lowercased().hasPrefix("postgres://") || spec.lowercased().hasPrefix("postgresql://") {
            return try await PostgresBatchJournal(url: spec)
        }
        let path = spec ?? URL(fileURLWithPath: out).appendingPathComponent(".klingkit-batch/journal.sqlite").path
        if mustExist && !FileManager.default.fileExists(atPath: path) {
            throw CommandFailure("no batch journal at \(path) (run `klingkit batch run FILE --out DIR` first)")
        }
        return try SQLiteBatchJournal(path: path)
    } catch let e as BatchError {
        throw CommandFailure(e.message, exitCode: e.code == .configuration ? APIExit.invalid : 1)
    }
}
