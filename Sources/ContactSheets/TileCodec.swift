import KlingSupport
import Foundation
import ImageCodecs
import ImageCore

/// Turns one ``SheetSource`` into the picture its tile shows: read, decode (JPEG shrunk on load in the
/// DCT domain), orient by EXIF, and resample to the letterboxed fit with the project's resampler.
enum TileCodec {
    /// Files larger than this are refused unread (a 10 000 × 10 000 PNG is far below it).
    static let maxFileBytes = 512 << 20

    /// Why a tile became a placeholder: one line, the codec's own words kept.
    struct Failure: Error { let message: String }

    /// The fitted picture for `source`, at most `tile`×`tile`.
    /// - Throws: ``Failure`` for unreadable files and undecodable data.
    static func fitted(_ source: SheetSource, tile: Int, upscale: Bool) throws(Failure) -> Image {
        switch source {
        case .image(let image, _):
            let box = SheetLayout.fit(width: image.width, height: image.height, tile: tile, upscale: upscale)
            return resample(image, to: box)
        case .bytes(let bytes, _):
            return try decodeFitted(bytes, tile: tile, upscale: upscale)
        case .file(let path):
            return try decodeFitted(readFile(path), tile: tile, upscale: upscale)
        }
    }

    /// ``fitted(_:tile:upscale:)`` plus the source's displayed size (for caption templates).
    static func fittedWithSize(_ source: SheetSource, tile: Int, upscale: Bool) throws(Failure)
        -> (image: Image, width: Int, height: Int)
    {
        switch source {
        case .image(let image, _):
            return (try fitted(source, tile: tile, upscale: upscale), image.width, image.height)
        case .bytes(let bytes, _):
            let (image, header) = try decodeFittedWithHeader(bytes, tile: tile, upscale: upscale)
            return (image, header.orientedWidth, header.orientedHeight)
        case .file(let path):
            let (image, header) = try decodeFittedWithHeader(readFile(path), tile: tile, upscale: upscale)
            return (image, header.orientedWidth, header.orientedHeight)
        }
    }

    static func decodeFitted(_ bytes: [UInt8], tile: Int, upscale: Bool) throws(Failure) -> Image {
        try decodeFittedWithHeader(bytes, tile: tile, upscale: upscale).image
    }

    /// ``decodeFitted(_:tile:upscale:)`` plus the source's full-size header.
    static func decodeFittedWithHeader(_ bytes: [UInt8], tile: Int, upscale: Bool) throws(Failure)
        -> (image: Image, header: ImageHeader)
    {
        guard !bytes.isEmpty else { throw Failure(message: "empty file") }
        guard let format = ImageCodec.sniff(bytes) else {
            throw Failure(message: "not a JPEG or PNG file")
        }
        do {
            var options = DecodeOptions()
            // The fit comes from the full-size header, so a scaled decode's rounding cannot move it.
            let header = try ImageCodec.probe(bytes, options: options)
            let box = SheetLayout.fit(width: header.orientedWidth, height: header.orientedHeight,
                                      tile: tile, upscale: upscale)
            if format == .jpeg {
                // Decode at 1/2, 1/4 or 1/8 when that still leaves at least the fitted size (libjpeg's
                // scaled IDCT: output side = ceil(side / scale)), so we only ever shrink afterwards.
                let swapped = header.orientation >= 5
                let needW = swapped ? box.height : box.width
                let needH = swapped ? box.width : box.height
                for scale in [8, 4, 2] {
                    if (header.width + scale - 1) / scale >= needW, (header.height + scale - 1) / scale >= needH {
                        options.jpegScale = scale
                        break
                    }
                }
            }
            if format == .png && header.orientation == 1 && !header.isProgressive {
                return (try streamedPNG(bytes, options: options, to: box), header)
            }
            let decoded = try ImageCodec.decode(bytes, options: options)
            var image = decoded.image
            if header.orientation != 1 { image = image.oriented(exif: header.orientation) }
            return (resample(image, to: box), header)
        } catch let error as CodecError {
            throw Failure(message: error.description)
        } catch {
            throw Failure(message: String(describing: error))
        }
    }

    /// A non-interlaced, upright PNG decoded row by row straight into the resampler (shrink-on-load for
    /// PNG): the same pixels as decoding it whole and calling ``resample(_:to:)``, but peak memory is the
    /// tile plus the filter's window of rows, not the decoded image (a 100 MP PNG is 300–400 MB whole).
    static func streamedPNG(_ bytes: [UInt8], options: DecodeOptions, to box: Rect) throws -> Image {
        let reader = try PNGRowReader(bytes, options: options)
        let ch = reader.format.channels
        let source = Size(width: reader.width, height: reader.height), target = Size(width: box.width, height: box.height)
        let sourceBytes = reader.width * ch, targetBytes = box.width * ch
        var pixels = [UInt8](repeating: 0, count: targetBytes * box.height)
        try pixels.withUnsafeMutableBufferPointer { out in
            guard let base = out.baseAddress else { return }
            if source == target {
                try reader.read(into: base, stride: sourceBytes, count: reader.height)
                return
            }
            let resampler = RowStreamResampler(from: source, to: target, format: reader.format,
                                               filter: filter(from: source, to: target))
            var y = 0
            try resampler.run(read: { try reader.read(into: $0, stride: sourceBytes) }, write: { row in
                (base + y * targetBytes).update(from: row, count: targetBytes)
                y += 1
            })
        }
        try reader.finish()  // the rest must decode too, through IEND
        return Image(validWidth: box.width, height: box.height, format: reader.format, pixels: pixels)
    }

    /// Resamples to the box's size (Lanczos-3 down, Mitchell up, which rings less on small sources),
    /// single-threaded: the sheet already runs one tile per core.
    static func resample(_ image: Image, to box: Rect) -> Image {
        if image.width == box.width && image.height == box.height { return image }
        let target = Size(width: box.width, height: box.height)
        return image.resized(to: target, filter: filter(from: image.size, to: target), threads: 1)
    }

    /// Lanczos-3 down, Mitchell when either side grows.
    static func filter(from source: Size, to target: Size) -> ResampleFilter {
        target.width > source.width || target.height > source.height ? .mitchell : .lanczos3
    }

    /// The whole file, refusing directories, unreadable paths and files over ``maxFileBytes``.
    static func readFile(_ path: String) throws(Failure) -> [UInt8] {
        do {
            let file = try InputFile(path: path)
            guard file.size <= maxFileBytes else { throw Failure(message: "file of \(file.size) bytes exceeds \(maxFileBytes)") }
            return try file.read(from: 0, count: file.size)
        } catch let failure as InputFile.Failure {
            throw Failure(message: failure.message)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(message: "\(error)")
        }
    }
}
