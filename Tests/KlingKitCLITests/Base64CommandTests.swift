import Foundation
import Testing

/// `klingkit base64` through the built binary: exact output, exit codes, atomic files.
@Suite("klingkit base64")
struct Base64CommandTests {
    /// Seeded bytes so a failure reproduces.
    static func bytes(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }

    static func write(_ bytes: [UInt8], _ url: URL) throws { try Data(bytes).write(to: url) }

    @Test("encodes a file to exactly its base64 text on a pipe: no prefix, no line break, no newline")
    func encodeStdout() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = Self.bytes(100_001, seed: 1)
        let file = dir.appendingPathComponent("in.bin")
        try Self.write(input, file)
        let result = try await CLIRunner.run(["base64", file.path])
        #expect(result.exitCode == 0)
        #expect(result.stdout == Data(input).base64EncodedString())
        #expect(result.stderr.isEmpty)
    }

    @Test("-o /dev/null writes into the device: it stays a character device (never renamed over)")
    func outputToDevice() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("in.bin")
        try Self.write(Self.bytes(1000, seed: 3), file)
        let result = try await CLIRunner.run(["base64", file.path, "-o", "/dev/null"])
        #expect(result.exitCode == 0, "\(result.stderr)")
        var info = stat()
        #expect(stat("/dev/null", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
    }

    @Test("every kernel gives the same bytes (KLINGKIT_BASE64_KERNEL)", arguments: ["scalar", "ssse3", "avx2", "avx512vbmi"])
    func kernels(kernel: String) async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = Self.bytes(70_000, seed: 2)
        let file = dir.appendingPathComponent("in.bin")
        try Self.write(input, file)
        let result = try await CLIRunner.run(["base64", file.path], environment: ["KLINGKIT_BASE64_KERNEL": kernel])
        #expect(result.exitCode == 0)
        #expect(result.stdout == Data(input).base64EncodedString())
    }

    @Test("-o writes atomically, --decode restores the bytes, - reads standard input")
    func roundTripFiles() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = Self.bytes(3_000_000, seed: 3)
        let file = dir.appendingPathComponent("in.bin")
        let text = dir.appendingPathComponent("in.b64")
        let back = dir.appendingPathComponent("back.bin")
        try Self.write(input, file)
        #expect(try await CLIRunner.run(["base64", file.path, "-o", text.path]).exitCode == 0)
        #expect(try Data(contentsOf: text) == Data(input).base64EncodedData())
        let decoded = try await CLIRunner.run(["base64", "--decode", text.path, "-o", back.path])
        #expect(decoded.exitCode == 0 && decoded.stdout.isEmpty)
        #expect(try Array(Data(contentsOf: back)) == input)
        let piped = try await CLIRunner.run(["base64", "-"], stdin: Data(input.prefix(1000)))
        #expect(piped.stdout == Data(input.prefix(1000)).base64EncodedString())
        let decodedPipe = try await CLIRunner.run(["base64", "-d", "-"], stdin: Data("Zm9vYmFy".utf8))
        #expect(decodedPipe.exitCode == 0 && decodedPipe.stdout == "foobar")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        #expect(names == ["back.bin", "in.b64", "in.bin"])
    }

    @Test("a corpus image survives the round trip")
    func corpusImage() async throws {
        let image = CLIRunner.corpus.appendingPathComponent("png-suite/PngSuite.png")
        guard FileManager.default.fileExists(atPath: image.path) else {
            Issue.record("corpus image missing at \(image.path)")
            return
        }
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let encoded = try await CLIRunner.run(["base64", image.path])
        #expect(encoded.stdout == (try Data(contentsOf: image)).base64EncodedString())
        let text = dir.appendingPathComponent("img.b64")
        try Data(encoded.stdout.utf8).write(to: text)
        let out = dir.appendingPathComponent("img.png")
        #expect(try await CLIRunner.run(["base64", "-d", text.path, "-o", out.path]).exitCode == 0)
        #expect(try Data(contentsOf: out) == Data(contentsOf: image))
    }

    @Test("invalid input exits 1 naming the offset and leaves no output file")
    func invalidInput() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let cases: [(String, String)] = [
            ("Zm9vYmFy!", "invalid base64 character 0x21 ('!') at offset 8"),
            ("Zm9v\nYmFy", "invalid base64 character 0x0A (line feed) at offset 4"),
            ("Zm9vYmF", "starting at offset 4"),
            ("Zg==Zg==", "after the padding at offset 4"),
            ("Zh==", "non-canonical base64 at offset 1"),
        ]
        for (index, (text, message)) in cases.enumerated() {
            let file = dir.appendingPathComponent("bad\(index).b64")
            try Data(text.utf8).write(to: file)
            let out = dir.appendingPathComponent("out\(index).bin")
            let result = try await CLIRunner.run(["base64", "--decode", file.path, "-o", out.path])
            #expect(result.exitCode == 1, "\(text)")
            #expect(result.stderr.contains(message), "\(result.stderr)")
            #expect(result.stderr.contains(file.path))
            #expect(!FileManager.default.fileExists(atPath: out.path))
        }
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasPrefix(".") }
        #expect(leftovers.isEmpty)
    }

    @Test("options: URL-safe, no padding, whitespace skipping, data: URL prefix")
    func options() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("in.bin")
        try Self.write([0xFB, 0xFF, 0xBF, 0xFB], file)
        #expect(try await CLIRunner.run(["base64", file.path]).stdout == "+/+/+w==")
        #expect(try await CLIRunner.run(["base64", "--url-safe", "--no-padding", file.path]).stdout == "-_-_-w")
        let wrapped = dir.appendingPathComponent("wrapped.b64")
        try Data("Zm9v\r\nYmFy\n".utf8).write(to: wrapped)
        #expect(try await CLIRunner.run(["base64", "-d", "--ignore-whitespace", wrapped.path]).stdout == "foobar")
        let pasted = dir.appendingPathComponent("pasted.txt")
        try Data("data:image/png;base64,Zm9vYmFy".utf8).write(to: pasted)
        let stripped = try await CLIRunner.run(["base64", "-d", "--data-url", pasted.path])
        #expect(stripped.exitCode == 0 && stripped.stdout == "foobar" && stripped.stderr.contains("image/png"))
        let refused = try await CLIRunner.run(["base64", "-d", pasted.path])
        #expect(refused.exitCode == 1 && refused.stderr.contains("offset 4"))
    }

    @Test("a trailing newline is added only when standard output is a terminal")
    func terminalNewline() async throws {
        let script = "/usr/bin/script"  // util-linux: runs the command on a pseudo-terminal
        guard FileManager.default.isExecutableFile(atPath: script) else { return }
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("in.txt")
        try Data("foobar".utf8).write(to: file)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: script)
        process.arguments = ["-qec", "'\(CLIRunner.binary.path)' base64 '\(file.path)'", "/dev/null"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        // The terminal driver turns the newline into CR LF.
        #expect(String(decoding: output, as: UTF8.self).hasSuffix("Zm9vYmFy\r\n"))
        // Through a pipe, the same command prints no newline at all.
        #expect(try await CLIRunner.run(["base64", file.path]).stdout == "Zm9vYmFy")
    }

    @Test("usage and I/O errors")
    func errors() async throws {
        let missing = try await CLIRunner.run(["base64", "/nonexistent/file.bin"])
        #expect(missing.exitCode == 1 && missing.stderr.contains("/nonexistent/file.bin"))
        #expect(try await CLIRunner.run(["base64"]).exitCode == 2)
        #expect(try await CLIRunner.run(["base64", "--ignore-whitespace", "x"]).exitCode == 2)
    }
}
