/// Format sniffing and header probing in pure Swift: a bounded walk over JPEG markers or PNG chunks
/// that reads sizes, colour model and EXIF orientation without touching pixel data.
enum HeaderProbe {
    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    static func sniff(_ bytes: UnsafeRawBufferPointer) -> ImageFormat? {
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF { return .jpeg }
        if bytes.count >= 8, zip(pngSignature, bytes.prefix(8)).allSatisfy({ $0 == $1 }) { return .png }
        return nil
    }

    static func probe(_ bytes: UnsafeRawBufferPointer, maxPixels: Int) throws -> ImageHeader {
        switch sniff(bytes) {
        case .jpeg: return try probeJPEG(bytes, maxPixels: maxPixels)
        case .png: return try probePNG(bytes, maxPixels: maxPixels)
        case nil: throw CodecError(.unsupportedFormat, unsupportedFormatMessage(bytes))
        }
    }

    static func unsupportedFormatMessage(_ bytes: UnsafeRawBufferPointer) -> String {
        if bytes.isEmpty { return "empty input: not a JPEG or PNG" }
        if bytes.count >= 6, bytes[0] == 0x47, bytes[1] == 0x49, bytes[2] == 0x46, bytes[3] == 0x38 {
            return "GIF data: only JPEG and PNG are accepted"
        }
        if bytes.count >= 12, bytes[0] == 0x52, bytes[1] == 0x49, bytes[2] == 0x46, bytes[3] == 0x46,
           bytes[8] == 0x57, bytes[9] == 0x45, bytes[10] == 0x42, bytes[11] == 0x50 {
            return "WebP data: only JPEG and PNG are accepted"
        }
        if bytes.count >= 4, bytes[1] == 0x50, bytes[2] == 0x4E, bytes[3] == 0x47 {
            return "damaged PNG signature: not a JPEG or PNG"
        }
        return "unrecognised content (starts \(bytes.prefix(4).map { hex($0) }.joined(separator: " "))): not a JPEG or PNG"
    }

