import ArgumentParser
import ContactSheets
import Foundation
import ImageCodecs
import KlingClient
import KlingModels

// `klingkit generate | status | list | download | resume`: the API client on the command line.
// Credentials come only from the environment (KLING_ACCESS_KEY + KLING_SECRET_KEY, or COMETAPI_KEY), never
// from flags, so they stay out of shell history and process lists; they are never printed.

/// Exit codes of the API commands.
fileprivate enum APIExit {
    /// A request broke an API rule (refused before sending) or an argument is wrong.
    static let invalid: Int32 = 2
    /// The task ended `failed` (the reason is the service's `task_status_msg`).
    static let taskFailed: Int32 = 3
    /// Waiting ran out of time; the task is journaled and `klingkit resume` finishes it.
    static let unfinished: Int32 = 4
}

/// Options every API command shares: which service, where, and how patiently.
struct APIConnectionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("kling (native, JWT from KLING_ACCESS_KEY + KLING_SECRET_KEY) or cometapi (COMETAPI_KEY).",
                                            valueName: "PROVIDER"))
    var provider: String = "kling"

    @Option(name: .customLong("base-url"), help: ArgumentHelp(
        "Service base URL (default: KLING_BASE_URL / COMETAPI_BASE_URL, else the provider's public endpoint).", valueName: "URL"))
    var baseURL: String?

    @Option(name: .long, help: ArgumentHelp("Native endpoint when --base-url is not given: global (Singapore), china (Beijing) or legacy.",
                                            valueName: "REGION"))
    var region: String?

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Seconds allowed for one API call.", valueName: "SECONDS"))
    var timeout: Double = 30

    @Option(name: .customLong("poll-interval"), help: ArgumentHelp(
        "Seconds between status queries while waiting (default 5 native, 20 CometAPI; the first query comes sooner).",
        valueName: "SECONDS"))
    var pollInterval: Double?

    @Option(name: .customLong("wait-timeout"), help: ArgumentHelp(
        "Give up waiting after this many seconds (the task stays journaled: `klingkit resume` finishes it).", valueName: "SECONDS"))
    var waitTimeout: Double = 900

    @Option(name: .long, help: ArgumentHelp(
        "Journal folder (default: KLINGKIT_JOURNAL, else $XDG_STATE_HOME/klingkit/journal, else ~/.local/state/klingkit/journal).",
        valueName: "DIR"))
    var journal: String?

    func validate() throws {
        guard ["kling", "cometapi"].contains(provider.lowercased()) else {
            throw ValidationError("--provider must be kling or cometapi, not '\(provider)'")
        }
        if let region {
            guard Provider.Region(rawValue: region.lowercased()) != nil else {
                throw ValidationError("--region must be global, china or legacy, not '\(region)'")
            }
            guard provider.lowercased() == "kling" else { throw ValidationError("--region applies to --provider kling only") }
        }
        guard timeout > 0, timeout.isFinite else { throw ValidationError("--timeout must be a positive number of seconds") }
        if let pollInterval, !(pollInterval > 0 && pollInterval.isFinite) {
            throw ValidationError("--poll-interval must be a positive number of seconds")
        }
        guard waitTimeout > 0, waitTimeout.isFinite else { throw ValidationError("--wait-timeout must be a positive number of seconds") }
        if let baseURL {
            guard let url = URL(string: baseURL), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme),
                  url.host != nil else {
                throw ValidationError("--base-url must be an http(s) URL, not '\(baseURL)'")
            }
        }
    }

    /// The client configuration for `providerName` (default: this command's `--provider`) at `baseURL`.
    func configuration(provider providerName: String? = nil, baseURL explicitBase: String? = nil,
                       withJournal: Bool = true) throws -> ClientConfiguration {
        var c: ClientConfiguration
        do {
            let regional = region.flatMap { Provider.Region(rawValue: $0.lowercased())?.baseURL }
            c = try ClientConfiguration.fromEnvironment(provider: providerName ?? provider, baseURL: explicitBase ?? baseURL ?? regional)
        } catch let e as ClientError {
            throw CommandFailure(e.message + " (credentials are read from the environment only)", exitCode: APIExit.invalid)
        }
        c.requestTimeout = .milliseconds(Int64(timeout * 1000))
        if let pollInterval {
            let interval = Duration.milliseconds(Int64(pollInterval * 1000))
            c.polling.interval = interval
            c.polling.initialDelay = min(c.polling.initialDelay, interval)
        }
        c.polling.timeout = .milliseconds(Int64(waitTimeout * 1000))
        if withJournal { c.journal = try openJournal() }
        return c
    }

    func openJournal() throws -> TaskJournal {
        let dir = journal.map { URL(fileURLWithPath: $0) } ?? TaskJournal.defaultDirectory()
        do { return try TaskJournal(directory: dir) } catch let e as ClientError {
            throw CommandFailure("cannot open the journal: \(e.message)")
        }
    }
}

