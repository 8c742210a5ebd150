import Foundation
import ImageCodecs
import ImageCore
import KlingKitTestSupport
import Testing

/// Issue #18's "small files that expand": a PNG that needs a pad, and a sheet tile of a large PNG, are
/// decoded row by row, so the binary's peak memory stays near its baseline instead of growing with the
/// input's pixel count. The 12000×3000 RGB input is 108 MB decoded and its padded 12000×4800 canvas
/// 173 MB, so a route that held either would peak far above the bounds asserted here.
@Suite("Large PNGs in bounded memory", .serialized)
struct LargePNGMemoryTests {
    /// A 12000×3000 RGB PNG of gradients (about 100 KB), written row by row.
    static func widePNG(at url: URL) throws {
        let width = 12000, height = 3000
        let writer = try PNGStreamWriter(path: url.path, width: width, height: height, format: .rgb)
        var row = [UInt8](repeating: 0, count: width * 3)
        for y in 0..<height {
            if y % 250 == 0 {
                for x in 0..<width {
                    row[3 * x] = UInt8(x % 256); row[3 * x + 1] = UInt8((x / 47 + y / 250) % 256); row[3 * x + 2] = UInt8(y / 12)
                }
            }
            try row.withUnsafeBytes { try writer.write(rows: $0) }
        }
        _ = try writer.finish()
    }

    @Test("prepare pads a 12000x3000 PNG in under 96 MiB; sheet makes its tile in under 120 MiB (figures printed)")
    func boundedPeaks() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let input = dir.appendingPathComponent("wide.png")
        try Self.widePNG(at: input)
        let out = dir.appendingPathComponent("prepared")

        let (prepared, preparePeak) = try await CLIRunner.measured(["prepare", "--out", out.path, input.path])
        #expect(prepared.exitCode == 0, "\(prepared.stderrText)")
        let written = try [UInt8](Data(contentsOf: out.appendingPathComponent("wide.png")))
        let header = try ImageCodec.probe(written)
        #expect(header.width == 12000 && header.height == 4800)
        #expect(try ImageCodec.verify(written).width == 12000)
        #expect(preparePeak > 0 && preparePeak < 96 * 1024, "prepare peaked at \(preparePeak) KiB")

        let sheet = dir.appendingPathComponent("sheet.png")
        let (sheeted, sheetPeak) = try await CLIRunner.measured(["sheet", input.path, "--out", sheet.path])
        #expect(sheeted.exitCode == 0, "\(sheeted.stderrText)")
        #expect(FileManager.default.fileExists(atPath: sheet.path))
        #expect(sheetPeak > 0 && sheetPeak < 120 * 1024, "sheet peaked at \(sheetPeak) KiB")
        print("LargePNGMemoryTests: prepare peak \(preparePeak / 1024) MiB, sheet peak \(sheetPeak / 1024) MiB")
    }
}
