import KlingSupport
import ArgumentParser
import FastBase64
import Foundation
import KlingModels
import ImageCodecs
import ImageCore
import ReferenceImages

/// `klingkit prepare FILE|DIR... --out DIR`: makes each image one the API accepts, with the least damage.
///
/// One output per input is written into `--out` (created if missing), atomically: a hidden temporary
/// file in the same directory, then a rename, so a reader never sees half a file. Inputs are prepared
/// in parallel; results print in argument order. Exit status: 0 when every input produced a valid
/// output, 1 when any could not (its error is printed and no file is written for it), 2 on a usage error.
struct PrepareCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prepare",
        abstract: "Fix images so Kling's API accepts them: orientation, aspect ratio, size, bytes, metadata.",
        discussion: """
            Only the steps an image needs are taken, in this order: apply the EXIF orientation; pad (default) \
            or crop an aspect ratio outside 1:2.5...2.5:1 to the nearest allowed ratio; enlarge a short side \
            under --min-side (300); shrink to --max-side; re-encode under --max-bytes (10 MiB), searching JPEG \
            quality from --quality (90) down to 60, then shrinking. Metadata (EXIF with GPS, XMP, IPTC, text) \
            is removed, losslessly when nothing else changes; the ICC profile is kept, or with --icc srgb the \
            pixels are converted to sRGB and the profile dropped. An image that already \
            passes and carries no metadata is copied byte for byte.

            Outputs are named after their inputs with .jpg or .png; names that clash get -2, -3 and so on. \
            Each is written to a temporary file and renamed into place.

            --json prints one object per line and input: {"input", "output" (null on failure), "actions": [...], \
            "width", "height", "bytes", "error": {"rule", "message"} or null}.

            Exit status: 0 every input prepared, 1 any failed, 2 usage error.
            """
    )

    enum FitFlag: String, EnumerableFlag {
        case pad, crop
        static func help(for value: FitFlag) -> ArgumentHelp? {
            switch value {
            case .pad: "Pad an out-of-range aspect ratio to the nearest allowed one (default)."
            case .crop: "Crop an out-of-range aspect ratio to the nearest allowed one."
            }
        }
    }

    @Argument(help: ArgumentHelp("Image files or directories (expanded to the JPEG/PNG files inside); - reads one image from standard input.", valueName: "FILE"), completion: .file())
    var files: [String] = []

    @Option(name: .customLong("out"), help: ArgumentHelp("Directory the outputs are written to (created if missing); - writes the one output image to standard output (its report line goes to standard error).", valueName: "DIR"), completion: .directory)
    var out: String?

    @Flag(help: "How to fix an aspect ratio outside 1:2.5...2.5:1.")
    var fit: FitFlag = .pad

    @Option(name: .customLong("pad-style"), help: ArgumentHelp("What fills padding: color (--background), edge (repeat the border) or blur.", valueName: "STYLE"))
    var padStyle: PrepareOptions.PadStyle = .color

    @Option(name: .customLong("crop-offset"), help: ArgumentHelp("Where --crop keeps its window along the long side: pixels from the left/top (e.g. 120) or a percentage (0% left/top, 50% centre, 100% right/bottom). Default: centre.", valueName: "N|P%"))
    var cropOffset: String?

    @Option(name: .customLong("background"), help: ArgumentHelp("Padding colour, and what transparency is flattened onto for JPEG: #rrggbb, #rgb, white, black, gray.", valueName: "COLOR"))
    var background: String = "white"

    @Option(name: .customLong("min-side"), help: ArgumentHelp("Short side small images are enlarged to, in pixels (at least 300).", valueName: "PX"))
    var minSide: Int?

    @Option(name: .customLong("max-side"), help: ArgumentHelp("Longest side wanted, in pixels; larger images are shrunk.", valueName: "PX"))
    var maxSide: Int?

    @Option(name: .customLong("max-bytes"), help: ArgumentHelp("Byte budget per output (at most 10485760).", valueName: "N"))
    var maxBytes: Int?

    @Option(name: .customLong("format"), help: ArgumentHelp("Output format: jpeg, png, or auto (keep the input's; PNG becomes JPEG when smaller).", valueName: "jpeg|png|auto"))
    var format: PrepareOptions.OutputFormat = .auto

    @Option(name: .customLong("quality"), help: ArgumentHelp("JPEG quality to start from, 1-100 (default 90).", valueName: "Q"))
    var quality: Int?

    @Option(name: .customLong("filter"), help: ArgumentHelp("Resampling filter: lanczos3 (default), mitchell, bilinear, box.", valueName: "NAME"))
    var filter: ResampleFilter = .lanczos3

    @Option(name: .customLong("icc"), help: ArgumentHelp("Embedded ICC profile: keep (default) or srgb (convert RGB pixels to sRGB and drop the profile).", valueName: "keep|srgb"))
    var icc: PrepareOptions.ColorProfile = .keep

    @Flag(name: .customLong("keep-metadata"), help: "Keep EXIF/XMP/text when the file is copied (re-encoded outputs keep only the ICC profile).")
    var keepMetadata = false

    @Flag(name: .customLong("optimize-huffman"), help: "Always use optimised JPEG Huffman tables: 5-20% smaller, about 3x slower to encode (default: only when the byte budget needs them).")
    var optimizeHuffman = false

    @Flag(name: .customLong("base64"), help: "Also write OUTPUT.b64: the output's base64 (no data: prefix), ready for a request body.")
    var base64 = false

    @Flag(name: .long, help: "Print one JSON object per line and input instead of text.")
    var json = false

    @OptionGroup var display: DisplayOptions

    @Option(name: [.short, .customLong("jobs")], help: "Images prepared at once (default: the number of cores).")
    var jobs: Int?

    @Option(name: .customLong("threads"), help: "Threads one image's resize may use (default: all cores for a single image, 1 in a batch).")
    var threads: Int?

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE or directory to prepare") }
        guard let out, !out.isEmpty else { throw ValidationError("--out DIR is required") }
        try StandardInput.checkUsedOnce(files)
        var isDirectory: ObjCBool = false
        if out == StandardInput.argument {
            guard files.count == 1, !(FileManager.default.fileExists(atPath: files[0], isDirectory: &isDirectory) && isDirectory.boolValue) else {
                throw ValidationError("--out - writes one image: give exactly one FILE (or -), not a directory")
            }
            if base64 { throw ValidationError("--base64 writes a second file: it needs --out DIR, not -") }
            try StandardOutput.checkNotTerminal()
        } else if FileManager.default.fileExists(atPath: out, isDirectory: &isDirectory), !isDirectory.boolValue {
            throw ValidationError("--out \(out) exists and is not a directory")
        }
        _ = try options(threads: nil)
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    /// The flags as ``PrepareSettings``, the text form `klingkit serve`'s query parameters share.
    var settings: PrepareSettings {
        var settings = PrepareSettings()
        settings.fit = fit.rawValue
        settings.padStyle = padStyle.rawValue
        settings.cropOffset = cropOffset
        settings.background = background
        settings.minSide = minSide.map(String.init)
        settings.maxSide = maxSide.map(String.init)
        settings.maxBytes = maxBytes.map(String.init)
        settings.format = format.rawValue
        settings.quality = quality.map(String.init)
        settings.filter = filter.rawValue
        settings.icc = icc.rawValue
        settings.keepMetadata = keepMetadata
        settings.optimizeHuffman = optimizeHuffman
        return settings
    }

    /// The preparation options the flags describe.
    func options(threads: Int?) throws -> PrepareOptions {
        var settings = self.settings
        settings.threads = threads
        do {
            return try settings.options()
        } catch {
            throw ValidationError("--\(error.file ?? "option") \(error.message)")
        }
    }

    func run() async throws {
        display.apply()
        let outDir = out!
        if outDir == StandardInput.argument { return try prepareToStandardOutput(files[0]) }
        let (inputs, skipped) = try CheckInputs.expand(files)
        for line in skipped { note("klingkit: " + line) }
        let standardInput = inputs.contains(StandardInput.argument) ? try StandardInput.read(limit: PrepareJob.maxInputBytes) : []
        do {
            try FileManager.default.createDirectory(atPath: outDir, withIntermediateDirectories: true)
        } catch {
            throw CommandFailure("--out \(outDir): cannot create the directory: \(error.localizedDescription)")
        }
        // Temporaries a killed earlier run left in the output folder.
        AtomicOutputFile.sweepStaleTemporaries(in: outDir)
        let cores = max(1, ProcessInfo.processInfo.activeProcessorCount)
        let width = max(1, min(jobs ?? cores, inputs.count))
        let resizeThreads = threads ?? (width > 1 ? 1 : cores)
        let preparer = ReferenceImagePreparer(options: try options(threads: resizeThreads))
        let stems = PrepareNaming.uniqueStems(inputs)
        let writeBase64 = base64
        let json = self.json
        let progress = ProgressLine.batch(verb: "preparing", total: inputs.count, minimumBatch: 10)
        var failures = 0
        var failedRules: [String: Int] = [:]

        await withTaskGroup(of: (Int, PrepareOutcome).self) { group in
            var next = 0
            func submit() {
                guard next < inputs.count else { return }
                let index = next
                next += 1
                let input = inputs[index], stem = stems[index]
                group.addTask {
                    (index, PrepareJob.run(input: input, stem: stem, outDir: outDir, preparer: preparer, base64: writeBase64,
                                           standardInput: input == StandardInput.argument ? standardInput : nil))
                }
            }
            for _ in 0..<width { submit() }
            var pending: [Int: PrepareOutcome] = [:]
            var printed = 0
            while let (index, outcome) = await group.next() {
                submit()
                pending[index] = outcome
                while let ready = pending.removeValue(forKey: printed) {
                    progress.clear()
                    if let error = ready.error {
                        failures += 1
                        failedRules[error.rule, default: 0] += 1
                    }
                    ready.report(json: json, imageOnStandardOutput: false)
                    printed += 1
                    progress.update(done: printed, failed: failures)
                }
            }
        }
        progress.clear()
        if inputs.count + skipped.count > 1 {
            var summary = batchSummary(verb: "prepared", total: inputs.count, good: inputs.count - failures, goodWord: "written",
                                       badWord: "failed", rules: failedRules)
            if !skipped.isEmpty { summary += "; \(skipped.count) skipped" }
            notice(summary)
        }
        if failures > 0 || !skipped.isEmpty { throw ExitCode(1) }
    }
}

