import ImageCodecs
import ImageCore
import Testing

@Suite("PNG codec")
struct PNGCodecTests {
    @Test("PngSuite decodes and round-trips exactly", arguments: Corpus.pngSuiteValid)
    func roundTrip(_ path: String) throws {
        let bytes = try Corpus.bytes(path)
        let decoded = try ImageCodec.decode(bytes)
        let header = try ImageCodec.probe(bytes)
        #expect(decoded.header == header)
        #expect(decoded.image.width == header.width && decoded.image.height == header.height)
        #expect(decoded.image.format.hasAlpha == header.hasAlpha, "\(path)")
        let encoded = try ImageCodec.encodePNG(decoded.image)
        #expect(ImageCodec.sniff(encoded.bytes) == .png)
        let again = try ImageCodec.decode(encoded.bytes)
        #expect(again.image == decoded.image, "\(path)")
        #expect(try ImageCodec.verify(bytes) == header)
    }

    @Test("every corrupt PngSuite x* file is refused with a clean error", arguments: Corpus.pngSuiteCorrupt)
    func corrupt(_ path: String) throws {
        let bytes = try Corpus.bytes(path)
        let error = try #require(throws: CodecError.self) { try ImageCodec.decode(bytes) }
        #expect(error.code == .corrupt || error.code == .unsupportedFormat, "\(path): \(error)")
        #expect(!error.message.isEmpty)
        #expect(throws: CodecError.self) { try ImageCodec.verify(bytes) }
    }

    /// Adam7 de-interlacing: every interlaced basi* image equals its non-interlaced basn* twin.
    @Test("interlaced images equal their non-interlaced twins",
          arguments: Corpus.pngSuiteValid.filter { $0.contains("/basi") })
    func adam7(_ path: String) throws {
        let twin = path.replacingOccurrences(of: "/basi", with: "/basn")
        let interlaced = try ImageCodec.decode(Corpus.bytes(path))
        let plain = try ImageCodec.decode(Corpus.bytes(twin))
        #expect(interlaced.header.isProgressive && !plain.header.isProgressive)
        #expect(interlaced.image == plain.image, "\(path) vs \(twin)")
    }

    @Test("colour types map to the expected pixel formats")
    func formats() throws {
        let cases: [(String, PixelFormat, Int, ImageColorType)] = [
            ("png-suite/basn0g01.png", .gray, 1, .gray),
            ("png-suite/basn0g16.png", .gray, 16, .gray),
            ("png-suite/basn2c16.png", .rgb, 16, .rgb),
            ("png-suite/basn3p04.png", .rgb, 4, .palette),
            ("png-suite/tbbn3p08.png", .rgba, 8, .palette),   // palette + tRNS
            ("png-suite/tbbn0g04.png", .grayAlpha, 4, .gray), // gray + tRNS
            ("png-suite/basn4a16.png", .grayAlpha, 16, .grayAlpha),
            ("png-suite/basn6a08.png", .rgba, 8, .rgba),
        ]
        for (path, format, depth, colorType) in cases {
            let decoded = try ImageCodec.decode(Corpus.bytes(path))
            #expect(decoded.image.format == format, "\(path)")
            #expect(decoded.header.bitDepth == depth && decoded.header.colorType == colorType, "\(path)")
        }
    }

    @Test("1-bit gray expands to 0/255 and 16-bit scales with rounding")
    func sampleValues() throws {
        let onebit = try ImageCodec.decode(Corpus.bytes("png-suite/basn0g01.png")).image
        #expect(Set(onebit.pixels).isSubset(of: [0, 255]) && Set(onebit.pixels).count == 2)
        let sixteen = try ImageCodec.decode(Corpus.bytes("png-suite/basn0g16.png")).image
        #expect(sixteen.pixels.count == 32 * 32)
    }

    @Test("encoder options: every filter and level round-trips; ICC profile survives",
          arguments: PNGFilter.allCases)
    func encoderOptions(_ filter: PNGFilter) throws {
        for format in PixelFormat.allCases {
            let image = try testPicture(width: 67, height: 41, format: format)
            for level in [0, 6, 9] {
                let png = try ImageCodec.encodePNG(image, options: PNGEncodeOptions(compressionLevel: level, filter: filter))
                #expect(try ImageCodec.decode(png.bytes).image == image)
            }
        }
        let icc = try ImageCodec.decode(Corpus.bytes("exif-orientation/imagepng_F-exif-chunk-early.png")).iccProfile
        let profile = try #require(icc)
        let image = try testPicture(width: 8, height: 8, format: .rgb)
        let png = try ImageCodec.encodePNG(image, options: PNGEncodeOptions(filter: filter, iccProfile: profile))
        #expect(try ImageCodec.decode(png.bytes).iccProfile == profile)
    }

    @Test("level 9 is not larger than level 0")
    func compressionLevels() throws {
        let image = try testPicture(width: 256, height: 128, format: .rgb)
        let stored = try ImageCodec.encodePNG(image, options: PNGEncodeOptions(compressionLevel: 0))
        let best = try ImageCodec.encodePNG(image, options: PNGEncodeOptions(compressionLevel: 9))
        #expect(best.bytes.count < stored.bytes.count)
        #expect(stored.bytes.count > image.pixels.count)  // stored deflate blocks carry every byte
    }

    @Test("a truncated PNG fails as corrupt in decode and verify")
    func truncated() throws {
        let bytes = try Corpus.bytes("png/pillow_test-card.png")
        for cut in [bytes.count - 1, bytes.count - 12, bytes.count / 2, 40] {
            let prefix = Array(bytes.prefix(cut))
            let error = try #require(throws: CodecError.self) { try ImageCodec.decode(prefix) }
            #expect(error.code == .corrupt)
            #expect(throws: CodecError.self) { try ImageCodec.verify(prefix) }
        }
    }

    @Test("pixel limit refuses from the header")
    func pixelLimit() throws {
        let bytes = try Corpus.bytes("png/pillow_itxt_chunks.png")   // 2400x2000
        let error = try #require(throws: CodecError.self) {
            try ImageCodec.decode(bytes, options: DecodeOptions(maxPixels: 4_799_999))
        }
        #expect(error.code == .tooManyPixels)
        #expect(try ImageCodec.decode(bytes, options: DecodeOptions(maxPixels: 4_800_000)).image.width == 2400)
    }
}
