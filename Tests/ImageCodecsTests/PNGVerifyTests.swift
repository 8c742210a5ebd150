import Foundation
import ImageCodecs
import ImageCore
import KlingKitTestSupport
import KlingSupport
import Testing

/// `ImageCodec.verify` inflates a PNG's image data and checks each row's filter type without
/// unfiltering it, and sends anything not pristine back to libpng's row reader (png_verify.c). Its
/// answer must be the one a full decode gives, on every file: these tests hold the two side by side
/// on the corpus, on thousands of damaged variants of it, and on streams built to hit each edge.
@Suite("PNG verification agrees with decoding")
struct PNGVerifyTests {
    enum Outcome: Equatable, CustomStringConvertible {
        case decodes
        case fails(CodecError)
        var description: String {
            switch self {
            case .decodes: "decodes"
            case .fails(let error): "fails: \(error)"
            }
        }
    }

    static func outcome(_ body: () throws -> Void) -> Outcome {
        do {
            try body()
            return .decodes
        } catch let error as CodecError {
            return .fails(error)
        } catch {
            return .fails(CodecError(.io, "unexpected \(error)"))
        }
    }

    /// Verification's and a full decode's answers for `bytes`.
    static func answers(_ bytes: [UInt8], options: DecodeOptions = .init()) -> (verify: Outcome, decode: Outcome) {
        (outcome { try ImageCodec.verify(bytes, options: options) },
         outcome { _ = try ImageCodec.decode(bytes, options: options) })
    }

    /// The filtered image data of a `width`x`height` 8-bit gray image: each row its filter type and
    /// its bytes, pass after pass when `interlaced` (Adam7, ISO/IEC 15948 section 8.2).
    static func rows(width: Int, height: Int, interlaced: Bool = false, filter: UInt8 = 1) -> [UInt8] {
        let passes = interlaced
            ? [(0, 8, 0, 8), (4, 8, 0, 8), (0, 4, 4, 8), (2, 4, 0, 4), (0, 2, 2, 4), (1, 2, 0, 2), (0, 1, 1, 2)]
            : [(0, 1, 0, 1)]
        var out: [UInt8] = []
        for (x0, dx, y0, dy) in passes {
            let columns = width > x0 ? (width - x0 + dx - 1) / dx : 0
            let count = height > y0 ? (height - y0 + dy - 1) / dy : 0
            guard columns > 0 else { continue }
            for r in 0..<count {
                out.append(filter)
                out += (0..<columns).map { UInt8(truncatingIfNeeded: $0 * 7 + r * 13) }
            }
        }
        return out
    }

    static var corpusPNGs: [String] {
        Corpus.pngSuite + Corpus.files(in: "png", extensions: ["png"]) + Corpus.malformed
    }

    static func localPNGs() throws -> [[UInt8]] {
        let root = TestCorpus.packageRoot
        let fixtures = root.appendingPathComponent("Tests/Fixtures/formats")
        let names = try FileManager.default.contentsOfDirectory(atPath: fixtures.path).filter { $0.hasSuffix(".png") }.sorted()
        return try names.map { try [UInt8](Data(contentsOf: fixtures.appendingPathComponent($0))) }
            + [[UInt8](Data(contentsOf: root.appendingPathComponent("samples/avatar-tiny.png")))]
    }

    @Test("every corpus and fixture PNG gets the same answer from verify as from decode",
          .enabled(if: TestCorpus.available))
    func corpus() throws {
        let files = try Self.corpusPNGs.map { ($0, try Corpus.bytes($0)) }
            + Self.localPNGs().enumerated().map { ("local #\($0.offset)", $0.element) }
        #expect(files.count > 180)
        var failing = 0
        for (name, bytes) in files {
            let (verify, decode) = Self.answers(bytes)
            #expect(verify == decode, "\(name): verify \(verify), decode \(decode)")
            if case .fails = decode { failing += 1 }
        }
        // Both kinds are there: PngSuite's x* files and the malformed folder fail, the rest decode.
        #expect(failing >= 14 && failing < files.count / 2, "\(failing) of \(files.count) fail")
    }

