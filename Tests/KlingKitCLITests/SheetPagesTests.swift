import Foundation
import ImageCodecs
import ImageCore
import KlingKitTestSupport
import Testing

/// `klingkit sheet` pages, references and its own older sheets, run as the built binary and checked on
/// the decoded pixels of what it wrote.
@Suite("sheet: pages, references, older sheets")
struct SheetPagesTests {
    static func colour(_ n: Int) -> Color { Color(red: UInt8((n * 53) % 256), green: UInt8((90 + n * 31) % 256), blue: UInt8((200 + n * 17) % 256)) }

    static func writeSolid(_ n: Int, to path: String) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let image = try Image(width: 48, height: 48, format: .rgb, fill: colour(n))
        try Data(ImageCodec.encode(image, as: .png).bytes).write(to: URL(fileURLWithPath: path))
    }

    static func decode(_ path: String) throws -> Image {
        try ImageCodec.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: path)))).image
    }

    static func centre(_ image: Image, column: Int, rowTop: Int, tile: Int = 64, gap: Int = 8, margin: Int = 16) -> [UInt8] {
        let x = margin + column * (tile + gap) + tile / 2, y = rowTop + tile / 2
        let o = (y * image.width + x) * image.format.channels
        return Array(image.pixels[o..<(o + 3)])
    }

    static func rgb(_ c: Color) -> [UInt8] { [c.red, c.green, c.blue] }

    func run(_ args: [String]) async throws -> CLIResult { try await CLIRunner.run(args) }

    @Test("--per-page 4 over ten images writes sheet-001…003, each with its tiles in order")
    func pages() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for n in 1...10 { try Self.writeSolid(n, to: dir.path + "/in/\(n).png") }
        try FileManager.default.createDirectory(atPath: dir.path + "/out", withIntermediateDirectories: true)
        let r = try await run(["sheet", dir.path + "/in", "--out", dir.path + "/out/sheet.png", "--per-page", "4",
                               "--tile", "64", "--columns", "2", "--captions", "none"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").count == 3)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path + "/out").sorted() == ["sheet-001.png", "sheet-002.png", "sheet-003.png"])
        for page in 1...3 {
            let image = try Self.decode(dir.path + "/out/sheet-00\(page).png")
            let count = page == 3 ? 2 : 4
            #expect(image.width == 16 * 2 + 2 * 64 + 8)
            #expect(image.height == 16 * 2 + (count + 1) / 2 * 64 + ((count + 1) / 2 - 1) * 8)
            for slot in 0..<count {
                let n = (page - 1) * 4 + slot + 1
                #expect(Self.centre(image, column: slot % 2, rowTop: 16 + slot / 2 * 72) == Self.rgb(Self.colour(n)), "page \(page) tile \(slot)")
            }
        }
    }

    @Test("--with-references puts each task's reference first in its row, tasks a group gap apart")
    func references() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let reference = dir.path + "/refs/ref.png"
        try Self.writeSolid(20, to: reference)
        for i in 0..<3 { try Self.writeSolid(i, to: dir.path + "/res/T1/\(i).png") }
        try Data(#"{"prompt":"one","image":"\#(reference)","image_reference":"subject"}"#.utf8)
            .write(to: URL(fileURLWithPath: dir.path + "/res/T1/request.json"))
        try Data(#"{"task_id":"T1","prompt":"one","files":["0.png","1.png","2.png"]}"#.utf8)
            .write(to: URL(fileURLWithPath: dir.path + "/res/T1/task.json"))
        for i in 0..<2 { try Self.writeSolid(10 + i, to: dir.path + "/res/T2/\(i).png") }
        let out = dir.path + "/s.png"
        let r = try await run(["sheet", dir.path + "/res", "--out", out, "--with-references", "--tile", "64",
                               "--columns", "4", "--captions", "none", "--group-gap", "24"])
        #expect(r.exitCode == 0, "\(r.stderr)")
        #expect(r.stdout.contains("6 tiles in 4x2"), "\(r.stdout)")
        let image = try Self.decode(out)
        #expect(image.width == 32 + 4 * 64 + 3 * 8 && image.height == 32 + 64 + 8 + 24 + 64)
        let rowTwo = 16 + 64 + 8 + 24
        #expect(Self.centre(image, column: 0, rowTop: 16) == Self.rgb(Self.colour(20)), "the reference first")
        for i in 0..<3 { #expect(Self.centre(image, column: i + 1, rowTop: 16) == Self.rgb(Self.colour(i))) }
        for i in 0..<2 { #expect(Self.centre(image, column: i, rowTop: rowTwo) == Self.rgb(Self.colour(10 + i))) }
        // The gap above the second task is background, and the empty cells after it too.
        let background = [UInt8](arrayLiteral: 0xF4, 0xF4, 0xF2)
        let gapRow = 16 + 64 + 8 + 12
        let o = (gapRow * image.width + 48) * 3
        #expect(Array(image.pixels[o..<(o + 3)]) == background)
        #expect(Self.centre(image, column: 3, rowTop: rowTwo) == background)
    }

    @Test("a PNG or JPEG sheet made into its input folder is not an input of the next one, whatever its name")
    func olderSheets() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        for n in 1...5 { try Self.writeSolid(n, to: dir.path + "/in/\(n).png") }
        let first = try await run(["sheet", dir.path + "/in", "--out", dir.path + "/in/sheet.png", "--tile", "32"])
        #expect(first.exitCode == 0 && first.stdout.contains("5 tiles"), "\(first.stdout)\(first.stderr)")
        try FileManager.default.copyItem(atPath: dir.path + "/in/sheet.png", toPath: dir.path + "/in/6.png")
        let second = try await run(["sheet", dir.path + "/in", "--out", dir.path + "/in/other.png", "--tile", "32"])
        #expect(second.exitCode == 0 && second.stdout.contains("5 tiles"), "\(second.stdout)\(second.stderr)")
        let head = [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.path + "/in/other.png")).prefix(4096))
        #expect(ImageCodec.pngHasText(head, keyword: "KlingKit", textPrefix: "contact-sheet/"))
        // An ordinary PNG of the folder is still an input.
        try Self.writeSolid(7, to: dir.path + "/in/7.png")
        let third = try await run(["sheet", dir.path + "/in", "--out", dir.path + "/in/other.png", "--tile", "32"])
        #expect(third.stdout.contains("6 tiles"), "\(third.stdout)")
        // A JPEG sheet carries the marker in a COM segment, and is left out the same way, renamed too.
        let jpeg = try await run(["sheet", dir.path + "/in", "--out", dir.path + "/in/sheet.jpg", "--tile", "32"])
        #expect(jpeg.exitCode == 0 && jpeg.stdout.contains("6 tiles"), "\(jpeg.stdout)\(jpeg.stderr)")
        try FileManager.default.copyItem(atPath: dir.path + "/in/sheet.jpg", toPath: dir.path + "/in/8.jpg")
        let header = try ImageCodec.probe([UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.path + "/in/8.jpg"))))
        #expect(header.comment == "KlingKit contact-sheet/1")
        // An ordinary JPEG (no marker) is an input.
        try FileManager.default.copyItem(atPath: CLIRunner.corpus.path + "/jpeg/pillow_flower.jpg", toPath: dir.path + "/in/9.jpg")
        let fourth = try await run(["sheet", dir.path + "/in", "--out", dir.path + "/in/other.jpg", "--tile", "32"])
        #expect(fourth.exitCode == 0 && fourth.stdout.contains("7 tiles"), "\(fourth.stdout)\(fourth.stderr)")
    }

    @Test("gallery: a missing input or a bad option is one line and no page")
    func galleryRefusals() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let missing = try await run(["gallery", dir.path + "/nothing", "--out", dir.path + "/g"])
        #expect(missing.exitCode == 1)
        #expect(missing.stderr == "klingkit: \(dir.path)/nothing: no such file or directory\n")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/g/index.html"))
        let bad = try await run(["gallery", dir.path, "--out", dir.path + "/g", "--thumbnail-size", "9"])
        #expect(bad.exitCode == 2 && bad.stderr.contains("--thumbnail-size must be 64...1024"))
    }
}
