import FaceDetection
import ImageCodecs
import ImageCore

/// How many frontal faces a reference image shows: advisory, for `image_reference=face`, which the
/// service accepts only with exactly one face (kling-api.md §3.1). The service stays the final judge.
public struct FaceCount: Sendable, Equatable {
    /// The faces found, best first, in the upright image's pixels at the decoded scale.
    public private(set) var faces: [FaceBox]
    /// Why the faces could not be counted (the image does not decode, or the detector failed).
    public private(set) var error: String?

    /// Exactly one face: what a face reference needs.
    public var isSingle: Bool { error == nil && faces.count == 1 }

    /// A count that could not be made, with the reason.
    public init(unreadable reason: String) {
        faces = []
        error = reason
    }

    /// Counts the faces in an encoded image (JPEG, PNG, HEIF/AVIF or WebP), upright, decoded at about
    /// the detector's analysis size (JPEGs shrink on load in the DCT), so faces of about 1/13 of the long
    /// side and larger are found (see ``FaceDetector/faces(in:analysisSide:)``). Synchronous CPU work.
    public init(imageBytes bytes: [UInt8], maxPixels: Int = UploadRules().maxPixels) {
        do {
            let image: Image
            if ImageCodec.sniffConvertible(bytes) != nil {
                image = try ImageCodec.decodeConvertible(bytes, options: DecodeOptions(maxPixels: maxPixels)).image
            } else {
                let header = try ImageCodec.probe(bytes, options: DecodeOptions(maxPixels: maxPixels))
                var options = DecodeOptions(maxPixels: maxPixels)
                if header.format == .jpeg {
                    let long = max(header.width, header.height)
                    let target = max(1, min(long, FaceDetector.defaultAnalysisSide))
                    options.jpegScaleEighths = DecodeOptions.jpegScaleEighths(
                        width: header.width, height: header.height,
                        minWidth: max(1, header.width * target / long), minHeight: max(1, header.height * target / long))
                }
                let decoded = try ImageCodec.decode(bytes, options: options)
                image = decoded.image.oriented(exif: decoded.header.orientation)
            }
            faces = try FaceDetector.faces(in: image)
            error = nil
        } catch let failure as CodecError {
            faces = []
            error = failure.message
        } catch {
            faces = []
            self.error = "\(error)"
        }
    }
}
