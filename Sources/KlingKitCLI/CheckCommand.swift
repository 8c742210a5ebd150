import ArgumentParser
import Foundation
import KlingSupport
import KlingModels
import ImageCodecs
import ReferenceImages

/// `klingkit check FILE... [--json]`: validates reference images against Kling's upload rules.
///
/// Each FILE is checked (directories expand, recursively, to the JPEG/PNG files inside them), in
/// parallel across cores; results print in argument order, one line per file. Exit status: 0 when
/// every file is valid, 1 when any is not, 2 on a usage error (including a path that does not exist).
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check images against Kling's reference-image rules (format, size, dimensions, ratio, decodability).",
        discussion: """
            Rules: JPEG or PNG by content; file <= 10,485,760 bytes; width and height >= 300 px; aspect ratio
            within 1:2.5 ... 2.5:1 inclusive; at most 100,000,000 pixels; the whole stream decodes (a truncated
            file is not valid). Every violation is listed with the measured value and the limit.
            Directories expand recursively to the files inside them that are JPEG/PNG by content or by
            extension (.jpg, .jpeg, .png); hidden files are skipped.
            --json prints one object per line and file:
            {"path", "valid", "format", "width", "height", "bytes", "violations": [{"rule", "message"}]}
            with rule one of unsupported-format, file-size, min-dimension, aspect-ratio, corrupt, too-many-pixels.
            HEIF/HEIC, AVIF and WebP files (by content; directories include them) are reported as
            unsupported-format naming the format, size and orientation, with "prepare converts it" and, in JSON,
            "convertible": true, "source_format" and "orientation". An animated PNG gets a note (prepare writes
            its default image as a still). --face adds "faces: N" with boxes (JSON "faces", "face_boxes"):
            0 or 2+ faces is a warning, or makes the file invalid with --strict-face.
            Exit status: 0 all valid, 1 any invalid, 2 usage error.
            """
    )

    @Argument(help: ArgumentHelp("Image files or directories to check.", valueName: "FILE"), completion: .file())
    var files: [String] = []

    @Flag(name: .long, help: "Print one JSON object per line and file instead of text.")
    var json = false

    @Option(name: .customLong("max-bytes"), help: "Largest file accepted, in bytes.")
    var maxBytes: Int = UploadRules().maxBytes

    @Option(name: .customLong("min-side"), help: "Smallest width and height accepted, in pixels.")
    var minSide: Int = UploadRules().minSide

    @Option(name: .customLong("max-pixels"), help: "Most pixels (width x height) a header may declare.")
    var maxPixels: Int = UploadRules().maxPixels

    @Option(name: [.short, .customLong("jobs")], help: "Files checked at once (default: the number of cores).")
    var jobs: Int?

    @Flag(name: .long, help: "Count frontal faces (advisory; 0 or 2+ is a warning): 'faces: N' with boxes.")
    var face = false

    @Flag(name: .customLong("strict-face"), help: "With --face: a file without exactly one face is invalid.")
    var strictFace = false

    @OptionGroup var display: DisplayOptions

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one FILE or directory to check") }
        if maxBytes < 1 { throw ValidationError("--max-bytes must be at least 1") }
        if minSide < 1 { throw ValidationError("--min-side must be at least 1") }
        if maxPixels < 1 { throw ValidationError("--max-pixels must be at least 1") }
        if let jobs, jobs < 1 { throw ValidationError("--jobs must be at least 1") }
        try StandardInput.checkUsedOnce(files)
        if files.contains(StandardInput.argument) && (face || strictFace) {
            throw ValidationError("--face needs files: it cannot read - (standard input)")
        }
    }

    func run() async throws {
        display.apply()
        let (paths, skipped) = try CheckInputs.expand(files)
        for line in skipped { note("klingkit: " + line) }
        // Bounded: a valid upload is at most --max-bytes; 64 MiB more says how far over it is.
        let standardInput = paths.contains(StandardInput.argument) ? try StandardInput.read(limit: maxBytes + (64 << 20)) : []
        let validator = ReferenceImageValidator(rules: UploadRules(maxBytes: maxBytes, minSide: minSide, maxPixels: maxPixels))
        let width = jobs ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
        let progress = ProgressLine.batch(verb: "checking", total: paths.count, minimumBatch: 20)
        let json = self.json
        var anyInvalid = false
        var valid = 0
        var brokenRules: [String: Int] = [:]   // files per rule broken

        let face = self.face || strictFace, strictFace = self.strictFace
        await withTaskGroup(of: (Int, ValidationReport, CheckFaces.Result?).self) { group in
            var next = 0
            func submit() {
                guard next < paths.count else { return }
                let index = next
                let path = paths[index]
                next += 1
                group.addTask {
                    if path == StandardInput.argument { return (index, validator.validate(bytes: standardInput, name: StandardInput.name), nil) }
                    return (index, validator.validate(fileAt: path), face ? CheckFaces.detect(path: path) : nil)
                }
            }
            for _ in 0..<min(width, paths.count) { submit() }
            // Results arrive in any order; print them in argument order.
            var pending: [Int: (ValidationReport, CheckFaces.Result?)] = [:]
            var printed = 0
            while let (index, report, faces) = await group.next() {
                submit()
                pending[index] = (report, faces)
                while let (ready, faces) = pending.removeValue(forKey: printed) {
                    let faceFails = strictFace && faces.map { !$0.isSingle } == true
                    if !ready.isValid || faceFails { anyInvalid = true } else { valid += 1 }
                    for rule in Set(ready.violations.map(\.rule.rawValue)) { brokenRules[rule, default: 0] += 1 }
                    if faceFails { brokenRules["face-count", default: 0] += 1 }
                    progress.clear()
                    if json {
                        outputJSON(CheckOutput.json(ready, faces: faces, strictFace: strictFace))
                    } else {
                        output(CheckOutput.text(ready, faces: faces, strictFace: strictFace))
                    }
                    printed += 1
                    progress.update(done: printed)
                }
            }
        }
        progress.clear()
        if paths.count + skipped.count > 1 {
            var summary = batchSummary(verb: "checked", total: paths.count, good: valid, goodWord: "valid", badWord: "invalid", rules: brokenRules)
            if !skipped.isEmpty { summary += "; \(skipped.count) skipped" }
            notice(summary)
        }
        if anyInvalid || !skipped.isEmpty { throw ExitCode(1) }
    }
}

