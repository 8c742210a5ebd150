import ImageCodecs
import Testing

@Suite("Sniff and probe")
struct ProbeTests {
    @Test("sniffing judges content, not names")
    func sniff() throws {
        #expect(ImageCodec.sniff(try Corpus.bytes("jpeg/pillow_flower.jpg")) == .jpeg)
        #expect(ImageCodec.sniff(try Corpus.bytes("png/pillow_test-card.png")) == .png)
        #expect(ImageCodec.sniff(try Corpus.bytes("malformed/pillow_decompression_bomb.gif")) == nil)
        #expect(ImageCodec.sniff(try Corpus.bytes("malformed/pillow_pngtest_bad.png.bin")) == nil)
        #expect(ImageCodec.sniff(try Corpus.bytes("png-suite/xs2n0g01.png")) == nil)
        #expect(ImageCodec.sniff([]) == nil)
        #expect(ImageCodec.sniff([0xFF, 0xD8]) == nil)
    }

    @Test("EXIF orientation from JPEG APP1 (both byte orders) and PNG eXIf / raw-profile text")
    func orientation() throws {
        for n in 1...8 {
            let header = try ImageCodec.probe(Corpus.bytes("exif-orientation/Landscape_\(n).jpg"))
            #expect(header.orientation == n)
            #expect(header.orientedWidth == 1800 && header.orientedHeight == 1200)
        }
        for n in 5...8 {
            let header = try ImageCodec.probe(Corpus.bytes("exif-orientation/Portrait_\(n).jpg"))
            #expect(header.orientation == n && header.orientedWidth == 1200 && header.orientedHeight == 1800)
        }
        #expect(try ImageCodec.probe(Corpus.bytes("exif-orientation/Landscape_0.jpg")).orientation == 1)
        #expect(try ImageCodec.probe(Corpus.bytes("exif-orientation/imagepng_F-exif-chunk-early.png")).orientation == 6)
        #expect(try ImageCodec.probe(Corpus.bytes("exif-orientation/pillow_exif_imagemagick_orientation.png")).orientation == 3)
        let rect = try ImageCodec.probe(Corpus.bytes("exif-orientation/pillow_orientation_rectangle.jpg"))
        #expect(rect.orientation == 8 && rect.orientedWidth == 1 && rect.orientedHeight == 2)
        // Damaged EXIF never throws: orientation falls back to 1.
        #expect(try ImageCodec.probe(Corpus.bytes("malformed/pillow_invalid-exif.jpg")).orientation == 1)
    }

    @Test("EXIF parser survives every truncation of an APP1 segment")
    func exifTruncation() throws {
        let bytes = try Corpus.bytes("exif-orientation/Landscape_6.jpg")
        let full = try ImageCodec.probe(bytes)
        for cut in stride(from: 2, to: 400, by: 1) {
            do {
                let header = try ImageCodec.probe(Array(bytes.prefix(cut)))
                #expect(header.width == full.width && header.height == full.height && (1...8).contains(header.orientation),
                        "prefix \(cut)")
            } catch let error as CodecError {
                #expect(!error.message.isEmpty, "prefix \(cut)")
            }
        }
        // Damage inside the EXIF block (the segment lengths intact): the frame is still found and the
        // orientation is one of the eight, whatever the damaged tags say.
        var damaged = bytes
        for i in stride(from: 20, to: 200, by: 7) { damaged[i] ^= 0x5A }
        let header = try ImageCodec.probe(damaged)
        #expect(header.width == full.width && header.height == full.height && (1...8).contains(header.orientation))
    }

    @Test("bomb headers are refused from the header",
          arguments: ["malformed/jpegdec_max_size.jpg", "malformed/imagepng_fuzz_30a424a0e879.png",
                      "malformed/imagepng_fuzz_d962b5ff6239.png", "malformed/imagepng_fuzz_2fda6c831b9e.png"])
    func bombs(_ path: String) throws {
        let bytes = try Corpus.bytes(path)
        let error = try #require(throws: CodecError.self) { try ImageCodec.decode(bytes) }
        #expect(error.code == .tooManyPixels, "\(error)")
    }

    @Test("probe reports progressive, depth and alpha")
    func details() throws {
        let progressive = try ImageCodec.probe(Corpus.bytes("jpeg/jpegdec_progressive3.jpg"))
        #expect(progressive.isProgressive && progressive.bitDepth == 8 && progressive.colorType == .ycbcr)
        let png = try ImageCodec.probe(Corpus.bytes("png/pillow_uncompressed_rgb.png"))
        #expect(png.hasAlpha && png.colorType == .rgba && png.width == 800 && png.height == 600)
    }
}
