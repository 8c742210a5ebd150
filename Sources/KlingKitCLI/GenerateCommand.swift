import ArgumentParser
import Foundation
import KlingAPI
import KlingModels
import ResultGallery

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

    @Option(name: .long, help: ArgumentHelp("Reference image for image→image: a local file or an http(s) URL.", valueName: "FILE|URL"), completion: .file())
    var image: String?

    @Option(name: .customLong("image-reference"), help: ArgumentHelp("What the image guides: subject or face.", valueName: "subject|face"))
    var imageReference: ImageReference?

    @Option(name: .customLong("image-fidelity"), help: ArgumentHelp("0...1 (kling-v1, kling-v1-5).", valueName: "X"))
    var imageFidelity: Double?

    @Option(name: .customLong("human-fidelity"), help: ArgumentHelp("0...1 (kling-v1-5 with subject).", valueName: "X"))
    var humanFidelity: Double?

    @Option(name: .customLong("element-id"), help: ArgumentHelp("An element-library id (repeatable).", valueName: "ID"))
    var elementIDs: [String] = []

    @Option(name: .long, help: ArgumentHelp("Model name (default kling-v3; multi-image: kling-v2).", valueName: "NAME"))
    var model: ModelName?

    @Option(name: .long, help: ArgumentHelp("Number of images, 1...9.", valueName: "N"))
    var n: Int?

    @Option(name: .customLong("aspect-ratio"), help: ArgumentHelp("16:9, 9:16, 1:1, 4:3, 3:4, 3:2, 2:3 or 21:9.", valueName: "R"))
    var aspectRatio: AspectRatio?

    @Option(name: .long, help: ArgumentHelp("1k or 2k.", valueName: "1k|2k"))
    var resolution: Resolution?

    @Flag(name: .long, help: "Also produce (and download) watermarked copies.")
    var watermark = false

    @Option(name: .customLong("callback-url"), help: ArgumentHelp("http(s) URL the service notifies on every status change.", valueName: "URL"))
    var callbackURL: String?

    @Option(name: .customLong("external-task-id"), help: ArgumentHelp(
        "Your id for the task (unique per account; default: a new UUID). Re-running with the same id never creates a second task.",
        valueName: "ID"))
    var externalTaskID: String?

    @Option(name: .long, help: ArgumentHelp("Multi-image subject: a file or URL (repeat 1...4 times).", valueName: "FILE|URL"), completion: .file())
    var subject: [String] = []

    @Option(name: .long, help: ArgumentHelp("Multi-image scene reference.", valueName: "FILE|URL"), completion: .file())
    var scene: String?

    @Option(name: .long, help: ArgumentHelp("Multi-image style reference.", valueName: "FILE|URL"), completion: .file())
    var style: String?

    @Flag(name: .long, help: "Fix local images that break an upload rule (resize, pad, re-encode) instead of refusing them.")
    var prepare = false

    @Flag(name: .customLong("strict-face"), help: "With --image-reference face: refuse a local image that does not show exactly one face (default: warn; the service decides).")
    var strictFace = false

    @Flag(name: .customLong("check-urls"), help: "Fetch URL images and check them against the upload rules before sending.")
    var checkURLs = false

    @Option(name: .long, help: ArgumentHelp("Output folder for the results.", valueName: "DIR"), completion: .directory)
    var out: String = "."

    @Option(name: .long, help: ArgumentHelp("Also write a contact sheet of the results (.png or .jpg).", valueName: "FILE"), completion: .file())
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

    @OptionGroup var display: DisplayOptions

    func run() async throws {
        display.apply()
        let configuration = try connection.configuration()
        try reportFaces()
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

    /// What `request.json` records about this request (see ``RequestRecord``).
    private func requestRecord(externalTaskID: String) -> RequestRecord {
        var record = RequestRecord(kind: isMulti ? "multi_image_generation" : "image_generation", prompt: prompt)
        record.negativePrompt = negativePrompt
        record.model = model?.rawValue ?? (isMulti ? ModelName.multiImageDefault.rawValue : ModelName.recommended.rawValue)
        record.n = n
        record.aspectRatio = aspectRatio?.rawValue
        record.resolution = resolution?.rawValue
        record.image = image.map(recordedLocation)
        record.imageReference = imageReference?.rawValue
        record.imageFidelity = imageFidelity
        record.humanFidelity = humanFidelity
        record.subjects = subject.isEmpty ? nil : subject.map(recordedLocation)
        record.scene = scene.map(recordedLocation)
        record.style = style.map(recordedLocation)
        record.elementIDs = elementIDs.isEmpty ? nil : elementIDs
        record.watermark = watermark ? true : nil
        record.externalTaskID = externalTaskID
        return record
    }

    /// A face reference wants exactly one face: count them in a local image first (advisory; the
    /// service is the final judge), as `check --face` does. With `--strict-face` a count other than 1
    /// stops the command before anything is sent.
    private func reportFaces() throws {
        guard imageReference == .face, let image, !image.lowercased().hasPrefix("http://"),
              !image.lowercased().hasPrefix("https://"), FileManager.default.fileExists(atPath: image) else { return }
        let count = CheckFaces.detect(path: image)
        note("\(image): " + CheckFaces.text(count, strict: strictFace))
        if strictFace && !count.isSingle {
            throw CommandFailure("\(image): --strict-face: a face reference needs exactly one face; nothing sent", exitCode: APIExit.invalid)
        }
    }

    private func runWith(_ client: KlingClient, options: SubmitOptions, sheetPath: String?) async throws {
        let submitted: SubmittedTask
        if isMulti {
            let request = MultiImageGenerationRequest(
                prompt: prompt, subjects: subject.map(ImageInput.parse), scene: scene.map(ImageInput.parse),
                style: style.map(ImageInput.parse), model: model ?? .multiImageDefault, n: n,
                aspectRatio: aspectRatio, watermark: watermark ? true : nil,
                callbackURL: callbackURL, externalTaskID: externalTaskID)
            submitted = try await client.submit(request, options: options)
        } else {
            let request = GenerationRequest(
                prompt: prompt, negativePrompt: negativePrompt, image: image.map(ImageInput.parse),
                imageReference: imageReference, imageFidelity: imageFidelity,
                humanFidelity: humanFidelity, elementIDs: elementIDs.compactMap { Int64($0) },
                model: model ?? .recommended, n: n, aspectRatio: aspectRatio,
                resolution: resolution, watermark: watermark ? true : nil,
                callbackURL: callbackURL, externalTaskID: externalTaskID)
            submitted = try await client.submit(request, options: options)
        }
        writeRequestRecord(requestRecord(externalTaskID: submitted.externalTaskID), taskID: submitted.taskID,
                           outputDirectory: options.outputDirectory ?? out)
        let interactive = isatty(STDERR_FILENO) == 1
        if interactive && !json {
            note("submitted task \(submitted.taskID) (external id \(submitted.externalTaskID))\(submitted.recovered ? ", found from an earlier attempt" : "")")
        }
        guard wait else {
            if json {
                var summary = TaskSummary(submitted.task)
                summary.taskID = submitted.taskID
                summary.externalTaskID = submitted.externalTaskID
                printJSON(summary)
            } else {
                output(submitted.taskID)
            }
            return
        }
        guard let journal = client.configuration.journal,
              let entry = try journal.entry(externalTaskID: submitted.externalTaskID) else {
            throw CommandFailure("the journal entry of task \(submitted.taskID) vanished")
        }
        // Ctrl-C or SIGTERM while waiting: the task is safe in the journal; say how to finish it.
        // Terminal-only escapes: a redirected stderr gets plain lines.
        let terminal = isatty(STDERR_FILENO) == 1
        let signals = SignalWaiter(signals: [SIGINT, SIGTERM])
        let taskID = submitted.taskID
        let watcher = Task {
            _ = await signals.next()
            guard !Task.isCancelled else { return }
            FileHandle.standardError.write(Data(((terminal ? "\r\u{1B}[K" : "")
                + "klingkit: interrupted; task \(taskID) is journaled: `klingkit resume` finishes it\n").utf8))
            Foundation.exit(130)
        }
        defer {
            watcher.cancel()
            SignalWaiter.restoreDefaults([SIGINT, SIGTERM])
        }
        // Said once the interrupt handlers are in place (from here on Ctrl-C leaves a resumable task). On
        // a terminal it is a transient status ending in a carriage return, so the progress line or the
        // final message overwrites it; elsewhere it is a line of its own.
        if !json && Display.notices {
            FileHandle.standardError.write(Data(
                "klingkit: waiting for task \(taskID); if interrupted, `klingkit resume` finishes it\(terminal ? "\r" : "\n")".utf8))
        }
        let settled = await finish(entry, client: client, queryFirst: submitted.task.taskStatus?.isTerminal == true,
                                   showProgress: !json)
        if let error = settled.error {
            if error.code == .deadlineExceeded {
                if json {
                    // A script still gets the task's ids and status on stdout, to resume or poll it.
                    var summary = TaskSummary(settled.task ?? submitted.task)
                    summary.externalTaskID = submitted.externalTaskID
                    summary.files = []
                    printJSON(summary)
                }
                throw CommandFailure("task \(submitted.taskID) is still running; `klingkit resume` will finish it (\(error.message))",
                                     exitCode: APIExit.unfinished)
            }
            throw failure(error)
        }
        if let sheetPath {
            try makeSheet(settled.images, prompt: prompt, taskID: submitted.taskID, to: sheetPath)
        }
        if json {
            var summary = TaskSummary(settled.task ?? submitted.task)
            summary.externalTaskID = submitted.externalTaskID
            summary.files = settled.images.map(\.path)
            summary.sheet = sheetPath
            printJSON(summary)
        } else {
            for image in settled.images { output(image.path) }
            if let sheetPath { output(sheetPath) }
        }
    }
}
