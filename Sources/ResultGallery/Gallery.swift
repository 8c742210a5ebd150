import ContactSheets
import Foundation
import ImageCodecs
import ImageCore
import KlingSupport
import NIOConcurrencyHelpers

/// How a gallery is made.
public struct GalleryOptions: Sendable {
    /// The side of the square each thumbnail is fitted into, in pixels (aspect kept, never enlarged).
    /// 64...1024, default 320.
    public var thumbnailSize = 320
    /// JPEG quality of the thumbnails, 1...100. Default 82.
    public var jpegQuality = 82
    /// The page's title. Default: "KlingKit gallery" and the first input's name.
    public var title: String?
    /// Worker threads making thumbnails (each holds at most one decoded image). Default: the active cores.
    public var threads: Int?
    /// The folder name a task id gets under an output folder, to find a manifest line's results from its
    /// `task_id` (the client's rule; injected so this module does not depend on the client). Default: the id.
    public var taskFolderName: @Sendable (String) -> String = { $0 }

    public init() {}
}

/// What ``Gallery/write(inputs:to:options:progress:)`` made.
public struct GalleryResult: Sendable {
    /// `DIR/index.html`.
    public var page: String
    public var groups: Int
    public var results: Int
    public var references: Int
    /// Pictures that could not be read (listed with an error, no thumbnail), one line each.
    public var failures: [String]
    /// Inputs left out (bad manifest lines, missing files), one line each.
    public var warnings: [String]
}

/// A static HTML gallery of generation results, to pick and reject from (issue #16).
///
/// Inputs, in the order given:
/// - a result folder of `klingkit generate` (`<out>` holding `<task_id>/` folders) or one task folder:
///   each task is a group; facts come from `task.json` (task id, status, `final_unit_deduction`,
///   `created_at`/`updated_at`) and `request.json` (``RequestRecord``: prompt, model, references, …);
/// - a batch `manifest.jsonl` (or a folder holding one): each line is a group (see the line fields in
///   `InputScanner.ManifestLine`), bad lines are skipped with a warning;
/// - a plain folder of JPEG/PNG images (and one level of subfolders), or image files: one group per folder.
///
/// Writes into `DIR`: `thumbs/<hash>.jpg` (fitted by ``ContactSheet/fittedPicture(file:box:upscale:)`` —
/// JPEG shrunk on load, our resampler — on a pool of worker threads), `gallery.json`
/// (``GalleryDocument``), `gallery.js` (the same document as a script, since a `file://` page cannot
/// fetch JSON) and `index.html`, each written atomically, the page last. Memory stays bounded by the
/// workers (one decoded picture each) plus the metadata; thumbnails no longer referenced are removed.
/// Full-size pictures are linked relative to `DIR`, never copied or embedded.
public enum Gallery {
    /// Builds the gallery. `progress` is called (from worker threads) with pictures done and total.
    /// - Throws: ``GalleryError`` for a missing or empty input, bad options, or an output that cannot be
    ///   written. A damaged picture is not an error: its entry carries ``GalleryEntry/error``.
    @discardableResult
    public static func write(inputs: [String], to directory: String, options: GalleryOptions = .init(),
                             progress: (@Sendable (_ done: Int, _ total: Int) -> Void)? = nil) throws(GalleryError) -> GalleryResult
    {
        guard (64...1024).contains(options.thumbnailSize) else {
            throw GalleryError(.invalidOption, "thumbnail size \(options.thumbnailSize) is out of range 64...1024")
        }
        guard (1...100).contains(options.jpegQuality) else {
            throw GalleryError(.invalidOption, "JPEG quality \(options.jpegQuality) is out of range 1...100")
        }
        guard !inputs.isEmpty else { throw GalleryError(.input, "no inputs: name result folders, manifests or images") }
        let out = URL(fileURLWithPath: directory).standardizedFileURL.path
        let thumbs = out + "/thumbs"
        var scanner = InputScanner(taskFolderName: options.taskFolderName, excludedFolder: thumbs)
        try scanner.scan(inputs)
        do {
            try FileManager.default.createDirectory(atPath: thumbs, withIntermediateDirectories: true)
        } catch {
            throw GalleryError(.output, "\(directory): cannot create the folder")
        }

        // Every distinct local file once (a reference shared by many tasks is thumbnailed once).
        var work: [String] = []
        var seen: [String: Int] = [:]
        for group in scanner.groups {
            for picture in group.references + group.results where !picture.isURL && seen[picture.location] == nil {
                seen[picture.location] = work.count
                work.append(picture.location)
            }
        }
        let measured = Thumbnailer(directory: thumbs, options: options).run(work, progress: progress)

        var groups: [GalleryGroup] = []
        var failures: [String] = []
        var counts = (results: 0, references: 0)
        for draft in scanner.groups {
            var group = GalleryGroup(id: draft.id, kind: draft.kind, label: draft.label, taskID: draft.facts.taskID,
                                     line: draft.facts.line, status: draft.facts.status, message: draft.facts.message,
                                     request: draft.facts.request, outputFolder: nil, entries: [])
            if draft.kind != "folder", let folder = draft.folder, draft.facts.taskID != nil {
                group.outputFolder = (folder as NSString).deletingLastPathComponent
            }
            var referenceNumber = 0
            for picture in draft.references + draft.results {
                let id: String
                if picture.role == "reference" {
                    referenceNumber += 1
                    id = "\(draft.facts.taskID ?? draft.id)/ref\(referenceNumber)"
                    counts.references += 1
                } else {
                    id = draft.facts.taskID.map { task in picture.index.map { "\(task)#\($0)" } ?? "\(task)/\(picture.name)" }
                        ?? "\(draft.id)/\(picture.name)"
                    counts.results += 1
                }
                var entry = GalleryEntry(id: id, role: picture.role, name: picture.name,
                                         href: picture.isURL ? picture.location : RelativeURL.path(from: out, to: picture.location))
                entry.referenceRole = picture.referenceRole
                entry.index = picture.index
                describe(&entry, facts: draft.facts)
                if let slot = seen[picture.location] {
                    let m = measured[slot]
                    entry.thumbnail = m.thumbnail.map { "thumbs/" + $0 }
                    entry.width = m.width
                    entry.height = m.height
                    entry.bytes = m.bytes
                    entry.format = m.format
                    entry.error = m.error
                    if let error = m.error { failures.append(error) }
                }
                group.entries.append(entry)
            }
            groups.append(group)
        }
        // Duplicate entry ids (the same result listed twice) get a suffix: the page keys picks by id.
        var ids: [String: Int] = [:]
        for g in groups.indices {
            for e in groups[g].entries.indices {
                let id = groups[g].entries[e].id
                ids[id, default: 0] += 1
                if ids[id]! > 1 { groups[g].entries[e].id = "\(id)~\(ids[id]!)" }
            }
        }

        let document = GalleryDocument(
            format: "klingkit-gallery/1", id: Fingerprint.hex(of: out), title: options.title ?? defaultTitle(inputs),
            created: ISO8601DateFormatter().string(from: Date()), thumbnailSize: options.thumbnailSize,
            groups: groups, warnings: scanner.warnings)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let json: [UInt8]
        do {
            json = Array(try encoder.encode(document))
        } catch {
            throw GalleryError(.output, "cannot encode gallery.json: \(error)")
        }
        try write(json, to: out + "/gallery.json")
        try write(Array("window.KLINGKIT_GALLERY = ".utf8) + json + Array(";\n".utf8), to: out + "/gallery.js")
        try write(Array(GalleryPage.html(title: document.title).utf8), to: out + "/index.html")
        removeStaleThumbnails(in: thumbs, keeping: Set(measured.compactMap(\.thumbnail)))
        return GalleryResult(page: out + "/index.html", groups: groups.count, results: counts.results,
                             references: counts.references, failures: failures, warnings: scanner.warnings)
    }

