import Crypto
import Foundation
import KlingSupport
import SwiftCSV

/// One request line of a batch file, merged with the file's defaults and `--set` values.
public struct BatchLine: Sendable, Hashable {
    /// 1-based line (JSON Lines) or row (CSV; the header is row 1).
    public var number: Int
    /// The line's `id`, or `line-NUMBER` when it has none. Unique in the file; part of the
    /// line's `external_task_id` and of its file names: `[A-Za-z0-9._-]`, 1…64 characters.
    public var id: String
    public var spec: BatchSpec
}

/// A parsed batch file: its lines and every problem found while reading them (validation of the
/// requests themselves is ``BatchValidator``'s).
///
/// Formats:
/// - **JSON Lines** (`.jsonl`, `.ndjson`, `.json`, or a file whose first character is `{`): one object per
///   line with the API body's field names or `generate`'s flag names (`prompt`, `image`, `n`,
///   `aspect_ratio`/`aspect-ratio`, `model`/`model_name`, `subjects`/`subject_image_list`, …), an optional
///   `id`; one optional `{"defaults": {…}}` line holds fields every line gets unless it sets them itself.
///   Blank lines are skipped.
/// - **CSV** with a header row naming the same fields; empty cells are unset; list fields
///   (`subjects`, `element_ids`) are separated by `|`.
///
/// `--set key=value` values (``overrides``) come between the two: a line's own field wins, then `--set`,
/// then the defaults line. Relative image paths are resolved against the batch file's folder.
public struct BatchFile: Sendable {
    public enum Format: String, Sendable { case jsonLines = "jsonl", csv }

    /// The path as given.
    public private(set) var path: String
    public private(set) var format: Format
    /// Request lines, in file order (lines with parse problems are left out).
    public private(set) var lines: [BatchLine]
    /// Problems found while reading (bad JSON, unknown fields, wrong types, duplicate ids).
    public private(set) var problems: [BatchProblem]

    /// The largest batch file read, in bytes (64 MiB).
    public static let maxBytes = 64 << 20

