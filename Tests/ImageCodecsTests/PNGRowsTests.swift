import Foundation
import ImageCodecs
import ImageCore
import KlingKitTestSupport
import Testing

/// ``PNGRowReader`` and ``PNGMemoryWriter`` against the whole-image decoder and encoder, on PngSuite's
/// every colour type and bit depth.
@Suite("PNG row reader and memory writer", .enabled(if: TestCorpus.available))
struct PNGRowsTests {
    /// Every valid non-interlaced PngSuite file ("n" in the fourth place of its name).
    static let plain = Corpus.pngSuiteValid.filter { ($0 as NSString).lastPathComponent.dropFirst(3).first == "n" }
        + ["png/pillow_standard_embedded.png", "png/pillow_test-card.png"]

    @Test("the corpus has non-interlaced PNGs of every colour type")
    func coverage() {
        let names = Self.plain.map { ($0 as NSString).lastPathComponent }
        for type in ["0g", "2c", "3p", "4a", "6a"] { #expect(names.contains { $0.contains("n\(type)") }, "no basn\(type)*") }
    }

    @Test("rows equal ImageCodec.decode, from memory and from a file descriptor", arguments: plain)
    func rowsMatchDecode(path: String) throws {
        let bytes = try Corpus.bytes(path)
        let whole = try ImageCodec.decode(bytes)
        let reader = try PNGRowReader(bytes)
        #expect(reader.width == whole.image.width && reader.height == whole.image.height)
        #expect(reader.format == whole.image.format)
        #expect(reader.iccProfile == whole.iccProfile)
        #expect(try readAllRows(reader) == whole.image.pixels)

        let fd = open(Corpus.root.appendingPathComponent(path).path, O_RDONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        #expect(try readAllRows(try PNGRowReader(fileDescriptor: fd)) == whole.image.pixels)
    }

    @Test("an interlaced PNG is refused as unsupported before any row", arguments: ["png-suite/basi2c08.png", "png-suite/basi6a16.png"])
    func interlaced(path: String) throws {
        let error = #expect(throws: CodecError.self) { try PNGRowReader(try Corpus.bytes(path)) }
        #expect(error?.code == .unsupported)
        #expect(error?.message.contains("interlaced") == true)
    }

    @Test("a truncated or damaged stream fails by the last row or at finish", arguments: [0.3, 0.7, 0.995])
    func truncated(fraction: Double) throws {
        let bytes = try ImageCodec.encodePNG(try testPicture(width: 300, height: 200, format: .rgb)).bytes
        let cut = Array(bytes.prefix(Int(Double(bytes.count) * fraction)))
        let error = #expect(throws: CodecError.self) { _ = try readAllRows(try PNGRowReader(cut)) }
        #expect(error?.code == .corrupt)
        // finish() alone (rows never read) still checks the whole stream.
        #expect(throws: CodecError.self) { try PNGRowReader(cut).finish() }
        // After a failure (in a read, or in finish when only the end is cut) the reader keeps refusing
        // with the same message.
        let reader = try PNGRowReader(cut)
        var row = [UInt8](repeating: 0, count: 900 * 200)
        let first = #expect(throws: CodecError.self) {
            try row.withUnsafeMutableBufferPointer { try reader.read(into: $0.baseAddress!, stride: 900, count: 200) }
            try reader.finish()
        }
        let again = #expect(throws: CodecError.self) { try reader.finish() }
        #expect(first?.message == again?.message)
    }

    @Test("limits and misuse: the pixel limit from the header, reads past the end, JPEG input")
    func misuse() throws {
        let bytes = try ImageCodec.encodePNG(try testPicture(width: 40, height: 30, format: .rgba)).bytes
        let limited = #expect(throws: CodecError.self) { try PNGRowReader(bytes, options: DecodeOptions(maxPixels: 1199)) }
        #expect(limited?.code == .tooManyPixels)
        let reader = try PNGRowReader(bytes)
        var rows = [UInt8](repeating: 0, count: 40 * 4 * 31)
        let past = #expect(throws: CodecError.self) {
            try rows.withUnsafeMutableBufferPointer { try reader.read(into: $0.baseAddress!, stride: 160, count: 31) }
        }
        #expect(past?.code == .invalidArgument)
        let jpeg = try ImageCodec.encodeJPEG(try testPicture(width: 8, height: 8, format: .rgb)).bytes
        #expect(throws: CodecError.self) { try PNGRowReader(jpeg) }
    }

    @Test("the memory writer writes the bytes encodePNG writes", arguments: [PixelFormat.gray, .grayAlpha, .rgb, .rgba])
    func writerMatchesEncoder(format: PixelFormat) throws {
        let image = try testPicture(width: 123, height: 77, format: format)
        let icc: [UInt8]? = format.isGray ? nil : try ImageCodec.decode(try Corpus.bytes("png/pillow_standard_embedded.png")).iccProfile
        for options in [PNGEncodeOptions(), PNGEncodeOptions(compressionLevel: 9, filter: .paeth, iccProfile: icc)] {
            let writer = try PNGMemoryWriter(width: 123, height: 77, format: format, options: options)
            let stride = 123 * format.channels
            try image.pixels.withUnsafeBufferPointer { p in
                try writer.write(rows: p.baseAddress!, stride: stride, count: 40)
                try writer.write(rows: p.baseAddress! + 40 * stride, stride: stride, count: 37)
            }
            #expect(try writer.finish().bytes == ImageCodec.encodePNG(image, options: options).bytes)
        }
        let short = try PNGMemoryWriter(width: 4, height: 4, format: format)
        #expect(throws: CodecError.self) { _ = try short.finish() }  // rows missing
        #expect(throws: CodecError.self) { try PNGMemoryWriter(width: 0, height: 4, format: format) }
    }

    @Test("bytesWritten counts the stream as it grows: headers first, rows as deflate emits them, all at finish")
    func bytesWritten() throws {
        var noise = [UInt8](repeating: 0, count: 512 * 512 * 3)
        var state: UInt32 = 12345
        for i in noise.indices { state = state &* 1_664_525 &+ 1_013_904_223; noise[i] = UInt8(truncatingIfNeeded: state >> 24) }
        let writer = try PNGMemoryWriter(width: 512, height: 512, format: .rgb)
        let headers = writer.bytesWritten
        #expect(headers >= 33)  // signature + IHDR
        var seen: [Int] = []
        try noise.withUnsafeBufferPointer { p in
            for band in 0..<8 {
                try writer.write(rows: p.baseAddress! + band * 64 * 1536, stride: 1536, count: 64)
                seen.append(writer.bytesWritten)
            }
        }
        let total = try writer.finish().bytes.count
        #expect(seen == seen.sorted())
        // Noise does not compress: half the rows are at least a third of the stream before the end.
        #expect(seen[3] > total / 3 && seen[7] <= total)
    }
}
