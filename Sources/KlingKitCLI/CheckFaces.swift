import FaceDetection
import Foundation
import ImageCodecs
import ImageCore
import KlingModels
import ReferenceImages

/// `klingkit check --face`: an advisory count of frontal faces (dlib, see ``FaceDetector``), for face
/// references, which want exactly one. 0 or 2+ faces is a warning, or a failure with `--strict-face`.
enum CheckFaces {
    struct Result: Sendable {
        var faces: [FaceBox]
        var error: String?
        /// Exactly one face (what a face reference wants).
        var isSingle: Bool { error == nil && faces.count == 1 }
    }

    /// Decodes the file upright (JPEG shrunk on load to about the detector's analysis size) and counts faces.
    static func detect(path: String) -> Result {
        do {
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            let image: Image
            if ImageCodecs.sniffConvertible(bytes) != nil {
                image = try ImageCodecs.decodeConvertible(bytes).image
            } else {
                let header = try ImageCodecs.probe(bytes)
                var options = DecodeOptions()
                if header.format == .jpeg {
                    let side = FaceDetector.defaultAnalysisSide
                    let long = max(header.width, header.height)
                    let target = max(1, min(long, side))
                    options.jpegScaleEighths = DecodeOptions.jpegScaleEighths(
                        width: header.width, height: header.height,
                        minWidth: max(1, header.width * target / long), minHeight: max(1, header.height * target / long))
                }
                let decoded = try ImageCodecs.decode(bytes, options: options)
                image = decoded.image.oriented(exif: decoded.header.orientation)
            }
            // Boxes in the upright image's coordinates at the decoded scale.
            return Result(faces: try FaceDetector.faces(in: image), error: nil)
        } catch let error as CodecError {
            return Result(faces: [], error: error.message)
        } catch {
            return Result(faces: [], error: "\(error)")
        }
    }

    /// The text added to a `check` line: `faces: N [WxH+X+Y, ...]` and the warning when N is not 1.
    static func text(_ result: Result, strict: Bool) -> String {
        if let error = result.error { return "faces: not counted (\(error))" }
        var out = "faces: \(result.faces.count)"
        if !result.faces.isEmpty { out += " [" + result.faces.map(\.description).joined(separator: ", ") + "]" }
        if !result.isSingle {
            out += strict ? "; face-count: \(result.faces.count) faces, a face reference needs exactly 1"
                : "; warning: \(result.faces.count) faces, a face reference needs exactly 1"
        }
        return out
    }
}
