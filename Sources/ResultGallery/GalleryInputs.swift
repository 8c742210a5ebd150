import ContactSheets
import Foundation

// Reading the gallery's inputs (folders and manifests) into drafts; just past 400 lines because both
// input kinds share the same bounded-JSON helpers at the end.

/// A picture found in the inputs, before it is measured and thumbnailed.
struct DraftPicture: Sendable {
    /// An absolute file path, or an http(s) URL (references only; never fetched).
    var location: String
    var role: String
    var referenceRole: String?
    var index: Int?
    var isURL: Bool { location.hasPrefix("http://") || location.hasPrefix("https://") }
    var name: String { location.split(separator: "/").last.map(String.init) ?? location }
}

/// What is known about the task (or batch line) a group shows.
struct TaskFacts: Sendable {
    var taskID: String?
    var externalTaskID: String?
    var line: Int?
    var status: String?
    var message: String?
    var request: RequestRecord?
    var finalUnitDeduction: String?
    /// Unix milliseconds, as the API gives them.
    var createdAt: Int64?
    var updatedAt: Int64?

    var wallTimeSeconds: Double? {
        guard let createdAt, let updatedAt, updatedAt >= createdAt else { return nil }
        return Double(updatedAt - createdAt) / 1000
    }

    /// Fills what `self` lacks from `other`.
    mutating func merge(_ other: TaskFacts) {
        taskID = taskID ?? other.taskID
        externalTaskID = externalTaskID ?? other.externalTaskID
        line = line ?? other.line
        status = status ?? other.status
        message = message ?? other.message
        request = request ?? other.request
        finalUnitDeduction = finalUnitDeduction ?? other.finalUnitDeduction
        createdAt = createdAt ?? other.createdAt
        updatedAt = updatedAt ?? other.updatedAt
    }
}

/// One group before measuring: its facts, references and results in display order.
struct DraftGroup: Sendable {
    var id: String
    var kind: String
    var label: String
    var facts: TaskFacts
    /// The task folder (or plain folder) the results are in, when there is one.
    var folder: String?
    var references: [DraftPicture]
    var results: [DraftPicture]
}

/// Turns command-line inputs into groups. See ``Gallery`` for what each kind of input contributes.
struct InputScanner {
    /// The folder name a task id gets under an output folder (the client's rule, injected).
    let taskFolderName: @Sendable (String) -> String
    /// JSON files (task.json, request.json, manifest lines) larger than this are not read.
    static let maxJSONBytes = 64 << 20
    private(set) var groups: [DraftGroup] = []
    private(set) var warnings: [String] = []
    private var groupIDs: Set<String> = []

    /// The gallery's own thumbnail folder: never a folder of results, even when it sits inside an input.
    let excludedFolder: String?

    init(taskFolderName: @escaping @Sendable (String) -> String, excludedFolder: String? = nil) {
        self.taskFolderName = taskFolderName
        self.excludedFolder = excludedFolder
    }

