import Foundation
import KlingSupport

extension ContactSheet {
    /// File name extensions listed from directories (case-insensitive). Files named explicitly are taken
    /// whatever their extension; their content decides.
    public static let imageExtensions: Set<String> = ["jpg", "jpeg", "jpe", "jfif", "png"]

    /// Sheet items for command-line style inputs: files, directories of images, and output folders of
    /// `klingkit generate` (`<out>/<task_id>/<index>.<ext>`).
    ///
    /// - A file becomes one item. When its name is a number inside a folder (`…/8421/0.png`), its caption is
    ///   the task id and index (`"8421 #0"`); otherwise its file name.
    /// - A directory contributes its JPEG/PNG files (hidden files skipped) in natural order
    ///   (`2.png` before `10.png`; each folder's images are one group, see ``SheetItem/group``; a PNG sheet KlingKit wrote, recognised by its marker chunk, is skipped
    ///   whatever its name), then, one level down, each subfolder's images the same way. A subfolder
    ///   of numbered images is a task folder: captions are `"<task_id> #<index>"`. A watermarked copy
    ///   (`<index>-watermark.<ext>`) is left out of a listing when `<index>.<ext>` is there too.
    /// - A task's prompt becomes the subcaption when a JSON file in the task folder (`task.json`,
    ///   `manifest.json`, any `*.json`) or in its parent has a `"prompt"` for that task: an object whose
    ///   `task_id` matches, or, inside the task folder, the first `"prompt"` found.
    /// - Returns: items in the order above.
    /// - Throws: ``SheetError`` `.input` naming a path that does not exist, cannot be listed, or is a
    ///   directory with no JPEG/PNG files in it or one level down.
    public static func items(from paths: [String]) throws -> [SheetItem] {
        var items: [SheetItem] = []
        let prompts = PromptIndex()
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw SheetError(.input, "\(path): no such file or directory")
            }
            if !isDirectory.boolValue {
                items.append(item(forFile: path, prompts: prompts))
                continue
            }
            let before = items.count
            let (files, folders) = try listing(path)
            for file in files { items.append(item(forFile: file, prompts: prompts, group: path)) }
            for folder in folders {
                guard let (subfiles, _) = try? listing(folder) else { continue }
                for file in subfiles { items.append(item(forFile: file, prompts: prompts, group: folder)) }
            }
            if items.count == before {
                throw SheetError(.input, "\(path): no JPEG or PNG files in this folder or its subfolders")
            }
        }
        return disambiguated(items)
    }

    /// Gives items whose file names clash a ``SheetItem/displayName`` with as many parent folders as it
    /// takes to tell them apart (`a/0.png`, `b/0.png`); unique names are left alone.
    static func disambiguated(_ items: [SheetItem]) -> [SheetItem] {
        var items = items
        var counts: [String: Int] = [:]
        for item in items { counts[item.source.name, default: 0] += 1 }
        let clashing = items.indices.filter { counts[items[$0].source.name, default: 0] > 1 }
        guard !clashing.isEmpty else { return items }
        var depth: [Int: Int] = Dictionary(uniqueKeysWithValues: clashing.map { ($0, 1) })
        func label(_ index: Int) -> String {
            guard case .file(let path) = items[index].source else { return items[index].source.name }
            let parts = path.split(separator: "/").map(String.init)
            return parts.suffix(min(parts.count, 1 + depth[index, default: 1])).joined(separator: "/")
        }
        // Add folders until every clashing label is unique (or the whole paths are used).
        for _ in 0..<8 {
            var seen: [String: [Int]] = [:]
            for index in clashing { seen[label(index), default: []].append(index) }
            let still = seen.values.filter { $0.count > 1 }.flatMap { $0 }
            if still.isEmpty { break }
            for index in still { depth[index, default: 1] += 1 }
        }
        for index in clashing { items[index].displayName = label(index) }
        return items
    }

    /// A directory's JPEG/PNG files and subfolders, each in natural order, as full paths: hidden names,
    /// KlingKit's own sheets (``isSheetFile(_:)``) and watermarked copies beside their originals left out.
    /// The one folder listing of sheets and galleries.
    /// - Throws: ``SheetError`` `.input` naming the folder when it cannot be listed.
    public static func imageListing(_ directory: String) throws(SheetError) -> (files: [String], folders: [String]) {
        try listing(directory)
    }

    /// A directory's image files and subfolders, each in natural order, as full paths. Read with
    /// ``FolderListing`` (the listing of every image command): symbolic links are followed, and an
    /// image-named entry that cannot be opened (a link that loops or points nowhere, a name that is not
    /// valid UTF-8) is listed anyway, so it becomes a placeholder with its reason instead of vanishing.
    private static func listing(_ directory: String) throws(SheetError) -> (files: [String], folders: [String]) {
        guard let entries = FolderListing.entries(of: directory) else {
            throw SheetError(.input, "\(directory): cannot list the folder")
        }
        var files: [String] = []
        var folders: [String] = []
        for entry in entries.sorted(by: { naturalOrder($0.name, $1.name) }) {
            let imageName = entry.name.lastIndex(of: ".").map { imageExtensions.contains(entry.name[entry.name.index(after: $0)...].lowercased()) } ?? false
            switch entry.kind {
            case .folder:
                folders.append(entry.path)
            case .file where imageName:
                // A sheet made into this folder earlier is not one of its images.
                if isSheetFile(entry.path) { continue }
                files.append(entry.path)
            case .unusable(let problem) where imageName || problem == .nameNotUTF8:
                files.append(entry.path)
            case .file, .unusable:
                continue
            }
        }
        // `klingkit generate` keeps a watermarked copy as `<index>-watermark.<ext>` beside `<index>.<ext>`:
        // listing both would show every picture twice, so the copy is left out when the original is there.
        let stems = Set(files.map { stem(of: $0) })
        files.removeAll { file in
            let name = stem(of: file)
            guard name.hasSuffix(watermarkSuffix) else { return false }
            return stems.contains(String(name.dropLast(watermarkSuffix.count)))
        }
        return (files, folders)
    }

    /// The suffix `klingkit generate` gives a watermarked copy's stem.
    private static let watermarkSuffix = "-watermark"

    /// Whether the file at `path` is a sheet KlingKit wrote (its marker, in the first 4 KiB).
    public static func isSheetFile(_ path: String) -> Bool {
        guard let file = try? InputFile(path: path) else { return false }
        guard let head = try? file.read(from: 0, count: min(file.size, 4096)) else { return false }
        return isSheet(head)
    }

    /// The file name without directory and extension.
    private static func stem(of path: String) -> String {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return name.lastIndex(of: ".").map { String(name[..<$0]) } ?? name
    }

    /// One file's item: task captions when its stem is a number inside a named folder.
    private static func item(forFile path: String, prompts: PromptIndex, group: String? = nil) -> SheetItem {
        var item = plainItem(forFile: path, prompts: prompts)
        item.group = group
        return item
    }

    private static func plainItem(forFile path: String, prompts: PromptIndex) -> SheetItem {
        let components = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var stem = stem(of: path)
        var label = ""
        if stem.hasSuffix(watermarkSuffix) {
            stem.removeLast(watermarkSuffix.count)
            label = " watermarked"
        }
        if components.count >= 2, !stem.isEmpty, stem.allSatisfy(\.isASCIIDigit) {
            let taskID = components[components.count - 2]
            if taskID != "." && taskID != ".." {
                let folder = path.hasPrefix("/") ? "/" + components.dropLast().joined(separator: "/")
                                                 : components.dropLast().joined(separator: "/")
                let prompt = prompts.prompt(taskID: taskID, folder: folder)
                var item = SheetItem(source: .file(path), caption: "\(taskID) #\(Int(stem) ?? 0)\(label)",
                                     subcaption: prompt)
                item.taskID = taskID
                item.index = Int(stem)
                return item
            }
        }
        return SheetItem(source: .file(path))
    }

    /// Orders names as a person would: runs of digits compare by value ("2" < "10"), the rest case-insensitively.
    public static func naturalOrder(_ a: String, _ b: String) -> Bool {
        var i = a.makeIterator(), j = b.makeIterator()
        var x = i.next(), y = j.next()
        while let cx = x, let cy = y {
            if cx.isASCIIDigit && cy.isASCIIDigit {
                var da = "", db = ""
                while let c = x, c.isASCIIDigit { da.append(c); x = i.next() }
                while let c = y, c.isASCIIDigit { db.append(c); y = j.next() }
                let ta = da.drop { $0 == "0" }, tb = db.drop { $0 == "0" }
                if ta.count != tb.count { return ta.count < tb.count }
                if ta != tb { return ta < tb }
                if da.count != db.count { return da.count < db.count }
                continue
            }
            let lx = cx.lowercased(), ly = cy.lowercased()
            if lx != ly { return lx < ly }
            x = i.next(); y = j.next()
        }
        if x == nil && y == nil { return a < b }
        return x == nil
    }
}

