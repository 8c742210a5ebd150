import Foundation
import KlingKitTestSupport
import Testing

/// `-` as input and output: `check -`, `prepare - --out -`, `prepare - --out DIR`, `sheet --out -`.
@Suite("Pipes")
struct PipeTests {
    static let samples = TestCorpus.packageRoot.appendingPathComponent("samples")

    @Test("check - validates standard input and names it <stdin>; with files beside it, in argument order")
    func check() async throws {
        let jpeg = try Data(contentsOf: Self.samples.appendingPathComponent("portrait-valid.jpg"))
        let one = try await CLIRunner.run(["check", "-"], stdin: jpeg)
        #expect(one.exitCode == 0 && one.stdout == "<stdin>: valid (jpeg, 900x1200, 255282 bytes)\n", "\(one.stdout)\(one.stderr)")
        let tiny = Self.samples.appendingPathComponent("avatar-tiny.png").path
        let mixed = try await CLIRunner.run(["check", tiny, "-"], stdin: jpeg)
        let lines = mixed.stdout.split(separator: "\n")
        #expect(mixed.exitCode == 1 && lines.count == 2 && lines[0].hasPrefix(tiny + ": invalid") && lines[1].hasPrefix("<stdin>: valid"))
        let twice = try await CLIRunner.run(["check", "-", "-"], stdin: jpeg)
        #expect(twice.exitCode == 2 && twice.stderr.contains("can be given once"), "\(twice.stderr)")
        let garbage = try await CLIRunner.run(["check", "-"], stdin: Data("not an image".utf8))
        #expect(garbage.exitCode == 1 && garbage.stdout.hasPrefix("<stdin>: invalid"), "\(garbage.stdout)")
    }

    @Test("prepare - --out - writes only the image to stdout (the report on stderr); a failure writes nothing")
    func prepareToStdout() async throws {
        let panorama = try Data(contentsOf: Self.samples.appendingPathComponent("panorama-wide.jpg"))
        let r = try await CLIRunner.run(["prepare", "-", "--out", "-"], stdin: panorama)
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.stderrLines.last?.hasPrefix("<stdin> -> - (4200x1680,") == true, "\(r.stderr)")
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let written = dir.appendingPathComponent("out.jpg")
        try Data(r.stdoutBytes).write(to: written)
        let checked = try await CLIRunner.run(["check", written.path])
        #expect(checked.exitCode == 0 && checked.stdout.contains("valid (jpeg, 4200x1680"), "\(checked.stdout)")
        let broken = try Data(contentsOf: Self.samples.appendingPathComponent("corrupt-truncated.jpg"))
        let failed = try await CLIRunner.run(["prepare", "-", "--out", "-"], stdin: broken)
        #expect(failed.exitCode == 1 && failed.stdoutBytes.isEmpty && failed.stderr.contains("<stdin>: corrupt"), "\(failed.stderr)")
        let usage = try await CLIRunner.run(["prepare", Self.samples.path, "--out", "-"])
        #expect(usage.exitCode == 2 && usage.stderr.contains("--out - writes one image"), "\(usage.stderr)")
        // Into a folder, standard input is named stdin.<ext>.
        let folder = try await CLIRunner.run(["prepare", "-", "--out", dir.path], stdin: panorama)
        #expect(folder.exitCode == 0 && FileManager.default.fileExists(atPath: dir.appendingPathComponent("stdin.jpg").path), "\(folder.stderr)")
    }

    @Test("sheet --out - writes the finished sheet to stdout (PNG, or --format jpeg) and its report to stderr; a failure writes nothing")
    func sheetToStdout() async throws {
        let inputs = [Self.samples.appendingPathComponent("portrait-valid.jpg").path, Self.samples.appendingPathComponent("avatar-tiny.png").path]
        let png = try await CLIRunner.run(["sheet"] + inputs + ["--out", "-", "--tile", "64"])
        #expect(png.exitCode == 0 && png.stdoutBytes.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(png.stderr)")
        #expect(png.stderrLines.last?.hasPrefix("wrote <stdout>: ") == true && png.stderr.contains(" png, 2 tiles"), "\(png.stderr)")
        let jpeg = try await CLIRunner.run(["sheet"] + inputs + ["--out", "-", "--format", "jpeg", "--tile", "64"])
        #expect(jpeg.exitCode == 0 && jpeg.stdoutBytes.starts(with: [0xFF, 0xD8, 0xFF]), "\(jpeg.stderr)")
        // What came out is a whole sheet: it decodes, and it carries the marker that keeps it out of the next sheet.
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(jpeg.stdoutBytes).write(to: dir.appendingPathComponent("piped.jpg"))
        let checked = try await CLIRunner.run(["check", dir.appendingPathComponent("piped.jpg").path])
        #expect(checked.stdout.contains("(jpeg, "), "\(checked.stdout)\(checked.stderr)")
        let again = try await CLIRunner.run(["sheet", dir.path, "--out", dir.appendingPathComponent("next.png").path])
        #expect(again.exitCode == 1 && again.stderr.contains("no JPEG or PNG files"), "\(again.stdout)\(again.stderr)")
        // No sheet can be made: exit 1, nothing on stdout. Usage errors: exit 2.
        let failed = try await CLIRunner.run(["sheet", dir.appendingPathComponent("nosuch").path, "--out", "-"])
        #expect(failed.exitCode == 1 && failed.stdoutBytes.isEmpty, "\(failed.stderr)")
        let pages = try await CLIRunner.run(["sheet"] + inputs + ["--out", "-", "--per-page", "1"])
        #expect(pages.exitCode == 2 && pages.stderr.contains("--per-page writes several files"), "\(pages.stderr)")
        let disagree = try await CLIRunner.run(["sheet"] + inputs + ["--out", dir.appendingPathComponent("s.png").path, "--format", "jpeg"])
        #expect(disagree.exitCode == 2 && disagree.stderr.contains("disagrees with --out"), "\(disagree.stderr)")
    }
}
