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
        iccp += zlibStored(profile)
        let width = 300, height = 300
        var raw: [UInt8] = []
        for _ in 0..<height { raw += [0] + [UInt8](repeating: 128, count: width) }
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [8, 0, 0, 0, 0])
        png += chunk("iCCP", iccp)
        png += chunk("IDAT", zlibStored(raw))
        png += chunk("IEND", [])
        return png
    }

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return be32(UInt32(data.count)) + body + be32(crc32(body))
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
        }
        return ~crc
    }

    /// A zlib stream of stored deflate blocks (RFC 1950/1951), no compression.
    static func zlibStored(_ data: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [0x78, 0x01]
        var offset = 0
        repeat {
            let n = min(65_535, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[offset..<offset + n]
            offset += n
        } while offset < data.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65_521; b = (b + a) % 65_521 }
        return out + be32(b << 16 | a)
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
