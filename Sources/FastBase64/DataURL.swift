extension Base64 {
    /// Strips a `data:[<media type>][;parameters];base64,` prefix (RFC 2397), as users paste from
    /// browsers; Kling's API wants bare base64.
    ///
    /// The scheme and the `;base64` marker match case-insensitively; leading whitespace before
    /// `data:` is skipped.
    /// - Returns: the text after the comma and the media type as written (e.g. `image/png`; the RFC's
    ///   default `text/plain` when the prefix names none). When `text` has no base64 data URL prefix
    ///   (including a `data:` URL that is not base64-encoded) it is returned whole, with `nil`.
    public static func stripDataURLPrefix(_ text: String) -> (base64: Substring, mediaType: String?) {
        let utf8 = Array(text.utf8.prefix(Self.maxDataURLHeader))
        guard let (bodyStart, mediaType) = parseDataURLHeader(utf8) else { return (text[...], nil) }
        let index = text.utf8.index(text.utf8.startIndex, offsetBy: bodyStart)
        return (text[index...], mediaType)
    }

    /// Byte version of ``stripDataURLPrefix(_:)-(String)``.
    public static func stripDataURLPrefix(_ bytes: [UInt8]) -> (base64: ArraySlice<UInt8>, mediaType: String?) {
        guard let (bodyStart, mediaType) = parseDataURLHeader(bytes.prefix(Self.maxDataURLHeader)) else {
            return (bytes[...], nil)
        }
        return (bytes[bodyStart...], mediaType)
    }

    /// The longest header (`data:` ... `,`) recognised, in bytes.
    static let maxDataURLHeader = 1024

    /// Returns the offset of the first base64 character and the media type, or nil when `bytes` does
    /// not start with a base64 data URL header.
    static func parseDataURLHeader(_ bytes: some Collection<UInt8>) -> (Int, String)? {
        let header = Array(bytes)
        var i = 0
        while i < header.count, Base64Error.isWhitespace(header[i]) { i += 1 }
        let scheme = Array("data:".utf8)
        guard header.count - i >= scheme.count,
              zip(header[i..<(i + scheme.count)], scheme).allSatisfy({ lower($0) == $1 }) else { return nil }
        i += scheme.count
        guard let comma = header[i...].firstIndex(of: UInt8(ascii: ",")) else { return nil }
        let parameters = header[i..<comma].split(separator: UInt8(ascii: ";"), omittingEmptySubsequences: false)
        guard parameters.count >= 2, let last = parameters.last,
              last.count == 6, zip(last, Array("base64".utf8)).allSatisfy({ lower($0) == $1 }) else { return nil }
        var mediaType = String(decoding: parameters[0], as: UTF8.self).trimmingSpaces()
        if mediaType.isEmpty { mediaType = "text/plain" }
        return (comma + 1, mediaType)
    }

    private static func lower(_ byte: UInt8) -> UInt8 {
        (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) ? byte | 0x20 : byte
    }
}

extension String {
    fileprivate func trimmingSpaces() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first == " " { scalars = scalars.dropFirst() }
        while let last = scalars.last, last == " " { scalars = scalars.dropLast() }
        return String(scalars)
    }
}
