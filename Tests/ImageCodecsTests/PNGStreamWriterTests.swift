import Foundation
import ImageCodecs
import ImageCore
import Testing

/// A fresh directory for one test, removed afterwards by the caller's `defer`.
private func scratchDirectory() throws -> String {
    let dir = NSTemporaryDirectory() + "klingkit-stream-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

private func listing(_ dir: String) throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: dir).sorted()
}

private func contents(_ path: String) throws -> [UInt8] {
    [UInt8](try #require(FileManager.default.contents(atPath: path), "missing \(path)"))
}

/// Rows `first ..< first + count` of `image` as an image of their own.
private func band(_ image: Image, _ first: Int, _ count: Int) throws -> Image {
    let stride = image.bytesPerRow
    return try Image(width: image.width, height: count, format: image.format,
                     pixels: Array(image.pixels[first * stride ..< (first + count) * stride]))
}

/// Writes `image` through `write` in bands of `bandHeight` rows (the last one shorter).
private func writeInBands(_ image: Image, bandHeight: Int, _ write: (Image) throws -> Void) throws {
    var y = 0
    while y < image.height {
        let rows = min(bandHeight, image.height - y)
        try write(try band(image, y, rows))
        y += rows
    }
}

@Suite("PNGStreamWriter")
struct PNGStreamWriterTests {
    @Test("streamed bands give the same bytes as the in-memory encoder", arguments: [
        (PixelFormat.gray, 1), (.grayAlpha, 7), (.rgb, 16), (.rgba, 333),
    ])
    func sameBytes(format: PixelFormat, bandHeight: Int) throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = try testPicture(width: 173, height: 121, format: format)
        for options in [PNGEncodeOptions(), PNGEncodeOptions(compressionLevel: 1, filter: .up),
                        PNGEncodeOptions(compressionLevel: 9, filter: .paeth, iccProfile: Array(repeating: 7, count: 300))] {
            let path = dir + "/out.png"
            let writer = try PNGStreamWriter(path: path, width: image.width, height: image.height, format: format,
                                             options: options)
            try writeInBands(image, bandHeight: bandHeight) { try writer.write($0) }
            #expect(writer.rowsWritten == image.height)
            let length = try writer.finish()
            let streamed = try contents(path)
            let reference = try ImageCodec.encodePNG(image, options: options).bytes
            #expect(length == streamed.count)
            #expect(streamed == reference)
            // And the pixels come back exactly.
            #expect(try ImageCodec.decode(streamed).image == image)
            #expect(try listing(dir) == ["out.png"])
        }
    }

    @Test("raw row buffers work as well as Image bands")
    func rawRows() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = try testPicture(width: 64, height: 50, format: .rgb)
        let writer = try PNGStreamWriter(path: dir + "/raw.png", width: 64, height: 50, format: .rgb)
        try image.pixels.withUnsafeBytes { all in
            let stride = image.bytesPerRow
            try writer.write(rows: UnsafeRawBufferPointer(rebasing: all[0 ..< 20 * stride]))
            try writer.write(rows: UnsafeRawBufferPointer(rebasing: all[20 * stride ..< 20 * stride]))  // nothing
            try writer.write(rows: UnsafeRawBufferPointer(rebasing: all[20 * stride ..< 50 * stride]))
        }
        try writer.finish()
        #expect(try ImageCodec.decode(try contents(dir + "/raw.png")).image == image)
    }

    @Test("an error half-way leaves no file and keeps the previous one")
    func errorMidway() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/sheet.png"
        try Data("previous".utf8).write(to: URL(fileURLWithPath: path))
        let image = try testPicture(width: 40, height: 30, format: .rgb)

        // Too many rows: the 31st row is refused, the partial file is gone at once.
        let writer = try PNGStreamWriter(path: path, width: 40, height: 30, format: .rgb)
        try writer.write(try band(image, 0, 20))
        #expect(try listing(dir).count == 2)   // sheet.png and the temporary file
        let error = #expect(throws: CodecError.self) { try writer.write(try band(image, 10, 20)) }
        #expect(error?.code == .invalidArgument)
        #expect(error?.message.contains(path) == true)
        #expect(try listing(dir) == ["sheet.png"])
        // The error sticks: finishing now fails the same way and writes nothing.
        #expect(throws: CodecError.self) { try writer.finish() }
        #expect(try contents(path) == Array("previous".utf8))

        // Too few rows at finish.
        let short = try PNGStreamWriter(path: path, width: 40, height: 30, format: .rgb)
        try short.write(try band(image, 0, 29))
        let missing = #expect(throws: CodecError.self) { try short.finish() }
        #expect(missing?.message.contains("29 of 30") == true)
        #expect(try listing(dir) == ["sheet.png"])
        #expect(try contents(path) == Array("previous".utf8))

        // A band of the wrong width or format.
        let wrong = try PNGStreamWriter(path: path, width: 40, height: 30, format: .rgb)
        #expect(throws: CodecError.self) { try wrong.write(try testPicture(width: 39, height: 2, format: .rgb)) }
        #expect(throws: CodecError.self) { try wrong.write(try testPicture(width: 40, height: 2, format: .rgba)) }
        #expect(try listing(dir) == ["sheet.png"])
        // Bytes that are not whole rows.
        let ragged = try PNGStreamWriter(path: path, width: 40, height: 30, format: .rgb)
        #expect(throws: CodecError.self) {
            try [UInt8](repeating: 0, count: 121).withUnsafeBytes { try ragged.write(rows: $0) }
        }
        #expect(try listing(dir) == ["sheet.png"])
        #expect(try contents(path) == Array("previous".utf8))
    }

    @Test("a writer dropped or cancelled before finish leaves nothing behind")
    func unfinished() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = try testPicture(width: 32, height: 32, format: .gray)
        do {
            let writer = try PNGStreamWriter(path: dir + "/a.png", width: 32, height: 32, format: .gray)
            try writer.write(try band(image, 0, 16))
            #expect(try listing(dir).count == 1)
        }
        #expect(try listing(dir).isEmpty)
        let cancelled = try PNGStreamWriter(path: dir + "/b.png", width: 32, height: 32, format: .gray)
        try cancelled.write(try band(image, 0, 16))
        cancelled.cancel()
        #expect(try listing(dir).isEmpty)
        #expect(throws: CodecError.self) { try cancelled.write(try band(image, 16, 16)) }
        #expect(throws: CodecError.self) { try cancelled.finish() }
        #expect(try listing(dir).isEmpty)
    }

    @Test("unwritable destinations fail up front, naming the path")
    func badPaths() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let intoDirectory = #expect(throws: CodecError.self) {
            try PNGStreamWriter(path: dir, width: 4, height: 4, format: .rgb)
        }
        #expect(intoDirectory?.code == .io && intoDirectory?.message.contains("directory") == true)
        let missing = #expect(throws: CodecError.self) {
            try PNGStreamWriter(path: dir + "/no/such/out.png", width: 4, height: 4, format: .rgb)
        }
        #expect(missing?.code == .io && missing?.message.contains(dir + "/no/such/out.png") == true)
        #expect(throws: CodecError.self) { try PNGStreamWriter(path: dir + "/z.png", width: 0, height: 4, format: .rgb) }
        #expect(try listing(dir).isEmpty)
    }

    @Test("finishing twice is refused and keeps the file")
    func finishTwice() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = try testPicture(width: 8, height: 8, format: .rgba)
        let writer = try PNGStreamWriter(path: dir + "/x.png", width: 8, height: 8, format: .rgba)
        try writer.write(image)
        try writer.finish()
        #expect(throws: CodecError.self) { try writer.finish() }
        #expect(try ImageCodec.decode(try contents(dir + "/x.png")).image == image)
    }
}

