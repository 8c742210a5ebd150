import ArgumentParser
import ContactSheets
import Foundation
import KlingSupport
import ImageCodecs
import ImageCore

/// `klingkit sheet INPUT... --out FILE`: every image side by side on one labelled picture.
struct SheetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sheet",
        abstract: "Make a contact sheet: every image in a labelled grid, to pick the good ones at a glance.",
        discussion: """
            INPUT may be image files, folders of images, or the output folder of `klingkit generate` \
            (<out>/<task_id>/<index>.<ext>), whose task ids, indexes and prompts become captions with \
            --captions task. The output format follows the extension of --out (.png, .jpg, .jpeg); the \
            file is written atomically. A damaged input is drawn as a labelled placeholder and reported on \
            stderr as a warning; the sheet is still made (exit 0). Exit 1 with a one-line reason when no sheet \
            can be made, 2 for a usage error.
            """
    )

    @Argument(help: ArgumentHelp("Image files, folders, or `klingkit generate` output folders.", valueName: "INPUT"))
    var inputs: [String]

    @Option(name: .long, help: ArgumentHelp("The sheet to write: .png or .jpg/.jpeg.", valueName: "FILE"))
    var out: String

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

    @Option(name: .long, help: ArgumentHelp("A title line above the grid.", valueName: "TEXT"))
    var title: String?

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one INPUT (a file or a folder)") }
        _ = try format()
        _ = try theme()
        if let columns, !(1...10_000).contains(columns) {
            throw ValidationError("--columns must be 1...10000, not \(columns)")
        }
        guard (8...8192).contains(tile) else { throw ValidationError("--tile must be 8...8192 px, not \(tile)") }
        guard (0...1024).contains(gap) else { throw ValidationError("--gap must be 0...1024 px, not \(gap)") }
        guard (0...4096).contains(margin) else { throw ValidationError("--margin must be 0...4096 px, not \(margin)") }
    }

    /// The output format from the extension of `--out`.
    private func format() throws -> ImageFormat {
        let lower = out.lowercased()
        if lower.hasSuffix(".png") { return .png }
        if lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") { return .jpeg }
        throw ValidationError("--out must end in .png, .jpg or .jpeg (the format follows the extension): \(out)")
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

    func run() async throws {
        var options = SheetOptions(columns: columns, tile: tile, gap: gap, margin: margin,
                                   theme: try theme(), captions: captions,
                                   title: title, format: try format())
        if options.format == .jpeg && options.theme.background.alpha != 255 {
            throw CommandFailure("--background \(background) is transparent, which needs a .png output")
        }
        // Temporaries a killed earlier run left beside the sheet.
        AtomicOutputFile.sweepStaleTemporaries(in: URL(fileURLWithPath: out).deletingLastPathComponent().path)
        do {
            let items = try ContactSheet.items(from: inputs)
            let result = try ContactSheet.write(items, options: options, to: out)
            for failure in result.failureList {
                FileHandle.standardError.write(Data(
                    "klingkit: warning: \(failure.name): \(failure.message) (drawn as a placeholder)\n".utf8))
            }
            let layout = result.layout
            let placeholders = result.failureList.isEmpty ? "" : ", \(result.failureList.count) placeholder"
                + (result.failureList.count == 1 ? "" : "s")
            print("wrote \(out): \(result.width)x\(result.height) \(options.format.rawValue), "
                + "\(layout.count) tile\(layout.count == 1 ? "" : "s") in \(layout.columns)x\(layout.rows)\(placeholders)")
        } catch let error as SheetError {
            throw CommandFailure(error.message)
        }
    }
}
