import Foundation
import KlingKitTestSupport
import ReferenceImages

/// One row of `../shared/corpus/corpus.tsv`: path, format, stored size, expected verdict, note.
struct CorpusRow: Sendable, CustomStringConvertible {
    var path: String
    var format: String
    var width: Int?
    var height: Int?
    var expected: String
    var note: String

    var description: String { path }

    /// The EXIF orientation the note records (`exif_orientation=N`), with out-of-range values as 1.
    var exifOrientation: Int? {
        guard let range = note.range(of: "exif_orientation=") else { return nil }
        let digits = note[range.upperBound...].prefix { $0.isNumber }
        guard let value = Int(digits) else { return nil }
        return (1...8).contains(value) ? value : 1
    }

    var url: URL { CorpusRow.root.appendingPathComponent(path) }

    /// The corpus folder (``TestCorpus``: `$KLINGKIT_CORPUS` or `../shared/corpus`).
    static let root = TestCorpus.root

    /// Every row of the table (empty when the corpus is missing; a test checks that it is not).
    static let all: [CorpusRow] = {
        guard let text = try? String(contentsOf: root.appendingPathComponent("corpus.tsv"), encoding: .utf8) else { return [] }
        return text.split(separator: "\n").dropFirst().compactMap { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count >= 6 else { return nil }
            return CorpusRow(path: f[0], format: f[1], width: Int(f[2]), height: Int(f[3]), expected: f[4], note: f[5])
        }
    }()
}

extension Array where Element == PrepareAction {
    /// The actions as the command line prints them.
    var texts: [String] { map(\.description) }
}

/// Marks a check that could not run (a missing referee), for `withKnownIssue`.
struct Skipped: Error {
    var reason: String
}
