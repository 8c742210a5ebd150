import ImageCodecs
import ImageCore

/// A picture fitted into a box by the sheet's own tile path, for callers that want thumbnails without a
/// sheet (the HTML gallery): one file read, JPEG shrunk on load in the DCT domain, EXIF orientation
/// applied, then the project's resampler (Lanczos-3 down, Mitchell up).
public struct FittedPicture: Sendable {
    /// The fitted pixels, at most `box`×`box`, aspect kept.
    public var image: Image
    /// The source's container format.
    public var format: ImageFormat
    /// The source's displayed width and height (after EXIF orientation), in pixels.
    public var sourceWidth: Int
    public var sourceHeight: Int
}

extension ContactSheet {
    /// Reads the JPEG or PNG file at `path` and fits it into a `box`×`box` square.
    /// - Parameters:
    ///   - box: the square's side in pixels, 8...8192.
    ///   - upscale: whether a source smaller than the box is enlarged (default false).
    /// - Throws: ``SheetError`` `.input` with one line naming the file and the reason (missing, too large,
    ///   not JPEG/PNG, damaged).
    public static func fittedPicture(file path: String, box: Int, upscale: Bool = false) throws(SheetError) -> FittedPicture {
        guard (8...8192).contains(box) else { throw SheetError(.invalidOption, "box \(box) is out of range 8...8192") }
        do {
            let bytes = try TileCodec.readFile(path)
            let (image, header) = try TileCodec.decodeFittedWithHeader(bytes, tile: box, upscale: upscale)
            return FittedPicture(image: image, format: header.format,
                                 sourceWidth: header.orientedWidth, sourceHeight: header.orientedHeight)
        } catch {
            throw SheetError(.input, "\(path): \(error.message)")
        }
    }
}
