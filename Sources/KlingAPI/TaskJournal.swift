import Foundation
import KlingModels

/// One submitted (or being submitted) request, as kept in a ``TaskJournal``.
public struct JournalEntry: Sendable, Codable, Equatable {
    /// Where the entry is in its life.
    public enum State: String, Sendable, Codable {
        /// Written before the create call is sent: the task may or may not exist on the server.
        case submitting
        /// The server accepted the create; ``JournalEntry/taskID`` is known.
        case submitted
        /// Finished and every image downloaded (nothing left to do).
        case completed
        /// The task ended `failed` (``JournalEntry/message`` holds `task_status_msg`).
        case failed
        /// The server never created the task (an ambiguous create that the server does not know).
        case notCreated = "not-created"
    }

    /// The `external_task_id` sent with the create: the key of the entry.
    public var externalTaskID: String
    public var taskID: String?
    public var kind: TaskKind
    /// `kling` or `cometapi`.
    public var provider: String
    public var baseURL: String
    public var state: State
    /// Images requested (`n`).
    public var count: Int
    /// The request's prompt (for captions and manifests), if any.
    public var prompt: String?
    /// Where results go (`<outputDirectory>/<task_id>/<index>.<ext>`), if the caller downloads them.
    public var outputDirectory: String?
    /// Also fetch the watermarked images.
    public var includeWatermarked: Bool
    /// A contact sheet to write after downloading, if any.
    public var sheetPath: String?
    /// Written files, once downloaded.
    public var files: [String]
    /// Failure reason or note.
    public var message: String?
    /// Unix seconds.
    public var createdAt: Double
    public var updatedAt: Double

    /// Whether `klingkit resume` still has something to do for this entry.
    public var isUnfinished: Bool { state == .submitting || state == .submitted }

    public init(externalTaskID: String, taskID: String? = nil, kind: TaskKind, provider: String, baseURL: String,
                state: State = .submitting, count: Int = 1, outputDirectory: String? = nil,
                includeWatermarked: Bool = false, sheetPath: String? = nil, files: [String] = [],
                message: String? = nil, createdAt: Double = 0, updatedAt: Double = 0, prompt: String? = nil) {
        self.prompt = prompt
        self.externalTaskID = externalTaskID
        self.taskID = taskID
        self.kind = kind
        self.provider = provider
        self.baseURL = baseURL
        self.state = state
        self.count = count
        self.outputDirectory = outputDirectory
        self.includeWatermarked = includeWatermarked
        self.sheetPath = sheetPath
        self.files = files
        self.message = message
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// A durable record of submitted tasks, one small JSON file per request in a directory.
///
/// ``KlingClient/submit(_:options:)`` writes the entry (state `submitting`) **before** the create call
/// is sent and again (state `submitted`, with the task id) **before** it returns, each write atomic and
/// `fsync`'d, so a process killed at any moment leaves enough on disk for `klingkit resume` to find
/// every task, by `task_id` or by `external_task_id`, without submitting anything twice.
/// Entries hold no credentials (only the provider name and base URL). The directory is created 0700.
public final class TaskJournal: Sendable {
    /// The journal folder.
    public let directory: URL

    /// Opens (creating if needed) a journal in `directory`.
    /// - Throws: ``ClientError`` (`journal`) if the folder cannot be created.
    public init(directory: URL) throws {
        self.directory = directory.standardizedFileURL
        try AtomicFile.makeDirectory(self.directory, permissions: 0o700)
    }

    /// `$KLINGKIT_JOURNAL`, else `$XDG_STATE_HOME/klingkit/journal`, else `~/.local/state/klingkit/journal`.
    public static func defaultDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let dir = environment["KLINGKIT_JOURNAL"], !dir.isEmpty { return URL(fileURLWithPath: dir) }
        if let state = environment["XDG_STATE_HOME"], !state.isEmpty {
            return URL(fileURLWithPath: state).appendingPathComponent("klingkit/journal")
        }
        let home = environment["HOME"].map { URL(fileURLWithPath: $0) } ?? FileManager.default.homeDirectoryForCurrentUser
        return home.appendingPathComponent(".local/state/klingkit/journal")
    }

    private func url(for externalID: String) -> URL {
        directory.appendingPathComponent(SafePath.component(forTaskID: externalID) + ".json")
    }

    /// Writes (replaces) the entry durably.
    public func record(_ entry: JournalEntry) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        let data: Data
        do { data = try encoder.encode(entry) } catch {
            throw ClientError(.journal, "cannot encode journal entry: \(error)")
        }
        try AtomicFile.write(Array(data), to: url(for: entry.externalTaskID), permissions: 0o600)
    }

