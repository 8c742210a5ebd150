import Foundation
import KlingEmulator
import KlingKitTestSupport
import Testing

/// Names and server messages are printed escaped: a newline in a file name does not split a line, and
/// an escape sequence (in a name or in `task_status_msg`) never reaches the terminal raw.
@Suite("Printed names and messages are escaped")
struct TerminalSafetyTests {
    static let hostileName = "new\nline \u{1B}[31mred\u{1B}[0m \u{202E}gpj.png"
    static let escapedName = #"new\nline \x1B[31mred\x1B[0m \u{202E}gpj.png"#

    static func hostileFolder() throws -> URL {
        let dir = try CLIRunner.temporaryDirectory()
        let sample = TestCorpus.packageRoot.appendingPathComponent("samples/portrait-valid.jpg")
        try FileManager.default.copyItem(at: sample, to: dir.appendingPathComponent(hostileName))
        return dir
    }

    static func rawControls(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.value == 0x1B || $0.value == 0x202E || $0 == "\r" }
    }

    @Test("check prints one line per file, its name escaped; --json keeps the name exact")
    func check() async throws {
        let dir = try Self.hostileFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let text = try await CLIRunner.run(["check", dir.path])
        #expect(text.exitCode == 0, "\(text.stderr)")
        let lines = text.stdout.split(separator: "\n", omittingEmptySubsequences: false).filter { !$0.isEmpty }
        #expect(lines.count == 1, "\(text.stdout)")
        #expect(lines.first?.hasPrefix(dir.path + "/" + Self.escapedName + ": valid") == true, "\(text.stdout)")
        #expect(!Self.rawControls(text.stdout + text.stderr))
        // JSON has its own escaping; the name decodes back to the file's real name.
        let json = try await CLIRunner.run(["check", "--json", dir.path])
        let object = try JSONDecoder().decode([String: JSONValue].self, from: Data(json.stdout.utf8))
        #expect(object["path"]?.stringValue == dir.path + "/" + Self.hostileName, "\(json.stdout)")
        #expect(!json.stdout.contains("\u{1B}"))
    }

    @Test("prepare's lines and a missing file's error line are escaped")
    func prepare() async throws {
        let dir = try Self.hostileFolder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("out").path
        let missing = dir.appendingPathComponent("gone\u{1B}]0;owned\u{07}.jpg").path
        let result = try await CLIRunner.run(["prepare", dir.appendingPathComponent(Self.hostileName).path, missing, "--out", out])
        #expect(result.exitCode == 1, "\(result.stderr)")
        #expect(result.stdout.contains(Self.escapedName), "\(result.stdout)")
        #expect(result.stderr.contains(#"gone\x1B]0;owned\x07.jpg"#), "\(result.stderr)")
        #expect(!Self.rawControls(result.stdout + result.stderr) && !result.stderr.contains("\u{07}"))
    }

    @Test("a server's task_status_msg with escape sequences is printed escaped")
    func serverMessage() async throws {
        let message = "boom\u{1B}[2J\u{1B}[H\r\nfake: all good"
        var config = EmulatorConfiguration(port: 0, taskSeconds: 0.2)
        config.faults = FaultConfiguration(taskFailureRate: 1, taskFailureMessage: message)
        try await withEmulator(config) { server in
            let dir = try CLIRunner.temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: dir) }
            let env = ["KLING_BASE_URL": server.baseURL, "KLING_ACCESS_KEY": server.configuration.accessKey,
                       "KLING_SECRET_KEY": server.configuration.secretKey, "KLINGKIT_JOURNAL": dir.appendingPathComponent("j").path]
            let r = try await CLIRunner.run(["generate", "--prompt", "x", "--out", dir.appendingPathComponent("o").path,
                                             "--poll-interval", "0.1"], environment: env, currentDirectory: dir)
            #expect(r.exitCode == 3, "\(r.stderr)")
            // One line for the reason (the client already folds line breaks), its controls made visible.
            let reason = r.stderr.split(separator: "\n").filter { $0.contains("boom") }
            #expect(reason.count == 1 && reason[0].contains(#"boom\x1B[2J\x1B[H\r"#) && reason[0].contains("fake: all good"), "\(r.stderr)")
            #expect(!Self.rawControls(r.stdout + r.stderr))
        }
    }
}
