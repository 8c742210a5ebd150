import Foundation
import KlingKitTestSupport
import Testing

/// `scripts/readme-check.py`, which CI runs over README.md, on READMEs written here: it must pass what
/// the binary really prints and fail on stale output, a wrong exit status or a flag that does not exist.
@Suite("scripts/readme-check.py")
struct ReadmeCheckTests {
    static func check(_ readme: String) async throws -> ChildResult {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("README.md")
        try readme.write(to: file, atomically: true, encoding: .utf8)
        let script = TestCorpus.packageRoot.appendingPathComponent("scripts/readme-check.py").path
        return try await ChildProcess.run("/usr/bin/env", ["python3", script, "--readme", file.path,
                                                          "--bin", CLIRunner.binary.deletingLastPathComponent().path],
                                          timeout: 300)
    }

    @Test("what the binary prints passes; ids, ports, folders and durations may differ")
    func passes() async throws {
        let r = try await Self.check("""
            ```
            $ klingkit base64 samples/portrait-valid.jpg | head -c 40
            /9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAQDAwMD
            $ klingkit check samples/avatar-tiny.png   # (exit 1)
            samples/avatar-tiny.png: invalid (png, 160x160, 56951 bytes): min-dimension: … px is below the minimum of 300 px
            $ klingkit check samples/portrait-valid.jpg samples/phone-photo-exif6.jpg
            …
            2 checked: 2 valid, 0 invalid
            ```
            """)
        #expect(r.exitCode == 0, "\(r.stdoutText)\(r.stderrText)")
        #expect(r.stdoutText.contains("readme-check: 3 of 3 commands as README shows"), "\(r.stdoutText)")
    }

    @Test("stale output, a wrong exit status and an unknown flag each fail, naming README's line")
    func fails() async throws {
        let r = try await Self.check("""
            Some prose.

            ```
            $ klingkit base64 samples/portrait-valid.jpg | head -c 40
            /9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAQDAwMX
            $ klingkit check samples/avatar-tiny.png
            $ klingkit check samples/portrait-valid.jpg --no-such-flag
            $ klingkit check samples/portrait-valid.jpg
            samples/portrait-valid.jpg: valid (jpeg, 900x1200, 255283 bytes)
            ```
            """)
        #expect(r.exitCode == 1, "\(r.stdoutText)\(r.stderrText)")
        let failures = r.stdoutText.split(separator: "\n").filter { $0.hasPrefix("FAIL ") }.map(String.init)
        #expect(failures.count == 4, "\(r.stdoutText)")
        #expect(failures.first?.hasPrefix("FAIL README.md:4: klingkit base64") == true, "\(failures)")
        #expect(r.stdoutText.contains("exit status 1, README says 0"), "\(r.stdoutText)")
        #expect(r.stdoutText.contains("exit status 2, README says 0"), "\(r.stdoutText)")
        #expect(r.stdoutText.contains("readme-check: 0 of 4 commands as README shows"), "\(r.stdoutText)")
    }
}
