import ArgumentParser
import ContactSheets
import Foundation
import ImageCodecs
import ImageCore
import KlingAPI
import KlingEmulator
import KlingKit
import KlingModels
import KlingSupport
import ReferenceImages
import ResultGallery

/// `klingkit demo`: the whole job on the bundled samples, against an in-process emulator by default.
///
/// check → prepare → submit an image→image and a multi-image task → wait → download → contact sheet.
/// With `--provider kling|cometapi` the same flow runs against the real service, with credentials from
/// the environment exactly as `klingkit generate` reads them.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the whole job on the sample images against a built-in emulator (no key, no network).",
        discussion: """
            Checks and prepares the images in samples/, submits an image-to-image and a multi-image task, \
            waits for them, downloads the results and writes a contact sheet, then prints the paths it wrote. \
            Pass --provider to run the same flow against the real service (credentials from the environment).
            """
    )

    @Option(name: .long, help: ArgumentHelp("Folder for everything the demo writes.", valueName: "DIR"), completion: .directory)
    var out: String = "klingkit-demo"

    @Option(name: .long, help: ArgumentHelp(
        "Folder of input images (default: the project's samples/ folder, found from the current directory or the binary).",
        valueName: "DIR"), completion: .directory)
    var samples: String?

    @Option(name: .long, help: ArgumentHelp(
        "Run against the real service instead of the emulator: kling (KLING_ACCESS_KEY + KLING_SECRET_KEY) or cometapi (COMETAPI_KEY).",
        valueName: "PROVIDER"))
    var provider: ProviderOption?

    @Option(name: .customLong("task-seconds"), help: ArgumentHelp("How long each emulated task runs.", valueName: "SECONDS"))
    var taskSeconds: Double = 2

    func validate() throws {
        guard taskSeconds >= 0, taskSeconds.isFinite else { throw ValidationError("--task-seconds must be ≥ 0") }
    }

    func run() async throws {
        let samplesDirectory = try locateSamples()
        let outRoot = URL(fileURLWithPath: out).standardizedFileURL
        let preparedDir = outRoot.appendingPathComponent("prepared")
        let resultsDir = outRoot.appendingPathComponent("results")
        for dir in [preparedDir, resultsDir] {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        }
        var written: [String] = []

        // 1. Check every sample, listing every rule each one breaks.
        say("1. Checking \(samplesDirectory.path)")
        let inputs = try FileManager.default.contentsOfDirectory(atPath: samplesDirectory.path)
            .filter { ["jpg", "jpeg", "png"].contains(($0 as NSString).pathExtension.lowercased()) }
            .sorted()
        guard !inputs.isEmpty else { throw CommandFailure("no JPEG or PNG files in \(samplesDirectory.path)") }
        let validator = ReferenceImageValidator()
        for name in inputs {
            let report = validator.validate(fileAt: samplesDirectory.appendingPathComponent(name).path)
            let size = report.width.map { w in "\(w)x\(report.height ?? 0)" } ?? "?"
            if report.isValid {
                say("   ok       \(name) (\(size))")
            } else {
                say("   invalid  \(name) (\(size)): " + report.violations.map { "\($0.rule.rawValue): \($0.message)" }.joined(separator: "; "))
            }
        }

        // 2. Prepare: fix what can be fixed, refuse what cannot be decoded.
        say("2. Preparing into \(preparedDir.path)")
        let preparer = ReferenceImagePreparer()
        var prepared: [String: String] = [:]  // sample name -> prepared path
        for name in inputs {
            let source = samplesDirectory.appendingPathComponent(name)
            do {
                let result = try preparer.prepare(fileAt: source.path)
                let ext = result.encoded.format == .jpeg ? "jpg" : "png"
                let target = preparedDir.appendingPathComponent((name as NSString).deletingPathExtension + "." + ext)
                try AtomicOutputFile.write(result.encoded.bytes, to: target.path)
                prepared[name] = target.path
                let actions = result.actions.isEmpty ? "already valid, copied unchanged" : result.actions.map(\.description).joined(separator: ", ")
                say("   \(name) -> \(target.lastPathComponent) \(result.width)x\(result.height): \(actions)")
            } catch let error as PrepareError {
                say("   \(name): refused, \(error.rule): \(error.message)")
            } catch {
                say("   \(name): refused, \(error)")
            }
        }
        func pick(_ names: [String]) throws -> String {
            for name in names { if let path = prepared[name] { return path } }
            guard let any = prepared.values.sorted().first else {
                throw CommandFailure("no sample could be prepared, nothing to submit")
            }
            return any
        }
        let portrait = try pick(["portrait-valid.jpg"])
        let phone = try pick(["phone-photo-exif6.jpg"])
        let panorama = try pick(["panorama-wide.jpg"])
        let avatar = try pick(["avatar-tiny.png"])

        // 3. The service: an in-process emulator on loopback unless a real provider was asked for.
        let journal = try TaskJournal(directory: outRoot.appendingPathComponent("journal"))
        /// Submits, waits and downloads with a client on `configuration`, which it always shuts down.
        func runAll(_ configuration: ClientConfiguration) async throws -> [DownloadedImage] {
            var configuration = configuration
            configuration.images = ReferenceImageChecks()
            configuration.journal = journal
            return try await KlingClient.withClient(configuration) { client in
                try await runTasks(client: client, portrait: portrait, phone: phone,
                                   panorama: panorama, avatar: avatar, resultsDir: resultsDir)
            }
        }
        let downloads: [DownloadedImage]
        if let provider {
            let configuration: ClientConfiguration
            do {
                configuration = try ClientConfiguration.fromEnvironment(provider: provider.rawValue)
            } catch let error as ClientError {
                throw CommandFailure(error.message + " (credentials are read from the environment only)", exitCode: 2)
            }
            say("3. Using the real \(provider.rawValue) service at \(configuration.baseURL)")
            downloads = try await runAll(configuration)
        } else {
            downloads = try await withEmulator(EmulatorConfiguration(taskSeconds: taskSeconds)) { server in
                var configuration = ClientConfiguration(
                    provider: .kling(accessKey: server.configuration.accessKey, secretKey: server.configuration.secretKey),
                    baseURL: server.baseURL)
                configuration.polling = PollingPolicy(initialDelay: .milliseconds(500), interval: .milliseconds(500),
                                                      jitter: 0.1, timeout: .seconds(120))
                say("3. Started the built-in emulator at \(server.baseURL) (native Kling API, JWT auth)")
                return try await runAll(configuration)
            }
        }
        written.append(contentsOf: downloads.map(\.path))

        // 4. A contact sheet of the results (task id, index and prompt under each).
        let sheetPath = outRoot.appendingPathComponent("demo-sheet.png").path
        var sheetOptions = SheetOptions()
        sheetOptions.columns = 3
        sheetOptions.tile = 320
        sheetOptions.captions = .task
        sheetOptions.title = "klingkit demo: \(downloads.count) results"
        let items = try ContactSheet.items(from: [resultsDir.path])
        let sheet = try ContactSheet.write(items, options: sheetOptions, to: sheetPath)
        say("5. Contact sheet \(sheet.width)x\(sheet.height) of \(items.count) images")
        written.append(sheetPath)

        say("")
        say("Wrote:")
        for path in prepared.values.sorted() + written { say("  \(path)") }
    }

    /// Submits the two tasks, waits for both with a progress line, downloads every result.
    private func runTasks(client: KlingClient, portrait: String, phone: String, panorama: String, avatar: String,
                          resultsDir: URL) async throws -> [DownloadedImage] {
        let run = UUID().uuidString.prefix(8).lowercased()
        let imageToImage = GenerationRequest(
            prompt: "The scene as a watercolour painting, soft paper texture",
            image: .file(portrait), imageReference: .subject, n: 2, aspectRatio: .r1x1,
            externalTaskID: "demo-\(run)-i2i")
        let multiImage = MultiImageGenerationRequest(
            prompt: "The subjects together in the panorama's landscape at golden hour",
            subjects: [.file(phone), .file(avatar)], scene: .file(panorama),
            model: .klingV2_1, n: 1, aspectRatio: .r16x9, externalTaskID: "demo-\(run)-multi")

        say("4. Submitting an image-to-image task (\(URL(fileURLWithPath: portrait).lastPathComponent), n=2) and a multi-image task (2 subjects + scene)")
        let options = SubmitOptions(outputDirectory: resultsDir.path)
        let first = try await client.submit(imageToImage, options: options)
        let second = try await client.submit(multiImage, options: options)
        say("   created \(first.taskID) and \(second.taskID)")

        var downloads: [DownloadedImage] = []
        for (submitted, label) in [(first, "image-to-image"), (second, "multi-image")] {
            let progress = ProgressLine.spinner(label: "\(label) \(submitted.taskID)")
            let task: TaskObject
            do {
                task = try await client.waitForCompletion(taskID: submitted.taskID, kind: submitted.kind) { progress.setStatus($0.taskStatus?.rawValue ?? "unknown") }
                progress.finish()
            } catch {
                progress.finish()
                throw error
            }
            let images = try await client.download(task, to: resultsDir)
            writeTaskManifest(task: task, prompt: label == "multi-image" ? multiImage.prompt : imageToImage.prompt,
                              images: images, resultsDir: resultsDir)
            for image in images {
                say("   \(label) #\(image.index): \(image.width)x\(image.height) \(image.format.rawValue) -> \(image.path)")
            }
            downloads.append(contentsOf: images)
        }
        return downloads
    }

    /// Records the prompt beside a task's images so the sheet can caption them.
    private func writeTaskManifest(task: TaskObject, prompt: String, images: [DownloadedImage], resultsDir: URL) {
        guard let id = task.taskID, let first = images.first else { return }
        let folder = URL(fileURLWithPath: first.path).deletingLastPathComponent()
        let manifest = TaskRecord(taskID: id, files: images.map { URL(fileURLWithPath: $0.path).lastPathComponent }, prompt: prompt)
        try? AtomicOutputFile.write(jsonBytes(manifest, sorted: true, pretty: true, escapeSlashes: true),
                                    to: folder.appendingPathComponent("task.json").path)
    }

    /// `--samples`, else `samples/` under the current directory, else the nearest `samples/` above the binary.
    private func locateSamples() throws -> URL {
        if let samples {
            let url = URL(fileURLWithPath: samples)
            guard FileManager.default.fileExists(atPath: url.path) else {
                throw CommandFailure("--samples \(samples): no such folder", exitCode: 2)
            }
            return url
        }
        let marker = "portrait-valid.jpg"
        let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("samples")
        if FileManager.default.fileExists(atPath: here.appendingPathComponent(marker).path) { return here }
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent("samples")
            if FileManager.default.fileExists(atPath: candidate.appendingPathComponent(marker).path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        throw CommandFailure("cannot find the samples folder: run from the project root or pass --samples DIR", exitCode: 2)
    }

    private func say(_ line: String) {
        output(line)   // unbuffered, so progress shows as it happens even when stdout is a pipe
    }
}

