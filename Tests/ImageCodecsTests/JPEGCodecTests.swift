import KlingKitTestSupport
import ImageCodecs
import ImageCore
import Testing

@Suite("JPEG codec")
struct JPEGCodecTests {
    @Test("baseline, progressive and arithmetic coding of one picture decode identically")
    func codingVariants() throws {
        let int = try ImageCodec.decode(Corpus.bytes("jpeg/ljt_testimgint.jpg"))
        let progressive = try ImageCodec.decode(Corpus.bytes("jpeg/ljt_testimgp.jpg"))
        let arithmetic = try ImageCodec.decode(Corpus.bytes("jpeg/ljt_testimgari.jpg"))
        #expect(int.image.format == .rgb && int.image.width == 227 && int.image.height == 149)
        #expect(progressive.header.isProgressive && !int.header.isProgressive)
        #expect(progressive.image == int.image)
        #expect(arithmetic.image == int.image)
    }

    @Test("gray stays gray; CMYK and YCCK become RGB close to the RGB original")
    func colorSpaces() throws {
        let gray = try ImageCodec.decode(Corpus.bytes("jpeg/ljt_testimggray.jpg"))
        #expect(gray.image.format == .gray && gray.header.colorType == .gray)
        let ycck = try ImageCodec.decode(Corpus.bytes("jpeg/pillow_pil_sample_cmyk.jpg"))
        #expect(ycck.header.colorType == .ycck && ycck.image.format == .rgb)
        let rgb = try ImageCodec.decode(Corpus.bytes("jpeg/pillow_pil_sample_rgb.jpg"))
        #expect(psnr(ycck.image, rgb.image) > 25)
        let cmyk = try ImageCodec.decode(Corpus.bytes("jpeg/moz_jpg-cmyk-1.jpg"))
        #expect(cmyk.header.colorType == .cmyk && cmyk.image.format == .rgb)
    }

    @Test("12-bit and lossless JPEG are refused as unsupported",
          arguments: ["jpeg/ljt_testorig12.jpg", "jpeg/ljt_monkey12.jpg", "jpeg/jpegdec_jpeg_lossless_sel1.jpg"])
    func unsupported(_ path: String) throws {
        let bytes = try Corpus.bytes(path)
        let header = try ImageCodec.probe(bytes)
        #expect(header.bitDepth != 8 || path.contains("lossless"))
        let error = try #require(throws: CodecError.self) { try ImageCodec.decode(bytes) }
        #expect(error.code == .unsupported, "\(error)")
        #expect(error.message.hasPrefix("Unsupported JPEG"))
    }

    @Test("DCT scaling gives 1/2, 1/4, 1/8 sizes", arguments: [1, 2, 4, 8])
    func scaling(_ scale: Int) throws {
        let decoded = try ImageCodec.decode(Corpus.bytes("exif-orientation/Landscape_1.jpg"),
                                             options: DecodeOptions(jpegScale: scale))
        #expect(decoded.image.width == 1800 / scale && decoded.image.height == 1200 / scale)
        #expect(decoded.header.width == 1800)
    }

    @Test("strict mode refuses truncation; lenient mode pads it")
    func strictness() throws {
        let bytes = try Corpus.bytes("malformed/pillow_truncated_jpeg.jpg")
        let error = try #require(throws: CodecError.self) { try ImageCodec.decode(bytes) }
        #expect(error.code == .corrupt && error.message == "Premature end of JPEG file")
        var lenient = DecodeOptions()
        lenient.strict = false
        #expect(try ImageCodec.decode(bytes, options: lenient).image.width == 100)
    }

    @Test("a scan cut short but closed with EOI is refused in strict mode")
    func scanCutShort() throws {
        let bytes = try Corpus.bytes("jpeg/ljt_testorig.jpg")
        let cut = Array(bytes.prefix(bytes.count / 2)) + [0xFF, 0xD9]
        let error = try #require(throws: CodecError.self) { try ImageCodec.verify(cut) }
        #expect(error.code == .corrupt && error.message == "Corrupt JPEG data: premature end of data segment")
        var lenient = DecodeOptions()
        lenient.strict = false
        #expect(try ImageCodec.decode(cut, options: lenient).image.height == 149)
    }

    @Test("junk between markers is tolerated in strict mode")
    func extraneousBytes() throws {
        let decoded = try ImageCodec.decode(Corpus.bytes("malformed/pillow_junk_jpeg_header.jpg"))
        #expect(decoded.image.width == 1024 && decoded.image.height == 768)
    }