extension PrepareCommand {
    /// `--out -`: one image prepared to standard output; its report (text or JSON) on standard error.
    func prepareToStandardOutput(_ input: String) throws {
        let preparer = ReferenceImagePreparer(options: try options(threads: threads ?? max(1, ProcessInfo.processInfo.activeProcessorCount)))
        var outcome = PrepareOutcome(input: input == StandardInput.argument ? StandardInput.name : input)
        do {
            let prepared = input == StandardInput.argument
                ? try preparer.prepare(bytes: try StandardInput.read(limit: PrepareJob.maxInputBytes), name: StandardInput.name)
                : try preparer.prepare(fileAt: input, maxInputBytes: PrepareJob.maxInputBytes)
            FileHandle.standardOutput.write(Data(prepared.encoded.bytes))
            outcome.record(prepared, writtenTo: "-")
        } catch let error as PrepareError {
            outcome.error = error
        }
        outcome.report(json: json, imageOnStandardOutput: true)
        if outcome.error != nil { throw ExitCode(1) }
    }
}

/// What happened to one input.
struct PrepareOutcome: Sendable {
    var input: String
    var output: String?
    var actions: [String] = []
    var width = 0
    var height = 0
    var bytes = 0
    var error: PrepareError?

    var json: String { prepareLine(self) }