@Suite("JPEGStreamWriter")
struct PNGStreamJPEGWriterTests {
    @Test("streamed bands decode to the same pixels as the in-memory encoder", arguments: [
        (PixelFormat.gray, JPEGSubsampling.s420, 5), (.rgb, .s420, 16), (.rgb, .s444, 9), (.rgba, .s420, 40),
    ])
    func samePixels(format: PixelFormat, subsampling: JPEGSubsampling, bandHeight: Int) throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = try testPicture(width: 150, height: 97, format: format)
        var options = JPEGStreamWriter.boundedOptions
        options.quality = 85
        options.subsampling = subsampling
        let path = dir + "/out.jpg"
        let writer = try JPEGStreamWriter(path: path, width: 150, height: 97, format: format, options: options)
        try writeInBands(image, bandHeight: bandHeight) { try writer.write($0) }
        let length = try writer.finish()
        let streamed = try contents(path)
        #expect(length == streamed.count)
        // Same settings: the same bytes.
        #expect(streamed == (try ImageCodec.encodeJPEG(image, options: options).bytes))
        // Optimised Huffman tables change the bytes, never the pixels.
        var optimised = options
        optimised.optimizeHuffman = true
        let reference = try ImageCodec.decode(try ImageCodec.encodeJPEG(image, options: optimised).bytes).image
        let decoded = try ImageCodec.decode(streamed).image
        #expect(decoded == reference)
        #expect(decoded.format == (format.channels <= 2 ? .gray : .rgb))
        #expect(try listing(dir) == ["out.jpg"])
    }

    @Test("an error half-way leaves no JPEG behind")
    func errorMidway() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let image = try testPicture(width: 64, height: 40, format: .rgb)
        let writer = try JPEGStreamWriter(path: dir + "/a.jpg", width: 64, height: 40, format: .rgb)
        try writer.write(try band(image, 0, 30))
        #expect(throws: CodecError.self) { try writer.write(try band(image, 0, 30)) }
        #expect(try listing(dir).isEmpty)
        let short = try JPEGStreamWriter(path: dir + "/b.jpg", width: 64, height: 40, format: .rgb)
        try short.write(try band(image, 0, 39))
        #expect(throws: CodecError.self) { try short.finish() }
        #expect(try listing(dir).isEmpty)
        #expect(throws: CodecError.self) { try JPEGStreamWriter(path: dir + "/c.jpg", width: 70_000, height: 4, format: .rgb) }
        #expect(try listing(dir).isEmpty)
    }
}
