import ArgumentParser
import ContactSheets
import Foundation
import KlingSupport
import ImageCodecs
import ImageCore

/// The `--format` of `klingkit sheet --out -`.
enum SheetOutputFormat: String, ExpressibleByArgument, CaseIterable {
    case png, jpeg

    var imageFormat: ImageFormat { self == .png ? .png : .jpeg }
}

/// `klingkit sheet INPUT... --out FILE`: every image side by side on one labelled picture.
struct SheetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sheet",
        abstract: "Make a contact sheet: every image in a labelled grid, to pick the good ones at a glance.",
        discussion: """
            INPUT may be image files, folders of images, or the output folder of `klingkit generate` \
            (<out>/<task_id>/<index>.<ext>), whose task ids, indexes and prompts become captions with \
            --captions task. The output format follows the extension of --out (.png, .jpg, .jpeg); the \
            file is written atomically. `--out -` writes the sheet to standard output (--format, default \
            png) only once it is complete, and its report to standard error. A damaged input is drawn as a labelled placeholder and reported on \
            stderr as a warning; the sheet is still made (exit 0). Exit 1 with a one-line reason when no sheet \
            can be made, 2 for a usage error.
            """
    )

    @Argument(help: ArgumentHelp("Image files, folders, or `klingkit generate` output folders.", valueName: "INPUT"), completion: .file())
    var inputs: [String]

    @Option(name: .long, help: ArgumentHelp("The sheet to write: .png or .jpg/.jpeg, or - for standard output.", valueName: "FILE"), completion: .file())
    var out: String

    @Option(name: .long, help: ArgumentHelp("png or jpeg: the format of --out - (a file's follows its extension).", valueName: "FORMAT"))
    var format: SheetOutputFormat?

    @Option(name: .long, help: ArgumentHelp("Grid columns (default: automatic, close to a square sheet).", valueName: "N"))
    var columns: Int?

    @Option(name: .long, help: ArgumentHelp("Side of the square each image is fitted into, pixels (8...8192).", valueName: "PX"))
    var tile: Int = 256

    @Option(name: .long, help: ArgumentHelp("Space between tiles, pixels (0...1024).", valueName: "PX"))
    var gap: Int = 8

    @Option(name: .long, help: ArgumentHelp("Space around the grid, pixels (0...4096).", valueName: "PX"))
    var margin: Int = 16

    @Option(name: .long, help: ArgumentHelp(
        "light, dark, a colour name (white, black, gray, transparent) or #rgb/#rrggbb/#rrggbbaa.", valueName: "COLOR"))
    var background: String = "light"

    @Option(name: .long, help: ArgumentHelp("Caption under each tile: name, task (task id #index and prompt) or none.",
                                            valueName: "MODE"))
    var captions: CaptionMode = .name

    @Option(name: .long, help: ArgumentHelp("A title above the grid (wrapped onto up to three lines).", valueName: "TEXT"))
    var title: String?

    @Option(name: .customLong("per-page"), help: ArgumentHelp(
        "At most N tiles per sheet: writes OUT-001.png, OUT-002.png, … instead of OUT.", valueName: "N"))
    var perPage: Int?

    @Flag(name: .customLong("with-references"), help: "Put each task's reference image(s) (from its request.json) first in its row.")
    var withReferences = false

    @Option(name: .long, help: ArgumentHelp(
        "Caption template, one line per \\n: {name} {task} {index} {w} {h} {bytes} {size} {prompt} {verdict} {n}.",
        valueName: "TEMPLATE"))
    var caption: String?

    @Option(name: .long, help: ArgumentHelp("A gallery export (klingkit-picks.json) whose verdicts {verdict} shows.", valueName: "FILE"), completion: .file())
    var verdicts: String?

    @Option(name: .customLong("group-gap"), help: ArgumentHelp("Extra space above each task's first row, pixels (0...4096).", valueName: "PX"))
    var groupGap: Int = 24

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one INPUT (a file or a folder)") }
        _ = try outputFormat()
        _ = try theme()
        if let columns, !(1...10_000).contains(columns) {
            throw ValidationError("--columns must be 1...10000, not \(columns)")
        }
        guard (8...8192).contains(tile) else { throw ValidationError("--tile must be 8...8192 px, not \(tile)") }
        guard (0...1024).contains(gap) else { throw ValidationError("--gap must be 0...1024 px, not \(gap)") }
        guard (0...4096).contains(margin) else { throw ValidationError("--margin must be 0...4096 px, not \(margin)") }
        guard (0...4096).contains(groupGap) else { throw ValidationError("--group-gap must be 0...4096 px, not \(groupGap)") }
        if let perPage, !(1...100_000).contains(perPage) { throw ValidationError("--per-page must be 1...100000, not \(perPage)") }
        if let caption, caption.split(separator: "\n", omittingEmptySubsequences: false).count > 4 {
            throw ValidationError("--caption may have at most 4 lines")
        }
    }

    /// Whether the sheet goes to standard output (`--out -`).
    private var toStandardOutput: Bool { out == StandardInput.argument }

    /// The output format: `--format` for `--out -`, else the extension of `--out` (which `--format`,
    /// when given too, must agree with).
    private func outputFormat() throws -> ImageFormat {
        if toStandardOutput {
            if perPage != nil { throw ValidationError("--per-page writes several files, so it needs --out FILE, not -") }
            try StandardOutput.checkNotTerminal()
            return format?.imageFormat ?? .png
        }
        let lower = out.lowercased()
        let byExtension: ImageFormat
        if lower.hasSuffix(".png") {
            byExtension = .png
        } else if lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") {
            byExtension = .jpeg
        } else {
            throw ValidationError("--out must end in .png, .jpg or .jpeg (the format follows the extension), or be -: \(out)")
        }
        if let format, format.imageFormat != byExtension {
            throw ValidationError("--format \(format.rawValue) disagrees with --out \(out); give one or make them agree")
        }
        return byExtension
    }

    private func theme() throws -> SheetTheme {
        switch background.lowercased() {
        case "light": return .light
        case "dark": return .dark
        default:
            guard let color = Color(parsing: background) else {
                throw ValidationError("--background '\(background)' is not light, dark, a colour name or #rrggbb")
            }
            return SheetTheme.matching(background: color)
        }
    }

    @OptionGroup var display: DisplayOptions

    func run() async throws {
        display.apply()
        var options = SheetOptions(columns: columns, tile: tile, gap: gap, margin: margin,
                                   theme: try theme(), captions: captions,
                                   title: title, format: try outputFormat())
        if options.format == .jpeg && options.theme.background.alpha != 255 {
            throw CommandFailure("--background \(background) is transparent, which needs a .png output")
        }
        if !toStandardOutput {
            // The sheet's folder is made if missing (as prepare, generate and gallery make theirs), then
            // the temporaries a killed earlier run left beside the sheet are swept.
            let folder = URL(fileURLWithPath: out).deletingLastPathComponent()
            do {
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            } catch {
                throw CommandFailure("cannot make the folder \(folder.path) for --out \(out): \(error.localizedDescription)")
            }
            AtomicOutputFile.sweepStaleTemporaries(in: folder.path)
        }
        options.groupGap = groupGap
        options.captionTemplate = caption.map { $0.replacingOccurrences(of: "\\n", with: "\n") }
        do {
            // The sheet being replaced is never one of its own inputs (a JPEG sheet, which has no marker, included).
            let target = URL(fileURLWithPath: out).standardizedFileURL.path
            var items = try ContactSheet.items(from: inputs).filter { item in
                guard case .file(let path) = item.source else { return true }
                return URL(fileURLWithPath: path).standardizedFileURL.path != target
            }
            if withReferences { items = SheetReferences.inserted(into: items) }
            if let verdicts { items = try SheetVerdicts.applied(from: verdicts, to: items) }
            guard !items.isEmpty else { throw CommandFailure("no images to put on the sheet (the only input is the sheet itself)") }
            let pages = perPage.map { size in stride(from: 0, to: items.count, by: size).map { Array(items[$0..<min(items.count, $0 + size)]) } } ?? [items]
            for (number, page) in pages.enumerated() {
                let path = perPage == nil ? out : Self.pagePath(out, number + 1)
                if perPage != nil, let title { options.title = "\(title) (\(number + 1)/\(pages.count))" }
                let result = toStandardOutput
                    ? try Self.writeToStandardOutput(page, options: options)
                    : try ContactSheet.write(page, options: options, to: path)
                for failure in result.failureList {
                    note("klingkit: warning: \(failure.name): \(failure.message) (drawn as a placeholder)")
                }
                let layout = result.layout
                let placeholders = result.failureList.isEmpty ? "" : ", \(result.failureList.count) placeholder"
                    + (result.failureList.count == 1 ? "" : "s")
                let line = "wrote \(toStandardOutput ? "<stdout>" : path): \(result.width)x\(result.height) \(options.format.rawValue), "
                    + "\(layout.count) tile\(layout.count == 1 ? "" : "s") in \(layout.columns)x\(layout.rows)\(placeholders)"
                // With the sheet on standard output, its report goes to standard error.
                if toStandardOutput { notice(line) } else { output(line) }
            }
        } catch let error as SheetError {
            throw CommandFailure(error.message)
        }
    }

    /// `--out -`: the sheet is streamed to a private temporary file (bounded memory, as for a file) and
    /// copied to standard output only once complete, so a failure sends no bytes at all.
    static func writeToStandardOutput(_ items: [SheetItem], options: SheetOptions) throws -> SheetFileResult {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("klingkit-sheet-\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o700])
        } catch {
            throw CommandFailure("cannot make a temporary folder for the sheet in \(folder.deletingLastPathComponent().path): \(error.localizedDescription)")
        }
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent(options.format == .png ? "sheet.png" : "sheet.jpg")
        let result = try ContactSheet.write(items, options: options, to: file.path)
        guard let input = FileHandle(forReadingAtPath: file.path) else {
            throw CommandFailure("cannot read back the sheet written to \(file.path)")
        }
        defer { try? input.close() }
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            FileHandle.standardOutput.write(chunk)
        }
        return result
    }

    /// `dir/sheet.png`, page 3 → `dir/sheet-003.png`.
    static func pagePath(_ out: String, _ page: Int) -> String {
        let url = URL(fileURLWithPath: out)
        let ext = url.pathExtension
        let stem = url.deletingPathExtension().lastPathComponent
        let name = stem + "-" + String(format: "%03d", page) + (ext.isEmpty ? "" : "." + ext)
        return (out as NSString).deletingLastPathComponent.isEmpty ? name
            : ((out as NSString).deletingLastPathComponent as NSString).appendingPathComponent(name)
    }
}