    /// Prints the outcome's line: a failure on standard error; a success, or the JSON line, on standard
    /// output, unless the image itself went there (`--out -`): then on standard error, and a text success
    /// line is a notice (`--quiet` drops it).
    func report(json: Bool, imageOnStandardOutput: Bool) {
        if json {
            if imageOnStandardOutput { FileHandle.standardError.write(Data((self.json + "\n").utf8)) } else { outputJSON(self.json) }
        } else if error != nil {
            note("klingkit: " + text)
        } else if imageOnStandardOutput {
            notice(text)
        } else {
            KlingKitCLI.output(text)   // the module's printer, not this outcome's `output` path
        }
    }

    /// Fills in what was written where.
    mutating func record(_ prepared: PreparedImage, writtenTo path: String) {
        output = path
        actions = prepared.actions.map(\.description)
        width = prepared.width
        height = prepared.height
        bytes = prepared.encoded.bytes.count
    }

    var text: String {
        if let error { return "\(input): \(error.rule): \(error.message)" }
        let what = actions.isEmpty ? "unchanged (copied)" : actions.joined(separator: ", ")
        return "\(input) -> \(output ?? "") (\(width)x\(height), \(bytes) bytes): \(what)"
    }
}

/// Preparing and writing one file.
enum PrepareJob {
    /// Inputs larger than this are refused before reading (no reference image is anywhere near it).
    static let maxInputBytes = 1 << 30

