import Foundation
import Testing

/// `klingkit check`, run as the built binary.
@Suite("klingkit check")
struct CheckCommandTests {
    static var corpus: URL { CLIRunner.corpus }

    func path(_ relative: String) -> String { Self.corpus.appendingPathComponent(relative).path }

    @Test("a valid file prints one 'valid' line and exits 0")
    func validFile() async throws {
        let result = try await CLIRunner.run(["check", path("jpeg/pillow_flower.jpg")])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasSuffix("pillow_flower.jpg: valid (jpeg, 480x360, 32764 bytes)") == true)
    }

    @Test("any invalid file makes the exit status 1; lines keep argument order and list every violation")
    func mixed() async throws {
        let files = [path("png/pillow_standard_embedded.png"), path("jpeg/pillow_flower.jpg"),
                     path("malformed/pillow_truncated_jpeg.jpg"), path("malformed/pillow_zero_width.gif")]
        let result = try await CLIRunner.run(["check"] + files)
        #expect(result.exitCode == 1)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 4)
        for (line, file) in zip(lines, files) { #expect(line.hasPrefix(file + ": ")) }
        #expect(lines[0].contains("invalid") && lines[0].contains("min-dimension: height 64 px is below the minimum of 300 px")
                && lines[0].contains("aspect-ratio"))
        #expect(lines[1].contains(": valid"))
        #expect(lines[2].contains("corrupt: does not decode: Premature end of JPEG file"))
        #expect(lines[3].contains("unsupported-format"))
    }

    @Test("a batch ends with one summary line on stderr (rules by files, most first); --quiet leaves only the results")
    func summary() async throws {
        let files = [path("png/pillow_standard_embedded.png"), path("jpeg/pillow_flower.jpg"),
                     path("malformed/pillow_truncated_jpeg.jpg"), path("malformed/pillow_zero_width.gif")]
        let result = try await CLIRunner.run(["check"] + files)
        #expect(result.stderr.split(separator: "\n").last
                == "4 checked: 1 valid, 3 invalid (min-dimension 2, aspect-ratio 1, corrupt 1, unsupported-format 1)", "\(result.stderr)")
        let quiet = try await CLIRunner.run(["check", "--quiet"] + files)
        #expect(quiet.exitCode == 1 && quiet.stderr.isEmpty, "\(quiet.stderr)")
        #expect(quiet.stdout == result.stdout)
        // One file: no summary.
        #expect(try await CLIRunner.run(["check", path("jpeg/pillow_flower.jpg")]).stderr.isEmpty)
        // prepare says the same kind of line.
        let out = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let prepared = try await CLIRunner.run(["prepare", path("jpeg/pillow_flower.jpg"), path("malformed/pillow_truncated_jpeg.jpg"), "--out", out.path])
        #expect(prepared.stderr.split(separator: "\n").last == "2 prepared: 1 written, 1 failed (corrupt 1)", "\(prepared.stderr)")
    }

    @Test("--json prints one object per line with exactly the documented keys")
    func json() async throws {
        let files = [path("png/pillow_standard_embedded.png"), path("jpeg/pillow_flower.jpg"),
                     path("malformed/pillow_zero_width.gif")]
        let result = try await CLIRunner.run(["check", "--json"] + files)
        #expect(result.exitCode == 1)
        let lines = result.stdout.split(separator: "\n")
        try #require(lines.count == 3)
        let objects = try lines.map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let keys: Set<String> = ["path", "valid", "format", "width", "height", "bytes", "orientation", "violations"]
        for object in objects { #expect(Set(object.keys) == keys) }

        #expect(objects[0]["path"] as? String == files[0])
        #expect(objects[0]["valid"] as? Bool == false)
        #expect(objects[0]["format"] as? String == "png")
        #expect(objects[0]["width"] as? Int == 300 && objects[0]["height"] as? Int == 64)
        #expect(objects[0]["bytes"] as? Int == 2871)
        let violations = try #require(objects[0]["violations"] as? [[String: String]])
        #expect(violations.map { $0["rule"] } == ["min-dimension", "aspect-ratio"])
        #expect(violations.allSatisfy { Set($0.keys) == ["rule", "message"] })

        #expect(objects[1]["valid"] as? Bool == true)
        #expect((objects[1]["violations"] as? [Any])?.isEmpty == true)

        #expect(objects[2]["format"] is NSNull && objects[2]["width"] is NSNull && objects[2]["height"] is NSNull)
        #expect((objects[2]["violations"] as? [[String: String]])?.first?["rule"] == "unsupported-format")
    }

    @Test("directories expand recursively to image files; other files are skipped")
    func directories() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let nested = dir.appendingPathComponent("nested")
        try FileManager.default.createDirectory(at: nested, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: path("jpeg/pillow_flower.jpg"), toPath: dir.appendingPathComponent("a.jpg").path)
        try FileManager.default.copyItem(atPath: path("png/pillow_test-card.png"), toPath: nested.appendingPathComponent("b.png").path)
        // A PNG without an image extension is found by content; a text file is not an image.
        try FileManager.default.copyItem(atPath: path("png/pillow_hopper_bw_500.png"), toPath: nested.appendingPathComponent("c.data").path)
        try Data("notes".utf8).write(to: dir.appendingPathComponent("README.txt"))

        let result = try await CLIRunner.run(["check", dir.path])
        #expect(result.exitCode == 0, "\(result.stdout)\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        #expect(lines.count == 3)
        #expect(lines.map { $0.components(separatedBy: ": ").first ?? "" }.map { ($0 as NSString).lastPathComponent } == ["a.jpg", "b.png", "c.data"])

        // The same directory with a broken PNG fails.
        try Data([0x89, 0x50, 0x4E, 0x47]).write(to: dir.appendingPathComponent("broken.png"))
        let again = try await CLIRunner.run(["check", dir.path])
        #expect(again.exitCode == 1)
        #expect(again.stdout.contains("broken.png: invalid"))
    }

    @Test("JSON escapes awkward file names")
    func awkwardNames() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let name = dir.appendingPathComponent("quote\"back\\slash\ttab ünï.png").path
        try FileManager.default.copyItem(atPath: path("png/pillow_test-card.png"), toPath: name)
        let result = try await CLIRunner.run(["check", "--json", name])
        #expect(result.exitCode == 0)
        let object = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(object["path"] as? String == name)
    }

    @Test("a directory without images is a usage error, in one line without the root usage")
    func emptyDirectory() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("notes".utf8).write(to: dir.appendingPathComponent("README.txt"))
        let result = try await CLIRunner.run(["check", dir.path])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("no JPEG or PNG files"))
        #expect(!result.stderr.contains("Usage: klingkit <subcommand>"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    /// Runs the binary under util-linux `script`, which gives it a terminal, to see the progress line.
    @Test("a long batch on a terminal shows a progress line on stderr, and none when piped",
          .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script")))
    func progressLine() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for i in 0..<30 {
            try FileManager.default.copyItem(atPath: path("png-suite/basn0g08.png"), toPath: dir.appendingPathComponent("\(i).png").path)
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        process.arguments = ["-qec", "'\(CLIRunner.binary.path)' check '\(dir.path)' > /dev/null", "/dev/null"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(output.contains("checking: [") && output.contains("30/30 files"))

        let piped = try await CLIRunner.run(["check", dir.path])
        #expect(!piped.stderr.contains("checking:"))
        #expect(piped.stdout.split(separator: "\n").count == 30)
    }

    @Test("usage errors exit 2", arguments: [["check"], ["check", "--max-bytes", "0", "x"]])
    func usage(_ arguments: [String]) async throws {
        let result = try await CLIRunner.run(arguments)
        #expect(result.exitCode == 2, "\(result.stderr)")
        #expect(result.stdout.isEmpty)
        #expect(!result.stderr.isEmpty)
    }

    @Test("limits are configurable: --max-bytes turns a valid file into a file-size violation")
    func limits() async throws {
        let result = try await CLIRunner.run(["check", "--json", "--max-bytes", "10000", path("jpeg/pillow_flower.jpg")])
        #expect(result.exitCode == 1)
        #expect(result.stdout.contains("\"rule\": \"file-size\""))
        #expect(result.stdout.contains("32,764 bytes is more than the limit of 10,000 bytes"))
    }

    /// The whole corpus through the binary: every row of corpus.tsv gets its verdict, except the known
    /// disagreement (see CorpusValidationTests): JPEGs the table counts as decodable whose entropy data
    /// libjpeg reports as corrupt, which strict mode refuses. Recognised by the decoder's message.
    @Test("the corpus, checked in one parallel run, matches corpus.tsv")
    func corpus() async throws {
        let table = try String(contentsOf: Self.corpus.appendingPathComponent("corpus.tsv"), encoding: .utf8)
        let rows = table.split(separator: "\n").dropFirst().map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        let result = try await CLIRunner.run(["check", "--json"] + rows.map { path($0[0]) }, timeout: 300)
        #expect(result.exitCode == 1)
        let lines = result.stdout.split(separator: "\n")
        try #require(lines.count == rows.count)
        for (row, line) in zip(rows, lines) {
            let object = try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            #expect(object["path"] as? String == path(row[0]))
            let rules = Set(((object["violations"] as? [[String: String]]) ?? []).compactMap { $0["rule"] })
            let messages = ((object["violations"] as? [[String: String]]) ?? []).compactMap { $0["message"] }
            let strictRefusal = row[1] == "jpeg" && rules.contains("corrupt")
                && rules.isSubset(of: ["corrupt", "file-size", "min-dimension", "aspect-ratio"])
                && messages.contains { $0.contains("Corrupt JPEG data") }
            switch row[4] {
            case "valid":
                #expect(rules.isEmpty || strictRefusal, "\(row[0]): \(rules)")
            case "invalid-constraint":
                let constraints: Set<String> = ["file-size", "min-dimension", "aspect-ratio"]
                #expect((!rules.isEmpty && rules.isSubset(of: constraints)) || strictRefusal, "\(row[0]): \(rules)")
            default:
                #expect(!rules.isDisjoint(with: ["unsupported-format", "corrupt", "too-many-pixels"]), "\(row[0]): \(rules)")
            }
        }
    }
}
