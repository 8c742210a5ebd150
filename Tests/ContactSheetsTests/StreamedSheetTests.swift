import Foundation
import ImageCodecs
import ImageCore
import Testing
@testable import ContactSheets

/// ``ContactSheet/write(_:options:to:)`` streams bands through the codecs' streaming writers: its files must
/// decode to exactly what ``ContactSheet/render(_:options:)`` makes in memory.
@Suite("Sheets streamed to a file")
struct StreamedSheetTests {
    func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "klingkit-sheet-stream-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    func contents(_ path: String) throws -> [UInt8] {
        [UInt8](try #require(FileManager.default.contents(atPath: path), "missing \(path)"))
    }

    /// Eleven tiles on four columns (three bands, the last one short): corpus JPEGs and PNGs with alpha,
    /// in-memory images, a damaged input, a title and two-line prompts.
    func items() throws -> [SheetItem] {
        let files = ["jpeg/pillow_hopper.jpg", "jpeg/moz_jpg-gray.jpg", "png-suite/basn6a08.png",
                     "png/pillow_test-card.png", "jpeg/ljt_testorig.jpg"]
        var items = files.enumerated().map { index, name in
            SheetItem(source: .file(corpus + "/" + name), caption: "task-\(index)",
                      subcaption: "a prompt long enough to wrap onto a second caption line here")
        }
        items.append(SheetItem(source: .bytes(Array("not an image".utf8), name: "broken.png"), caption: "broken"))
        for shade in 0..<5 {
            let colour = Color(red: UInt8(40 * shade), green: 120, blue: UInt8(200 - 30 * shade))
            items.append(SheetItem(source: .image(try solid(30 + 20 * shade, 60, colour), name: "solid \(shade)")))
        }
        return items
    }

    @Test("a PNG sheet file (parallel deflate) decodes to the in-memory render's pixels and carries the sheet marker, light and transparent backgrounds")
    func pngSameBytes() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let items = try items()
        var options = SheetOptions(columns: 4, tile: 72, gap: 6, margin: 10, captions: .task, title: "streamed")
        for background in [Color(red: 244, green: 244, blue: 242), Color(red: 0, green: 0, blue: 0, alpha: 0)] {
            options.theme = SheetTheme.matching(background: background)
            let path = dir + "/sheet.png"
            let result = try ContactSheet.write(items, options: options, to: path)
            let rendered = try ContactSheet.render(items, options: options)
            let file = try contents(path)
            #expect(try ImageCodec.decode(file).image == (try ImageCodec.decode(rendered.encoded.bytes).image))
            #expect(ContactSheet.isSheet(Array(file.prefix(4096))))
            #expect(!ContactSheet.isSheet(rendered.encoded.bytes))
            #expect(result.byteCount == file.count)
            #expect(result.width == rendered.width && result.height == rendered.height)
            #expect(result.layout.rows == 3)
            #expect(result.failureList == rendered.failureList)
            #expect(result.failures.map(\.name) == ["broken.png"])
            // Decoded, it is exactly the composed canvas.
            let composed = try ContactSheet.compose(items, options: options).image
            #expect(try ImageCodec.decode(file).image == composed)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["sheet.png"])
        }
    }

    @Test("a JPEG sheet file decodes to the same pixels as the in-memory render and carries the marker as a COM segment")
    func jpegSamePixels() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let items = try items()
        var options = SheetOptions(columns: 4, tile: 64, gap: 4, margin: 8, captions: .name)
        options.format = .jpeg
        options.jpegQuality = 80
        let path = dir + "/sheet.jpg"
        let result = try ContactSheet.write(items, options: options, to: path)
        let file = try contents(path)
        let header = try ImageCodec.probe(file)
        #expect(header.format == .jpeg && header.width == result.width && header.height == result.height)
        #expect(header.comment == "KlingKit contact-sheet/1")
        #expect(ContactSheet.isSheet(Array(file.prefix(4096))))
        let rendered = try ContactSheet.render(items, options: options)
        #expect(!ContactSheet.isSheet(rendered.encoded.bytes))
        #expect(try ImageCodec.probe(rendered.encoded.bytes).comment == nil)
        // Standard Huffman tables in the file, optimised ones in memory: other bytes, the same pixels.
        #expect(try ImageCodec.decode(file).image == (try ImageCodec.decode(rendered.encoded.bytes).image))
    }

    @Test("refused options and unwritable paths leave no file, and an old file survives them")
    func failuresLeaveNothing() throws {
        let dir = try scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/sheet.jpg"
        try Data("old".utf8).write(to: URL(fileURLWithPath: path))
        let items = try items()
        var transparent = SheetOptions(tile: 32)
        transparent.theme = SheetTheme.matching(background: Color(red: 0, green: 0, blue: 0, alpha: 0))
        transparent.format = .jpeg
        let refused = #expect(throws: SheetError.self) { try ContactSheet.write(items, options: transparent, to: path) }
        #expect(refused?.code == .invalidOption)
        #expect(throws: SheetError.self) { try ContactSheet.write([], options: SheetOptions(), to: path) }
        let missing = #expect(throws: SheetError.self) {
            try ContactSheet.write(items, options: SheetOptions(tile: 32), to: dir + "/gone/sheet.png")
        }
        #expect(missing?.code == .output && missing?.message.contains(dir + "/gone/sheet.png") == true)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["sheet.jpg"])
        #expect(try contents(path) == Array("old".utf8))

        // A successful write replaces it whole.
        var jpeg = SheetOptions(tile: 32)
        jpeg.format = .jpeg
        try ContactSheet.write(items, options: jpeg, to: path)
        #expect(ImageCodec.sniff(try contents(path)) == .jpeg)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["sheet.jpg"])
    }
}
