import Foundation
import ImageCodecs
import ImageCore
import Testing

/// ``JPEGRowReader`` and ``JPEGMemoryWriter`` against the whole-image decoder and encoder.
@Suite("JPEG row reader and memory writer")
struct StreamReadRowsTests {
    static let files = ["exif-orientation/Landscape_1.jpg", "jpeg/jpegdec_progressive3.jpg", "jpeg/moz_jpg-srgb-icc.jpg"]
        + Corpus.files(in: "jpeg", extensions: ["jpg", "jpeg"]).filter { $0.localizedCaseInsensitiveContains("cmyk") || $0.localizedCaseInsensitiveContains("gray") }.prefix(4)

    @Test("rows equal ImageCodec.decode at full size and at M/8", arguments: files)
    func rowsMatchDecode(path: String) throws {
        let bytes = try Corpus.bytes(path)
        for eighths in [nil, 3, 5] as [Int?] {
            var options = DecodeOptions()
            options.jpegScaleEighths = eighths
            let whole = try ImageCodec.decode(bytes, options: options)
            let reader = try JPEGRowReader(bytes, options: options)
            #expect(reader.width == whole.image.width && reader.height == whole.image.height)
            #expect(reader.format == whole.image.format)
            #expect(reader.iccProfile == whole.iccProfile)
            #expect(try readAllRows(reader) == whole.image.pixels)
        }
    }

    @Test("a truncated stream fails in strict mode, by the last row or at finish", arguments: [0.3, 0.8, 0.995])
    func truncated(fraction: Double) throws {
        let bytes = try Corpus.bytes("exif-orientation/Landscape_1.jpg")
        let cut = Array(bytes.prefix(Int(Double(bytes.count) * fraction)))
        #expect(throws: CodecError.self) { _ = try readAllRows(try JPEGRowReader(cut)) }
        // finish() alone (rows never read) still checks the whole stream.
        #expect(throws: CodecError.self) { try JPEGRowReader(cut).finish() }
    }

    @Test("reading past the last row is refused; PNG input is refused")
    func misuse() throws {
        let bytes = try Corpus.bytes("exif-orientation/Landscape_1.jpg")
        let reader = try JPEGRowReader(bytes, options: { var o = DecodeOptions(); o.jpegScaleEighths = 1; return o }())
        var row = [UInt8](repeating: 0, count: reader.width * 3 * (reader.height + 1))
        #expect(throws: CodecError.self) {
            try row.withUnsafeMutableBufferPointer { try reader.read(into: $0.baseAddress!, stride: reader.width * 3, count: reader.height + 1) }
        }
        let png = try ImageCodec.encodePNG(try Image(width: 2, height: 2, format: .rgb, pixels: [UInt8](repeating: 9, count: 12))).bytes
        #expect(throws: CodecError.self) { try JPEGRowReader(png) }
    }

    @Test("the memory writer gives the bytes of encodeJPEG", arguments: [PixelFormat.rgb, .gray])
    func writerMatchesEncoder(format: PixelFormat) throws {
        var options = DecodeOptions()
        options.jpegScaleEighths = 2
        var image = try ImageCodec.decode(try Corpus.bytes("exif-orientation/Landscape_1.jpg"), options: options).image
        if format == .gray { image = image.converted(to: .gray) }
        let icc = Array(repeating: UInt8(7), count: 300)
        for settings in [JPEGEncodeOptions(quality: 90, optimizeHuffman: false),
                         JPEGEncodeOptions(quality: 70, subsampling: .s444, progressive: true, iccProfile: icc)] {
            let writer = try JPEGMemoryWriter(width: image.width, height: image.height, format: format, options: settings)
            let stride = image.width * format.channels
            try image.pixels.withUnsafeBufferPointer { p in
                for y in 0..<image.height { try writer.write(rows: p.baseAddress! + y * stride, stride: stride) }
            }
            #expect(try writer.finish().bytes == ImageCodec.encodeJPEG(image, options: settings).bytes)
        }
        let short = try JPEGMemoryWriter(width: 10, height: 10, format: .rgb)
        #expect(throws: CodecError.self) { try short.finish() }
        #expect(throws: CodecError.self) { try JPEGMemoryWriter(width: 10, height: 10, format: .rgba) }
    }
}
