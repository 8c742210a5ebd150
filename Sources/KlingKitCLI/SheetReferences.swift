import ContactSheets
import Foundation
import ResultGallery

/// `sheet --with-references`: each task folder's reference images (the local files its `request.json`
/// names, see ``RequestRecord``) become the first tiles of its group.
enum SheetReferences {
    static func inserted(into items: [SheetItem]) -> [SheetItem] {
        var out: [SheetItem] = []
        var previousGroup: String??
        for item in items {
            if previousGroup != .some(item.group), let group = item.group {
                out += references(folder: group, taskID: item.taskID)
            }
            previousGroup = .some(item.group)
            out.append(item)
        }
        return out
    }

    private static func references(folder: String, taskID: String?) -> [SheetItem] {
        let path = folder + "/request.json"
        guard let data = FileManager.default.contents(atPath: path), data.count <= 1 << 20,
              let request = try? JSONDecoder().decode(RequestRecord.self, from: data) else { return [] }
        return request.references.compactMap { reference in
            guard !reference.location.hasPrefix("http://"), !reference.location.hasPrefix("https://"),
                  FileManager.default.fileExists(atPath: reference.location) else { return nil }
            var item = SheetItem(source: .file(reference.location),
                                 caption: "\(taskID ?? "") \(reference.role == "image" ? "reference" : reference.role)")
            item.group = folder
            item.taskID = taskID
            item.displayName = "ref " + ((reference.location as NSString).lastPathComponent)
            return item
        }
    }
}

/// `sheet --verdicts FILE`: the gallery's JSON export (`{"entries": [{"task_id", "index", "file", "verdict"}]}`)
/// gives each matching tile its verdict, for `{verdict}` in caption templates.
enum SheetVerdicts {
    private struct Export: Decodable {
        struct Entry: Decodable {
            var taskID: String?
            var index: Int?
            var file: String?
            var verdict: String?
            enum CodingKeys: String, CodingKey { case taskID = "task_id", index, file, verdict }
        }
        var entries: [Entry]
    }

    static func applied(from path: String, to items: [SheetItem]) throws -> [SheetItem] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CommandFailure("\(path): cannot read the verdicts file")
        }
        guard let export = try? JSONDecoder().decode(Export.self, from: data) else {
            throw CommandFailure("\(path): not a gallery export (a JSON object with an \"entries\" array)")
        }
        var byTask: [String: String] = [:]
        var byName: [String: String] = [:]
        for entry in export.entries {
            guard let verdict = entry.verdict else { continue }
            if let task = entry.taskID, let index = entry.index { byTask["\(task)#\(index)"] = verdict }
            if let file = entry.file?.removingPercentEncoding { byName[(file as NSString).lastPathComponent] = verdict }
        }
        return items.map { item in
            var item = item
            if let task = item.taskID, let index = item.index, let verdict = byTask["\(task)#\(index)"] {
                item.verdict = verdict
            } else if item.taskID == nil, let verdict = byName[item.source.name] {
                item.verdict = verdict
            }
            return item
        }
    }
}
