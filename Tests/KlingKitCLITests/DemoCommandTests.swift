import Foundation
import Testing

/// `klingkit demo`, run as the built binary from the package root: the newcomer's first command.
@Suite("klingkit demo")
struct DemoCommandTests {
    @Test("runs the whole job with no key and no network, ending with a contact sheet of the results")
    func wholeJob() async throws {
        let out = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try await CLIRunner.run(["demo", "--out", out.path, "--task-seconds", "1"], timeout: 300)
        #expect(result.exitCode == 0, "\(result.stderr)")

        // Every sample was checked and the corrupt one refused, not "fixed".
        #expect(result.stdout.contains("corrupt-truncated.jpg: refused, corrupt"))
        #expect(result.stdout.contains("phone-photo-exif6.jpg -> phone-photo-exif6.jpg 1200x1800: oriented(6)"))
        #expect(result.stdout.contains("portrait-valid.jpg -> portrait-valid.jpg 900x1200: already valid, copied unchanged"))

        // The valid portrait went through byte for byte.
        let original = try Data(contentsOf: URL(fileURLWithPath: "samples/portrait-valid.jpg"))
        let copied = try Data(contentsOf: out.appendingPathComponent("prepared/portrait-valid.jpg"))
        #expect(original == copied)

        // Three results (n=2 image-to-image, n=1 multi-image) downloaded into task folders.
        let results = out.appendingPathComponent("results")
        let taskFolders = try FileManager.default.contentsOfDirectory(atPath: results.path).filter { !$0.hasPrefix(".") }
        #expect(taskFolders.count == 2)
        let images = try taskFolders.flatMap { folder in
            try FileManager.default.contentsOfDirectory(atPath: results.appendingPathComponent(folder).path)
                .filter { $0.hasSuffix(".png") || $0.hasSuffix(".jpg") }
        }
        #expect(images.count == 3)

        // The last lines name what was written, the sheet among them; it is a real PNG.
        let sheetLine = try #require(result.stdout.split(separator: "\n").last { $0.contains("sheet") })
        let sheetPath = sheetLine.trimmingCharacters(in: .whitespaces)
        let sheet = try Data(contentsOf: URL(fileURLWithPath: sheetPath))
        #expect(sheet.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        #expect(sheet.count > 10_000)
    }

    @Test("an unknown provider is a usage error (exit 2) and nothing is written")
    func badProvider() async throws {
        let out = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try await CLIRunner.run(["demo", "--out", out.appendingPathComponent("x").path, "--provider", "openai"])
        #expect(result.exitCode == 2)
        #expect(result.stderr.contains("--provider"))
        #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("x").path))
    }
}
