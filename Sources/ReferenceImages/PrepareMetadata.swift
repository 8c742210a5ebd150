/// Lossless metadata removal by rewriting a file's container: JPEG marker segments and PNG chunks.
/// The compressed pixels are copied untouched, so an image can lose its EXIF/GPS without a
/// generation of JPEG loss.
public enum MetadataStripper {
    /// What a strip found and removed.
    public struct Result: Sendable, Equatable {
        /// The rewritten file (equal to the input when nothing was removed).
        public var bytes: [UInt8]
        /// Names of what was removed, e.g. `["APP1 Exif", "COM"]` or `["tEXt", "eXIf"]`.
        public var removed: [String]
    }

    /// Removes metadata from a JPEG: APP1 (EXIF, XMP), APP13 (IPTC), COM, every other APPn except
    /// APP0 JFIF, APP2 ICC_PROFILE and APP14 Adobe (which decoders need for colour), and anything
    /// after the end-of-image marker (appended previews carry their own EXIF).
    /// - Returns: `nil` when the marker structure cannot be followed (the caller then re-encodes).
    public static func stripJPEG(_ bytes: [UInt8]) -> Result? {
        stripJPEG(bytes, headerOnly: false)
    }

    /// Whether a JPEG's segments before its first scan hold anything ``stripJPEG(_:)`` would remove
    /// (EXIF, XMP, IPTC, comments...), without reading the entropy-coded data. `nil` when the
    /// marker structure cannot be followed.
    public static func jpegHeaderHasMetadata(_ bytes: [UInt8]) -> Bool? {
        stripJPEG(bytes, headerOnly: true).map { !$0.removed.isEmpty }
    }

    static func stripJPEG(_ bytes: [UInt8], headerOnly: Bool) -> Result? {
        let n = bytes.count
        guard n >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        var out: [UInt8] = [0xFF, 0xD8]
        out.reserveCapacity(n)
        var removed: [String] = []
        var i = 2
        var inScan = false
        while i < n {
            if inScan {
                // Entropy-coded data: copy up to the next marker that is not a stuffed 0xFF00 or RSTn.
                let start = i
                while i < n {
                    if bytes[i] == 0xFF, i + 1 < n {
                        let m = bytes[i + 1]
                        if m != 0x00 && m != 0xFF && !(0xD0...0xD7).contains(m) { break }
                    }
                    i += 1
                }
                out.append(contentsOf: bytes[start..<i])
                guard i < n else { return nil }  // no EOI: truncated
                inScan = false
                continue
            }
            if bytes[i] != 0xFF {
                // Junk between segments: libjpeg skips it with an "extraneous bytes" warning; so do we,
                // and it is not copied.
                let start = i
                while i < n && bytes[i] != 0xFF { i += 1 }
                guard i < n else { return nil }
                removed.append("\(i - start) junk bytes")
            }
            // Fill bytes before a marker are legal; skip them.
            while i < n && bytes[i] == 0xFF { i += 1 }
            guard i < n else { return nil }
            let marker = bytes[i]
            i += 1
            if marker == 0xD9 {  // EOI
                out.append(contentsOf: [0xFF, 0xD9])
                if i < n { removed.append("\(n - i) bytes after EOI") }
                return Result(bytes: removed.isEmpty ? bytes : out, removed: removed)
            }
            if (0xD0...0xD7).contains(marker) || marker == 0x01 {  // standalone markers
                out.append(contentsOf: [0xFF, marker])
                continue
            }
            guard i + 2 <= n else { return nil }
            let length = Int(bytes[i]) << 8 | Int(bytes[i + 1])
            guard length >= 2, i + length <= n else { return nil }
            let segment = bytes[(i - 2)..<(i + length)]
            let payload = bytes[(i + 2)..<(i + length)]
            if let name = strippableSegmentName(marker: marker, payload: payload) {
                removed.append(name)
            } else {
                out.append(contentsOf: segment)
            }
            i += length
            if marker == 0xDA {  // SOS: scan data follows
                if headerOnly { return Result(bytes: [], removed: removed) }
                inScan = true
            }
        }
        return nil
    }