    /// - Parameter standardInput: the bytes of `-`, already read; `nil` for a file.
    static func run(input: String, stem: String, outDir: String, preparer: ReferenceImagePreparer, base64: Bool,
                    standardInput: [UInt8]? = nil) -> PrepareOutcome {
        var outcome = PrepareOutcome(input: standardInput == nil ? input : StandardInput.name)
        do {
            // From the file: a PNG that only needs re-encoding streams row by row, never held whole.
            let prepared = try standardInput.map { try preparer.prepare(bytes: $0, name: StandardInput.name) }
                ?? preparer.prepare(fileAt: input, maxInputBytes: maxInputBytes)
            let path = (outDir as NSString).appendingPathComponent(stem + "." + prepared.encoded.format.fileExtension)
            if sameFile(path, input) {
                throw PrepareError(.output, "the output \(path) would overwrite the input; choose another --out", file: input)
            }
            if base64 {
                // The image and its base64 commit together: a failure (a full disk) leaves neither.
                try AtomicOutputFile.writeTogether([(prepared.encoded.bytes, path), (Base64.encode(prepared.encoded.bytes), path + ".b64")])
            } else {
                try AtomicOutputFile.write(prepared.encoded.bytes, to: path)
            }
            outcome.record(prepared, writtenTo: path)
        } catch let error as PrepareError {
            outcome.error = error
        } catch {
            outcome.error = PrepareError(.io, String(describing: error), file: input)
        }
        return outcome
    }


    static func sameFile(_ a: String, _ b: String) -> Bool {
        var sa = stat(), sb = stat()
        guard stat(a, &sa) == 0, stat(b, &sb) == 0 else { return false }
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino
    }
}


/// Output names.
enum PrepareNaming {
    /// The output file stem of each input: its name without extension, with `-2`, `-3`... added
    /// when two inputs share a stem (so `a/x.jpg` and `b/x.png` do not overwrite each other).
    static func uniqueStems(_ inputs: [String]) -> [String] {
        var used: Set<String> = []
        return inputs.map { input in
            let name = input == StandardInput.argument ? "stdin" : URL(fileURLWithPath: input).deletingPathExtension().lastPathComponent
            let base = name.isEmpty || name.hasPrefix(".") ? "image" + name : name
            var stem = base
            var n = 2
            while used.contains(stem.lowercased()) {
                stem = "\(base)-\(n)"
                n += 1
            }
            used.insert(stem.lowercased())
            return stem
        }
    }

}

