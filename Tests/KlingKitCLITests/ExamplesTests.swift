import Foundation
import KlingEmulator
import KlingKitTestSupport
import Testing

/// The programs under `examples/`, run as the built binaries a reader gets from `swift run NAME`.
@Suite("examples/")
struct ExamplesTests {
    static let samples = TestCorpus.packageRoot.appendingPathComponent("samples")

    @Test("ValidateUpload prints one line per file, every violation, and exits 1 when one is invalid")
    func validateUpload() async throws {
        let valid = Self.samples.appendingPathComponent("portrait-valid.jpg").path
        let tiny = Self.samples.appendingPathComponent("avatar-tiny.png").path
        let r = try await CLIRunner.run([valid, tiny, "/nonexistent/upload.jpg"], executable: "ValidateUpload")
        let lines = r.stdout.split(separator: "\n").map(String.init)
        #expect(r.exitCode == 1 && lines.count == 3, "\(r.stdout)\(r.stderr)")
        #expect(lines.first == "\(valid): valid (jpeg, 900x1200)")
        #expect(lines.dropFirst().first?.hasPrefix("\(tiny): invalid: min-dimension: width 160 px") == true)
        #expect(lines.last?.hasPrefix("/nonexistent/upload.jpg: invalid: unreadable") == true, "\(lines)")
        let ok = try await CLIRunner.run([valid], executable: "ValidateUpload")
        #expect(ok.exitCode == 0)
    }

    @Test("MakeSheet writes a sheet of a folder that klingkit check reads back")
    func makeSheet() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let out = dir.appendingPathComponent("sheet.png").path
        let r = try await CLIRunner.run([out, Self.samples.path], executable: "MakeSheet")
        #expect(r.exitCode == 0 && r.stdout.hasPrefix("\(out): ") && r.stdout.contains(" png, "), "\(r.stdout)\(r.stderr)")
        let checked = try await CLIRunner.run(["check", out])
        #expect(checked.stdout.contains("(png, "), "\(checked.stdout)")
        let bad = try await CLIRunner.run([dir.appendingPathComponent("s.png").path, "/nonexistent"], executable: "MakeSheet")
        #expect(bad.exitCode == 1 && bad.stderr.hasPrefix("MakeSheet: ") && !FileManager.default.fileExists(atPath: dir.appendingPathComponent("s.png").path),
                "\(bad.stderr)")
    }

    @Test("EmulatorRoundTrip submits to an in-process emulator and downloads two results")
    func emulatorRoundTrip() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try await CLIRunner.run([dir.path], executable: "EmulatorRoundTrip")
        let results = r.stdout.split(separator: "\n").filter { $0.hasPrefix("result ") }
        #expect(r.exitCode == 0 && r.stdout.contains("submitted ") && results.count == 2, "\(r.stdout)\(r.stderr)")
        for line in results {
            let path = String(line.split(separator: " ").last ?? "")
            let checked = try await CLIRunner.run(["check", path])
            #expect(checked.exitCode == 0 && checked.stdout.contains("valid (png, 1024x1024"), "\(checked.stdout)")
        }
    }

    @Test("PrepareAndSubmit pads a panorama, submits it to the service the environment names and downloads the result")
    func prepareAndSubmit() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let panorama = Self.samples.appendingPathComponent("panorama-wide.jpg").path
        try await withEmulator(EmulatorConfiguration(port: 0, taskSeconds: 0.3)) { server in
            let environment = ["KLING_ACCESS_KEY": server.configuration.accessKey, "KLING_SECRET_KEY": server.configuration.secretKey,
                               "KLING_BASE_URL": server.baseURL]
            let r = try await CLIRunner.run([panorama, dir.path], environment: environment, executable: "PrepareAndSubmit")
            #expect(r.exitCode == 0, "\(r.stdout)\(r.stderr)")
            #expect(r.stdout.contains("prepared \(panorama) -> \(dir.path)/prepared.jpeg 4200x1680: padded"), "\(r.stdout)")
            #expect(r.stdout.split(separator: "\n").contains { $0.hasPrefix("result 0: ") }, "\(r.stdout)")
            // Without credentials: one line naming what is missing, nothing submitted.
            let none = try await CLIRunner.run([panorama, dir.appendingPathComponent("none").path],
                                               environment: ["KLING_ACCESS_KEY": "", "KLING_SECRET_KEY": "", "KLING_BASE_URL": server.baseURL],
                                               executable: "PrepareAndSubmit")
            #expect(none.exitCode == 1 && none.stderr.hasPrefix("PrepareAndSubmit: ") && none.stderr.contains("KLING_ACCESS_KEY"), "\(none.stderr)")
            #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("none").path))
        }
    }
}
