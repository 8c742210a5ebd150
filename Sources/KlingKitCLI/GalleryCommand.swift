import ArgumentParser
import Foundation
import KlingAPI
import NIOConcurrencyHelpers
import ResultGallery

/// `klingkit gallery INPUT... --out DIR`: a static HTML page to review results, pick and reject.
struct GalleryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gallery",
        abstract: "Make an HTML gallery of results to review: pick, reject, export, regenerate the rejected.",
        discussion: """
            INPUT may be output folders of `klingkit generate` (<out>/<task_id>/ with task.json and \
            request.json), task folders, a batch manifest.jsonl (or a folder holding one), or plain folders \
            and files of JPEG/PNG images. Writes DIR/index.html, DIR/gallery.json (every entry's metadata), \
            DIR/gallery.js and DIR/thumbs/*.jpg, each atomically; full-size images are linked relative to \
            DIR, never copied. Open DIR/index.html in a browser straight from disk: no server needed. \
            Running it again over the same DIR reuses thumbnails whose source did not change. An unreadable \
            image is listed with its error and reported on stderr (exit 0). Exit 1 with a one-line reason \
            when no gallery can be made, 2 for a usage error.
            """
    )

    @Argument(help: ArgumentHelp("Result folders, task folders, manifest.jsonl files, image folders or files.", valueName: "INPUT"), completion: .file())
    var inputs: [String]

    @Option(name: .long, help: ArgumentHelp("The gallery folder to write (created if needed).", valueName: "DIR"), completion: .directory)
    var out: String

    @Option(name: .customLong("thumbnail-size"), help: ArgumentHelp("Side of the square thumbnails are fitted into, pixels (64...1024).", valueName: "PX"))
    var thumbnailSize: Int = 320

    @Option(name: .long, help: ArgumentHelp("The page title.", valueName: "TEXT"))
    var title: String?

    @Option(name: .long, help: ArgumentHelp("Worker threads making thumbnails (default: the cores).", valueName: "N"))
    var threads: Int?

    func validate() throws {
        guard !inputs.isEmpty else { throw ValidationError("give at least one INPUT (a result folder, manifest or image folder)") }
        guard (64...1024).contains(thumbnailSize) else { throw ValidationError("--thumbnail-size must be 64...1024 px, not \(thumbnailSize)") }
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads must be 1...256, not \(threads)") }
    }

    @OptionGroup var display: DisplayOptions

    func run() async throws {
        display.apply()
        var options = GalleryOptions()
        options.thumbnailSize = thumbnailSize
        options.title = title
        options.threads = threads
        options.taskFolderName = { SafePath.component(forTaskID: $0) }
        let result: GalleryResult
        do {
            let line = ProgressLineBox()
            result = try Gallery.write(inputs: inputs, to: out, options: options) { done, total in
                line.update(done: done, total: total)
            }
            line.finish()
        } catch {
            throw CommandFailure(error.message)
        }
        for warning in result.warnings { note("klingkit: warning: \(warning)") }
        for failure in result.failures { note("klingkit: warning: \(failure) (listed without a thumbnail)") }
        output("wrote \(result.page): \(result.results) result\(result.results == 1 ? "" : "s"), "
            + "\(result.references) reference\(result.references == 1 ? "" : "s") in \(result.groups) group\(result.groups == 1 ? "" : "s")"
            + (result.failures.isEmpty ? "" : ", \(result.failures.count) unreadable"))
    }
}

/// The thumbnail progress bar, created once the total is known (the first callback).
private final class ProgressLineBox: Sendable {
    private let line = NIOLockedValueBox<ProgressLine?>(nil)

    func update(done: Int, total: Int) {
        let bar = line.withLockedValue { current in
            if current == nil { current = ProgressLine.batch(verb: "thumbnails", total: total, minimumBatch: 50) }
            return current!
        }
        bar.update(done: done)
    }

    func finish() { line.withLockedValue { $0?.finish() } }
}
