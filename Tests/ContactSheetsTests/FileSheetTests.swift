import Foundation
import KlingKitTestSupport
import ImageCodecs
import ImageCore
import Testing
@testable import ContactSheets

/// The shared corpus, read from the package root as the project's tests always do.
let corpus = TestCorpus.root.path

@Suite("Sheets from real files")
struct FileSheetTests {
    func bytes(_ relative: String) throws -> [UInt8] {
        let data = try #require(FileManager.default.contents(atPath: corpus + "/" + relative), "missing corpus file \(relative)")
        return [UInt8](data)
    }

    @Test("a PNG sheet of corpus JPEGs decodes back to the layout's size with every tile drawn")
    func pngRoundTrip() throws {
        let names = ["jpeg/pillow_hopper.jpg", "jpeg/ljt_testorig.jpg", "jpeg/moz_jpg-gray.jpg",
                     "jpeg/moz_jpg-cmyk-1.jpg", "png/pillow_test-card.png", "png-suite/basn6a08.png"]
        let items = names.map { SheetItem.file(corpus + "/" + $0) }
        let options = SheetOptions(columns: 3, tile: 96, gap: 4, margin: 6, captions: .name, title: "corpus")
        let result = try ContactSheet.render(items, options: options)
        #expect(result.failures.isEmpty, "\(result.failures)")
        #expect(result.encoded.format == .png)
        let decoded = try ImageCodec.decode(result.encoded.bytes)
        #expect(decoded.image.width == result.layout.width && decoded.image.height == result.layout.height)
        #expect(decoded.image.format == .rgb)
        // The composed pixels and the PNG round trip agree exactly.
        let composed = try ContactSheet.compose(items, options: options).image
        #expect(decoded.image == composed)
        // Every tile has picture in its centre (none left as background).
        for index in items.indices {
            let tile = result.layout.tileRect(index)
            #expect(pixel(composed, tile.x + 48, tile.y + 48) != rgb(options.background), "tile \(index) is empty")
        }
    }

    @Test("JPEG inputs are oriented by EXIF before fitting")
    func orientation() throws {
        // Stored 1200x1800, orientation 6: the picture is 1800x1200 landscape, so it is letterboxed top and bottom.
        let item = SheetItem.file(corpus + "/exif-orientation/Landscape_6.jpg")
        let options = SheetOptions(columns: 1, tile: 150, gap: 0, margin: 0, captions: .none)
        let (sheet, _, failures) = try ContactSheet.compose([item], options: options)
        #expect(failures.isEmpty)
        let box = SheetLayout.fit(width: 1800, height: 1200, tile: 150)
        #expect(box == Rect(x: 0, y: 25, width: 150, height: 100))
        #expect(pixels(sheet, in: Rect(x: 0, y: 0, width: 150, height: 25)).allSatisfy { $0 == rgb(options.background) })
        #expect(pixels(sheet, in: Rect(x: 0, y: 125, width: 150, height: 25)).allSatisfy { $0 == rgb(options.background) })
        #expect(pixels(sheet, in: Rect(x: 0, y: 25, width: 150, height: 100)).contains { $0 != rgb(options.background) })
    }

    @Test("a shrink-on-load JPEG tile matches a full decode resampled the same way")
    func shrinkOnLoad() throws {
        let data = try bytes("jpeg/pillow_hopper.jpg")   // 128x128
        let scaled = try TileCodec.decodeFitted(data, tile: 32, upscale: true)
        #expect(scaled.width == 32 && scaled.height == 32)
        let full = try ImageCodec.decode(data).image.resized(to: Size(width: 32, height: 32))
        // DCT-domain scaling and Lanczos differ a little, not a lot: mean absolute difference below 6 levels.
        var total = 0
        for i in 0..<full.pixels.count { total += abs(Int(full.pixels[i]) - Int(scaled.pixels[i])) }
        #expect(Double(total) / Double(full.pixels.count) < 6)
    }