    @Test("damaged variants (truncated, bit-flipped, image data flipped under a fixed CRC) agree",
          .enabled(if: TestCorpus.available))
    func damaged() throws {
        let bases = ["png-suite/basn0g08.png", "png-suite/basi0g01.png", "png-suite/basn3p08.png",
                     "png-suite/basi6a16.png", "png-suite/basn2c16.png", "png/pillow_hopper_bw_500.png"]
        var rng = SplitMix64(seed: 0x504E_4756)
        var disagreements: [String] = []
        var outcomes = (decodes: 0, fails: 0)
        for base in bases {
            let original = try Corpus.bytes(base)
            #expect(Self.answers(original).decode == .decodes, "\(base) is a valid base")
            let variants = PNGBytes.damagedVariants(of: original, using: &rng)
            for (what, bytes) in variants {
                let (verify, decode) = Self.answers(bytes)
                if verify != decode { disagreements.append("\(base), \(what): verify \(verify), decode \(decode)") }
                if case .fails = decode { outcomes.fails += 1 } else { outcomes.decodes += 1 }
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) disagreements:\n\(disagreements.prefix(10).joined(separator: "\n"))")
        // The variants reach both answers, so agreement is not the trivial "everything fails".
        #expect(outcomes.fails > 300 && outcomes.decodes > 40, "\(outcomes)")
    }

    /// Both declared windows: 32 KiB (CINFO 7, what encoders write for large data) and 16 KiB.
    @Test("built streams: every edge of the image data gets decode's answer, and the expected one",
          arguments: [UInt8(7), 6])
    func builtStreams(window: UInt8) throws {
        func zlib(_ data: [UInt8], adler: UInt32? = nil) -> [UInt8] { PNGBytes.zlibStored(data, adler: adler, window: window) }
        let (w, h) = (37, 29)
        let exact = Self.rows(width: w, height: h)
        let interlaced = Self.rows(width: w, height: h, interlaced: true)
        var badFilter = exact
        badFilter[(w + 1) * 11] = 5
        var idatThenText = PNGBytes.png(width: w, height: h, zlib: zlib(exact), idatSize: 300)
        let third = PNGBytes.chunks(idatThenText).filter { $0.type == "IDAT" }[2].offset
        idatThenText.insert(contentsOf: PNGBytes.chunk("tEXt", Array("Comment\0between".utf8)), at: third)
        let unknownCritical = PNGBytes.chunk("QUIT", [1, 2, 3])
        // The expected answer; nil where only agreement is asserted.
        let cases: [(String, [UInt8], Bool?)] = [
            ("exact rows, one IDAT", PNGBytes.png(width: w, height: h, zlib: zlib(exact)), true),
            ("exact rows, 1-byte IDATs", PNGBytes.png(width: w, height: h, zlib: zlib(exact), idatSize: 1), true),
            ("Adam7, every pass", PNGBytes.png(width: w, height: h, interlaced: true, zlib: zlib(interlaced)), true),
            ("Adam7 1x1: six empty passes", PNGBytes.png(width: 1, height: 1, interlaced: true,
                                                         zlib: zlib(Self.rows(width: 1, height: 1, interlaced: true))), true),
            ("Adam7 one byte short", PNGBytes.png(width: w, height: h, interlaced: true, zlib: zlib(Array(interlaced.dropLast()))), false),
            ("Adam7 rows read as non-interlaced", PNGBytes.png(width: w, height: h, zlib: zlib(interlaced)), nil),
            ("one row short", PNGBytes.png(width: w, height: h, zlib: zlib(Array(exact.dropLast(w + 1)))), false),
            ("filter type 5", PNGBytes.png(width: w, height: h, zlib: zlib(badFilter)), false),
            ("a row too many", PNGBytes.png(width: w, height: h, zlib: zlib(exact + exact.prefix(w + 1))), true),
            ("wrong Adler-32", PNGBytes.png(width: w, height: h, zlib: zlib(exact, adler: 7)), nil),
            ("image data split by a tEXt chunk", idatThenText, false),
            ("unknown critical chunk after IDAT", PNGBytes.png(width: w, height: h, zlib: zlib(exact), trailer: unknownCritical), true),
            ("2-bit gray", PNGBytes.png(width: 8, height: 3, bitDepth: 2, zlib: zlib([0, 0x1B, 0xE4, 1, 3, 4, 2, 6, 7])), true),
            ("2-bit gray, rows 1 byte too short", PNGBytes.png(width: 9, height: 3, bitDepth: 2, zlib: zlib([0, 0x1B, 0xE4, 1, 3, 4, 2, 6, 7])), false),
            ("palette", PNGBytes.png(width: 4, height: 2, colorType: 3, zlib: zlib([0, 0, 1, 0, 1, 0, 1, 1, 0, 0])), true),
        ]
        for (what, bytes, decodes) in cases {
            let (verify, decode) = Self.answers(bytes)
            #expect(verify == decode, "window \(window), \(what): verify \(verify), decode \(decode)")
            if let decodes { #expect((decode == .decodes) == decodes, "window \(window), \(what): \(decode)") }
        }
    }

    @Test("image data longer than the 256 KiB inflate buffer, cut into IDATs of every kind of size")
    func longStreams() throws {
        let (w, h) = (640, 600)  // 384,600 filtered bytes
        let data = Self.rows(width: w, height: h, filter: 2)
        for size in [3, 4_099, 65_540, 262_151, 1 << 20] {
            let whole = PNGBytes.png(width: w, height: h, zlib: PNGBytes.zlibStored(data), idatSize: size)
            #expect(Self.answers(whole) == (verify: .decodes, decode: .decodes), "IDAT size \(size)")
            let short = PNGBytes.png(width: w, height: h, zlib: PNGBytes.zlibStored(Array(data.dropLast())), idatSize: size)
            let (verify, decode) = Self.answers(short)
            #expect(verify == decode && verify != .decodes, "IDAT size \(size), one byte short: \(verify)")
        }
    }

    @Test("image data over 64 MiB (more than the pristine decode inflates whole) gets the same answers")
    func hugeStreams() throws {
        let (w, h) = (8_192, 8_200)  // 67,182,600 filtered bytes, more than 64 MiB
        let image = try Image(width: w, height: h, format: .gray, fill: .black)
        let png = try ImageCodec.encodePNG(image).bytes
        #expect(Self.answers(png) == (verify: .decodes, decode: .decodes))
        // One row short: the header says one row more than the image data holds.
        let shorter = try ImageCodec.encodePNG(try Image(width: w, height: h - 1, format: .gray, fill: .black)).bytes
        var short = shorter
        let ihdr = 8 + 8  // IHDR's data, after the signature and the chunk's length and type
        short.replaceSubrange(ihdr + 4..<ihdr + 8, with: PNGBytes.be32(UInt32(h)))
        short.replaceSubrange(ihdr + 13..<ihdr + 17, with: PNGBytes.be32(PNGBytes.crc32(Array(short[ihdr - 4..<ihdr + 13]))))
        let (verify, decode) = Self.answers(short)
        #expect(verify == decode && verify != .decodes, "one row short: \(verify)")
    }

    @Test("the pixel limit refuses from the header, before the image data is inflated")
    func pixelLimit() throws {
        let bytes = PNGBytes.png(width: 400, height: 300, zlib: PNGBytes.zlibStored(Self.rows(width: 400, height: 300)))
        var options = DecodeOptions()
        options.maxPixels = 100_000
        let (verify, decode) = Self.answers(bytes, options: options)
        #expect(verify == decode)
        guard case .fails(let error) = verify else { Issue.record("not refused"); return }
        #expect(error.code == .tooManyPixels, "\(error)")
        #expect(Self.answers(bytes).verify == .decodes)
    }
}