    private static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789abcdef")
        return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
    }

    static func be16(_ p: UnsafeRawBufferPointer, _ i: Int) -> Int { Int(p[i]) << 8 | Int(p[i + 1]) }
    static func be32(_ p: UnsafeRawBufferPointer, _ i: Int) -> Int {
        Int(p[i]) << 24 | Int(p[i + 1]) << 16 | Int(p[i + 2]) << 8 | Int(p[i + 3])
    }

    static func checkPixels(_ width: Int, _ height: Int, _ maxPixels: Int) throws {
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow || pixels > maxPixels {
            throw CodecError(.tooManyPixels, "\(width)x\(height) is \(overflow ? "too many" : String(pixels)) pixels, more than the limit of \(maxPixels)")
        }
    }

    // MARK: - JPEG

    /// Walks JPEG markers from SOI to the first SOS, the way libjpeg's marker reader does: bytes before
    /// a marker that are not 0xFF are skipped (libjpeg warns "extraneous bytes"), 0xFF fill bytes
    /// and stuffed 0xFF00 pairs are skipped, and every segment length is bounds-checked.
    static func probeJPEG(_ p: UnsafeRawBufferPointer, maxPixels: Int) throws -> ImageHeader {
        let n = p.count
        var i = 2
        var frame: (precision: Int, height: Int, width: Int, components: Int, ids: [UInt8], progressive: Bool)?
        var orientation: Int?
        var adobeTransform: Int?
        var comment: String?
        var sawJFIF = false
        var sawScan = false
        scan: while true {
            while i < n && p[i] != 0xFF { i += 1 }
            while i < n && p[i] == 0xFF { i += 1 }
            guard i < n else { break }
            let marker = p[i]
            i += 1
            switch marker {
            case 0x00, 0x01, 0xD0...0xD7: continue
            case 0xD8: throw CodecError(.corrupt, "Invalid JPEG file structure: two SOI markers")
            case 0xD9: break scan
            default: break
            }
            guard i + 2 <= n else { break }
            let length = be16(p, i)
            guard length >= 2 else { throw CodecError(.corrupt, "Bogus marker length \(length) at offset \(i)") }
            guard i + length <= n else {
                throw CodecError(.corrupt, "segment 0x\(hex(marker)) at offset \(i - 2) runs past the end of the file")
            }
            let body = UnsafeRawBufferPointer(rebasing: p[(i + 2)..<(i + length)])
            switch marker {
            case 0xC0...0xCF where marker != 0xC4 && marker != 0xC8 && marker != 0xCC:
                guard frame == nil else { throw CodecError(.corrupt, "Invalid JPEG file structure: two SOF markers") }
                guard body.count >= 6 else { throw CodecError(.corrupt, "Bogus SOF marker length") }
                let components = Int(body[5])
                guard components >= 1, body.count >= 6 + 3 * components else {
                    throw CodecError(.corrupt, "Bogus SOF marker length")
                }
                let ids = (0..<components).map { body[6 + 3 * $0] }
                let progressive = marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE
                frame = (Int(body[0]), be16(body, 1), be16(body, 3), components, ids, progressive)
            case 0xDA:
                sawScan = true
                break scan
            case 0xE0:
                if body.count >= 5, body[0] == 0x4A, body[1] == 0x46, body[2] == 0x49, body[3] == 0x46, body[4] == 0 {
                    sawJFIF = true
                }
            case 0xE1:
                if orientation == nil, body.count >= 14, body[0] == 0x45, body[1] == 0x78, body[2] == 0x69,
                   body[3] == 0x66, body[4] == 0, body[5] == 0 {
                    orientation = EXIF.orientation(tiff: UnsafeRawBufferPointer(rebasing: body[6...]))
                }
            case 0xFE:
                if comment == nil { comment = String(decoding: body, as: UTF8.self) }
            case 0xEE:
                if body.count >= 12, body[0] == 0x41, body[1] == 0x64, body[2] == 0x6F, body[3] == 0x62, body[4] == 0x65 {
                    adobeTransform = Int(body[11])
                }
            default: break
            }
            i += length
        }
        guard let frame else { throw CodecError(.corrupt, "JPEG datastream contains no image (no frame header)") }
        guard sawScan else { throw CodecError(.corrupt, "Invalid JPEG file structure: missing SOS marker") }
        guard frame.width > 0, frame.height > 0 else {
            throw CodecError(.corrupt, "Empty JPEG image (\(frame.width)x\(frame.height); DNL not supported)")
        }
        try checkPixels(frame.width, frame.height, maxPixels)
        let colorType: ImageColorType
        switch frame.components {
        case 1: colorType = .gray
        case 3:
            // libjpeg's rule (jdapimin.c default_decompress_parms).
            if sawJFIF { colorType = .ycbcr }
            else if let adobeTransform { colorType = adobeTransform == 0 ? .rgb : .ycbcr }
            else if frame.ids == [0x52, 0x47, 0x42] { colorType = .rgb }
            else { colorType = .ycbcr }
        case 4: colorType = adobeTransform == 2 ? .ycck : .cmyk
        default: colorType = .components(frame.components)
        }
        return ImageHeader(format: .jpeg, width: frame.width, height: frame.height, bitDepth: frame.precision,
                           colorType: colorType, hasAlpha: false, isProgressive: frame.progressive,
                           orientation: orientation ?? 1, comment: comment)
    }

    // MARK: - PNG

    /// Reads IHDR (CRC-checked, fields validated as libpng does) and walks the chunk list for tRNS,
    /// eXIf and ImageMagick's "Raw profile type exif" text, without inflating anything.
    static func probePNG(_ p: UnsafeRawBufferPointer, maxPixels: Int) throws -> ImageHeader {
        let n = p.count
        guard n >= 33 else { throw CodecError(.corrupt, "PNG ends before the IHDR chunk") }
        guard be32(p, 8) == 13, p[12] == 0x49, p[13] == 0x48, p[14] == 0x44, p[15] == 0x52 else {
            throw CodecError(.corrupt, "PNG does not start with an IHDR chunk")
        }
        guard CRC32.checksum(UnsafeRawBufferPointer(rebasing: p[12..<29])) == UInt32(be32(p, 29)) else {
            throw CodecError(.corrupt, "IHDR: CRC error")
        }
        let width = be32(p, 16), height = be32(p, 20)
        let depth = Int(p[24]), type = Int(p[25]), compression = p[26], filter = p[27], interlace = p[28]
        guard width > 0, height > 0 else { throw CodecError(.corrupt, "Invalid IHDR data: image size \(width)x\(height) has a zero side") }
        guard width <= 0x7FFF_FFFF, height <= 0x7FFF_FFFF else {
            throw CodecError(.corrupt, "Invalid IHDR data: PNG unsigned integer out of range (\(width)x\(height))")
        }
        let allowed: [Int: [Int]] = [0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16]]
        guard let depths = allowed[type] else { throw CodecError(.corrupt, "Invalid IHDR data: color type \(type)") }
        guard depths.contains(depth) else {
            throw CodecError(.corrupt, "Invalid IHDR data: bit depth \(depth) with color type \(type)")
        }
        guard compression == 0, filter == 0, interlace <= 1 else {
            throw CodecError(.corrupt, "Invalid IHDR data: compression \(compression), filter \(filter), interlace \(interlace)")
        }
        try checkPixels(width, height, maxPixels)

        var hasTRNS = false
        var orientation: Int?
        var i = 33
        var beforeImageData = true
        while i + 8 <= n {
            let length = be32(p, i)
            guard length <= 0x7FFF_FFFF, i + 12 + length <= n else { break }
            let t0 = p[i + 4], t1 = p[i + 5], t2 = p[i + 6], t3 = p[i + 7]
            let body = UnsafeRawBufferPointer(rebasing: p[(i + 8)..<(i + 8 + length)])
            switch (t0, t1, t2, t3) {
            case (0x49, 0x44, 0x41, 0x54): beforeImageData = false                     // IDAT
            case (0x49, 0x45, 0x4E, 0x44): i = n; continue                              // IEND
            case (0x74, 0x52, 0x4E, 0x53): if beforeImageData { hasTRNS = true }          // tRNS
            case (0x65, 0x58, 0x49, 0x66):                                                // eXIf
                if orientation == nil {
                    var tiff = body
                    if tiff.count >= 6, tiff[0] == 0x45, tiff[1] == 0x78, tiff[2] == 0x69, tiff[3] == 0x66, tiff[4] == 0, tiff[5] == 0 {
                        tiff = UnsafeRawBufferPointer(rebasing: body[6...])
                    }
                    orientation = EXIF.orientation(tiff: tiff)
                }
            case (0x74, 0x45, 0x58, 0x74):                                                // tEXt
                if orientation == nil { orientation = EXIF.orientation(imageMagickText: body) }
            default: break
            }
            i += 12 + length
        }
        let names: [Int: ImageColorType] = [0: .gray, 2: .rgb, 3: .palette, 4: .grayAlpha, 6: .rgba]
        return ImageHeader(format: .png, width: width, height: height, bitDepth: depth, colorType: names[type]!,
                           hasAlpha: type == 4 || type == 6 || (hasTRNS && type != 4 && type != 6),
                           isProgressive: interlace == 1, orientation: orientation ?? 1)
    }
}

