import KlingKitTestSupport
import Foundation
import ImageCodecs
import ImageCore
import Testing

/// The HEIF/AVIF/WebP fixtures made by `scripts/make-format-fixtures.sh` with real encoders, with
/// references from independent decoders (heif-convert, dwebp) or the encoder's own input.
enum FormatFixtures {
    static let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        .appendingPathComponent("Tests/Fixtures/formats").standardizedFileURL

    static func bytes(_ name: String) throws -> [UInt8] {
        try [UInt8](Data(contentsOf: root.appendingPathComponent(name)))
    }

    /// A reference PNG decoded by libpng (the existing, independent PNG path).
    static func reference(_ name: String) throws -> Image {
        try ImageCodec.decode(bytes(name)).image
    }
}

/// RGB of an image, alpha dropped, for comparing against 3-channel references.
private func rgb(_ image: Image) throws -> Image {
    guard image.format == .rgba else { return image }
    var pixels: [UInt8] = []
    pixels.reserveCapacity(image.width * image.height * 3)
    for i in stride(from: 0, to: image.pixels.count, by: 4) { pixels += image.pixels[i..<i + 3] }
    return try Image(width: image.width, height: image.height, format: .rgb, pixels: pixels)
}

@Suite("HEIF, AVIF and WebP decoding")
struct ConvertibleFormatTests {
    @Test("Sniffing by content", arguments: [
        ("landscape.heic", ConvertibleFormat.heic), ("alpha.heic", .heic), ("tenbit.heic", .heic),
        ("landscape.avif", .avif), ("irot.avif", .avif), ("grid-bomb.avif", .avif),
        ("lossy.webp", .webp), ("lossless.webp", .webp), ("animated.webp", .webp), ("exif6.webp", .webp),
    ])
    func sniff(name: String, format: ConvertibleFormat) throws {
        let bytes = try FormatFixtures.bytes(name)
        #expect(ImageCodec.sniffConvertible(bytes) == format)
        #expect(ImageCodec.sniff(bytes) == nil, "not JPEG/PNG")
    }

    @Test("JPEG, PNG and junk are not convertible")
    func sniffOthers() throws {
        #expect(ImageCodec.sniffConvertible(try Corpus.bytes("jpeg/pillow_hopper.jpg")) == nil)
        #expect(ImageCodec.sniffConvertible(try FormatFixtures.bytes("animated.png")) == nil)
        #expect(ImageCodec.sniffConvertible([]) == nil)
        // An MP4 ftyp (brand isom) is not an image.
        let mp4: [UInt8] = [0, 0, 0, 16] + Array("ftypisom".utf8) + [0, 0, 2, 0]
        #expect(ImageCodec.sniffConvertible(mp4) == nil)
        #expect(throws: CodecError.self) { try ImageCodec.probeConvertible(mp4) }
    }

    @Test("Decodes match independent decoders by PSNR", arguments: [
        ("landscape.heic", "landscape.heic.reference.png", 35.0),
        ("landscape.avif", "landscape.avif.reference.png", 35.0),
        ("lossy.webp", "lossy.webp.reference.png", 35.0),
        ("tenbit.heic", "tenbit.heic.reference.png", 35.0),
    ])
    func matchesReference(name: String, reference: String, minimum: Double) throws {
        let decoded = try ImageCodec.decodeConvertible(FormatFixtures.bytes(name))
        let expected = try rgb(FormatFixtures.reference(reference))
        #expect(decoded.image.size == expected.size)
        let value = psnr(try rgb(decoded.image), expected)
        #expect(value >= minimum, "\(name): \(value) dB")
    }

    @Test("Lossless WebP is exact")
    func lossless() throws {
        let decoded = try ImageCodec.decodeConvertible(FormatFixtures.bytes("lossless.webp"))
        #expect(decoded.header.isLossless)
        #expect(try rgb(decoded.image) == (try rgb(FormatFixtures.reference("lossless.webp.reference.png"))))
    }

    @Test("Alpha is kept (WebP against dwebp, HEIF against the WebP of the same source)")
    func alpha() throws {
        let webp = try ImageCodec.decodeConvertible(FormatFixtures.bytes("alpha.webp"))
        #expect(webp.header.hasAlpha && webp.image.format == .rgba && webp.image.hasTransparency)
        let reference = try FormatFixtures.reference("alpha.webp.reference.png")
        #expect(reference.format == .rgba)
        #expect(psnr(webp.image, reference) >= 35)
        let heif = try ImageCodec.decodeConvertible(FormatFixtures.bytes("alpha.heic"))
        #expect(heif.header.hasAlpha && heif.image.format == .rgba && heif.image.hasTransparency)
        // Same alpha mask from both encoders: the corners are transparent, the centre opaque.
        for image in [webp.image, heif.image] {
            let corner = image.pixels[3], centre = image.pixels[(image.height / 2 * image.width + image.width / 2) * 4 + 3]
            #expect(corner < 16 && centre > 240)
        }
    }

