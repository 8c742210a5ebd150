import Foundation
import Testing

/// `klingkit check` and `prepare` on HEIF/AVIF/WebP and faces, run as the built binary (issue #13).
@Suite("klingkit check/prepare: convertible formats and faces")
struct ConvertibleCheckTests {
    static let fixtures = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        .appendingPathComponent("Tests/Fixtures/formats").standardizedFileURL

    static func fixture(_ name: String) -> String { fixtures.appendingPathComponent(name).path }

    @Test("check names the format, size and orientation, and says prepare converts it; --json has convertible")
    func check() async throws {
        let text = try await CLIRunner.run(["check", Self.fixture("exif6.webp"), Self.fixture("landscape.heic")])
        #expect(text.exitCode == 1)
        let lines = text.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 2, "\(text.stdout)")
        #expect(lines[0].contains("invalid (webp, 100x150, EXIF orientation 6"), "\(lines[0])")
        #expect(lines[0].contains("unsupported-format: webp image (100x150, EXIF orientation 6, upright 150x100"))
        #expect(lines[0].contains("prepare converts it"))
        #expect(lines[1].contains("unsupported-format: heic image (150x100, orientation 1"))
        let json = try await CLIRunner.run(["check", "--json", Self.fixture("landscape.avif")])
        #expect(json.stdout.contains("\"convertible\": true, \"source_format\": \"avif\""), "\(json.stdout)")
        #expect(json.stdout.contains("\"width\": 150, \"height\": 100"))
    }

    @Test("check on a directory picks up HEIC, AVIF, WebP and APNG files by content")
    func directory() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for (name, copy) in [("landscape.heic", "a.bin"), ("landscape.avif", "b.avif"), ("lossy.webp", "c"),
                             ("animated.png", "d.png")] {
            try FileManager.default.copyItem(atPath: Self.fixture(name), toPath: dir.appendingPathComponent(copy).path)
        }
        let result = try await CLIRunner.run(["check", dir.path])
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 4, "\(result.stdout)")
        #expect(lines.filter { $0.contains("prepare converts it") }.count == 3)
        #expect(lines.contains { $0.contains("animated PNG (3 frames)") })
    }

    @Test("prepare converts HEIC to JPEG and a transparent WebP to PNG")
    func prepare() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try await CLIRunner.run(["prepare", "--out", dir.path, Self.fixture("landscape.heic"), Self.fixture("alpha.webp")])
        #expect(result.exitCode == 0, "\(result.stdout)\(result.stderr)")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(names == ["alpha.png", "landscape.jpg"], "\(names)")
        #expect(result.stdout.contains("converted heic->jpeg"), "\(result.stdout)")
        let check = try await CLIRunner.run(["check", dir.path])
        #expect(check.exitCode == 0, "\(check.stdout)")
    }

    @Test("check --face counts faces: one, two (warning, exit 0), none; --strict-face fails on two")
    func faces() async throws {
        let corpus = CLIRunner.corpus
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let hopper = corpus.appendingPathComponent("jpeg/pillow_hopper.jpg").path
        let landscape = corpus.appendingPathComponent("exif-orientation/Landscape_1.jpg").path
        let one = try await CLIRunner.run(["check", "--face", "--min-side", "1", hopper])
        #expect(one.exitCode == 0)
        #expect(one.stdout.contains("; faces: 1 ["), "\(one.stdout)")
        #expect(!one.stdout.contains("warning"))
        let two = try await CLIRunner.run(["check", "--face", "--min-side", "1", Self.fixture("two-faces.jpg")])
        #expect(two.exitCode == 0, "a warning only")
        #expect(two.stdout.contains("faces: 2 [") && two.stdout.contains("warning: 2 faces"), "\(two.stdout)")
        let twoStrict = try await CLIRunner.run(["check", "--strict-face", "--min-side", "1", Self.fixture("two-faces.jpg")])
        #expect(twoStrict.exitCode == 1)
        let none = try await CLIRunner.run(["check", "--face", "--json", landscape])
        #expect(none.stdout.contains("\"faces\": 0, \"face_boxes\": []"), "\(none.stdout)")
        #expect(none.exitCode == 0)
        let strict = try await CLIRunner.run(["check", "--strict-face", landscape])
        #expect(strict.exitCode == 1)
        #expect(strict.stdout.contains("face-count: 0 faces"), "\(strict.stdout)")
    }
}
