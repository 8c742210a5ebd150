import KlingSupport

/// PNG files built and taken apart byte by byte, for tests that need streams no encoder writes:
/// chunks (RFC 2083 / ISO 15948 section 5), zlib streams of stored blocks (RFC 1950/1951).
enum PNGBytes {
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    /// One chunk: length, type, data, CRC-32 of type and data.
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

    static func adler32(_ bytes: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes { a = (a + UInt32(byte)) % 65_521; b = (b + a) % 65_521 }
        return b << 16 | a
    }

    /// A zlib stream of stored deflate blocks, no compression; `adler` replaces the checksum. `window`
    /// is the header's CINFO: log2 of the declared window minus 8 (7: 32 KiB).
    static func zlibStored(_ data: [UInt8], adler: UInt32? = nil, window: UInt8 = 7) -> [UInt8] {
        let cmf = window << 4 | 8
        let flg = UInt8(31 - Int(cmf) * 256 % 31)  // (CMF * 256 + FLG) % 31 == 0
        var out: [UInt8] = [cmf, flg]
        var offset = 0
        repeat {
            let n = min(65_535, data.count - offset)
            let final: UInt8 = offset + n == data.count ? 1 : 0
            out += [final, UInt8(n & 0xFF), UInt8(n >> 8), UInt8(~n & 0xFF), UInt8((~n >> 8) & 0xFF)]
            out += data[offset..<offset + n]
            offset += n
        } while offset < data.count
        return out + be32(adler ?? adler32(data))
    }

    /// The chunks of a PNG after its signature, in order, with their offsets (CRCs not checked).
    static func chunks(_ png: [UInt8]) -> [(type: String, data: [UInt8], offset: Int)] {
        var found: [(String, [UInt8], Int)] = []
        var i = 8
        while i + 12 <= png.count {
            let length = Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3])
            guard length <= png.count - i - 12 else { break }
            let type = String(decoding: png[i + 4..<i + 8], as: UTF8.self)
            found.append((type, Array(png[i + 8..<i + 8 + length]), i))
            i += 12 + length
        }
        return found
    }

    /// A PNG from its header fields, the zlib stream of its image data (cut into IDAT chunks of
    /// `idatSize` bytes) and chunks to put before IEND.
    static func png(width: Int, height: Int, bitDepth: UInt8 = 8, colorType: UInt8 = 0, interlaced: Bool = false,
                    zlib: [UInt8], idatSize: Int = 1 << 20, trailer: [UInt8] = []) -> [UInt8] {
        var png = signature
        png += chunk("IHDR", be32(UInt32(width)) + be32(UInt32(height)) + [bitDepth, colorType, 0, 0, interlaced ? 1 : 0])
        if colorType == 3 { png += chunk("PLTE", [0, 0, 0, 255, 255, 255]) }
        var offset = 0
        repeat {
            let n = min(idatSize, zlib.count - offset)
            png += chunk("IDAT", Array(zlib[offset..<offset + n]))
            offset += n
        } while offset < zlib.count
        return png + trailer + chunk("IEND", [])
    }

    /// Damaged and rearranged versions of a valid PNG: cut at 24 places, 40 random bit flips, 80 bit
    /// flips inside IDAT data under a recomputed CRC, and rearrangements a decoder must accept (the
    /// image data cut into other IDAT sizes, an empty IDAT after the last, tEXt before the first,
    /// bytes after IEND).
    static func damagedVariants(of original: [UInt8], using rng: inout SplitMix64) -> [(String, [UInt8])] {
        var variants: [(String, [UInt8])] = []
        for k in 1...24 {
            let cut = 8 + (original.count - 8) * k / 25
            variants.append(("cut at \(cut)", Array(original[..<cut])))
        }
        for _ in 0..<40 {
            var bytes = original
            let at = Int.random(in: 8..<bytes.count, using: &rng)
            bytes[at] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
            variants.append(("bit flip at \(at)", bytes))
        }
        let idats = PNGBytes.chunks(original).filter { $0.type == "IDAT" && !$0.data.isEmpty }
        for _ in 0..<80 {
            let chunk = idats[Int.random(in: 0..<idats.count, using: &rng)]
            var data = chunk.data
            let at = Int.random(in: 0..<data.count, using: &rng)
            data[at] ^= UInt8(1) << UInt8.random(in: 0..<8, using: &rng)
            let end = chunk.offset + 12 + chunk.data.count
            let bytes = Array(original[..<chunk.offset]) + PNGBytes.chunk("IDAT", data) + Array(original[end...])
            variants.append(("IDAT byte \(at) of chunk at \(chunk.offset) flipped, CRC fixed", bytes))
        }
        // Rearrangements a decoder must accept: the image data cut into other IDAT sizes, a
        // zero-length IDAT after the last, a tEXt before the first, bytes after IEND.
        let zlib = idats.flatMap(\.data)
        let head = Array(original[..<idats[0].offset])
        let tail = Array(original[(idats.last!.offset + 12 + idats.last!.data.count)...])
        for _ in 0..<3 {
            var cut: [UInt8] = [], offset = 0
            while offset < zlib.count {
                let n = min(zlib.count - offset, Int.random(in: 1...max(1, zlib.count / 3), using: &rng))
                cut += PNGBytes.chunk("IDAT", Array(zlib[offset..<offset + n]))
                offset += n
            }
            variants.append(("IDAT re-cut", head + cut + tail))
        }
        variants.append(("empty IDAT after the last", head + PNGBytes.chunk("IDAT", zlib) + PNGBytes.chunk("IDAT", []) + tail))
        variants.append(("tEXt before IDAT", head + PNGBytes.chunk("tEXt", Array("Title\0t".utf8)) + PNGBytes.chunk("IDAT", zlib) + tail))
        variants.append(("bytes after IEND", original + [1, 2, 3]))
        return variants
    }
}
