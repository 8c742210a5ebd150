import Foundation
import KlingKitTestSupport
import Testing

/// `-` as input and output: `check -`, `prepare - --out -`, `prepare - --out DIR`.
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
}