    /// The entry for an external id, if any.
    public func entry(externalTaskID: String) throws -> JournalEntry? {
        let file = url(for: externalTaskID)
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        return try read(file)
    }

    /// A journal file that could not be read, and where it was moved so it no longer stops anything.
    public struct UnreadableEntry: Sendable, CustomStringConvertible {
        /// The file as it was found.
        public var path: String
        /// Where it is now (`NAME.corrupt`), or `nil` when it could not be moved.
        public var movedTo: String?
        /// Why it could not be read, in one line.
        public var reason: String
        public var description: String {
            "journal entry \(path) is unreadable (\(reason))" + (movedTo.map { "; moved aside to \($0)" } ?? "")
        }
    }

    /// Every readable entry, oldest first, and the files that could not be read (truncated, garbage,
    /// empty, an unknown state, a stray `*.json`). Each unreadable file is renamed to `NAME.corrupt`,
    /// so one bad file never stops the rest and is kept for a person to look at.
    /// - Throws: ``ClientError`` `.journal` only when the folder itself cannot be listed.
    public func scan() throws -> (entries: [JournalEntry], unreadable: [UnreadableEntry]) {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: directory.path) } catch {
            throw ClientError(.journal, "cannot list \(directory.path): \(error.localizedDescription)")
        }
        var entries: [JournalEntry] = []
        var unreadable: [UnreadableEntry] = []
        for name in names.sorted() where name.hasSuffix(".json") && !name.hasPrefix(".") {
            let file = directory.appendingPathComponent(name)
            do {
                entries.append(try JSONDecoder().decode(JournalEntry.self, from: Data(contentsOf: file)))
            } catch {
                let aside = file.path + ".corrupt"
                let moved = rename(file.path, aside) == 0
                unreadable.append(UnreadableEntry(path: file.path, movedTo: moved ? aside : nil,
                                                  reason: Self.oneLine(error)))
            }
        }
        entries.sort { ($0.createdAt, $0.externalTaskID) < ($1.createdAt, $1.externalTaskID) }
        return (entries, unreadable)
    }

    /// Every readable entry, oldest first (see ``scan()`` for what happens to unreadable ones).
    public func entries() throws -> [JournalEntry] { try scan().entries }

    /// Entries still `submitting` or `submitted`.
    public func unfinished() throws -> [JournalEntry] { try entries().filter(\.isUnfinished) }

    /// A decoding error as one short line (DecodingError's description runs over several).
    static func oneLine(_ error: Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context): return "not valid JSON: \(context.debugDescription)"
        case DecodingError.keyNotFound(let key, _): return "missing \(key.stringValue)"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "bad value at \(context.codingPath.map(\.stringValue).joined(separator: ".")): \(context.debugDescription)"
        default:
            return String(describing: error).split(separator: "\n").first.map(String.init) ?? "unreadable"
        }
    }

    private func read(_ file: URL) throws -> JournalEntry {
        do {
            return try JSONDecoder().decode(JournalEntry.self, from: Data(contentsOf: file))
        } catch {
            throw ClientError(.journal, "journal entry \(file.path) is unreadable: \(error)")
        }
    }
}