/// CRC-32 as PNG uses it (ISO 3309 / ITU-T V.42, reflected polynomial 0xEDB88320), table-driven.
enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n -> UInt32 in
        var c = UInt32(n)
        for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    static func checksum(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        table.withUnsafeBufferPointer { t in
            for b in bytes { c = t[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        }
        return c ^ 0xFFFF_FFFF
    }
}

/// Just enough EXIF (TIFF 6.0 structure) to read the Orientation tag (0x0112) of IFD0.
enum EXIF {
    /// Orientation from a TIFF structure ("II*\0" little-endian or "MM\0*" big-endian, then the IFD0
    /// offset). Returns nil when the structure is damaged; 1 when the value is outside 1...8.
    static func orientation(tiff p: UnsafeRawBufferPointer) -> Int? {
        guard p.count >= 8 else { return nil }
        let little: Bool
        if p[0] == 0x49, p[1] == 0x49, p[2] == 0x2A, p[3] == 0x00 { little = true }
        else if p[0] == 0x4D, p[1] == 0x4D, p[2] == 0x00, p[3] == 0x2A { little = false }
        else { return nil }
        func u16(_ i: Int) -> Int? {
            guard i >= 0, i + 2 <= p.count else { return nil }
            return little ? Int(p[i]) | Int(p[i + 1]) << 8 : Int(p[i]) << 8 | Int(p[i + 1])
        }
        func u32(_ i: Int) -> Int? {
            guard i >= 0, i + 4 <= p.count else { return nil }
            let b = (Int(p[i]), Int(p[i + 1]), Int(p[i + 2]), Int(p[i + 3]))
            return little ? b.0 | b.1 << 8 | b.2 << 16 | b.3 << 24 : b.0 << 24 | b.1 << 16 | b.2 << 8 | b.3
        }
        guard let ifd = u32(4), let count = u16(ifd) else { return nil }
        for entry in 0..<min(count, 1024) {
            let at = ifd + 2 + 12 * entry
            guard let tag = u16(at), let type = u16(at + 2) else { return nil }
            guard tag == 0x0112 else { continue }
            // SHORT (3) is the standard type; tolerate LONG (4) as some writers use it.
            let value: Int?
            switch type {
            case 3: value = u16(at + 8)
            case 4: value = u32(at + 8)
            default: value = nil
            }
            guard let value else { return nil }
            return (1...8).contains(value) ? value : 1
        }
        return nil
    }

    /// Orientation from an ImageMagick "Raw profile type exif" (or "APP1") tEXt chunk: keyword, NUL,
    /// then "\n<name>\n<spaces><decimal length>\n<hex digits with line breaks>", holding "Exif\0\0" + TIFF.
    static func orientation(imageMagickText body: UnsafeRawBufferPointer) -> Int? {
        guard let nul = body.firstIndex(of: 0) else { return nil }
        let keyword = String(decoding: UnsafeRawBufferPointer(rebasing: body[..<nul]), as: UTF8.self)
        guard keyword == "Raw profile type exif" || keyword == "Raw profile type APP1" else { return nil }
        var i = nul + 1
        var newlines = 0
        var length = 0
        // "\n" name "\n" spaces digits "\n"
        while i < body.count && newlines < 3 {
            let c = body[i]
            if c == 0x0A { newlines += 1 }
            else if newlines == 2, c >= 0x30, c <= 0x39 { length = min(length * 10 + Int(c - 0x30), 1 << 24) }
            i += 1
        }
        guard newlines == 3, length > 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(min(length, body.count / 2))
        var high: UInt8?
        while i < body.count && bytes.count < length {
            let c = body[i]
            i += 1
            let v: UInt8
            switch c {
            case 0x30...0x39: v = c - 0x30
            case 0x61...0x66: v = c - 0x61 + 10
            case 0x41...0x46: v = c - 0x41 + 10
            default: continue
            }
            if let h = high { bytes.append(h << 4 | v); high = nil } else { high = v }
        }
        return bytes.withUnsafeBytes { raw in
            if raw.count >= 6, raw[0] == 0x45, raw[1] == 0x78, raw[2] == 0x69, raw[3] == 0x66 {
                return orientation(tiff: UnsafeRawBufferPointer(rebasing: raw[6...]))
            }
            return orientation(tiff: raw)
        }
    }
}
