import Foundation
import Testing

/// `klingkit sheet`, run as a user runs it: the built binary, real files, exit codes and stderr.
@Suite("klingkit sheet")
struct SheetCommandTests {
    /// Width and height from a PNG's IHDR.
    func pngSize(_ url: URL) throws -> (Int, Int) {
        let bytes = [UInt8](try Data(contentsOf: url))
        try #require(bytes.count > 24 && bytes[0] == 0x89 && bytes[1] == 0x50)
        func be32(_ i: Int) -> Int { bytes[i..<i + 4].reduce(0) { $0 << 8 | Int($1) } }
        return (be32(16), be32(20))
    }

    var inputs: [String] {
        ["jpeg/pillow_hopper.jpg", "jpeg/ljt_testorig.jpg", "png/pillow_test-card.png", "exif-orientation/Landscape_6.jpg"]
            .map { CLIRunner.corpus.appendingPathComponent($0).path }
    }

    @Test("geometry follows --columns/--tile/--gap/--margin exactly")
    func geometry() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("sheet.png")
        let run = try await CLIRunner.run(["sheet"] + inputs + ["--out", out.path, "--columns", "3", "--tile", "64",
                                                       "--gap", "4", "--margin", "8", "--captions", "none"])
        #expect(run.exitCode == 0, "\(run.stderr)")
        #expect(run.stderr.isEmpty)
        #expect(run.stdout.contains("4 tiles in 3x2"))
        let (width, height) = try pngSize(out)
        #expect(width == 2 * 8 + 3 * 64 + 2 * 4)
        #expect(height == 2 * 8 + 2 * 64 + 1 * 4)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["sheet.png"])
    }

    @Test("a damaged input is a warning naming it; the sheet is still written")
    func damagedInput() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let broken = dir.appendingPathComponent("broken.jpg")
        let good = try Data(contentsOf: URL(fileURLWithPath: inputs[0]))
        try good.prefix(good.count / 2).write(to: broken)
        let out = dir.appendingPathComponent("sheet.png")
        let run = try await CLIRunner.run(["sheet", inputs[0], broken.path, "--out", out.path, "--title", "two"])
        #expect(run.exitCode == 0, "\(run.stderr)")
        #expect(run.stderr.contains("warning: broken.jpg"))
        #expect(run.stderr.split(separator: "\n").count == 1)
        #expect(run.stdout.contains("1 placeholder"))
        #expect(FileManager.default.fileExists(atPath: out.path))
    }

    @Test("JPEG output from the extension; folders and generate output folders as inputs")
    func jpegAndFolders() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let task = dir.appendingPathComponent("gen/8421")
        try FileManager.default.createDirectory(at: task, withIntermediateDirectories: true)
        for (index, input) in inputs.prefix(2).enumerated() {
            try FileManager.default.copyItem(atPath: input, toPath: task.appendingPathComponent("\(index).jpg").path)
        }
        try Data(#"{"task_id":"8421","prompt":"a fox"}"#.utf8).write(to: task.appendingPathComponent("task.json"))
        let out = dir.appendingPathComponent("sheet.JPG")
        let run = try await CLIRunner.run(["sheet", dir.appendingPathComponent("gen").path, "--out", out.path,
                                     "--captions", "task", "--background", "dark"])
        #expect(run.exitCode == 0, "\(run.stderr)")
        let bytes = [UInt8](try Data(contentsOf: out))
        #expect(bytes.prefix(3) == [0xFF, 0xD8, 0xFF])
        #expect(run.stdout.contains("2 tiles"))
    }

    @Test("a missing folder of --out is made, as README's `sheet results --out review/sheet.png` needs")
    func makesTheFolder() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("review/pages/sheet.png")
        let r = try await CLIRunner.run(["sheet", inputs[0], "--out", out.path])
        #expect(r.exitCode == 0 && FileManager.default.fileExists(atPath: out.path), "\(r.stderr)")
    }

    @Test("no sheet can be made: exit 1, one line naming the problem, no output file")
    func failures() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("sheet.png")
        let missing = try await CLIRunner.run(["sheet", "/nonexistent/klingkit/pictures", "--out", out.path])
        #expect(missing.exitCode == 1)
        #expect(missing.stderr.contains("/nonexistent/klingkit/pictures"))
        #expect(missing.stderr.split(separator: "\n").count == 1)

        // A folder that cannot be made (a file is in the way): one line naming it.
        let blocker = FileManager.default.temporaryDirectory.appendingPathComponent("klingkit-blocker-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: blocker.path, contents: Data())
        defer { try? FileManager.default.removeItem(at: blocker) }
        let unwritable = try await CLIRunner.run(["sheet", inputs[0], "--out", blocker.appendingPathComponent("sub/s.png").path])
        #expect(unwritable.exitCode == 1 && unwritable.stderrLines.count == 1, "\(unwritable.stderr)")
        #expect(unwritable.stderr.contains("cannot make the folder \(blocker.path)/sub for --out"), "\(unwritable.stderr)")

        let transparentJPEG = try await CLIRunner.run(["sheet", inputs[0], "--out", dir.appendingPathComponent("s.jpg").path,
                                                 "--background", "transparent"])
        #expect(transparentJPEG.exitCode == 1)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
    }

    @Test("usage errors exit 2", arguments: [
        ["--out", "x.gif"], ["--out", "x.png", "--captions", "titles"], ["--out", "x.png", "--tile", "2"],
        ["--out", "x.png", "--columns", "0"], ["--out", "x.png", "--background", "mauve-ish"], ["--out", "x.png", "--gap", "-3"],
    ])
    func usage(arguments: [String]) async throws {
        let run = try await CLIRunner.run(["sheet", inputs[0]] + arguments)
        #expect(run.exitCode == 2, "\(arguments): \(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: "x.png"))
    }
}