    /// A stable id of the batch's content: the first 16 hex digits of SHA-256 over every line's id and
    /// request. The same file (and `--set` values) gives the same id, so a rerun or `resume` finds the
    /// same journal entries and the same `external_task_id`s.
    public var contentID: String {
        var hasher = SHA256()
        for line in lines {
            hasher.update(data: Data((line.id + "\u{1F}" + line.spec.json() + "\n").utf8))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined().prefix(16).description
    }

    /// Reads and parses a batch file.
    /// - Parameter overrides: `key=value` strings (`--set`).
    /// - Throws: ``BatchError`` `.file` when the file cannot be read; `.invalid` for a malformed `--set`.
    public static func load(path: String, overrides: [String] = [], format: Format? = nil) throws(BatchError) -> BatchFile {
        let bytes: [UInt8]
        do {
            let file = try InputFile(path: path)
            guard file.size <= maxBytes else { throw BatchError(.file, "\(path): larger than \(maxBytes) bytes") }
            bytes = try file.read(from: 0, count: file.size)
        } catch let e as InputFile.Failure {
            throw BatchError(.file, "\(path): \(e.message)")
        } catch let e as BatchError {
            throw e
        } catch {
            throw BatchError(.file, "\(path): \(error)")
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw BatchError(.file, "\(path): not UTF-8 text")
        }
        let base = URL(fileURLWithPath: path).standardizedFileURL.deletingLastPathComponent().path
        return try parse(text, path: path, baseDirectory: base, overrides: overrides, format: format)
    }

    /// Parses batch text. `baseDirectory` resolves relative image paths.
    public static func parse(_ text: String, path: String, baseDirectory: String, overrides: [String] = [],
                             format: Format? = nil) throws(BatchError) -> BatchFile {
        var set: [(String, FieldValue)] = []
        for o in overrides {
            guard let eq = o.firstIndex(of: "="), eq != o.startIndex else {
                throw BatchError(.invalid, "--set \(o): expected KEY=VALUE")
            }
            let key = String(o[..<eq])
            guard let field = BatchFieldNames.canonical(key), field != "id" else {
                throw BatchError(.invalid, "--set \(key): unknown field (known: \(BatchFieldNames.documented.replacingOccurrences(of: "id, ", with: "")))")
            }
            set.append((field, .text(String(o[o.index(after: eq)...]))))
        }
        var text = text
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
        let chosen = format ?? sniff(path: path, text: text)
        var file = BatchFile(path: path, format: chosen, lines: [], problems: [])
        var raw: [(number: Int, fields: [(String, FieldValue)])] = []
        var defaults: [(String, FieldValue)] = []
        switch chosen {
        case .jsonLines: file.readJSONLines(text, into: &raw, defaults: &defaults)
        case .csv: try file.readCSV(text, into: &raw)
        }
        var seen: [String: Int] = [:]
        for (number, fields) in raw {
            var spec = BatchSpec()
            var id: String?
            var lineProblems: [BatchProblem] = []
            var own = Set<String>()
            for (key, value) in fields {
                guard let field = BatchFieldNames.canonical(key) else {
                    lineProblems.append(.init(file: path, line: number, field: key, message: "unknown field (known: \(BatchFieldNames.documented))"))
                    continue
                }
                own.insert(field)
                if let problem = assign(field, value, to: &spec, id: &id) {
                    lineProblems.append(.init(file: path, line: number, field: field, message: problem))
                }
            }
            // --set fills what the line leaves out, then the defaults line does.
            for (field, value) in set + defaults where !own.contains(field) {
                own.insert(field)
                var ignored: String?
                if let problem = assign(field, value, to: &spec, id: &ignored) {
                    lineProblems.append(.init(file: path, line: number, field: field, message: "(from --set or defaults) " + problem))
                }
            }
            let lineID = id ?? "line-\(number)"
            if let problem = idProblem(lineID) {
                lineProblems.append(.init(file: path, line: number, field: "id", message: problem))
            } else if let first = seen[lineID] {
                lineProblems.append(.init(file: path, line: number, field: "id", message: "\"\(lineID)\" is already the id of line \(first)"))
            } else {
                seen[lineID] = number
            }
            spec.resolvePaths(against: baseDirectory)
            if lineProblems.isEmpty {
                file.lines.append(BatchLine(number: number, id: lineID, spec: spec))
            } else {
                file.problems += lineProblems
            }
        }
        if raw.isEmpty && file.problems.isEmpty {
            file.problems.append(.init(file: path, line: 1, message: "the batch has no request lines"))
        }
        return file
    }

    private static func sniff(path: String, text: String) -> Format {
        let lower = path.lowercased()
        if lower.hasSuffix(".csv") || lower.hasSuffix(".tsv") { return .csv }
        if lower.hasSuffix(".jsonl") || lower.hasSuffix(".ndjson") || lower.hasSuffix(".json") { return .jsonLines }
        return text.first(where: { !$0.isWhitespace }) == "{" ? .jsonLines : .csv
    }

    /// Why `id` cannot be a line id, or `nil`.
    static func idProblem(_ id: String) -> String? {
        guard (1...64).contains(id.utf8.count) else { return "must be 1...64 characters, got \(id.utf8.count)" }
        guard id != ".", id != "..", id.unicodeScalars.allSatisfy({
            ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" || $0 == "."
        }) else {
            return "\"\(id.prefix(64))\" may hold only letters, digits, '-', '_' and '.' (it names files and the task's external id)"
        }
        return nil
    }

    private mutating func readJSONLines(_ text: String, into raw: inout [(number: Int, fields: [(String, FieldValue)])],
                                        defaults: inout [(String, FieldValue)]) {
        var defaultsLine: Int?
        let decoder = JSONDecoder()
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let trimmed = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if trimmed.isEmpty { continue }
            let value: FieldValue
            do { value = try decoder.decode(FieldValue.self, from: Data(trimmed.utf8)) } catch {
                problems.append(.init(file: path, line: number, message: "not valid JSON: \(Self.oneLine(error))"))
                continue
            }
            guard case .object(let object) = value else {
                problems.append(.init(file: path, line: number, message: "a line must be a JSON object, not \(value.typeName)"))
                continue
            }
            if let d = object["defaults"] {
                guard object.count == 1, case .object(let fields) = d else {
                    problems.append(.init(file: path, line: number, field: "defaults", message: "a defaults line is {\"defaults\": {FIELD: VALUE, …}} and nothing else"))
                    continue
                }
                if let first = defaultsLine {
                    problems.append(.init(file: path, line: number, field: "defaults", message: "a second defaults line (the first is line \(first))"))
                    continue
                }
                defaultsLine = number
                for (key, v) in fields.sorted(by: { $0.key < $1.key }) {
                    guard let field = BatchFieldNames.canonical(key), field != "id" else {
                        problems.append(.init(file: path, line: number, field: key, message: "unknown or per-line field in defaults (known: \(BatchFieldNames.documented))"))
                        continue
                    }
                    var probe = BatchSpec()
                    var ignored: String?
                    if let problem = assign(field, v, to: &probe, id: &ignored) {
                        problems.append(.init(file: path, line: number, field: field, message: problem))
                    } else {
                        defaults.append((field, v))
                    }
                }
                continue
            }
            raw.append((number, object.sorted(by: { $0.key < $1.key }).map { ($0.key, $0.value) }))
        }
    }

