import Foundation
import KlingBatch
import Testing

/// The journals the contract runs against.
enum JournalKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite

    static var all: [JournalKind] { allCases }
    var testDescription: String { rawValue }

    /// Runs `body` with a fresh, empty journal of this kind and closes it afterwards.
    func with(_ body: (any BatchJournal) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let dir = try temporaryFolder("journal")
            defer { try? FileManager.default.removeItem(at: dir) }
            let journal = try SQLiteBatchJournal(path: dir.appendingPathComponent("j.sqlite").path)
            do { try await body(journal) } catch { await journal.close(); throw error }
            await journal.close()
        }
    }
}