    @Test("truncated and hostile files become placeholders with the decoder's reason")
    func damaged() throws {
        let good = try bytes("jpeg/pillow_hopper.jpg")
        let truncated = Array(good.prefix(good.count / 2))
        let bomb = try bytes("malformed/imagepng_fuzz_d962b5ff6239.png")
        let items = [
            SheetItem(source: .bytes(good, name: "good.jpg")),
            SheetItem(source: .bytes(truncated, name: "truncated.jpg")),
            SheetItem(source: .bytes(bomb, name: "bomb.png")),
            SheetItem(source: .bytes(Array("hello".utf8), name: "text.png")),
            SheetItem(source: .bytes([], name: "empty.jpg")),
        ]
        let options = SheetOptions(columns: 5, tile: 64, gap: 2, margin: 2, captions: .name)
        let result = try ContactSheet.render(items, options: options)
        #expect(result.failures.map(\.name) == ["truncated.jpg", "bomb.png", "text.png", "empty.jpg"])
        #expect(result.failureList[0].message.lowercased().contains("premature end"))
        #expect(result.failureList[2].message.contains("not a JPEG or PNG"))
        let decoded = try ImageCodec.decode(result.encoded.bytes).image
        for index in 1..<5 {
            let tile = result.layout.tileRect(index)
            #expect(pixels(decoded, in: tile).filter { $0 == rgb(options.theme.placeholder) }.count > 64 * 64 / 2)
        }
    }

    @Test("JPEG output decodes at the layout's size")
    func jpegOutput() throws {
        let items = [SheetItem.file(corpus + "/jpeg/pillow_flower.jpg"), SheetItem.file(corpus + "/png/pillow_a_fli.png")]
        var options = SheetOptions(columns: 2, tile: 120, captions: .name)
        options.format = .jpeg
        let result = try ContactSheet.render(items, options: options)
        #expect(result.encoded.format == .jpeg)
        let header = try ImageCodec.probe(result.encoded.bytes)
        #expect(header.format == .jpeg && header.width == result.width && header.height == result.height)
    }

    @Test("write is atomic: the file appears whole, no temporary file is left, a bad path is an error")
    func atomicWrite() throws {
        let dir = NSTemporaryDirectory() + "klingkit-sheet-write-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let items = [SheetItem(source: .image(try solid(20, 20, .black), name: "x"))]
        let path = dir + "/sheet.png"
        let result = try ContactSheet.write(items, options: SheetOptions(tile: 32), to: path)
        let written = FileManager.default.contents(atPath: path).map { [UInt8]($0) }
        let rendered = try ContactSheet.render(items, options: SheetOptions(tile: 32)).encoded.bytes
        #expect(try ImageCodec.decode(try #require(written)).image == (try ImageCodec.decode(rendered).image))
        #expect(written?.count == result.byteCount && result.path == path && result.format == .png)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["sheet.png"])

        #expect(throws: SheetError.self) {
            try ContactSheet.write(items, options: SheetOptions(tile: 32), to: dir + "/missing/sheet.png")
        }
        #expect(throws: SheetError.self) { try ContactSheet.write(items, options: SheetOptions(tile: 32), to: dir) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["sheet.png"])
    }

    @Test("hundreds of tiles compose, in parallel, to the exact size")
    func manyTiles() throws {
        let data = try bytes("jpeg/pillow_hopper.jpg")
        let items = (0..<300).map { SheetItem(source: .bytes(data, name: "hopper-\($0).jpg")) }
        var options = SheetOptions(columns: 20, tile: 24, gap: 1, margin: 2, captions: .none)
        options.fontScale = 1
        let result = try ContactSheet.render(items, options: options)
        #expect(result.failures.isEmpty)
        #expect(result.width == 2 * 2 + 20 * 24 + 19 && result.height == 2 * 2 + 15 * 24 + 14)
    }
}