    private static func describe(_ entry: inout GalleryEntry, facts: TaskFacts) {
        entry.taskID = facts.taskID
        entry.externalTaskID = facts.externalTaskID
        entry.line = facts.line
        entry.finalUnitDeduction = facts.finalUnitDeduction
        entry.wallTimeSeconds = facts.wallTimeSeconds
        if let request = facts.request {
            entry.prompt = request.prompt
            entry.negativePrompt = request.negativePrompt
            entry.model = request.model
            entry.aspectRatio = request.aspectRatio
            entry.resolution = request.resolution
            entry.imageReference = request.imageReference
            entry.imageFidelity = request.imageFidelity
            entry.humanFidelity = request.humanFidelity
        }
    }

    private static func defaultTitle(_ inputs: [String]) -> String {
        let first = inputs[0].split(separator: "/").last.map(String.init) ?? inputs[0]
        return "KlingKit gallery: " + first + (inputs.count > 1 ? " and \(inputs.count - 1) more" : "")
    }

    private static func write(_ bytes: [UInt8], to path: String) throws(GalleryError) {
        do {
            try AtomicOutputFile.write(bytes, to: path)
        } catch {
            throw GalleryError(.output, error.description)
        }
    }

    /// Removes `thumbs/*.jpg` files of earlier runs that no entry uses any more (and stale temporaries).
    private static func removeStaleThumbnails(in folder: String, keeping: Set<String>) {
        _ = AtomicOutputFile.sweepStaleTemporaries(in: folder)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return }
        for name in names where name.hasSuffix(".jpg") && Thumbnailer.isThumbnailName(name) && !keeping.contains(name) {
            try? FileManager.default.removeItem(atPath: folder + "/" + name)
        }
    }
}

/// Relative, percent-encoded URL paths from the gallery folder to a file, for `src` and `href`.
enum RelativeURL {
    /// Characters kept as they are in a path segment (RFC 3986 unreserved plus a few sub-delims that
    /// are safe in an attribute and in `new URL()`).
    private static let allowed: CharacterSet = {
        var set = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&()*+,=:@")
        set.remove(charactersIn: "")
        return set
    }()

    static func path(from directory: String, to file: String) -> String {
        let base = directory.split(separator: "/").map(String.init)
        let target = file.split(separator: "/").map(String.init)
        var common = 0
        while common < base.count, common < target.count - 1, base[common] == target[common] { common += 1 }
        let ups = Array(repeating: "..", count: base.count - common)
        let rest = target[common...].map { $0.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0 }
        return (ups + rest).joined(separator: "/")
    }
}
