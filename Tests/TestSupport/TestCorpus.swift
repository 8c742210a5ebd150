import Foundation

/// Where the tests find the third-party image corpus, in one place for every test target.
///
/// The corpus is not part of the repository (its files keep their own licences). It is read from
/// `$KLINGKIT_CORPUS` when that is set, else from `../shared/corpus` beside the checkout — found from this
/// file's own path, never from the runner's working directory.
///
/// Suites that need it carry ``available`` as `.enabled(if: TestCorpus.available)`, so a machine without the
/// corpus skips them and says so. With `KLINGKIT_REQUIRE_CORPUS=1` (CI sets it), ``available`` is true
/// even when the folder is missing, so those suites run and fail instead of skipping silently; and
/// `TestCorpusPresenceTests` fails on its own.
public enum TestCorpus {
    /// The package root: two levels above `Tests/TestSupport/`.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The corpus folder (it may not exist; see ``isPresent``).
    public static let root: URL = {
        if let configured = ProcessInfo.processInfo.environment["KLINGKIT_CORPUS"], !configured.isEmpty {
            return URL(fileURLWithPath: configured).standardizedFileURL
        }
        return packageRoot.appendingPathComponent("../shared/corpus").standardizedFileURL
    }()

    /// True when `corpus.tsv` is where ``root`` says.
    public static let isPresent: Bool =
        FileManager.default.fileExists(atPath: root.appendingPathComponent("corpus.tsv").path)

    /// True when `KLINGKIT_REQUIRE_CORPUS=1`: a missing corpus must fail, not skip.
    public static let isRequired: Bool = ProcessInfo.processInfo.environment["KLINGKIT_REQUIRE_CORPUS"] == "1"

    /// Whether corpus suites should run: the corpus is there, or it is required (so its absence fails).
    public static let available: Bool = isPresent || isRequired

    /// The URL of one corpus file, `relative` to the corpus root (`jpeg/pillow_flower.jpg`).
    public static func url(_ relative: String) -> URL { root.appendingPathComponent(relative) }

    /// The path of one corpus file.
    public static func path(_ relative: String) -> String { url(relative).path }

    /// The bytes of one corpus file.
    public static func bytes(_ relative: String) throws -> [UInt8] { try [UInt8](Data(contentsOf: url(relative))) }
}