/// Expands command-line paths: files stay as given, directories become the image files inside them.
enum CheckInputs {
    static let imageExtensions: Set<String> = ["jpg", "jpeg", "jpe", "png", "heic", "heif", "avif", "webp"]

    /// The files to work on, and one line for each entry of a folder that looks like an image but cannot
    /// be opened (a name that is not valid UTF-8, a symbolic link that loops or points nowhere) or is a
    /// symbolic link to a folder (not followed, so a link cannot make the walk loop). Those lines are the
    /// caller's to print; each counts as a failed item.
    /// - Throws: ``CommandFailure`` (exit 2) when no argument yields any file.
    static func expand(_ arguments: [String]) throws -> (paths: [String], skipped: [String]) {
        var result: [String] = []
        var skipped: [String] = []
        var empty: [String] = []
        for argument in arguments {
            var isDirectory: ObjCBool = false
            // A missing or unreadable FILE is that item's failure (the reader names it), not a usage
            // error that stops the other items.
            guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory), isDirectory.boolValue else {
                result.append(argument)
                continue
            }
            var found: [String] = []
            walk(argument, into: &found, skipped: &skipped)
            if found.isEmpty { empty.append(argument) }
            result.append(contentsOf: found.sorted())
        }
        for folder in empty where !result.isEmpty {
            note("klingkit: \(folder): no JPEG or PNG files (nor HEIC, AVIF, WebP) in this folder")
        }
        if result.isEmpty && skipped.isEmpty {
            // A usage error (exit 2) in one line, without the root command's usage text.
            throw CommandFailure("no JPEG or PNG files (nor HEIC, AVIF, WebP) in \(empty.joined(separator: ", ")): nothing to do",
                                 exitCode: 2)
        }
        return (result, skipped)
    }

    /// `folder`'s image files, its subfolders' in turn (paths spelled from `folder` as given).
    private static func walk(_ folder: String, into found: inout [String], skipped: inout [String]) {
        guard let entries = FolderListing.entries(of: folder) else {
            skipped.append("\(folder): cannot list the folder")
            return
        }
        for entry in entries {
            let imageName = imageExtensions.contains((entry.name as NSString).pathExtension.lowercased())
            switch entry.kind {
            case .folder where entry.isLink:
                skipped.append("\(entry.path): a symbolic link to a folder is not followed (pass it as an argument)")
            case .folder:
                walk(entry.path, into: &found, skipped: &skipped)
            case .file:
                if imageName || looksLikeImage(entry.path) { found.append(entry.path) }
            case .unusable(let problem):
                // Only what could be an image is worth a line; a name that is not UTF-8 always is.
                if imageName || problem == .nameNotUTF8 { skipped.append("\(entry.path): skipped: \(problem)") }
            }
        }
    }

    /// Whether the file's first bytes are a JPEG or PNG signature.
    static func looksLikeImage(_ path: String) -> Bool {
        guard let handle = FileHandle(forReadingAtPath: path) else { return false }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: 64) else { return false }
        return ImageCodec.sniff([UInt8](head)) != nil || ImageCodec.sniffConvertible([UInt8](head)) != nil
    }
}

/// Formats reports as text lines or JSON lines.
enum CheckOutput {
    static func text(_ report: ValidationReport, faces: CheckFaces.Result? = nil, strictFace: Bool = false) -> String {
        var facts: [String] = []
        if let format = report.format { facts.append(format.rawValue) } else if let c = report.convertible { facts.append(c.format.rawValue) }
        if let w = report.width, let h = report.height { facts.append("\(w)x\(h)") }
        if report.orientation != 1 { facts.append("EXIF orientation \(report.orientation)") }
        facts.append("\(report.bytes) bytes")
        facts += report.notes
        let summary = "(\(facts.joined(separator: ", ")))"
        let faceText = faces.map { "; " + CheckFaces.text($0, strict: strictFace) } ?? ""
        let faceFails = strictFace && faces.map { !$0.isSingle } == true
        if report.isValid && !faceFails { return "\(report.name): valid \(summary)" + faceText }
        let list = report.violations.map { "\($0.rule.rawValue): \($0.message)" }.joined(separator: "; ")
        return "\(report.name): invalid \(summary)" + (list.isEmpty ? "" : ": \(list)") + faceText
    }

    static func json(_ report: ValidationReport, faces: CheckFaces.Result? = nil, strictFace: Bool = false) -> String {
        checkLine(report, faces: faces, strictFace: strictFace)
    }

}

