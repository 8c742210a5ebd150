import Foundation
import ImageCodecs
import ImageCore
import KlingKitTestSupport
import Testing
@testable import ReferenceImages

/// The streamed PNG route (``ReferenceImagePreparer/streamPNGGeometry(_:plan:forced:hadMetadata:)``)
/// against the in-memory route on the same input: the same bytes, actions and size, for every pixel
/// format, each output format, crops, pads and resizes. The inputs are under
/// ``ReferenceImagePreparer/streamedPNGMinPixels`` (input and output), so `prepare(bytes:name:)` takes the in-memory
/// route and is the reference; the streamed function is called directly.
@Suite("Streamed PNG preparation")
struct PrepareStreamPNGTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var width: Int, height: Int
        var format: PixelFormat
        var options: PrepareOptions
        var pattern = Pattern.gradients
        var description: String { name }
    }

    /// Gradients and a checkerboard; flat blocks of three colours (the PNG far smaller than the JPEG);
    /// noise (the PNG larger).
    enum Pattern: Sendable { case gradients, flat, noise }

    static let cases: [Case] = [
        Case(name: "wide RGB padded, automatic format", width: 1500, height: 400, format: .rgb, options: .init()),
        Case(name: "wide RGBA with translucent pixels padded, automatic (PNG)", width: 1500, height: 400, format: .rgba, options: .init()),
        Case(name: "wide RGBA padded, JPEG forced, flattened onto a colour", width: 1500, height: 400, format: .rgba,
             options: .init(background: Color(red: 30, green: 120, blue: 200), format: .jpeg)),
        Case(name: "tall gray+alpha padded, PNG forced", width: 200, height: 900, format: .grayAlpha, options: .init(format: .png)),
        Case(name: "small gray enlarged to the minimum side", width: 200, height: 150, format: .gray, options: .init(format: .png)),
        Case(name: "wide RGB cropped, JPEG", width: 1500, height: 400, format: .rgb, options: .init(fit: .crop, format: .jpeg)),
        Case(name: "wide RGB cropped off-centre and shrunk", width: 2400, height: 500, format: .rgb,
             options: .init(fit: .crop, cropAnchor: .fraction(0.2), maxSide: 900, format: .jpeg)),
        Case(name: "RGB shrunk to a maximum side, Mitchell", width: 1600, height: 1200, format: .rgb,
             options: .init(maxSide: 700, filter: .mitchell)),
        Case(name: "flat RGB padded, automatic (the PNG is smaller)", width: 1500, height: 400, format: .rgb,
             options: .init(), pattern: .flat),
        Case(name: "noise RGB padded, automatic, a budget only the JPEG fits", width: 1500, height: 400, format: .rgb,
             options: .init(maxBytes: 1_500_000), pattern: .noise),
    ]

    /// Gradients, a checkerboard and (with alpha) a ramp of opacity: resampling and flattening both matter.
    static func picture(width: Int, height: Int, format: PixelFormat, pattern: Pattern = .gradients) throws -> [UInt8] {
        let ch = format.channels
        if pattern == .noise {
            var state: UInt32 = 99
            let pixels = (0..<(width * height * ch)).map { _ -> UInt8 in
                state = state &* 1_664_525 &+ 1_013_904_223
                return UInt8(truncatingIfNeeded: state >> 24)
            }
            return try ImageCodec.encodePNG(try Image(width: width, height: height, format: format, pixels: pixels)).bytes
        }
        if pattern == .flat {
            let colours: [[UInt8]] = [[240, 240, 240], [20, 60, 200], [200, 30, 30]]
            var pixels = [UInt8](repeating: 0, count: width * height * ch)
            for y in 0..<height {
                for x in 0..<width {
                    let colour = colours[(x / 200 + y / 100) % 3]
                    for c in 0..<ch { pixels[(y * width + x) * ch + c] = colour[c % 3] }
                }
            }
            return try ImageCodec.encodePNG(try Image(width: width, height: height, format: format, pixels: pixels)).bytes
        }
        var pixels = [UInt8](repeating: 0, count: width * height * ch)
        for y in 0..<height {
            for x in 0..<width {
                let i = (y * width + x) * ch
                let r = UInt8(x * 255 / max(1, width - 1)), g = UInt8(y * 255 / max(1, height - 1))
                let b: UInt8 = (x / 13 + y / 17) % 2 == 0 ? 220 : 30
                switch format {
                case .gray: pixels[i] = UInt8((Int(r) + Int(g) + Int(b)) / 3)
                case .grayAlpha: pixels[i] = b; pixels[i + 1] = UInt8(255 - (x % 64))
                case .rgb: pixels[i] = r; pixels[i + 1] = g; pixels[i + 2] = b
                case .rgba: pixels[i] = r; pixels[i + 1] = g; pixels[i + 2] = b; pixels[i + 3] = x < width / 3 ? 255 : UInt8((x + y) % 256)
                }
            }
        }
        return try ImageCodec.encodePNG(try Image(width: width, height: height, format: format, pixels: pixels)).bytes
    }

    static func streamed(_ bytes: [UInt8], options: PrepareOptions) throws -> PreparedImage? {
        let preparer = ReferenceImagePreparer(options: options)
        let header = try ImageCodec.probe(bytes)
        let plan = PreparePlan(upright: Size(width: header.width, height: header.height), options: options)
        let forced: ImageFormat? = switch options.format {
        case .jpeg: .jpeg
        case .png: .png
        case .auto: nil
        }
        return try preparer.streamPNGGeometry(bytes, plan: plan, forced: forced, hadMetadata: false)
    }

    @Test("the same bytes, actions and size as the in-memory route", arguments: cases)
    func matchesInMemory(_ c: Case) throws {
        let bytes = try Self.picture(width: c.width, height: c.height, format: c.format, pattern: c.pattern)
        let input = try ImageCodec.probe(bytes)
        let plan = PreparePlan(upright: Size(width: input.width, height: input.height), options: c.options)
        #expect(!ReferenceImagePreparer(options: c.options).streamsPNG(input, plan: plan))  // so prepare() is the reference
        let reference = try ReferenceImagePreparer(options: c.options).prepare(bytes: bytes, name: c.name)
        let streamed = try #require(try Self.streamed(bytes, options: c.options))
        #expect(streamed.encoded.format == reference.encoded.format)
        #expect(streamed.encoded.bytes == reference.encoded.bytes)
        #expect(streamed.actions == reference.actions)
        #expect(streamed.width == reference.width && streamed.height == reference.height)
        // And the output is what the rules accept.
        let header = try ImageCodec.probe(streamed.encoded.bytes)
        #expect(min(header.width, header.height) >= 300)
    }

    @Test("a translucent input in the automatic format stays PNG and is not flattened")
    func formatChoice() throws {
        let translucent = try #require(try Self.streamed(try Self.picture(width: 1500, height: 400, format: .rgba), options: .init()))
        #expect(translucent.encoded.format == .png)
        #expect(!translucent.actions.contains { if case .flattenedAlpha = $0 { true } else { false } })
    }

    @Test("automatic format, opaque: the PNG when it is smaller than the JPEG, byte for byte the level-6 encoding")
    func smallerPNGWins() throws {
        let flat = try #require(try Self.streamed(try Self.picture(width: 1500, height: 400, format: .rgb, pattern: .flat),
                                                  options: .init()))
        #expect(flat.encoded.format == .png)
        #expect(flat.actions.last == .reencodedPNG && !flat.actions.contains(.converted(from: .png, to: .jpeg)))
        let pixels = try ImageCodec.decode(flat.encoded.bytes).image
        #expect(flat.encoded.bytes == (try ImageCodec.encodePNG(pixels, options: PNGEncodeOptions(compressionLevel: 6))).bytes)
        #expect(flat.encoded.bytes.count < (try ImageCodec.encodeJPEG(pixels, options: JPEGEncodeOptions(quality: 90))).bytes.count)
        // Noise: the JPEG, the PNG (over the budget) given up on the way.
        let noise = try Self.picture(width: 1500, height: 400, format: .rgb, pattern: .noise)
        let photo = try #require(try Self.streamed(noise, options: .init(maxBytes: 1_500_000)))
        #expect(photo.encoded.format == .jpeg && photo.encoded.bytes.count <= 1_500_000)
        let unbounded = try #require(try Self.streamed(noise, options: .init()))
        #expect(unbounded.encoded.format == .jpeg)  // the PNG is larger than the JPEG
        #expect(try Self.streamed(noise, options: .init(maxBytes: 1_500_000, format: .png)) == nil)  // PNG forced: the search
    }

    @Test("an encoding over the byte budget is left to the in-memory search (nil), which then fits it")
    func overBudget() throws {
        let bytes = try Self.picture(width: 1500, height: 400, format: .rgb)
        let options = PrepareOptions(maxBytes: 20_000, format: .jpeg)
        #expect(try Self.streamed(bytes, options: options) == nil)
        let fitted = try ReferenceImagePreparer(options: options).prepare(bytes: bytes, name: "tight")
        #expect(fitted.encoded.bytes.count <= 20_000)
    }

    @Test("interlaced input is declined; damage after the rows fails as corrupt, with nothing handed back")
    func declinesAndFails() throws {
        let interlaced = try PrepareCorpus.bytes("png-suite/basi2c08.png")
        #expect(try Self.streamed(interlaced, options: .init()) == nil)
        let bytes = try Self.picture(width: 1500, height: 400, format: .rgb)
        let cut = Array(bytes.prefix(bytes.count - 6))  // IEND's CRC torn off
        let error = #expect(throws: PrepareError.self) { _ = try Self.streamed(cut, options: .init()) }
        #expect(error?.code == .corrupt)
    }
}