/// A one-line status display on stderr while waiting, only when stderr is a terminal.
final class APIProgressLine: @unchecked Sendable {
    private let lock = NSLock()
    private var status = "submitted"
    private var done = false
    private let label: String
    private let start = Date()
    private var ticker: Task<Void, Never>?
    let enabled: Bool

    init(label: String, enabled: Bool = isatty(STDERR_FILENO) == 1) {
        self.label = label
        self.enabled = enabled
        guard enabled else { return }
        ticker = Task { [weak self] in
            let frames = ["|", "/", "-", "\\"]
            var i = 0
            while !Task.isCancelled {
                self?.draw(frames[i % frames.count])
                i += 1
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    func update(_ task: TaskObject) {
        lock.withLock { status = task.taskStatus?.rawValue ?? "unknown" }
    }

    private func draw(_ frame: String) {
        let line: String? = lock.withLock {
            guard !done else { return nil }
            return "\r\(frame) \(label): \(status) (\(Int(Date().timeIntervalSince(start))) s)\u{1B}[K"
        }
        if let line { FileHandle.standardError.write(Data(line.utf8)) }
    }

    func finish() {
        ticker?.cancel()
        let wasDrawing = lock.withLock { () -> Bool in
            defer { done = true }
            return !done && enabled
        }
        if wasDrawing { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

fileprivate func note(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}

fileprivate func printJSON(_ object: [String: Any]) {
    if let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) {
        print(String(decoding: data, as: UTF8.self))
    }
}

/// The JSON form of a task for `--json` output.
fileprivate func taskJSON(_ task: TaskObject) -> [String: Any] {
    var o: [String: Any] = [:]
    o["task_id"] = task.taskID ?? NSNull()
    o["task_status"] = task.taskStatus?.rawValue ?? NSNull()
    if let m = task.taskStatusMessage, !m.isEmpty { o["task_status_msg"] = m }
    if let e = task.externalTaskID { o["external_task_id"] = e }
    if let c = task.createdAt { o["created_at"] = c }
    if let u = task.updatedAt { o["updated_at"] = u }
    if let d = task.finalUnitDeduction { o["final_unit_deduction"] = d }
    o["images"] = task.images.map { img -> [String: Any] in
        var i: [String: Any] = ["index": img.index ?? 0]
        if let u = img.url { i["url"] = u }
        if let w = img.watermarkURL { i["watermark_url"] = w }
        return i
    }
    return o
}

/// Maps a client error to a one-line command failure with the right exit code.
fileprivate func failure(_ error: ClientError) -> CommandFailure {
    switch error.code {
    case .invalidRequest, .invalidImage, .configuration: return CommandFailure(error.description, exitCode: APIExit.invalid)
    case .taskFailed: return CommandFailure(error.description, exitCode: APIExit.taskFailed)
    case .deadlineExceeded: return CommandFailure(error.description, exitCode: APIExit.unfinished)
    default: return CommandFailure(error.description)
    }
}

/// Writes `<out>/<task>/task.json` (task id, external id, prompt, files) next to the images, atomically,
/// so `klingkit sheet --captions task` can caption them and a person can tell what made them.
fileprivate func writeManifest(entry: JournalEntry, task: TaskObject?, images: [DownloadedImage]) {
    guard let out = entry.outputDirectory, let id = entry.taskID else { return }
    let folder = URL(fileURLWithPath: out).appendingPathComponent(SafePath.component(forTaskID: id))
    var o: [String: Any] = ["task_id": id, "external_task_id": entry.externalTaskID, "provider": entry.provider,
                            "files": images.map { URL(fileURLWithPath: $0.path).lastPathComponent }]
    if let p = entry.prompt { o["prompt"] = p }
    if let s = task?.taskStatus { o["task_status"] = s.rawValue }
    guard let data = try? JSONSerialization.data(withJSONObject: o, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]) else { return }
    // Best effort: the images are what matter; a manifest that cannot be written is skipped.
    try? AtomicOutputFile.write([UInt8](data), to: folder.appendingPathComponent("task.json").path)
}

/// Makes the contact sheet of downloaded images (format from the file's extension).
fileprivate func makeSheet(_ images: [DownloadedImage], prompt: String?, taskID: String, to path: String) throws {
    let items = images.filter { !$0.watermarked }.map {
        SheetItem(source: .file($0.path), caption: "#\($0.index)")
    }
    var options = SheetOptions(captions: .task, title: prompt.map { "\($0) (task \(taskID))" } ?? "task \(taskID)")
    let lower = path.lowercased()
    options.format = lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") ? .jpeg : .png
    do {
        let result = try ContactSheet.write(items, options: options, to: path)
        for f in result.failures { note("klingkit: warning: sheet tile \(f.name): \(f.message)") }
    } catch {
        throw CommandFailure("cannot write the contact sheet \(path): \(error)")
    }
}

/// Waits for a journaled task, downloads it, writes its manifest and sheet; shared by generate and resume.
fileprivate func finish(_ entry: JournalEntry, client: KlingClient, queryFirst: Bool, showProgress: Bool) async -> SettledTask {
    let progress = APIProgressLine(label: "task \(entry.taskID ?? entry.externalTaskID)", enabled: showProgress && isatty(STDERR_FILENO) == 1)
    let settled = await client.settle(entry, queryFirst: queryFirst, progress: { progress.update($0) })
    progress.finish()
    if settled.error == nil {
        writeManifest(entry: settled.entry, task: settled.task, images: settled.images)
    }
    return settled
}

// MARK: - generate

/// `klingkit generate`: submit one request, wait for it, download every image.
struct GenerateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Generate images: submit a request, wait for it, download every result.",
        discussion: """
            Text→image with --prompt alone; image→image with --image; multi-image with one or more --subject \
            (plus --scene/--style). Images may be local JPEG/PNG files (checked against the upload rules; \
            --prepare fixes them) or http(s) URLs (sent as they are). Every rule of the API is checked before \
            anything is sent. The task is journaled before this command hears back, so if it is interrupted, \
            `klingkit resume` finishes polling and downloading without submitting again. Results are written \
            as <out>/<task_id>/<index>.<ext> (plus task.json). Credentials come from the environment only: \
            KLING_ACCESS_KEY and KLING_SECRET_KEY (kling) or COMETAPI_KEY (cometapi). \
            Exit 0 when the task succeeded and every image was downloaded; 2 when a request or argument is \
            invalid (nothing sent); 3 when the task failed; 4 when waiting timed out (resume later); 1 otherwise.
            """
    )

    @OptionGroup var connection: APIConnectionOptions

    @Option(name: .long, help: "The prompt (1...2500 characters).")
    var prompt: String

    @Option(name: .customLong("negative-prompt"), help: "What to avoid (text→image only; at most 2500 characters).")
    var negativePrompt: String?

    @Option(name: .long, help: ArgumentHelp("Reference image for image→image: a local file or an http(s) URL.", valueName: "FILE|URL"))
    var image: String?

    @Option(name: .customLong("image-reference"), help: ArgumentHelp("What the image guides: subject or face.", valueName: "subject|face"))
    var imageReference: String?

    @Option(name: .customLong("image-fidelity"), help: ArgumentHelp("0...1 (kling-v1, kling-v1-5).", valueName: "X"))
    var imageFidelity: Double?

    @Option(name: .customLong("human-fidelity"), help: ArgumentHelp("0...1 (kling-v1-5 with subject).", valueName: "X"))
    var humanFidelity: Double?

    @Option(name: .customLong("element-id"), help: ArgumentHelp("An element-library id (repeatable).", valueName: "ID"))
    var elementIDs: [String] = []

    @Option(name: .long, help: ArgumentHelp("Model name (default kling-v3; multi-image: kling-v2).", valueName: "NAME"))
    var model: String?

    @Option(name: .long, help: ArgumentHelp("Number of images, 1...9.", valueName: "N"))
    var n: Int?

    @Option(name: .customLong("aspect-ratio"), help: ArgumentHelp("16:9, 9:16, 1:1, 4:3, 3:4, 3:2, 2:3 or 21:9.", valueName: "R"))
    var aspectRatio: String?

    @Option(name: .long, help: ArgumentHelp("1k or 2k.", valueName: "1k|2k"))
    var resolution: String?

    @Flag(name: .long, help: "Also produce (and download) watermarked copies.")
    var watermark = false

    @Option(name: .customLong("callback-url"), help: ArgumentHelp("http(s) URL the service notifies on every status change.", valueName: "URL"))
    var callbackURL: String?

    @Option(name: .customLong("external-task-id"), help: ArgumentHelp(
        "Your id for the task (unique per account; default: a new UUID). Re-running with the same id never creates a second task.",
        valueName: "ID"))
    var externalTaskID: String?

    @Option(name: .long, help: ArgumentHelp("Multi-image subject: a file or URL (repeat 1...4 times).", valueName: "FILE|URL"))
    var subject: [String] = []

    @Option(name: .long, help: ArgumentHelp("Multi-image scene reference.", valueName: "FILE|URL"))
    var scene: String?

    @Option(name: .long, help: ArgumentHelp("Multi-image style reference.", valueName: "FILE|URL"))
    var style: String?

    @Flag(name: .long, help: "Fix local images that break an upload rule (resize, pad, re-encode) instead of refusing them.")
    var prepare = false

    @Flag(name: .customLong("check-urls"), help: "Fetch URL images and check them against the upload rules before sending.")
    var checkURLs = false

    @Option(name: .long, help: ArgumentHelp("Output folder for the results.", valueName: "DIR"))
    var out: String = "."

    @Option(name: .long, help: ArgumentHelp("Also write a contact sheet of the results (.png or .jpg).", valueName: "FILE"))
    var sheet: String?

    @Flag(name: .customLong("wait"), inversion: .prefixedNo, help: "Wait for the task and download the results (default), or print the task id and return.")
    var wait = true

    @Flag(name: .long, help: "Print one JSON object on stdout instead of text.")
    var json = false

    var isMulti: Bool { !subject.isEmpty || scene != nil || style != nil }

    func validate() throws {
        if isMulti {
            if image != nil { throw ValidationError("--image is for image→image; use --subject (with --scene/--style) for multi-image, not both") }
            if subject.isEmpty { throw ValidationError("--scene and --style need at least one --subject") }
            for (flag, set) in [("--negative-prompt", negativePrompt != nil), ("--image-reference", imageReference != nil),
                                ("--image-fidelity", imageFidelity != nil), ("--human-fidelity", humanFidelity != nil),
                                ("--element-id", !elementIDs.isEmpty), ("--resolution", resolution != nil)] where set {
                throw ValidationError("\(flag) does not apply to multi-image requests")
            }
        }
        for id in elementIDs where Int64(id) == nil {
            throw ValidationError("--element-id must be an integer (up to 2^63-1), not '\(id)'")
        }
        if sheet != nil && !wait { throw ValidationError("--sheet needs the results: it cannot be combined with --no-wait") }
        if let sheet {
            let lower = sheet.lowercased()
            guard lower.hasSuffix(".png") || lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") else {
                throw ValidationError("--sheet must end in .png, .jpg or .jpeg")
            }
        }
    }

    func run() async throws {
        let configuration = try connection.configuration()
        let outDir = URL(fileURLWithPath: out).standardizedFileURL
        let sheetPath = sheet.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        let options = SubmitOptions(images: ImageHandling(prepare: prepare, checkURLs: checkURLs),
                                    outputDirectory: outDir.path, includeWatermarked: watermark, sheetPath: sheetPath)
        let client = KlingClient(configuration: configuration)
        do {
            try await runWith(client, options: options, sheetPath: sheetPath)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            if let e = error as? ClientError { throw failure(e) }
            throw error
        }
    }

    private func runWith(_ client: KlingClient, options: SubmitOptions, sheetPath: String?) async throws {
        let submitted: SubmittedTask
        if isMulti {
            let request = MultiImageGenerationRequest(
                prompt: prompt, subjects: subject.map(ImageInput.parse), scene: scene.map(ImageInput.parse),
                style: style.map(ImageInput.parse), model: model.map { ModelName($0) } ?? .multiImageDefault, n: n,
                aspectRatio: aspectRatio.map { AspectRatio($0) }, watermark: watermark ? true : nil,
                callbackURL: callbackURL, externalTaskID: externalTaskID)
            submitted = try await client.submit(request, options: options)
        } else {
            let request = GenerationRequest(
                prompt: prompt, negativePrompt: negativePrompt, image: image.map(ImageInput.parse),
                imageReference: imageReference.map { ImageReference($0) }, imageFidelity: imageFidelity,
                humanFidelity: humanFidelity, elementIDs: elementIDs.compactMap { Int64($0) },
                model: model.map { ModelName($0) } ?? .recommended, n: n, aspectRatio: aspectRatio.map { AspectRatio($0) },
                resolution: resolution.map { Resolution($0) }, watermark: watermark ? true : nil,
                callbackURL: callbackURL, externalTaskID: externalTaskID)
            submitted = try await client.submit(request, options: options)
        }
        let interactive = isatty(STDERR_FILENO) == 1
        if interactive && !json {
            note("submitted task \(submitted.taskID) (external id \(submitted.externalTaskID))\(submitted.recovered ? ", found from an earlier attempt" : "")")
        }
        guard wait else {
            if json {
                var o = taskJSON(submitted.task)
                o["task_id"] = submitted.taskID
                o["external_task_id"] = submitted.externalTaskID
                printJSON(o)
            } else {
                print(submitted.taskID)
            }
            return
        }
        guard let journal = client.configuration.journal,
              let entry = try journal.entry(externalTaskID: submitted.externalTaskID) else {
            throw CommandFailure("the journal entry of task \(submitted.taskID) vanished")
        }
        // Ctrl-C or SIGTERM while waiting: the task is safe in the journal; say how to finish it.
        let interrupts = [Int32(SIGINT), Int32(SIGTERM)].map { (sig: Int32) -> DispatchSourceSignal in
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler {
                FileHandle.standardError.write(Data("\r\u{1B}[Kklingkit: interrupted; task \(submitted.taskID) is journaled: `klingkit resume` finishes it\n".utf8))
                Foundation.exit(130)
            }
            source.resume()
            return source
        }
        defer {
            for source in interrupts { source.cancel() }
            signal(SIGINT, SIG_DFL)
            signal(SIGTERM, SIG_DFL)
        }
        let settled = await finish(entry, client: client, queryFirst: submitted.task.taskStatus?.isTerminal == true,
                                   showProgress: !json)
        if let error = settled.error {
            if error.code == .deadlineExceeded {
                throw CommandFailure("task \(submitted.taskID) is still running; `klingkit resume` will finish it (\(error.message))",
                                     exitCode: APIExit.unfinished)
            }
            throw failure(error)
        }
        if let sheetPath {
            try makeSheet(settled.images, prompt: prompt, taskID: submitted.taskID, to: sheetPath)
        }
        if json {
            var o = taskJSON(settled.task ?? submitted.task)
            o["external_task_id"] = submitted.externalTaskID
            o["files"] = settled.images.map(\.path)
            if let sheetPath { o["sheet"] = sheetPath }
            printJSON(o)
        } else {
            for image in settled.images { print(image.path) }
            if let sheetPath { print(sheetPath) }
        }
    }
}

// MARK: - status

/// `klingkit status ID [--external]`.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show one task: by task id, or by your external id with --external.",
        discussion: "Prints `<task_id> <status>` (and the failure reason or image URLs), or JSON with --json. Exit 1 when the task does not exist.")

    @OptionGroup var connection: APIConnectionOptions

    @Argument(help: ArgumentHelp("A task id (or, with --external, an external task id).", valueName: "ID"))
    var id: String

    @Flag(name: .long, help: "ID is the external_task_id given at submission.")
    var external = false

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() async throws {
        let config = try connection.configuration(withJournal: false)
        do {
            let task: TaskObject = try await KlingClient.withClient(config) { client in
                if external {
                    do { return try await client.task(externalID: id, kind: .generation) } catch let e as ClientError where e.code == .notFound {
                        return try await client.task(externalID: id, kind: .multiImage)
                    }
                }
                return try await client.task(anyKindID: id).0
            }
            if json {
                printJSON(taskJSON(task))
            } else {
                var line = "\(task.taskID ?? id) \(task.taskStatus?.rawValue ?? "unknown")"
                if let m = task.taskStatusMessage, !m.isEmpty { line += " \(m)" }
                print(line)
                for img in task.images { print("  #\(img.index ?? 0) \(img.url ?? "")") }
            }
        } catch let e as ClientError {
            throw failure(e)
        }
    }
}

