import Foundation
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
