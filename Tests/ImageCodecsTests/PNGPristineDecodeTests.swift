import Foundation
import ImageCodecs
import ImageCore
import KlingKitTestSupport
import KlingSupport
import Testing

/// A pristine 8-bit PNG is decoded with its image data inflated whole (zlib) and unfiltered in
/// the shim (png_unfilter.c), in `ImageCodec.decode` and in `PNGRowReader`; anything else goes to
/// libpng's row reader. These tests hold both against libpng's row reader alone
/// (`DecodeOptions.pngLibpngRows`): the same pixels, profile and errors, on every file.
@Suite("PNG pristine decode agrees with libpng's row reader")
struct PNGPristineDecodeTests {
    enum Answer: Equatable, CustomStringConvertible {
        case image(Image, icc: [UInt8]?)
        case fails(CodecError)
        var description: String {
            switch self {
            case .image(let image, let icc): "\(image.width)x\(image.height) \(image.format), icc \(icc?.count ?? 0) bytes"
            case .fails(let error): "fails: \(error)"
            }
        }
    }

    static let libpng: DecodeOptions = {
        var options = DecodeOptions()
        options.pngLibpngRows = true
        return options
    }()

    static func decoded(_ bytes: [UInt8], _ options: DecodeOptions) -> Answer {
        do {
            let decoded = try ImageCodec.decode(bytes, options: options)
            return .image(decoded.image, icc: decoded.iccProfile)
        } catch let error as CodecError {
            return .fails(error)
        } catch {
            return .fails(CodecError(.io, "unexpected \(error)"))
        }
    }

    /// The rows of `PNGRowReader`, read three at a time, then `finish()`.
    static func streamed(_ bytes: [UInt8], _ options: DecodeOptions) -> Answer {
        do {
            let reader = try PNGRowReader(bytes, options: options)
            let pixels = try readAllRows(reader)
            return .image(try Image(width: reader.width, height: reader.height, format: reader.format, pixels: pixels),
                          icc: reader.iccProfile)
        } catch let error as CodecError {
            return .fails(error)
        } catch {
            return .fails(CodecError(.io, "unexpected \(error)"))
        }
    }

    /// Where the two ways disagree on `bytes`, in words; nil when they agree.
    static func disagreement(_ bytes: [UInt8]) -> String? {
        let fast = decoded(bytes, .init()), slow = decoded(bytes, libpng)
        if fast != slow { return "decode: \(fast) against libpng's \(slow)" }
        let fastRows = streamed(bytes, .init()), slowRows = streamed(bytes, libpng)
        if fastRows != slowRows { return "rows: \(fastRows) against libpng's \(slowRows)" }
        if case .image(let image, _) = fast, case .image(let rows, _) = fastRows, image != rows {
            return "rows differ from the decode"
        }
        return nil
    }

    @Test("every corpus and fixture PNG", .enabled(if: TestCorpus.available))
    func corpus() throws {
        let files = try PNGVerifyTests.corpusPNGs.map { ($0, try Corpus.bytes($0)) }
            + PNGVerifyTests.localPNGs().enumerated().map { ("local #\($0.offset)", $0.element) }
            + [("screenshot-large.png", try [UInt8](Data(contentsOf: TestCorpus.packageRoot.appendingPathComponent("samples/screenshot-large.png"))))]
        #expect(files.count > 180)
        for (name, bytes) in files {
            if let problem = Self.disagreement(bytes) { Issue.record("\(name): \(problem)") }
        }
    }

    /// Random pixels make every branch of every predictor happen.
    @Test("every filter at every pixel size, on random pixels", arguments: PixelFormat.allCases)
    func filters(format: PixelFormat) throws {
        var rng = SplitMix64(seed: 0x50_4E_47_46 &+ UInt64(format.channels))
        for filter in PNGFilter.allCases {
            for (w, h) in [(1, 1), (2, 3), (37, 29), (257, 5)] {
                let pixels = (0..<w * h * format.channels).map { _ in UInt8.random(in: 0...255, using: &rng) }
                let image = try Image(width: w, height: h, format: format, pixels: pixels)
                let png = try ImageCodec.encodePNG(image, options: PNGEncodeOptions(compressionLevel: 6, filter: filter)).bytes
                #expect(Self.decoded(png, .init()) == .image(image, icc: nil), "\(format) \(filter) \(w)x\(h)")
                #expect(Self.streamed(png, .init()) == .image(image, icc: nil), "\(format) \(filter) \(w)x\(h), rows")
                #expect(Self.disagreement(png) == nil, "\(format) \(filter) \(w)x\(h)")
            }
        }
    }

    @Test("damaged variants of PNGs the pristine decode takes", .enabled(if: TestCorpus.available))
    func damaged() throws {
        let bases = ["png-suite/basn0g08.png", "png-suite/basn2c08.png", "png-suite/basn4a08.png", "png-suite/basn6a08.png"]
        var rng = SplitMix64(seed: 0x5052_4953)
        var outcomes = (decodes: 0, fails: 0)
        for base in bases {
            let original = try Corpus.bytes(base)
            for (what, bytes) in PNGBytes.damagedVariants(of: original, using: &rng) {
                if let problem = Self.disagreement(bytes) { Issue.record("\(base), \(what): \(problem)") }
                if case .fails = Self.decoded(bytes, .init()) { outcomes.fails += 1 } else { outcomes.decodes += 1 }
            }
        }
        // Both answers are reached, so agreement is not the trivial "everything fails".
        #expect(outcomes.fails > 200 && outcomes.decodes > 20, "\(outcomes)")
    }

    @Test("an ICC profile comes back from the pristine decode as from libpng's", .enabled(if: TestCorpus.available))
    func profile() throws {
        let image = try Image(width: 40, height: 30, format: .rgb, fill: .white)
        let profile = try #require(try ImageCodec.decode(Corpus.bytes("exif-orientation/imagepng_F-exif-chunk-early.png")).iccProfile)
        let png = try ImageCodec.encodePNG(image, options: PNGEncodeOptions(iccProfile: profile)).bytes
        #expect(Self.decoded(png, .init()) == .image(image, icc: profile))
        #expect(Self.disagreement(png) == nil)
    }
}