// MARK: - list

/// `klingkit list [--page N --page-size N]`.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List recent tasks (native list route), one per line: task id, status, created, images, external id.")

    @OptionGroup var connection: APIConnectionOptions

    @Option(name: .long, help: ArgumentHelp("Page number, 1...1000.", valueName: "N"))
    var page: Int = 1

    @Option(name: .customLong("page-size"), help: ArgumentHelp("Tasks per page, 1...500.", valueName: "N"))
    var pageSize: Int = 30

    @Flag(name: .customLong("multi-image"), help: "List multi-image tasks instead of generations.")
    var multiImage = false

    @Flag(name: .long, help: "Print a JSON array.")
    var json = false

    func validate() throws {
        guard (1...1000).contains(page) else { throw ValidationError("--page must be 1...1000, not \(page)") }
        guard (1...500).contains(pageSize) else { throw ValidationError("--page-size must be 1...500, not \(pageSize)") }
    }

    func run() async throws {
        let config = try connection.configuration(withJournal: false)
        do {
            let tasks = try await KlingClient.withClient(config) { client in
                try await client.list(page: page, pageSize: pageSize, kind: multiImage ? .multiImage : .generation)
            }
            if json {
                let array = tasks.map(taskJSON)
                if let data = try? JSONSerialization.data(withJSONObject: array, options: [.sortedKeys, .withoutEscapingSlashes]) {
                    print(String(decoding: data, as: UTF8.self))
                }
                return
            }
            let formatter = ISO8601DateFormatter()
            for t in tasks {
                let created = t.createdAt.map { formatter.string(from: Date(timeIntervalSince1970: Double($0) / 1000)) } ?? "-"
                print([t.taskID ?? "-", t.taskStatus?.rawValue ?? "-", created, "\(t.images.count)", t.externalTaskID ?? "-"]
                    .joined(separator: "\t"))
            }
        } catch let e as ClientError {
            throw failure(e)
        }
    }
}