    @Test("10-bit HEIF is rounded to 8 bits")
    func tenBit() throws {
        let decoded = try ImageCodec.decodeConvertible(FormatFixtures.bytes("tenbit.heic"))
        #expect(decoded.header.bitDepth == 10)
        #expect(decoded.header.notes.contains("10-bit scaled to 8"))
        #expect(decoded.image.format == .rgb)
    }

    @Test("WebP EXIF orientation is applied; the upright image matches the reference")
    func webpOrientation() throws {
        let decoded = try ImageCodec.decodeConvertible(FormatFixtures.bytes("exif6.webp"))
        #expect(decoded.header.orientation == 6)
        #expect(decoded.header.width == 100 && decoded.header.height == 150)
        let upright = try rgb(FormatFixtures.reference("upright-reference.png"))
        #expect(decoded.image.size == upright.size)
        let right = psnr(try rgb(decoded.image), upright)
        #expect(right >= 30, "\(right) dB")
        // The wrong turn is far off: the test can tell orientations apart.
        let wrong = psnr(try rgb(decoded.image).oriented(exif: 3), upright)
        #expect(wrong < right - 10)
    }

    @Test("HEIF irot is applied and EXIF orientation ignored")
    func heifTransformations() throws {
        let rotated = try ImageCodec.decodeConvertible(FormatFixtures.bytes("irot.avif"))
        #expect(rotated.header.transformationsRotate && rotated.header.orientation == 1)
        let upright = try rgb(FormatFixtures.reference("upright-reference.png"))
        #expect(rotated.image.size == upright.size)
        #expect(psnr(rotated.image, upright) >= 30)

        let exif = try ImageCodec.decodeConvertible(FormatFixtures.bytes("exif6-ignored.heic"))
        #expect(exif.header.ignoredEXIFOrientation == 6)
        #expect(exif.header.orientation == 1)
        #expect(exif.image.width == 100 && exif.image.height == 150, "stored sideways, shown as stored")
    }

    @Test("A multi-image HEIF decodes its primary image and says there were several")
    func multiImage() throws {
        let decoded = try ImageCodec.decodeConvertible(FormatFixtures.bytes("two-images.heic"))
        #expect(decoded.header.imageCount == 2)
        #expect(decoded.header.notes.contains("2 images: primary image used"))
        let single = try ImageCodec.decodeConvertible(FormatFixtures.bytes("landscape.heic"))
        #expect(single.header.imageCount == 1)
        #expect(decoded.image.size == single.image.size)
        #expect(psnr(decoded.image, single.image) >= 40)
    }

    @Test("Animated WebP: the first frame")
    func animatedWebP() throws {
        let decoded = try ImageCodec.decodeConvertible(FormatFixtures.bytes("animated.webp"))
        #expect(decoded.header.isAnimated && decoded.header.imageCount == 3)
        #expect(decoded.image.size == Size(width: 96, height: 64))
        let p = decoded.image.pixels
        #expect(p[0] == 255 && p[1] == 0 && p[2] == 0 && p[3] == 255, "first frame is red")
    }

    @Test("nclx Display P3 becomes sRGB as the P3-to-sRGB matrix says")
    func nclxP3() throws {
        let plain = try ImageCodec.decodeConvertible(FormatFixtures.bytes("landscape.avif"))
        #expect(plain.iccProfile == nil)
        let p3 = try ImageCodec.decodeConvertible(FormatFixtures.bytes("p3-nclx.avif"))
        #expect(p3.header.colorDescription == "nclx 12/13/6")
        #expect(p3.iccProfile != nil)
        let converted = try p3.convertedToSRGB()
        #expect(converted.iccProfile == nil)
        // Independent arithmetic: sRGB decoding curve (IEC 61966-2-1), the linear Display P3 -> sRGB
        // matrix (both D65), sRGB encoding; compared where the result is inside the sRGB gamut.
        func lin(_ v: Double) -> Double { v <= 0.04045 ? v / 12.92 : pow((v + 0.055) / 1.055, 2.4) }
        func enc(_ v: Double) -> Double { v <= 0.0031308 ? v * 12.92 : 1.055 * pow(v, 1 / 2.4) - 0.055 }
        let m: [[Double]] = [[1.2249401, -0.2249404, 0], [-0.0420569, 1.0420571, 0], [-0.0196376, -0.0786361, 1.0982735]]
        var compared = 0, worst = 0.0
        for i in stride(from: 0, to: p3.image.pixels.count, by: 3 * 97) {
            let src = (0..<3).map { lin(Double(p3.image.pixels[i + $0]) / 255) }
            let out = m.map { row in row[0] * src[0] + row[1] * src[1] + row[2] * src[2] }
            guard out.allSatisfy({ $0 >= 0 && $0 <= 1 }) else { continue }
            for c in 0..<3 {
                worst = max(worst, abs(enc(out[c]) * 255 - Double(converted.image.pixels[i + c])))
            }
            compared += 1
        }
        #expect(compared > 20)
        #expect(worst <= 3, "largest difference \(worst)")
        #expect(converted.image != p3.image, "the conversion changed something")
    }