    private mutating func readCSV(_ text: String, into raw: inout [(number: Int, fields: [(String, FieldValue)])]) throws(BatchError) {
        let csv: EnumeratedCSV
        do {
            let delimiter: CSVDelimiter = path.lowercased().hasSuffix(".tsv") ? .tab : .comma
            csv = try EnumeratedCSV(string: text, delimiter: delimiter, loadColumns: false)
        } catch {
            throw BatchError(.file, "\(path): not readable as CSV: \(error)")
        }
        let header = csv.header.map { $0.trimmingCharacters(in: .whitespaces) }
        var usable: [Int] = []
        for (i, name) in header.enumerated() {
            if name.isEmpty { continue }
            if BatchFieldNames.canonical(name) == nil {
                problems.append(.init(file: path, line: 1, field: name, message: "unknown column (known: \(BatchFieldNames.documented))"))
            } else {
                usable.append(i)
            }
        }
        if !problems.isEmpty { return }
        for (index, row) in csv.rows.enumerated() {
            let number = index + 2
            if row.allSatisfy({ $0.trimmingCharacters(in: .whitespaces).isEmpty }) { continue }
            if row.count > header.count {
                problems.append(.init(file: path, line: number, message: "\(row.count) cells but the header names \(header.count) columns"))
                continue
            }
            raw.append((number, usable.compactMap { i in i < row.count ? (header[i], FieldValue.text(row[i])) : nil }))
        }
    }

    static func oneLine(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
            return underlying ?? context.debugDescription
        default: return String(describing: error).split(separator: "\n").first.map(String.init) ?? "unreadable"
        }
    }
}

extension BatchSpec {
    /// Makes every local image path absolute against `base` (URLs stay as they are).
    mutating func resolvePaths(against base: String) {
        func resolve(_ p: String) -> String {
            if BatchSpec.isURL(p) { return p }
            let expanded = (p as NSString).expandingTildeInPath
            return expanded.hasPrefix("/") ? URL(fileURLWithPath: expanded).standardizedFileURL.path
                : URL(fileURLWithPath: base).appendingPathComponent(expanded).standardizedFileURL.path
        }
        image = image.map(resolve)
        subjects = subjects?.map(resolve)
        scene = scene.map(resolve)
        style = style.map(resolve)
    }
}
