import FaceDetection
import Foundation
import ImageCodecs
import ImageCore
import KlingModels
import ReferenceImages

/// `klingkit check --face`: an advisory count of frontal faces (dlib, see ``FaceDetector``), for face
/// references, which want exactly one. 0 or 2+ faces is a warning, or a failure with `--strict-face`.
enum CheckFaces {
    typealias Result = FaceCount

    /// Reads the file and counts its faces (``FaceCount``).
    static func detect(path: String) -> Result {
        do {
            return FaceCount(imageBytes: [UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        } catch {
            return FaceCount(unreadable: "cannot read \(path): \(error.localizedDescription)")
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
