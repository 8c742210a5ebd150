import Foundation
import KlingKitTestSupport
import Testing

/// What a new user ran into in the first hour (issue #17's "Found" list), run as the built binary.
@Suite("first-hour failures explain themselves")
struct FirstHourTests {
    static let samples = TestCorpus.packageRoot.appendingPathComponent("samples")
    static let credentials = ["KLING_ACCESS_KEY": "ak-test", "KLING_SECRET_KEY": "sk-test", "KLING_BASE_URL": "",
                              "KLINGKIT_JOURNAL": FileManager.default.temporaryDirectory
                                  .appendingPathComponent("klingkit-first-hour-journal-\(UUID().uuidString)").path]

    @Test("a missing input is that item's failure (exit 1); the other files are still checked")
    func missingInputIsOneItem() async throws {
        let valid = Self.samples.appendingPathComponent("portrait-valid.jpg").path
        let result = try await CLIRunner.run(["check", valid, "/nonexistent/klingkit.png"])
        #expect(result.exitCode == 1, "\(result.stderr)")
        let lines = result.stdout.split(separator: "\n").map(String.init)
        try #require(lines.count == 2, "\(result.stdout)")
        #expect(lines[0].hasPrefix(valid + ": valid"))
        #expect(lines[1].hasPrefix("/nonexistent/klingkit.png: invalid") && lines[1].contains("unreadable:"), "\(lines[1])")

        let json = try await CLIRunner.run(["check", "--json", "/nonexistent/klingkit.png"])
        #expect(json.exitCode == 1)
        #expect(json.stdout.contains("\"rule\": \"unreadable\""), "\(json.stdout)")
    }

    @Test("prepare: a missing input fails alone, the others are prepared")
    func prepareMissingInput() async throws {
        let out = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try await CLIRunner.run(["prepare", "/nonexistent/a.jpg",
                                        Self.samples.appendingPathComponent("avatar-tiny.png").path, "--out", out.path])
        #expect(result.exitCode == 1, "\(result.stderr)")
        #expect(result.stderr.contains("/nonexistent/a.jpg"))
        #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("avatar-tiny.png").path))
    }

    @Test("check --json gives the EXIF orientation")
    func jsonOrientation() async throws {
        let result = try await CLIRunner.run(["check", "--json", Self.samples.appendingPathComponent("phone-photo-exif6.jpg").path])
        #expect(result.exitCode == 0)
        #expect(result.stdout.contains("\"orientation\": 6"), "\(result.stdout)")
    }

    @Test("a mistyped command gets a did-you-mean, exit 2", arguments: [("chek", "check"), ("prepar", "prepare"), ("genrate", "generate")])
    func didYouMean(typo: String, meant: String) async throws {
        let result = try await CLIRunner.run([typo, "x"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("unknown command '\(typo)'. Did you mean '\(meant)'?"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1)
    }

    @Test("an unknown command far from any lists the commands")
    func unknownCommand() async throws {
        let result = try await CLIRunner.run(["frobnicate"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("the commands are: check, prepare"), "\(result.stderr)")
    }

    @Test("generate against a closed port fails at once with one line naming the URL, not retried")
    func refusedConnection() async throws {
        let port = try ChildProcess.freeLoopbackPort()   // nothing listens there now
        let url = "http://127.0.0.1:\(port)"
        let result = try await CLIRunner.run(["generate", "--prompt", "a lighthouse", "--base-url", url],
                                       environment: Self.credentials, timeout: 60)
        #expect(result.exitCode == 1, "\(result.stderr)")
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("cannot reach \(url): connection refused"), "\(result.stderr)")
        #expect(result.stderr.contains("klingkit emulator") && result.stderr.contains("KLING_BASE_URL"))
        #expect(!result.stderr.contains("gave up after") && !result.stderr.contains("errno"), "\(result.stderr)")
    }

    @Test("generate against an unknown host names the host, not retried")
    func unknownHost() async throws {
        let result = try await CLIRunner.run(["generate", "--prompt", "x", "--base-url", "http://klingkit-no-such-host.invalid"],
                                       environment: Self.credentials, timeout: 60)
        #expect(result.exitCode == 1, "\(result.stderr)")
        #expect(result.stderr.contains("unknown host 'klingkit-no-such-host.invalid'"), "\(result.stderr)")
    }

    @Test("--timeout bounds a call to a server that never answers: one attempt, the deadline named")
    func silentServer() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let result = try await CLIRunner.run(["generate", "--prompt", "x", "--base-url", "http://127.0.0.1:\(listener.port)",
                                        "--timeout", "1"], environment: Self.credentials, timeout: 60)
        #expect(result.exitCode == 1, "\(result.stderr)")
        #expect(result.stderr.contains("got no answer within 1.0 seconds"), "\(result.stderr)")
        #expect(result.stderr.contains("retry deadline of 1.0 seconds reached after 1 attempt)"), "\(result.stderr)")
    }

    @Test("emulator --port on a busy port says so in words")
    func busyPort() async throws {
        let listener = try SilentListener()
        defer { listener.close() }
        let result = try await CLIRunner.run(["emulator", "--port", String(listener.port)], timeout: 60)
        #expect(result.exitCode == 1, "\(result.stderr)")
        #expect(result.stderr.contains("cannot listen on 127.0.0.1:\(listener.port): the port is in use"), "\(result.stderr)")
        #expect(!result.stderr.contains("errno"), "\(result.stderr)")
    }
}

/// A loopback socket that listens but never accepts: connections complete in the kernel's backlog
/// and then hear nothing, like a server that hangs.
private struct SilentListener {
    let fd: Int32
    let port: Int

    init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        self.fd = fd
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(fd) }
}