    /// The name of a segment to drop, or `nil` to keep it.
    private static func strippableSegmentName(marker: UInt8, payload: ArraySlice<UInt8>) -> String? {
        func starts(with text: String) -> Bool { payload.starts(with: Array(text.utf8)) }
        switch marker {
        case 0xFE: return "COM"
        case 0xE0: return starts(with: "JFIF\0") ? nil : "APP0" + (starts(with: "JFXX\0") ? " JFXX thumbnail" : "")
        case 0xE1:
            if starts(with: "Exif\0") { return "APP1 Exif" }
            if starts(with: "http://ns.adobe.com/") { return "APP1 XMP" }
            return "APP1"
        case 0xE2: return starts(with: "ICC_PROFILE\0") ? nil : "APP2"
        case 0xED: return "APP13 IPTC"
        case 0xEE: return starts(with: "Adobe") ? nil : "APP14"
        case 0xE3...0xEF: return "APP\(Int(marker) - 0xE0)"
        default: return nil
        }
    }

    /// Whether the file embeds an ICC profile (a JPEG APP2 `ICC_PROFILE` segment before the first scan,
    /// or a PNG `iCCP` chunk before the first `IDAT`), from the container alone.
    public static func hasICCProfile(_ bytes: [UInt8]) -> Bool {
        let icc = Array("ICC_PROFILE\0".utf8)
        if bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 {
            var i = 2
            while i + 4 <= bytes.count, bytes[i] == 0xFF {
                let marker = bytes[i + 1]
                if marker == 0xDA || marker == 0xD9 { return false }
                let length = Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
                guard length >= 2 else { return false }
                if marker == 0xE2, bytes[(i + 4)...].starts(with: icc) { return true }
                i += 2 + length
            }
            return false
        }
        guard bytes.count >= 8, bytes[0] == 0x89, bytes[1] == 0x50 else { return false }
        var i = 8
        while i + 12 <= bytes.count {
            let length = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            let type = String(decoding: bytes[(i + 4)..<(i + 8)], as: UTF8.self)
            if type == "iCCP" { return true }
            if type == "IDAT" || length > bytes.count - i - 12 { return false }
            i += 12 + length
        }
        return false
    }

    /// PNG chunks kept by ``stripPNG(_:)``: the critical ones plus those that change how pixels look.
    static let keptPNGChunks: Set<String> = [
        "IHDR", "PLTE", "IDAT", "IEND", "tRNS", "gAMA", "cHRM", "sRGB", "iCCP", "sBIT", "cICP", "mDCv", "cLLi",
        "bKGD", "pHYs", "hIST", "sPLT", "acTL", "fcTL", "fdAT",
    ]

    /// Removes metadata from a PNG: text (`tEXt`, `zTXt`, `iTXt`), `eXIf`, `tIME`, every unknown
    /// ancillary chunk, and anything after `IEND`. Colour chunks (`iCCP`, `gAMA`, `cHRM`, `sRGB`, …) stay.
    /// - Returns: `nil` when the chunk structure cannot be followed.
    public static func stripPNG(_ bytes: [UInt8]) -> Result? {
        walkPNG(bytes, copying: true)
    }

    /// Whether ``stripPNG(_:)`` would remove anything, without copying the file (`nil`: the chunk
    /// structure cannot be followed).
    public static func pngHasMetadata(_ bytes: [UInt8]) -> Bool? {
        walkPNG(bytes, copying: false).map { !$0.removed.isEmpty }
    }

    /// Follows the chunks; with `copying` false only the names of what would go are collected.
    private static func walkPNG(_ bytes: [UInt8], copying: Bool) -> Result? {
        let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        guard bytes.count >= 8, bytes[0..<8].elementsEqual(signature) else { return nil }
        var out = signature
        if copying { out.reserveCapacity(bytes.count) }
        var removed: [String] = []
        var i = 8
        while i + 12 <= bytes.count {
            let length = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            guard length <= bytes.count - i - 12 else { return nil }
            let typeBytes = bytes[(i + 4)..<(i + 8)]
            guard typeBytes.allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else { return nil }
            let type = String(decoding: typeBytes, as: UTF8.self)
            let end = i + 12 + length
            let critical = typeBytes.first! & 0x20 == 0
            if critical || keptPNGChunks.contains(type) {
                if copying { out.append(contentsOf: bytes[i..<end]) }
            } else {
                removed.append(type)
            }
            i = end
            if type == "IEND" {
                if i < bytes.count { removed.append("\(bytes.count - i) bytes after IEND") }
                return Result(bytes: removed.isEmpty || !copying ? bytes : out, removed: removed)
            }
        }
        return nil
    }
}