    @Test("encode → decode round trip keeps PSNR high", arguments: JPEGSubsampling.allCases)
    func roundTrip(_ subsampling: JPEGSubsampling) throws {
        for format in [PixelFormat.rgb, .gray] {
            let image = try testPicture(width: 301, height: 203, format: format)
            for progressive in [false, true] {
                let options = JPEGEncodeOptions(quality: 95, subsampling: subsampling, progressive: progressive)
                let jpeg = try ImageCodec.encodeJPEG(image, options: options)
                let decoded = try ImageCodec.decode(jpeg.bytes)
                #expect(decoded.header.isProgressive == progressive)
                #expect(decoded.image.format == format)
                // Hard 16 px colour checks lose chroma at 4:2:0; gray and 4:4:4 keep it.
                let floor = format == .rgb && subsampling == .s420 ? 26.0 : 35.0
                #expect(psnr(decoded.image, image) > floor, "\(format) \(subsampling) progressive=\(progressive)")
            }
        }
    }

    @Test("a photograph survives decode → encode (q90) → decode above 34 dB")
    func photoRoundTrip() throws {
        let photo = try ImageCodec.decode(Corpus.bytes("jpeg/jpegdec_progressive3.jpg")).image
        let again = try ImageCodec.decode(ImageCodec.encodeJPEG(photo).bytes).image
        #expect(again.width == photo.width && again.height == photo.height)
        #expect(psnr(again, photo) > 34)
    }

    @Test("quality orders size and fidelity; 4:4:4 beats 4:2:0 on colour edges")
    func quality() throws {
        let image = try testPicture(width: 256, height: 256, format: .rgb)
        let low = try ImageCodec.encodeJPEG(image, options: JPEGEncodeOptions(quality: 30))
        let high = try ImageCodec.encodeJPEG(image, options: JPEGEncodeOptions(quality: 95))
        #expect(low.bytes.count < high.bytes.count)
        #expect(psnr(try ImageCodec.decode(low.bytes).image, image) < psnr(try ImageCodec.decode(high.bytes).image, image))
        let s444 = try ImageCodec.encodeJPEG(image, options: JPEGEncodeOptions(quality: 95, subsampling: .s444))
        #expect(psnr(try ImageCodec.decode(s444.bytes).image, image) > psnr(try ImageCodec.decode(high.bytes).image, image))
        let plain = try ImageCodec.encodeJPEG(image, options: JPEGEncodeOptions(quality: 95, optimizeHuffman: false))
        #expect(high.bytes.count < plain.bytes.count)
    }

    @Test("alpha is flattened onto white; ICC profiles survive encode and decode")
    func alphaAndICC() throws {
        let clear = try Image(width: 16, height: 16, format: .rgba, fill: Color(red: 0, green: 0, blue: 0, alpha: 0))
        let jpeg = try ImageCodec.encodeJPEG(clear, options: JPEGEncodeOptions(quality: 100, subsampling: .s444))
        let decoded = try ImageCodec.decode(jpeg.bytes).image
        #expect(decoded.format == .rgb && decoded.pixels.allSatisfy { $0 >= 250 })

        let source = try ImageCodec.decode(Corpus.bytes("jpeg/moz_jpg-srgb-icc.jpg"))
        let profile = try #require(source.iccProfile)
        #expect(profile.count > 2000)
        let tagged = try ImageCodec.encodeJPEG(try testPicture(width: 8, height: 8, format: .rgb),
                                                options: JPEGEncodeOptions(iccProfile: profile))
        #expect(try ImageCodec.decode(tagged.bytes).iccProfile == profile)
    }

    @Test("a comment is written as one COM segment, read back by the probe; over 255 bytes is refused")
    func comment() throws {
        let picture = try testPicture(width: 8, height: 8, format: .rgb)
        let text = "KlingKit contact-sheet/1 — ünïcode"
        let tagged = try ImageCodec.encodeJPEG(picture, options: JPEGEncodeOptions(comment: text))
        #expect(try ImageCodec.probe(tagged.bytes).comment == text)
        #expect(try ImageCodec.decode(tagged.bytes).image == (try ImageCodec.decode(ImageCodec.encodeJPEG(picture).bytes).image))
        #expect(try ImageCodec.probe(ImageCodec.encodeJPEG(picture).bytes).comment == nil)
        // libjpeg-turbo's testimg.jpg carries no comment; one written by another tool is read as is.
        #expect(try ImageCodec.probe(Corpus.bytes("jpeg/ljt_testimgint.jpg")).comment == nil)
        #expect(try ImageCodec.probe(Corpus.bytes("jpeg/moz_jpg-cmyk-2.jpg")).comment == "CMYK test image")
        let long = String(repeating: "x", count: 256)
        let error = try #require(throws: CodecError.self) { try ImageCodec.encodeJPEG(picture, options: JPEGEncodeOptions(comment: long)) }
        #expect(error.code == .invalidArgument && error.message.contains("255"))
        #expect(try ImageCodec.probe(ImageCodec.encodeJPEG(picture, options: JPEGEncodeOptions(comment: String(long.dropLast()))).bytes).comment?.count == 255)
    }

    @Test("JPEG size limit is an invalid-argument error, not a crash")
    func tooWide() throws {
        let wide = try Image(width: 65_501, height: 1, format: .gray, fill: .white)
        let error = try #require(throws: CodecError.self) { try ImageCodec.encodeJPEG(wide) }
        #expect(error.code == .invalidArgument)
    }
}
