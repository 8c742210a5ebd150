#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ImageCodecs
import KlingSupport
import ImageCore

extension ReferenceImagePreparer {
    /// Prepares the file at `path`, reading it with the least memory the work allows.
    ///
    /// A non-interlaced PNG that only has to become JPEG (``PrepareOptions/format`` `.jpeg`, nothing about
    /// its geometry changing, no EXIF orientation) is streamed from the file through libpng, the alpha
    /// flattening and libjpeg: neither the compressed file nor the pixels are ever held whole, so peak
    /// memory is a 64 KiB read buffer, a few rows and the output. Everything else is read into memory
    /// in one allocation (no intermediate copy) and handed to ``prepare(bytes:name:)``; the result is
    /// the same either way.
    /// - Parameters:
    ///   - path: the input file.
    ///   - maxInputBytes: larger files are refused before reading (`file-size`). Default 1 GiB.
    /// - Throws: ``PrepareError``: `io` when the file cannot be opened or read, `file-size` over
    ///   `maxInputBytes`, and everything ``prepare(bytes:name:)`` throws.
    public func prepare(fileAt path: String, maxInputBytes: Int = 1 << 30) throws -> PreparedImage {
        if let error = options.outputLimitError { throw error }
        let file: InputFile
        do { file = try InputFile(path: path) } catch { throw PrepareError(.io, error.message, file: path) }
        let fd = file.descriptor
        let size = file.size
        if size > maxInputBytes {
            throw PrepareError(.fileSize, "\(size) bytes is more than the \(maxInputBytes) bytes prepare reads")
        }
        if let streamed = try streamPNGFile(fd: fd, size: size) { return streamed }
        let bytes = try Self.read(fd: fd, from: 0, count: size)
        return try prepare(bytes: bytes, name: path)
    }

    /// The PNG-to-JPEG stream from the file, or `nil` when this input needs the in-memory path.
    private func streamPNGFile(fd: Int32, size: Int) throws -> PreparedImage? {
        let options = self.options
        guard options.format == .jpeg, size >= 8 else { return nil }
        // The header facts from the first 64 KiB (IHDR is first; the probe stops at a cut chunk).
        let prefix = try Self.read(fd: fd, from: 0, count: min(size, 65_536))
        guard ImageCodec.sniff(prefix) == .png,
              let header = try? ImageCodec.probe(prefix, options: DecodeOptions(maxPixels: .max)),
              !header.isProgressive else { return nil }
        let (pixels, overflow) = header.width.multipliedReportingOverflow(by: header.height)
        guard !overflow, pixels <= options.rules.maxPixels else { return nil }  // refused by the full path
        let plan = PreparePlan(upright: Size(width: header.width, height: header.height), options: options)
        guard !plan.changesPixels, let chunks = try Self.pngChunkTypes(fd: fd, size: size) else { return nil }
        // Orientation may sit in eXIf or ImageMagick's text anywhere in the file: those take the full path.
        guard !chunks.contains("eXIf") && !chunks.contains("tEXt") else { return nil }
        // An animated PNG is reported as such by the in-memory path.
        guard !chunks.contains("acTL") else { return nil }
        // Converting a profile to sRGB needs the pixels in memory.
        guard options.colorProfile == .keep || !chunks.contains("iCCP") else { return nil }
        let hadMetadata = chunks.contains { !MetadataStripper.keptPNGChunks.contains($0) && ($0.utf8.first! & 0x20) != 0 }
        guard lseek(fd, 0, SEEK_SET) == 0 else { throw PrepareError(.io, "cannot seek: \(Self.errnoText())") }
        let settings = JPEGEncodeOptions(quality: options.startQuality, optimizeHuffman: options.optimizeHuffman)
        let result: TranscodedJPEG
        do {
            result = try ImageCodec.transcodePNGToJPEG(fileDescriptor: fd, background: options.background,
                                                         options: settings,
                                                         decodeOptions: DecodeOptions(maxPixels: options.rules.maxPixels))
        } catch let error as CodecError {
            throw PrepareError.decoding(error)
        }
        guard result.encoded.bytes.count <= options.effectiveMaxBytes else { return nil }
        return Self.transcodedResult(result, options: options, hadMetadata: hadMetadata)
    }

    /// The chunk types of the PNG on `fd`, in order, read with one 8-byte pread per chunk (no data read),
    /// through IEND and any trailing bytes. `nil` when the structure cannot be followed (the full
    /// path then judges the file).
    static func pngChunkTypes(fd: Int32, size: Int) throws -> [String]? {
        var types: [String] = []
        var offset = 8
        while offset + 12 <= size {
            let head = try read(fd: fd, from: offset, count: 8)
            let length = Int(head[0]) << 24 | Int(head[1]) << 16 | Int(head[2]) << 8 | Int(head[3])
            guard length <= 0x7FFF_FFFF, length <= size - offset - 12 else { return nil }
            let type = head[4..<8]
            guard type.allSatisfy({ (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) }) else { return nil }
            types.append(String(decoding: type, as: UTF8.self))
            offset += 12 + length
            if types.last == "IEND" {
                if offset < size { types.append("trailing data") }  // removed, as stripPNG does: lowercase = ancillary
                return types
            }
        }
        return nil
    }

    /// Exactly `count` bytes at `offset`, straight into the array (pread; a short file is an error).
    static func read(fd: Int32, from offset: Int, count: Int) throws -> [UInt8] {
        let bytes: [UInt8]
        do { bytes = try InputFile.read(descriptor: fd, from: offset, count: count) } catch { throw PrepareError(.io, error.message) }
        guard bytes.count == count else { throw PrepareError(.io, "the file shrank while being read") }
        return bytes
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
