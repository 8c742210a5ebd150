import Foundation
import ImageCore

// Caption text of a sheet: how many lines a band needs, templates, word wrap.
extension ContactSheet {
    /// Lines a `.task` caption's first line (the task id and index) may wrap onto, so an id is never cut.
    static let maxIDLines = 3
    /// Lines a caption template may have.
    static let maxTemplateLines = 4

    /// Lines in each caption band for these items and options: a template's line count; `.task`: the
    /// lines the longest caption wraps onto (at most ``maxIDLines``) plus two for prompts when any item has one.
    static func captionLines(_ items: [SheetItem], _ options: SheetOptions) -> Int {
        if let template = options.captionTemplate {
            return min(maxTemplateLines, template.split(separator: "\n", omittingEmptySubsequences: false).count)
        }
        switch options.captions {
        case .none: return 0
        case .name: return 1
        case .task:
            let scale = options.fontScale ?? SheetLayout.defaultFontScale(tile: options.tile)
            let fits = max(1, (options.tile / scale + 1) / BitmapFont.advance)
            var idLines = 1
            for item in items where item.caption.count > fits {
                idLines = max(idLines, wrap(item.caption, width: options.tile, scale: scale, maxLines: maxIDLines).count)
                if idLines == maxIDLines { break }
            }
            return idLines + (items.contains { !($0.subcaption ?? "").isEmpty } ? promptLines : 0)
        }
    }

    /// Prompt lines in each `.task` caption band: ``promptLines`` when any item has a prompt.
    static func promptLineCount(_ items: [SheetItem], _ options: SheetOptions) -> Int {
        options.captionTemplate == nil && options.captions == .task && items.contains { !($0.subcaption ?? "").isEmpty }
            ? promptLines : 0
    }

    /// A caption template line with its placeholders replaced (see ``SheetOptions/captionTemplate``).
    static func expand(_ template: String, item: SheetItem, position: Int, size: (width: Int, height: Int)?) -> String {
        guard template.contains("{") else { return template }
        var bytes: Int?
        if template.contains("{bytes}") || template.contains("{size}") {
            switch item.source {
            case .file(let path): bytes = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil
            case .bytes(let data, _): bytes = data.count
            case .image: bytes = nil
            }
        }
        let values: [String: String] = [
            "name": item.displayName ?? item.source.name, "task": item.taskID ?? "", "index": item.index.map(String.init) ?? "",
            "w": size.map { String($0.width) } ?? "", "h": size.map { String($0.height) } ?? "",
            "bytes": bytes.map(String.init) ?? "", "size": bytes.map(humanSize) ?? "", "prompt": item.subcaption ?? "",
            "verdict": item.verdict ?? "", "n": String(position),
        ]
        var out = ""
        var rest = Substring(template)
        while let open = rest.firstIndex(of: "{") {
            out += rest[..<open]
            guard let close = rest[open...].firstIndex(of: "}") else { break }
            let key = String(rest[rest.index(after: open)..<close])
            if let value = values[key] { out += value } else { out += rest[open...close] }
            rest = rest[rest.index(after: close)...]
        }
        return out + rest
    }

    /// `1.2 MB`, `340 KB`, `87 B`.
    static func humanSize(_ bytes: Int) -> String {
        if bytes < 1024 { return "\(bytes) B" }
        if bytes < 1 << 20 { return String(format: "%.0f KB", Double(bytes) / 1024) }
        return String(format: "%.1f MB", Double(bytes) / Double(1 << 20))
    }

    /// Greedy word wrap to `width` pixels; the last allowed line ends in "…" when text remains.
    static func wrap(_ text: String, width: Int, scale: Int, maxLines: Int) -> [String] {
        let capacity = max(1, (width / scale + 1) / BitmapFont.advance)
        var lines: [String] = []
        var current = ""
        var words = text.split(separator: " ").map(String.init)[...]
        while let word = words.first {
            let candidate = current.isEmpty ? word : current + " " + word
            if candidate.count <= capacity {
                current = candidate
                words = words.dropFirst()
                continue
            }
            if current.isEmpty {
                // A word longer than a line: cut it.
                current = String(word.prefix(capacity))
                words[words.startIndex] = String(word.dropFirst(capacity))
            }
            lines.append(current)
            current = ""
            if lines.count == maxLines { break }
        }
        if !current.isEmpty && lines.count < maxLines { lines.append(current); current = "" }
        if (!words.isEmpty || !current.isEmpty), let last = lines.popLast() {
            lines.append(BitmapFont.truncate(last + " " + words.joined(separator: " "), toWidth: width, scale: scale))
        }
        return lines
    }
}