// MARK: - download

/// `klingkit download ID --out DIR`.
struct DownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download every image of a finished task to <out>/<task_id>/<index>.<ext>.",
        discussion: "Each image is size-capped, verified to decode and written atomically. Prints the written paths. Exit 1 if the task has not succeeded or an image fails.")

    @OptionGroup var connection: APIConnectionOptions

    @Argument(help: ArgumentHelp("The task id.", valueName: "ID"))
    var id: String

    @Option(name: .long, help: ArgumentHelp("Output folder.", valueName: "DIR"))
    var out: String

    @Flag(name: .long, help: "Also download the watermarked copies.")
    var watermarked = false

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() async throws {
        let config = try connection.configuration(withJournal: false)
        do {
            let images = try await KlingClient.withClient(config) { client in
                let (task, _) = try await client.task(anyKindID: id)
                if task.taskStatus == .failed {
                    throw ClientError(.taskFailed, task.taskStatusMessage ?? "the service gave no reason", taskID: id)
                }
                return try await client.download(task, to: URL(fileURLWithPath: out), includeWatermarked: watermarked)
            }
            if json {
                printJSON(["task_id": id, "files": images.map(\.path)])
            } else {
                for image in images { print(image.path) }
            }
        } catch let e as ClientError {
            throw failure(e)
        }
    }
}

