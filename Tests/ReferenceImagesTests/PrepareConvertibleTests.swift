import Foundation
import KlingKitTestSupport
import ImageCodecs
import ImageCore
import Testing
@testable import ReferenceImages

/// HEIF/AVIF/WebP and animated PNG inputs through `prepare` and `check` (issue #13), on the fixtures of
/// `scripts/make-format-fixtures.sh`, judged against references from independent decoders.
@Suite("prepare and check: HEIF, AVIF, WebP, animated PNG")
struct PrepareConvertibleTests {
    static let root = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        .appendingPathComponent("Tests/Fixtures/formats").standardizedFileURL

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: root.appendingPathComponent(name)))
    }

    /// The reference PNG (libpng), RGB, resized with the same Lanczos filter to `size`.
    static func reference(_ name: String, size: Size) throws -> Image {
        var image = try ImageCodec.decode(bytes(name)).image
        if image.format == .rgba { image = image.flattened(background: .white) }
        return image.size == size ? image : image.resized(to: size, filter: .lanczos3)
    }


    @Test("HEIC, AVIF and WebP become JPEG of the upright image, resized to the minimum side", arguments: [
        ("landscape.heic", "landscape.heic.reference.png", "heic"),
        ("landscape.avif", "landscape.avif.reference.png", "avif"),
        ("lossy.webp", "lossy.webp.reference.png", "webp"),
        ("exif6.webp", "upright-reference.png", "webp"),
        ("irot.avif", "upright-reference.png", "avif"),
    ])
    func converts(name: String, reference: String, format: String) throws {
        let prepared = try ReferenceImagePreparer().prepare(bytes: Self.bytes(name), name: name)
        #expect(prepared.encoded.format == .jpeg)
        #expect(prepared.actions.contains(.convertedFrom(try #require(ConvertibleFormat(rawValue: format)), to: .jpeg)), "\(prepared.actions)")
        #expect(prepared.width == 450 && prepared.height == 300, "upright 150x100 scaled to 300 px short side")
        let output = try ImageCodec.decode(prepared.encoded.bytes).image
        let expected = try Self.reference(reference, size: output.size)
        let value = psnr(output, expected)
        #expect(value >= 35, "\(name): \(value) dB against \(reference)")
        // Every rule passes on the output.
        #expect(ReferenceImageValidator().validate(bytes: prepared.encoded.bytes, name: "out").isValid)
    }

    @Test("Real transparency stays PNG with --format auto; --format jpeg flattens it")
    func transparency() throws {
        for name in ["alpha.webp", "alpha.heic"] {
            let auto = try ReferenceImagePreparer().prepare(bytes: Self.bytes(name), name: name)
            #expect(auto.encoded.format == .png, "\(name): \(auto.actions)")
            #expect(try ImageCodec.decode(auto.encoded.bytes).image.hasTransparency)
            var options = PrepareOptions()
            options.format = .jpeg
            let jpeg = try ReferenceImagePreparer(options: options).prepare(bytes: Self.bytes(name), name: name)
            #expect(jpeg.encoded.format == .jpeg)
            #expect(jpeg.actions.contains { if case .flattenedAlpha = $0 { true } else { false } })
        }
    }

    @Test("P3 colours are converted to sRGB")
    func colours() throws {
        let prepared = try ReferenceImagePreparer().prepare(bytes: Self.bytes("p3-nclx.avif"), name: "p3")
        #expect(prepared.actions.contains(.convertedToSRGB))
        let plain = try ReferenceImagePreparer().prepare(bytes: Self.bytes("landscape.avif"), name: "plain")
        #expect(!plain.actions.contains(.convertedToSRGB))
    }

    @Test("An animated PNG is written as a still of its default image")
    func animatedPNG() throws {
        let bytes = try Self.bytes("animated.png")
        #expect(ImageCodec.pngAnimation(bytes)?.frames == 3)
        let prepared = try ReferenceImagePreparer().prepare(bytes: bytes, name: "animated.png")
        #expect(prepared.actions.first == .stillFromAnimation(format: "png", frames: 3), "\(prepared.actions)")
        #expect(ImageCodec.pngAnimation(prepared.encoded.bytes) == nil, "the output is a still")
        let image = try ImageCodec.decode(prepared.encoded.bytes).image
        let centre = (image.height / 2 * image.width + image.width / 2) * image.format.channels
        #expect(image.pixels[centre] > 240 && image.pixels[centre + 1] < 16, "the default image is the red one")
        let report = ReferenceImageValidator().validate(bytes: bytes, name: "animated.png")
        #expect(report.notes.first?.hasPrefix("animated PNG (3 frames)") == true)
    }

    @Test("Bombs and damaged files are refused with one clear error", arguments: [
        ("bomb-100000.heic", "too-many-pixels"), ("bomb-16383.webp", "too-many-pixels"),
        ("grid-bomb.avif", "too-many-pixels"),
    ])
    func refused(name: String, rule: String) throws {
        do {
            _ = try ReferenceImagePreparer().prepare(bytes: Self.bytes(name), name: name)
            Issue.record("\(name) was prepared")
        } catch let error as PrepareError {
            #expect(error.rule == rule, "\(error)")
        }
        let whole = try Self.bytes("landscape.heic")
        let truncated = Array(whole.prefix(whole.count * 2 / 3))
        #expect(throws: PrepareError.self) { try ReferenceImagePreparer().prepare(bytes: truncated, name: "cut") }
    }

    @Test("check: unsupported-format naming the format, size and orientation; prepare converts it")
    func verdicts() throws {
        let validator = ReferenceImageValidator()
        let webp = validator.validate(bytes: try Self.bytes("exif6.webp"), name: "exif6.webp")
        #expect(webp.rules.first == .unsupportedFormat)
        #expect(webp.convertible?.format == .webp)
        let message = webp.violations.first?.message ?? ""
        #expect(message.hasPrefix("webp image (100x150, EXIF orientation 6, upright 150x100"), "\(message)")
        #expect(message.hasSuffix("prepare converts it"))
        #expect(webp.rules.contains(.minDimension), "150x100 is below 300 px")
        let heic = validator.validate(bytes: try Self.bytes("two-images.heic"), name: "two.heic")
        #expect(heic.violations.first?.message.contains("2 images: primary image used") == true)
        let whole = try Self.bytes("landscape.heic")
        let cut = validator.validate(bytes: Array(whole.prefix(whole.count * 2 / 3)), name: "cut.heic")
        #expect(cut.rules.contains(.corrupt))
    }
}