private extension Character {
    var isASCIIDigit: Bool { asciiValue.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
}

/// A JSON document as far as prompt finding needs it, decoded by `JSONDecoder`.
private enum PromptJSON: Decodable {
    case object([String: PromptJSON])
    case array([PromptJSON])
    case string(String)
    /// A number, as its decimal text (task ids are sometimes numbers).
    case number(String)
    /// `true`, `false` or `null`.
    case other

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .other
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else if (try? container.decode(Bool.self)) != nil {
            self = .other
        } else if let integer = try? container.decode(Int64.self) {
            self = .number(String(integer))
        } else if let real = try? container.decode(Double.self) {
            self = .number(String(real))
        } else if let object = try? container.decode([String: PromptJSON].self) {
            self = .object(object)
        } else {
            self = .array(try container.decode([PromptJSON].self))
        }
    }

    /// The text of a string or number member.
    var scalarText: String? {
        switch self {
        case .string(let text), .number(let text): text
        default: nil
        }
    }
}

/// Finds task prompts in JSON files beside the images, reading each folder's JSON once.
private final class PromptIndex {
    /// Parsed JSON documents per folder.
    private var documents: [String: [PromptJSON]] = [:]
    /// JSON files above this size are not read (a manifest is small).
    private let maxJSONBytes = 8 << 20

