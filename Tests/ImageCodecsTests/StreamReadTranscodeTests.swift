import Foundation
import ImageCodecs
import ImageCore
import Testing

/// ``ImageCodec/transcodePNGToJPEG(_:background:options:decodeOptions:)`` against the whole-image path.
@Suite("Streaming PNG -> JPEG transcode")
struct StreamReadTranscodeTests {
    /// Decode, flatten, encode: what the transcode must reproduce byte for byte.
    static func reference(_ png: [UInt8], background: Color, options: JPEGEncodeOptions) throws -> [UInt8] {
        let decoded = try ImageCodec.decode(png)
        var settings = options
        if let icc = decoded.iccProfile, icc.count >= 128,
           String(decoding: icc[16..<20], as: UTF8.self) == (decoded.image.format.isGray ? "GRAY" : "RGB ") {
            settings.iccProfile = icc
        }
        return try ImageCodec.encodeJPEG(decoded.image.flattened(background: background), options: settings).bytes
    }

    static func translucent(width: Int, height: Int, format: PixelFormat) throws -> Image {
        let ch = format.channels
        var px = [UInt8](repeating: 0, count: width * height * ch)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * ch
                for c in 0..<ch { px[i + c] = UInt8((x * 7 + y * 3 + c * 50) & 255) }
                px[i + ch - 1] = UInt8((x * 255) / max(1, width - 1))  // alpha ramps 0...255
            }
        }
        return try Image(width: width, height: height, format: format, pixels: px)
    }

    @Test("RGBA and gray+alpha: identical bytes to decode + flatten + encode", arguments: [PixelFormat.rgba, .grayAlpha])
    func matchesWholeImagePath(format: PixelFormat) throws {
        let png = try ImageCodec.encodePNG(try Self.translucent(width: 173, height: 61, format: format)).bytes
        let background = Color(red: 200, green: 30, blue: 90)
        for options in [JPEGEncodeOptions(quality: 90, optimizeHuffman: false), JPEGEncodeOptions(quality: 75, subsampling: .s444)] {
            let out = try ImageCodec.transcodePNGToJPEG(png, background: background, options: options)
            #expect(out.encoded.bytes == (try Self.reference(png, background: background, options: options)))
            #expect(out.wasTransparent)
            #expect(out.format == (format.isGray ? .gray : .rgb))
            #expect(out.width == 173 && out.height == 61)
        }
    }

    @Test("an opaque RGBA image is not reported transparent; one translucent pixel anywhere is", arguments: [0, 3, 4, 66, 67])
    func transparencyFlag(column: Int) throws {
        var px = [UInt8](repeating: 255, count: 67 * 5 * 4)
        for i in stride(from: 0, to: px.count, by: 4) { px[i] = UInt8(i % 256) }
        let opaque = try ImageCodec.encodePNG(try Image(width: 67, height: 5, format: .rgba, pixels: px)).bytes
        #expect(try !ImageCodec.transcodePNGToJPEG(opaque).wasTransparent)
        if column < 67 { px[(2 * 67 + column) * 4 + 3] = 254 }
        let one = try ImageCodec.encodePNG(try Image(width: 67, height: 5, format: .rgba, pixels: px)).bytes
        #expect(try ImageCodec.transcodePNGToJPEG(one).wasTransparent == (column < 67))
        #expect(try ImageCodec.transcodePNGToJPEG(one).encoded.bytes == (try Self.reference(one, background: .white, options: .init())))
    }

    @Test("every non-interlaced PngSuite file matches; interlaced ones are refused as unsupported",
          arguments: Corpus.pngSuiteValid)
    func pngSuite(path: String) throws {
        let png = try Corpus.bytes(path)
        let header = try ImageCodec.probe(png)
        let options = JPEGEncodeOptions(quality: 85, optimizeHuffman: false)
        if header.isProgressive {
            let error = #expect(throws: CodecError.self) { try ImageCodec.transcodePNGToJPEG(png, options: options) }
            #expect(error?.code == .unsupported)
            return
        }
        let out = try ImageCodec.transcodePNGToJPEG(png, options: options)
        #expect(out.encoded.bytes == (try Self.reference(png, background: .white, options: options)))
    }

    @Test("a truncated or damaged PNG fails and hands back nothing", arguments: [0.5, 0.9, 0.999])
    func truncated(fraction: Double) throws {
        let png = try ImageCodec.encodePNG(try Self.translucent(width: 300, height: 200, format: .rgba)).bytes
        let cut = Array(png.prefix(Int(Double(png.count) * fraction)))
        let error = #expect(throws: CodecError.self) { try ImageCodec.transcodePNGToJPEG(cut) }
        #expect(error?.code == .corrupt)
        var flipped = png
        flipped[png.count / 2] ^= 0x55
        #expect(throws: CodecError.self) { try ImageCodec.transcodePNGToJPEG(flipped) }
    }

    @Test("the pixel limit is checked from the header; JPEG input is refused")
    func limits() throws {
        let png = try ImageCodec.encodePNG(try Self.translucent(width: 100, height: 100, format: .rgba)).bytes
        let error = #expect(throws: CodecError.self) {
            try ImageCodec.transcodePNGToJPEG(png, decodeOptions: DecodeOptions(maxPixels: 9_999))
        }
        #expect(error?.code == .tooManyPixels)
        let jpeg = try ImageCodec.encodeJPEG(try Self.translucent(width: 8, height: 8, format: .rgb)).bytes
        #expect(throws: CodecError.self) { try ImageCodec.transcodePNGToJPEG(jpeg) }
    }
}
