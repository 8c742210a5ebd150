internal import CFaceDetect
import ImageCore

/// A face found in an image: a box in the image's pixel coordinates and the detector's score.
public struct FaceBox: Sendable, Equatable, Codable, CustomStringConvertible {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int
    /// dlib's detection confidence (the HOG classifier's margin; above 0 is a detection, higher is surer).
    public var score: Double

    public init(x: Int, y: Int, width: Int, height: Int, score: Double) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.score = score
    }

    public var description: String { "\(width)x\(height)+\(x)+\(y)" }
}

/// A failure of the face detector (dlib threw, or the image could not be described to it).
public struct FaceDetectionError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "face detection: \(message)" }
}

/// An advisory face count with dlib's frontal face detector (HOG features, a linear classifier over an
/// image pyramid; Dalal & Triggs 2005 as trained by dlib; weights compiled into libdlib).
///
/// Synchronous, pure and thread-safe (each thread has its own detector).
public enum FaceDetector {
    /// The detector's window: it finds faces of about this many pixels and larger, at any scale above.
    public static let windowSide = 80

    /// The long side of the copy the detector runs on, by default.
    public static let defaultAnalysisSide = 1024

    /// The frontal faces in `image`, best first, in `image`'s coordinates.
    ///
    /// The detector runs on a copy whose long side is `analysisSide` (Lanczos-3, at most 4× up), so faces
    /// of at least `80 / scale` px are found: with the default 1,024 px, faces spanning about 1/13 of
    /// the long side or more. That suits a reference photo, whose face should be prominent, and keeps a
    /// 12 MP photo's detection well under a second.
    /// - Throws: ``FaceDetectionError`` when dlib fails.
    public static func faces(in image: Image, analysisSide: Int = defaultAnalysisSide) throws -> [FaceBox] {
        let long = max(image.width, image.height)
        guard long > 0 else { return [] }
        let scale = min(4.0, Double(max(analysisSide, windowSide)) / Double(long))
        var copy = image
        if abs(scale - 1) > 0.05 {
            let size = Size(width: max(1, Int((Double(image.width) * scale).rounded())),
                            height: max(1, Int((Double(image.height) * scale).rounded())))
            copy = image.resized(to: size, filter: .lanczos3, threads: 1)
        }
        let sx = Double(image.width) / Double(copy.width), sy = Double(image.height) / Double(copy.height)
        var boxes = [kkface_box](repeating: kkface_box(), count: 64)
        var status = kkface_status()
        let count = copy.pixels.withUnsafeBufferPointer { px in
            kkface_detect(px.baseAddress, Int32(copy.width), Int32(copy.height), Int32(copy.format.channels),
                          copy.bytesPerRow, &boxes, Int32(boxes.count), &status)
        }
        guard count >= 0 else {
            let message = withUnsafeBytes(of: status.message) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            throw FaceDetectionError(message.isEmpty ? "dlib failed" : message)
        }
        return boxes.prefix(Int(min(count, Int32(boxes.count)))).map { box in
            let x0 = max(0, Int((Double(box.x) * sx).rounded())), y0 = max(0, Int((Double(box.y) * sy).rounded()))
            let x1 = min(image.width, Int((Double(box.x + box.width) * sx).rounded()))
            let y1 = min(image.height, Int((Double(box.y + box.height) * sy).rounded()))
            return FaceBox(x: x0, y: y0, width: max(0, x1 - x0), height: max(0, y1 - y0), score: box.score)
        }
    }

    /// How many frontal faces ``faces(in:analysisSide:)`` finds: the number a face-reference check
    /// wants to be exactly 1.
    public static func countFaces(in image: Image) throws -> Int {
        try faces(in: image).count
    }
}