    func prompt(taskID: String, folder: String) -> String? {
        // Inside the task folder: an object for this task, else any prompt.
        let own = load(folder)
        for document in own { if let p = Self.search(document, taskID: taskID) { return p } }
        for document in own { if let p = Self.search(document, taskID: nil) { return p } }
        // In the output folder above it: only an object naming this task.
        let parent = (folder as NSString).deletingLastPathComponent
        for document in load(parent.isEmpty ? "." : parent) {
            if let p = Self.search(document, taskID: taskID) { return p }
        }
        return nil
    }

    private func load(_ folder: String) -> [PromptJSON] {
        if let cached = documents[folder] { return cached }
        var parsed: [PromptJSON] = []
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.lowercased().hasSuffix(".json") && !$0.hasPrefix(".") }
            .sorted { a, b in
                // task.json and manifest.json first, then the rest by name.
                let rank = { (n: String) in n == "task.json" ? 0 : (n == "manifest.json" ? 1 : 2) }
                return (rank(a), a) < (rank(b), b)
            }
        let decoder = JSONDecoder()
        for name in names {
            let path = folder + "/" + name
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
                  let size = attributes[.size] as? Int, size <= maxJSONBytes,
                  let data = FileManager.default.contents(atPath: path),
                  let json = try? decoder.decode(PromptJSON.self, from: data) else { continue }
            parsed.append(json)
        }
        documents[folder] = parsed
        return parsed
    }

    /// Depth-first search for a `"prompt"` string: in an object whose `task_id` (or `taskId`, `id`) equals
    /// `taskID` when one is given, anywhere otherwise.
    private static func search(_ value: PromptJSON, taskID: String?, depth: Int = 0) -> String? {
        guard depth < 32 else { return nil }
        switch value {
        case .object(let object):
            let nested = object.sorted { $0.key < $1.key }.map(\.value)
            guard let taskID else {
                if case .string(let prompt)? = object["prompt"], !prompt.isEmpty { return prompt }
                for child in nested { if let p = search(child, taskID: nil, depth: depth + 1) { return p } }
                return nil
            }
            let matches = ["task_id", "taskId", "taskID", "id"].contains { object[$0]?.scalarText == taskID }
            if matches {
                // A matching task object may keep its prompt in a nested request.
                if let p = search(value, taskID: nil, depth: depth + 1) { return p }
            }
            for child in nested { if let p = search(child, taskID: taskID, depth: depth + 1) { return p } }
        case .array(let array):
            for element in array {
                if let p = search(element, taskID: taskID, depth: depth + 1) { return p }
            }
        case .string, .number, .other:
            break
        }
        return nil
    }
}
