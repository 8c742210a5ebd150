import ImageCodecs
import ImageCore
import Testing

/// Small files that pass the pixel guard but would cost far more than their size (issue #18): each is
/// refused from its header or markers, before the work, with one clear error.
@Suite("Decoding bombs")
struct BombTests {
    /// A small progressive JPEG (libjpeg's default progression, 10 scans for RGB).
    static func progressiveJPEG(side: Int = 64) throws -> [UInt8] {
        let image = try Image(width: side, height: side, format: .rgb, fill: Color(red: 90, green: 140, blue: 200))
        return try ImageCodec.encodeJPEG(image, options: JPEGEncodeOptions(quality: 80, progressive: true)).bytes
    }

    /// The offsets of each marker segment: (offset of 0xFF, marker), entropy-coded data skipped.
    static func segments(_ bytes: [UInt8]) -> [(offset: Int, marker: UInt8)] {
        var found: [(Int, UInt8)] = []
        var i = 2
        while i + 2 <= bytes.count, bytes[i] == 0xFF {
            let marker = bytes[i + 1]
            found.append((i, marker))
            if marker == 0xD9 || i + 4 > bytes.count { break }
            var j = i + 2 + (Int(bytes[i + 2]) << 8 | Int(bytes[i + 3]))
            if marker == 0xDA {
                while j + 1 < bytes.count, !(bytes[j] == 0xFF && bytes[j + 1] != 0 && !(0xD0...0xD7).contains(bytes[j + 1])) { j += 1 }
            }
            i = j
        }
        return found
    }

    @Test("a progressive header declaring 10000x10000 is refused before its 286 MiB of coefficients are allocated")
    func progressiveCoefficients() throws {
        var bytes = try Self.progressiveJPEG()
        let sof = try #require(Self.segments(bytes).first { $0.marker == 0xC2 }).offset
        for (k, value) in [(5, 10_000), (7, 10_000)] {   // height, then width, big-endian
            bytes[sof + k] = UInt8(value >> 8)
            bytes[sof + k + 1] = UInt8(value & 0xFF)
        }
        var lenient = DecodeOptions()
        lenient.strict = false   // without the check, a lenient decode pads the missing data and succeeds
        for options in [lenient, DecodeOptions()] {
            do {
                let image = try ImageCodec.decode(bytes, options: options).image
                Issue.record("decoded to \(image.size) instead of being refused")
            } catch let error as CodecError {
                #expect(error.code == .resourceLimit, "\(error)")
                #expect(error.message.contains("DCT coefficients") && error.message.contains("64 MiB"), "\(error)")
            }
            #expect(throws: CodecError.self) { try ImageCodec.verify(bytes, options: options) }
            #expect(throws: CodecError.self) { try JPEGRowReader(bytes, options: options) }
        }
        // Under the cap, the same stream at its real size decodes.
        #expect(try ImageCodec.decode(Self.progressiveJPEG()).image.size == Size(width: 64, height: 64))
    }

    @Test("scans are counted from the markers before any is decoded")
    func scanCount() throws {
        let bytes = try Self.progressiveJPEG()
        let segments = Self.segments(bytes)
        let scans = segments.filter { $0.marker == 0xDA }
        let eoi = try #require(segments.last { $0.marker == 0xD9 }).offset
        let last = Array(bytes[scans.last!.offset..<eoi])   // the last scan, repeated
        let copies = 1_200
        let bomb = Array(bytes[..<eoi]) + Array(repeating: last, count: copies).joined() + Array(bytes[eoi...])
        let total = scans.count + copies
        for decode in [{ try ImageCodec.decode(bomb) } as () throws -> Any, { try ImageCodec.verify(bomb) },
                       { try JPEGRowReader(bomb) }] {
            do {
                _ = try decode()
                Issue.record("a \(total)-scan stream was not refused")
            } catch let error as CodecError {
                // The exact count is only known from the marker walk: the decoder stops at the 1001st scan.
                #expect(error.code == .resourceLimit && error.message.contains("\(total) scans"), "\(error)")
            }
        }
        var options = DecodeOptions()
        options.maxScans = total
        #expect(try ImageCodec.decode(bomb, options: options).image.size == Size(width: 64, height: 64))
    }

    /// A valid 300x300 gray PNG with an iCCP chunk whose profile header declares `declared` bytes; the
    /// zlib stream is stored (uncompressed), so the chunk holds just the 132-byte profile start.
    static func iccpBomb(declared: UInt32) -> [UInt8] {
        var profile = [UInt8](repeating: 0, count: 132)
        for k in 0..<4 { profile[k] = UInt8(truncatingIfNeeded: declared >> (24 - 8 * UInt32(k))) }
        profile.replaceSubrange(12..<20, with: Array("mntrGRAY".utf8))
        profile.replaceSubrange(36..<40, with: Array("acsp".utf8))
        var iccp = Array("bomb".utf8) + [0, 0]
        iccp += PNGBytes.zlibStored(profile)
        let width = 300, height = 300
        var raw: [UInt8] = []
        for _ in 0..<height { raw += [0] + [UInt8](repeating: 128, count: width) }
        var png = PNGBytes.signature
        png += PNGBytes.chunk("IHDR", PNGBytes.be32(UInt32(width)) + PNGBytes.be32(UInt32(height)) + [8, 0, 0, 0, 0])
        png += PNGBytes.chunk("iCCP", iccp)
        png += PNGBytes.chunk("IDAT", PNGBytes.zlibStored(raw))
        png += PNGBytes.chunk("IEND", [])
        return png
    }

    @Test("an iCCP profile declaring 512 MiB is refused by decode and verify, not skipped or copied")
    func iccpBomb() throws {
        let bomb = Self.iccpBomb(declared: 512 << 20)
        for keep in [true, false] {
            var options = DecodeOptions()
            options.keepICCProfile = keep
            do {
                _ = try ImageCodec.decode(bomb, options: options)
                Issue.record("decoded although its profile exceeds the limit (keepICCProfile \(keep))")
            } catch let error as CodecError {
                #expect(error.code == .resourceLimit && error.message.contains("iCCP"), "\(error)")
            }
            #expect(throws: CodecError.self) { try ImageCodec.verify(bomb, options: options) }
        }
        #expect(throws: CodecError.self) { try ImageCodec.transcodePNGToJPEG(bomb) }
        // The same file with an honest 132-byte profile decodes (libpng drops the empty profile).
        #expect(try ImageCodec.decode(Self.iccpBomb(declared: 132)).image.size == Size(width: 300, height: 300))
    }
}
