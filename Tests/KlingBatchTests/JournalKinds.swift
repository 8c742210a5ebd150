import Foundation
import KlingBatch
import KlingKitTestSupport
import Testing

/// The journals the contract runs against: the embedded SQLite file, and PostgreSQL in a throwaway
/// cluster (``PostgresCluster``; when PostgreSQL is not installed its cases are left out, unless
/// `KLINGKIT_REQUIRE_TOOLS=1` makes them run and fail).
enum JournalKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    static var all: [JournalKind] { PostgresCluster.available ? allCases : [.sqlite] }
    var testDescription: String { rawValue }

    /// Runs `body` with a fresh, empty journal of this kind and closes (and removes) it afterwards.
    func with(_ body: (any BatchJournal) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            let dir = try temporaryFolder("journal")
            defer { try? FileManager.default.removeItem(at: dir) }
            let journal = try SQLiteBatchJournal(path: dir.appendingPathComponent("j.sqlite").path)
            do { try await body(journal) } catch { await journal.close(); throw error }
            await journal.close()
        case .postgres:
            let cluster = try await PostgresCluster.start()
            do {
                let journal = try await PostgresBatchJournal(url: cluster.url)
                do { try await body(journal) } catch { await journal.close(); throw error }
                await journal.close()
                // A second connection finds the schema migrated and does not migrate again.
                let again = try await PostgresBatchJournal(url: cluster.url)
                await again.close()
            } catch {
                await cluster.stop()
                throw error
            }
            await cluster.stop()
        }
    }
}
