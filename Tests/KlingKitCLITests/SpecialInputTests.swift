import Foundation
import KlingKitTestSupport
import Testing

/// Inputs that are not regular files: a FIFO would block `open(2)` for reading forever, a device never
/// ends. Every image command refuses them with one line and goes on with the rest.
@Suite("Non-regular inputs")
struct SpecialInputTests {
    static func fifo(in dir: URL) throws -> String {
        let path = dir.appendingPathComponent("upload.jpg").path
        #expect(mkfifo(path, 0o600) == 0)
        return path
    }

    @Test("check, prepare and sheet refuse a FIFO at once (one line naming it), never hang", arguments: ["check", "prepare", "sheet"])
    func fifoRefused(command: String) async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try Self.fifo(in: dir)
        let arguments: [String] = switch command {
        case "prepare": ["prepare", path, "--out", dir.appendingPathComponent("out").path]
        case "sheet": ["sheet", path, "--out", dir.appendingPathComponent("sheet.png").path]
        default: ["check", path]
        }
        let result = try await CLIRunner.run(arguments)
        let text = result.stdout + result.stderr
        #expect(text.contains("not a regular file (a FIFO or pipe)"), "\(text)")
        #expect(text.contains("upload.jpg"), "\(text)")
        if command != "sheet" { #expect(result.exitCode == 1, "\(text)") }
    }
}

/// Folders whose entries Foundation's listing used to drop without a word: symbolic links, links that
/// loop or point nowhere, names that are not valid UTF-8.
@Suite("Folder entries are never dropped silently")
struct FolderEntryTests {
    static func folder() throws -> URL {
        let dir = try CLIRunner.temporaryDirectory()
        let sample = TestCorpus.packageRoot.appendingPathComponent("samples/portrait-valid.jpg")
        try FileManager.default.copyItem(at: sample, to: dir.appendingPathComponent("good.jpg"))
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("link.jpg").path, withDestinationPath: sample.path)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("loop1.jpg").path, withDestinationPath: dir.appendingPathComponent("loop2.jpg").path)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("loop2.jpg").path, withDestinationPath: dir.appendingPathComponent("loop1.jpg").path)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("dangling.png").path, withDestinationPath: dir.appendingPathComponent("gone.png").path)
        try FileManager.default.createSymbolicLink(atPath: dir.appendingPathComponent("elsewhere").path,
                                                   withDestinationPath: TestCorpus.packageRoot.appendingPathComponent("samples").path)
        // A name that is not UTF-8 (Latin-1 "é" as one byte), written through the C API: Foundation cannot.
        let bytes = Array(dir.path.utf8) + Array("/caf".utf8) + [0xE9] + Array(".jpg".utf8) + [0]
        let fd = bytes.withUnsafeBufferPointer { open(UnsafeRawPointer($0.baseAddress!).assumingMemoryBound(to: CChar.self), O_CREAT | O_WRONLY, 0o644) }
        #expect(fd >= 0)
        let jpeg = try [UInt8](Data(contentsOf: sample))
        _ = jpeg.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        return dir
    }

    @Test("check follows links to images and names every entry it cannot open, exit 1")
    func check() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try await CLIRunner.run(["check", dir.path])
        #expect(r.exitCode == 1, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains(dir.path + "/good.jpg: valid") && r.stdout.contains(dir.path + "/link.jpg: valid"), "\(r.stdout)")
        for expected in ["loop1.jpg: skipped: a symbolic link that loops", "loop2.jpg: skipped: a symbolic link that loops",
                         "dangling.png: skipped: a symbolic link to nothing (broken)",
                         #"caf\xE9.jpg: skipped: the name is not valid UTF-8"#,
                         "elsewhere: a symbolic link to a folder is not followed"] {
            #expect(r.stderr.contains(expected), "\(expected) in \(r.stderr)")
        }
    }

    @Test("prepare does the same: the openable ones are prepared, the others named, exit 1")
    func prepare() async throws {
        let dir = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try await CLIRunner.run(["prepare", dir.path, "--out", out.path])
        #expect(r.exitCode == 1, "\(r.stderr)")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out.path)).isSuperset(of: ["good.jpg", "link.jpg"]))
        #expect(r.stderr.contains(#"caf\xE9.jpg: skipped: the name is not valid UTF-8"#), "\(r.stderr)")
    }
}
