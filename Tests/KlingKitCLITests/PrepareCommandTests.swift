import Foundation
import Testing

@Suite("klingkit prepare")
struct PrepareCommandTests {
    static func corpus(_ path: String) -> String { CLIRunner.corpus.appendingPathComponent(path).path }

    /// Parses `--json` output: one object per line.
    static func objects(_ stdout: String) throws -> [[String: Any]] {
        try stdout.split(separator: "\n").map { line in
            try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "not a JSON object: \(line)")
        }
    }

    @Test("a mixed batch: fixes, copies, refuses the undecodable with no output, exit 1, exact JSON keys, .b64 beside")
    func mixedBatch() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out").path
        let inputs = [
            Self.corpus("exif-orientation/Landscape_6.jpg"),
            Self.corpus("png-suite/cdfn2c08.png"),
            Self.corpus("jpeg/jpegdec_progressive3.jpg"),
        ]
        var args = inputs
        let undecodable = dir.appendingPathComponent("broken.jpg")
        let photo = try Data(contentsOf: URL(fileURLWithPath: Self.corpus("exif-orientation/Landscape_1.jpg")))
        try photo.prefix(photo.count / 3).write(to: undecodable)
        args.append(undecodable.path)
        let result = try await CLIRunner.run(["prepare"] + args + ["--out", out, "--json", "--base64"])
        #expect(result.exitCode == 1, "\(result.stderr)")
        let objects = try Self.objects(result.stdout)
        #expect(objects.count == args.count)
        for object in objects {
            #expect(Set(object.keys) == ["input", "output", "actions", "width", "height", "bytes", "error"])
        }
        let byInput = Dictionary(uniqueKeysWithValues: objects.map { ($0["input"] as! String, $0) })

        let rotated = try #require(byInput[Self.corpus("exif-orientation/Landscape_6.jpg")])
        #expect((rotated["actions"] as? [String])?.first == "oriented(6)")
        #expect(rotated["width"] as? Int == 1800 && rotated["height"] as? Int == 1200)
        #expect(rotated["error"] is NSNull)
        let rotatedPath = try #require(rotated["output"] as? String)
        let rotatedBytes = try Data(contentsOf: URL(fileURLWithPath: rotatedPath))
        #expect(rotated["bytes"] as? Int == rotatedBytes.count)
        let b64 = try String(contentsOfFile: rotatedPath + ".b64", encoding: .utf8)
        #expect(!b64.hasPrefix("data:"))
        #expect(Data(base64Encoded: b64) == rotatedBytes)

        let tiny = try #require(byInput[Self.corpus("png-suite/cdfn2c08.png")])
        #expect(tiny["width"] as? Int == 300 && tiny["height"] as? Int == 738)

        let copied = try #require(byInput[Self.corpus("jpeg/jpegdec_progressive3.jpg")])
        let copiedPath = try #require(copied["output"] as? String)
        if (copied["actions"] as? [String])?.isEmpty == true {
            #expect(try Data(contentsOf: URL(fileURLWithPath: copiedPath)) == Data(contentsOf: URL(fileURLWithPath: Self.corpus("jpeg/jpegdec_progressive3.jpg"))))
        }

        let broken = try #require(byInput[undecodable.path])
        #expect(broken["output"] is NSNull)
        let error = try #require(broken["error"] as? [String: Any])
        #expect(error["rule"] as? String == "corrupt")
        #expect(!(error["message"] as? String ?? "").isEmpty)
        let written = try FileManager.default.contentsOfDirectory(atPath: out)
        #expect(!written.contains { $0.hasPrefix("broken") }, "an output was written for the undecodable input: \(written)")
        #expect(!written.contains { $0.hasPrefix(".") }, "temporary files left behind: \(written)")
        #expect(written.count == 2 * (args.count - 1))

        // Every output passes `klingkit check`.
        let outputs = objects.compactMap { $0["output"] as? String }
        let check = try await CLIRunner.run(["check"] + outputs)
        #expect(check.exitCode == 0, "\(check.stdout)\(check.stderr)")
    }

    @Test("all inputs fixed: exit 0, text output names each action; clashing names get a suffix")
    func textAndNames() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let a = dir.appendingPathComponent("a"), b = dir.appendingPathComponent("b")
        try FileManager.default.createDirectory(at: a, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: b, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: Self.corpus("png-suite/cdhn2c08.png"), toPath: a.appendingPathComponent("x.png").path)
        try FileManager.default.copyItem(atPath: Self.corpus("png-suite/cdfn2c08.png"), toPath: b.appendingPathComponent("x.png").path)
        let out = dir.appendingPathComponent("out").path
        let result = try await CLIRunner.run(["prepare", a.path, b.path, "--out", out, "--crop", "--format", "png"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first?.contains("cropped 32x8->20x8") == true)
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out)) == ["x.png", "x-2.png"])
    }

    @Test("the input is never overwritten, even when --out is its own directory")
    func noOverwrite() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("photo.jpg")
        try FileManager.default.copyItem(atPath: Self.corpus("exif-orientation/Landscape_3.jpg"), toPath: input.path)
        let before = try Data(contentsOf: input)
        let result = try await CLIRunner.run(["prepare", input.path, "--out", dir.path])
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("overwrite"))
        #expect(try Data(contentsOf: input) == before)
    }

    @Test("a directory with no images is a usage error")
    func emptyDirectory() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let result = try await CLIRunner.run(["prepare", dir.path, "--out", dir.appendingPathComponent("out").path])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("no JPEG or PNG files"))
    }

    @Test("usage errors exit 2", arguments: [
        ["prepare", "--out", "/tmp/x"],
        ["prepare", "Package.swift"],
        ["prepare", "Package.swift", "--out", "/tmp/x", "--format", "gif"],
        ["prepare", "Package.swift", "--out", "/tmp/x", "--pad", "--crop"],
        ["prepare", "Package.swift", "--out", "/tmp/x", "--quality", "0"],
        ["prepare", "Package.swift", "--out", "/tmp/x", "--background", "nope"],
        ["prepare", "Package.swift", "--out", "/tmp/x", "--icc", "p3"],
        ["prepare", "Package.swift", "--out", "/tmp/x", "--min-side", "100"],
        ["prepare", "Package.swift", "--out", "/tmp/x", "--max-bytes", "20000000"],
        ["prepare", "Package.swift", "--out", "/tmp/x", "--filter", "nearest"],
        ["prepare", "Package.swift", "--out", "/tmp/x", "--pad-style", "mirror"],
    ])
    func usage(arguments: [String]) async throws {
        let result = try await CLIRunner.run(arguments)
        #expect(result.exitCode == 2, "\(arguments): \(result.stderr)")
    }
}