    @Test("Bombs are refused from the header", arguments: [
        ("bomb-100000.heic", CodecError.Code.tooManyPixels),
        ("bomb-16383.webp", .tooManyPixels),
        ("grid-bomb.avif", .resourceLimit),
    ])
    func bombs(name: String, code: CodecError.Code) throws {
        let bytes = try FormatFixtures.bytes(name)
        for attempt in [{ _ = try ImageCodec.probeConvertible(bytes) }, { _ = try ImageCodec.decodeConvertible(bytes) }] {
            do {
                try attempt()
                Issue.record("\(name) was accepted")
            } catch let error as CodecError {
                #expect(error.code == code, "\(name): \(error)")
            }
        }
    }

    @Test("A stream whose frame is larger than its header declares is refused before the frame is allocated")
    func frameBomb() throws {
        // Found by fuzz/run-formats.sh: 'ispe' says 150x100, the HEVC stream decodes to 57840x38746
        // (2.2 GB of planes). The header is honest enough to probe; the decode must refuse, not allocate.
        let bytes = try FormatFixtures.bytes("frame-bomb.heic")
        let header = try ImageCodec.probeConvertible(bytes)
        #expect(header.width == 150 && header.height == 100)
        do {
            _ = try ImageCodec.decodeConvertible(bytes)
            Issue.record("the frame bomb was decoded")
        } catch let error as CodecError {
            #expect(error.code == .resourceLimit, "\(error)")
            #expect(error.message.contains("57840x38746"), "\(error)")
        }
    }

    @Test("An AV1 stream whose colour matrix is unknown is refused as corrupt, naming the rule")
    func unknownAV1Matrix() throws {
        // Found by fuzz/run-formats.sh (CI, 2026-12-02): the container is sound, so the probe passes; the
        // AV1 sequence header carries an unknown matrix_coefficients code, which libheif refuses after its
        // decoder plugin made the image (that image is libheif's leak, see fuzz/lsan-formats.supp).
        let bytes = try FormatFixtures.bytes("av1-matrix-leak.avif")
        let header = try ImageCodec.probeConvertible(bytes)
        #expect(header.width == 108 && header.height == 100)
        do {
            _ = try ImageCodec.decodeConvertible(bytes)
            Issue.record("the file with an unknown colour matrix was decoded")
        } catch let error as CodecError {
            #expect(error.code == .corrupt, "\(error)")
            #expect(error.message.contains("NCLX matrix coefficients"), "\(error)")
        }
    }

    @Test("The grid bomb is an honest grid: with a high enough tile limit it is probed")
    func gridHeader() throws {
        let header = try ImageCodec.probeConvertible(FormatFixtures.bytes("grid-bomb.avif"), maxTiles: 5000)
        #expect(header.tiles == 2000)
        #expect(header.width == 3200 && header.height == 2560)
    }

    @Test("Truncated files fail cleanly", arguments: [
        "landscape.heic", "landscape.avif", "lossy.webp", "lossless.webp", "alpha.webp", "animated.webp", "alpha.heic",
    ])
    func truncated(name: String) throws {
        let bytes = try FormatFixtures.bytes(name)
        for fraction in [0.05, 0.3, 0.5, 0.8, 0.95, 0.999] {
            let cut = Array(bytes.prefix(Int(Double(bytes.count) * fraction)))
            #expect(throws: CodecError.self, "\(name) cut at \(cut.count)") {
                _ = try ImageCodec.decodeConvertible(cut)
            }
        }
    }

    @Test("Bit flips never crash, and a decode that succeeds has the probed size", arguments: [
        "landscape.heic", "landscape.avif", "lossy.webp", "lossless.webp", "alpha.webp", "animated.webp",
    ])
    func bitFlips(name: String) throws {
        let bytes = try FormatFixtures.bytes(name)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        var failures = 0
        for _ in 0..<60 {
            var damaged = bytes
            for _ in 0..<4 {
                state = state &* 6364136223846793005 &+ 1442695040888963407
                let at = Int(state >> 33) % damaged.count
                damaged[at] ^= UInt8(1 << Int((state >> 20) & 7))
            }
            do {
                let decoded = try ImageCodec.decodeConvertible(damaged)
                #expect(decoded.image.width == decoded.header.orientedWidth && decoded.image.height == decoded.header.orientedHeight)
            } catch is CodecError {
                failures += 1
            }
        }
        #expect(failures > 0, "some of 60 damaged copies of \(name) should be refused")
    }
}