    mutating func scan(_ paths: [String]) throws(GalleryError) {
        for raw in paths {
            let path = absolute(raw)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw GalleryError(.input, "\(raw): no such file or directory")
            }
            if let excludedFolder, path == excludedFolder || path.hasPrefix(excludedFolder + "/") {
                throw GalleryError(.input, "\(raw): is the gallery's own thumbnail folder, not results")
            }
            let before = groups.reduce(0) { $0 + $1.results.count + $1.references.count }
            if !isDirectory.boolValue {
                if path.lowercased().hasSuffix(".jsonl") {
                    try scanManifest(path, shownAs: raw)
                } else {
                    addLooseFile(path)
                }
            } else {
                try scanDirectory(path, shownAs: raw)
            }
            let after = groups.reduce(0) { $0 + $1.results.count + $1.references.count }
            if after == before {
                throw GalleryError(.input, "\(raw): no JPEG or PNG results, task folders or manifest lines found")
            }
        }
    }

    // MARK: Folders

    private mutating func scanDirectory(_ path: String, shownAs raw: String) throws(GalleryError) {
        let (files, folders) = try listing(path, shownAs: raw)
        if isTaskFolder(path, files: files) {
            addTaskFolder(path, images: files, facts: TaskFacts())
            return
        }
        if let manifest = ["manifest.jsonl"].map({ path + "/" + $0 }).first(where: { FileManager.default.fileExists(atPath: $0) }) {
            try scanManifest(manifest, shownAs: raw + "/manifest.jsonl")
            return
        }
        if !files.isEmpty { addFolder(path, images: files) }
        let first = groups.count
        for folder in folders where folder != excludedFolder {
            guard let (subfiles, _) = try? listing(folder, shownAs: folder) else {
                warnings.append("\(folder): cannot list the folder")
                continue
            }
            if isTaskFolder(folder, files: subfiles) {
                addTaskFolder(folder, images: subfiles, facts: TaskFacts())
            } else if !subfiles.isEmpty {
                addFolder(folder, images: subfiles)
            }
        }
        // An output folder's tasks in the order they were made (task ids are not chronological), when
        // every one says when; otherwise natural folder order.
        let added = groups[first...]
        if added.count > 1, added.allSatisfy({ $0.kind == "task" && $0.facts.createdAt != nil }) {
            let sorted = added.enumerated().sorted { a, b in
                (a.element.facts.createdAt!, a.offset) < (b.element.facts.createdAt!, b.offset)
            }.map(\.element)
            groups.replaceSubrange(first..., with: sorted)
        }
    }

    /// A folder `generate` wrote: it has `task.json` or `request.json`, or only numbered images.
    private func isTaskFolder(_ path: String, files: [String]) -> Bool {
        if FileManager.default.fileExists(atPath: path + "/task.json") || FileManager.default.fileExists(atPath: path + "/request.json") {
            return true
        }
        return !files.isEmpty && files.allSatisfy { Self.resultIndex($0) != nil }
    }

    private mutating func addFolder(_ path: String, images: [String]) {
        let id = uniqueID("folder:" + path)
        groups.append(DraftGroup(id: id, kind: "folder", label: Self.lastComponent(path), facts: TaskFacts(),
                                 folder: path, references: [], results: images.map { DraftPicture(location: $0, role: "result") }))
    }

    private mutating func addLooseFile(_ path: String) {
        let folder = (path as NSString).deletingLastPathComponent
        let picture = DraftPicture(location: path, role: "result", index: Self.resultIndex(path))
        if let last = groups.indices.last, groups[last].kind == "folder", groups[last].id == "folder:" + folder {
            groups[last].results.append(picture)
        } else {
            let id = uniqueID("folder:" + folder)
            groups.append(DraftGroup(id: id, kind: "folder", label: Self.lastComponent(folder), facts: TaskFacts(),
                                     folder: folder, references: [], results: [picture]))
        }
    }

    /// A task folder: facts from `task.json` and `request.json` (merged under `known`), the files
    /// `task.json` lists (or the folder's images), references from the request.
    private mutating func addTaskFolder(_ path: String, images: [String], facts known: TaskFacts, kind: String = "task") {
        var facts = known
        facts.merge(readTaskFacts(path))
        if facts.taskID == nil { facts.taskID = Self.lastComponent(path) }
        var results = images
        if let listed = (try? readJSON(TaskRecord.self, path + "/task.json"))??.files, !listed.isEmpty {
            let existing = listed.map { path + "/" + $0 }.filter { FileManager.default.fileExists(atPath: $0) }
            if !existing.isEmpty { results = Self.withoutWatermarkCopies(existing) }
        }
        addGroup(kind: kind, facts: facts, results: results, relativeTo: path)
    }

    private mutating func addGroup(kind: String, facts: TaskFacts, results: [String], relativeTo folder: String) {
        let taskID = facts.taskID
        let base = kind == "batch-line" ? "line:\(facts.line ?? groups.count + 1)" : "task:\(taskID ?? folder)"
        var label = taskID.map { "task \($0)" } ?? "task"
        if let line = facts.line { label = "line \(line) · " + label }
        let references = (facts.request?.references ?? []).map { reference in
            DraftPicture(location: reference.location, role: "reference", referenceRole: reference.role)
        }
        groups.append(DraftGroup(
            id: uniqueID(base), kind: kind, label: label, facts: facts, folder: folder, references: references,
            results: results.map { DraftPicture(location: $0, role: "result", index: Self.resultIndex($0)) }))
    }

    private func readTaskFacts(_ folder: String) -> TaskFacts {
        var facts = TaskFacts()
        if let task = (try? readJSON(TaskRecord.self, folder + "/task.json")) ?? nil {
            facts.taskID = task.taskID
            facts.externalTaskID = task.externalTaskID
            facts.status = task.taskStatus
            facts.message = task.taskStatusMessage
            facts.finalUnitDeduction = task.finalUnitDeduction
            facts.createdAt = task.createdAt
            facts.updatedAt = task.updatedAt
            if let prompt = task.prompt { facts.request = RequestRecord(prompt: prompt) }
        }
        if let request = (try? readJSON(RequestRecord.self, folder + "/request.json")) ?? nil {
            var merged = request
            if merged.prompt == nil { merged.prompt = facts.request?.prompt }
            facts.request = merged
            facts.externalTaskID = facts.externalTaskID ?? request.externalTaskID
        }
        return facts
    }

    // MARK: Manifests

    /// One line of a batch `manifest.jsonl`, as `klingkit batch` writes it. Every field is optional;
    /// unknown fields are ignored:
    ///
    /// - `line` (Int, 1-based line of the batch file; default: the manifest line's number), `id` (the
    ///   line's own id, shown in the heading);
    /// - `task_id`, `external_task_id`, `status` or `task_status`, `message`, `task_status_msg` or `error`;
    /// - `files`: result image paths, relative to the manifest's folder or absolute; when missing, the
    ///   images of `<out or manifest folder>/<task_id>/` are used;
    /// - `out`: the folder the line's task folder is in;
    /// - the request, either as an object under `request` or as top-level fields, with ``RequestRecord``'s
    ///   names (`prompt`, `negative_prompt`, `model`, `aspect_ratio`, `resolution`, `image`,
    ///   `image_reference`, `image_fidelity`, `human_fidelity`, `subjects`, `scene`, `style`, …); relative
    ///   reference paths are relative to the manifest's folder;
    /// - `final_unit_deduction` (string or number), `created_at` and `updated_at` (Unix milliseconds).
    struct ManifestLine: Decodable {
        var line: Int?
        var id: String?
        var taskID: String?
        var externalTaskID: String?
        var status: String?
        var taskStatus: String?
        var message: String?
        var taskStatusMessage: String?
        var error: String?
        var files: [String]?
        var out: String?
        var request: RequestRecord?
        var topLevel: RequestRecord?
        var finalUnitDeduction: String?
        var createdAt: Int64?
        var updatedAt: Int64?

        enum CodingKeys: String, CodingKey {
            case line, id, status, message, error, files, out, request
            case taskID = "task_id", externalTaskID = "external_task_id", taskStatus = "task_status"
            case taskStatusMessage = "task_status_msg", finalUnitDeduction = "final_unit_deduction"
            case createdAt = "created_at", updatedAt = "updated_at"
        }

        init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            line = try? c.decodeIfPresent(Int.self, forKey: .line)
            id = (try? c.decodeIfPresent(String.self, forKey: .id)) ?? (try? c.decodeIfPresent(Int.self, forKey: .id)).flatMap { $0.map(String.init) }
            taskID = try? c.decodeIfPresent(String.self, forKey: .taskID)
            externalTaskID = try? c.decodeIfPresent(String.self, forKey: .externalTaskID)
            status = try? c.decodeIfPresent(String.self, forKey: .status)
            taskStatus = try? c.decodeIfPresent(String.self, forKey: .taskStatus)
            message = try? c.decodeIfPresent(String.self, forKey: .message)
            taskStatusMessage = try? c.decodeIfPresent(String.self, forKey: .taskStatusMessage)
            error = try? c.decodeIfPresent(String.self, forKey: .error)
            files = try? c.decodeIfPresent([String].self, forKey: .files)
            out = try? c.decodeIfPresent(String.self, forKey: .out)
            request = try? c.decodeIfPresent(RequestRecord.self, forKey: .request)
            topLevel = try? RequestRecord(from: decoder)
            finalUnitDeduction = (try? c.decodeIfPresent(String.self, forKey: .finalUnitDeduction))
                ?? (try? c.decodeIfPresent(Double.self, forKey: .finalUnitDeduction)).flatMap { $0.map { String($0) } }
            createdAt = try? c.decodeIfPresent(Int64.self, forKey: .createdAt)
            updatedAt = try? c.decodeIfPresent(Int64.self, forKey: .updatedAt)
        }
    }

    private mutating func scanManifest(_ path: String, shownAs raw: String) throws(GalleryError) {
        let data: Data
        do {
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            guard size <= Self.maxJSONBytes else { throw GalleryError(.input, "\(raw): manifest of \(size) bytes exceeds \(Self.maxJSONBytes)") }
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch let error as GalleryError {
            throw error
        } catch {
            throw GalleryError(.input, "\(raw): cannot read the manifest")
        }
        let base = (path as NSString).deletingLastPathComponent
        let decoder = JSONDecoder()
        var number = 0
        for rawLine in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            number += 1
            let trimmed = rawLine.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            if trimmed.isEmpty || trimmed.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { continue }
            guard let line = try? decoder.decode(ManifestLine.self, from: Data(trimmed)) else {
                warnings.append("\(raw):\(number): not a JSON object; line skipped")
                continue
            }
            addManifestLine(line, number: number, base: base)
        }
    }

    private mutating func addManifestLine(_ line: ManifestLine, number: Int, base: String) {
        var facts = TaskFacts()
        facts.taskID = line.taskID
        facts.externalTaskID = line.externalTaskID
        facts.line = line.line ?? number
        facts.status = line.status ?? line.taskStatus
        facts.message = line.message ?? line.taskStatusMessage ?? line.error
        facts.finalUnitDeduction = line.finalUnitDeduction
        facts.createdAt = line.createdAt
        facts.updatedAt = line.updatedAt
        if var request = line.request ?? line.topLevel {
            func resolve(_ location: String) -> String {
                location.hasPrefix("http://") || location.hasPrefix("https://") || location.hasPrefix("/")
                    ? location : base + "/" + location
            }
            request.image = request.image.map(resolve)
            request.subjects = request.subjects?.map(resolve)
            request.scene = request.scene.map(resolve)
            request.style = request.style.map(resolve)
            facts.request = request
        }
        let outFolder = line.out.map { $0.hasPrefix("/") ? $0 : base + "/" + $0 } ?? base
        var results = (line.files ?? []).map { $0.hasPrefix("/") ? $0 : base + "/" + $0 }
        var taskFolder: String?
        if let taskID = line.taskID {
            let folder = outFolder + "/" + taskFolderName(taskID)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory), isDirectory.boolValue {
                taskFolder = folder
                facts.merge(readTaskFacts(folder))
            }
        }
        if results.isEmpty, let taskFolder, let (files, _) = try? listing(taskFolder, shownAs: taskFolder) {
            results = files
        }
        let missing = results.filter { !FileManager.default.fileExists(atPath: $0) }
        for file in missing { warnings.append("\(file): listed by manifest line \(number) but missing") }
        results.removeAll { missing.contains($0) }
        addGroup(kind: "batch-line", facts: facts, results: results, relativeTo: taskFolder ?? base)
        if let id = line.id, let last = groups.indices.last {
            groups[last].label = "line \(facts.line ?? number) (\(id))" + (facts.taskID.map { " · task \($0)" } ?? "")
        }
    }

    // MARK: Helpers

    /// A directory's images and subfolders: the sheets' listing (``ContactSheet/imageListing(_:)``).
    private func listing(_ directory: String, shownAs raw: String) throws(GalleryError) -> (files: [String], folders: [String]) {
        do {
            return try ContactSheet.imageListing(directory)
        } catch {
            throw GalleryError(.input, "\(raw): cannot list the folder")
        }
    }

    static let watermarkSuffix = "-watermark"

    static func stem(_ path: String) -> String {
        let name = lastComponent(path)
        return name.lastIndex(of: ".").map { String(name[..<$0]) } ?? name
    }

    /// `<index>-watermark.<ext>` is left out when `<index>.<ext>` is there too.
    static func withoutWatermarkCopies(_ files: [String]) -> [String] {
        let stems = Set(files.map(stem))
        return files.filter { file in
            let name = stem(file)
            return !(name.hasSuffix(watermarkSuffix) && stems.contains(String(name.dropLast(watermarkSuffix.count))))
        }
    }

    /// The result index of `<index>.<ext>` (or `<index>-watermark.<ext>`), nil for other names.
    static func resultIndex(_ path: String) -> Int? {
        var name = stem(path)
        if name.hasSuffix(watermarkSuffix) { name.removeLast(watermarkSuffix.count) }
        guard !name.isEmpty, name.count <= 9, name.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        return Int(name)
    }

    static func lastComponent(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    private mutating func uniqueID(_ base: String) -> String {
        var id = base
        var n = 2
        while groupIDs.contains(id) { id = "\(base)~\(n)"; n += 1 }
        groupIDs.insert(id)
        return id
    }

    private func readJSON<T: Decodable>(_ type: T.Type, _ path: String) throws -> T? {
        guard FileManager.default.fileExists(atPath: path) else { return nil }
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        guard size <= Self.maxJSONBytes else { return nil }
        return try JSONDecoder().decode(T.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    private func absolute(_ path: String) -> String {
        var url = URL(fileURLWithPath: path).standardizedFileURL.path
        while url.count > 1 && url.hasSuffix("/") { url.removeLast() }
        return url
    }
}