// MARK: - resume

/// `klingkit resume`: finish every journaled task that is not finished, without submitting anything.
struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Finish every interrupted task from the journal: poll and download, never submit again.",
        discussion: """
            For each journal entry still `submitting` or `submitted`, finds the task (by task id, or by external \
            id when the interruption came before the id was known), waits for it, downloads its images to the \
            folder given at submission and writes its contact sheet if one was asked for. A request whose create \
            never reached the service is reported and marked, not re-sent. Each entry uses the provider and base \
            URL it was submitted with (credentials from the environment). Prints one line per entry. Exit 0 when \
            every entry completed, 1 otherwise.
            """)

    @OptionGroup var connection: APIConnectionOptions

    @Flag(name: .long, help: "Print one JSON object per entry (JSON lines).")
    var json = false

    func run() async throws {
        let journal = try connection.openJournal()
        let entries: [JournalEntry]
        do { entries = try journal.unfinished() } catch let e as ClientError { throw failure(e) }
        if entries.isEmpty {
            if !json { note("nothing to resume in \(journal.directory.path)") }
            return
        }
        var clients: [String: KlingClient] = [:]
        var failures = 0
        do {
            for entry in entries {
                let key = entry.provider + " " + entry.baseURL
                if clients[key] == nil {
                    var config = try connection.configuration(provider: entry.provider, baseURL: entry.baseURL, withJournal: false)
                    config.journal = journal
                    clients[key] = KlingClient(configuration: config)
                }
                if try await settleOne(entry, client: clients[key]!) == false { failures += 1 }
            }
        } catch {
            for c in clients.values { try? await c.shutdown() }
            throw error
        }
        for c in clients.values { try? await c.shutdown() }
        if failures > 0 {
            throw CommandFailure("\(failures) of \(entries.count) journaled task(s) did not complete")
        }
    }

    /// Settles one entry and prints its line; returns whether it completed.
    private func settleOne(_ entry: JournalEntry, client: KlingClient) async throws -> Bool {
        let settled = await finish(entry, client: client, queryFirst: true, showProgress: !json)
        var sheetError: String?
        if settled.error == nil, let sheetPath = entry.sheetPath {
            do { try makeSheet(settled.images, prompt: entry.prompt, taskID: settled.entry.taskID ?? "", to: sheetPath) } catch {
                sheetError = "\(error)"
            }
        }
        if json {
            var o: [String: Any] = ["external_task_id": entry.externalTaskID, "state": settled.entry.state.rawValue,
                                    "files": settled.images.map(\.path)]
            if let id = settled.entry.taskID { o["task_id"] = id }
            if let e = settled.error { o["error"] = e.description }
            if let s = sheetError { o["sheet_error"] = s }
            printJSON(o)
        } else {
            let id = settled.entry.taskID ?? "(external \(entry.externalTaskID))"
            if let e = settled.error {
                print("\(id) \(settled.entry.state.rawValue): \(e.description)")
            } else if let sheetError {
                print("\(id) completed, but the sheet failed: \(sheetError)")
            } else {
                print("\(id) completed: \(settled.images.count) image(s) in \(entry.outputDirectory ?? "-")")
                for image in settled.images { print("  \(image.path)") }
            }
        }
        return settled.error == nil && sheetError == nil
    }
}
