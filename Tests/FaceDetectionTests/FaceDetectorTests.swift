import FaceDetection
import Foundation
import ImageCodecs
import ImageCore
import Testing

/// dlib's detector on real photos of the shared corpus: Grace Hopper (Pillow's test image), two of her
/// side by side, and a landscape with nobody in it.
@Suite("Face detection")
struct FaceDetectorTests {
    static let corpus = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        .appendingPathComponent("../shared/corpus").standardizedFileURL

    static func photo(_ path: String) throws -> Image {
        let decoded = try ImageCodec.decode([UInt8](Data(contentsOf: corpus.appendingPathComponent(path))))
        return decoded.image.oriented(exif: decoded.header.orientation)
    }

    /// `a` and `b` (same height and format) side by side.
    static func sideBySide(_ a: Image, _ b: Image) throws -> Image {
        var pixels: [UInt8] = []
        pixels.reserveCapacity(a.pixels.count + b.pixels.count)
        for y in 0..<a.height {
            pixels += a.pixels[y * a.bytesPerRow..<(y + 1) * a.bytesPerRow]
            pixels += b.pixels[y * b.bytesPerRow..<(y + 1) * b.bytesPerRow]
        }
        return try Image(width: a.width + b.width, height: a.height, format: a.format, pixels: pixels)
    }

    @Test("One face in the Hopper portrait, boxed inside the image around its centre")
    func one() throws {
        let hopper = try Self.photo("jpeg/pillow_hopper.jpg")
        let faces = try FaceDetector.faces(in: hopper)
        try #require(faces.count == 1, "\(faces)")
        let face = faces[0]
        #expect(face.width >= 30 && face.width <= 100, "\(face)")
        #expect(face.x >= 0 && face.y >= 0 && face.x + face.width <= hopper.width && face.y + face.height <= hopper.height)
        let cx = face.x + face.width / 2
        #expect(abs(cx - hopper.width / 2) < hopper.width / 4)
        #expect(face.score > 0)
    }

    @Test("Two faces side by side, one in each half")
    func two() throws {
        let hopper = try Self.photo("jpeg/pillow_hopper.jpg")
        let pair = try Self.sideBySide(hopper, hopper)
        let faces = try FaceDetector.faces(in: pair)
        try #require(faces.count == 2, "\(faces)")
        let centres = faces.map { $0.x + $0.width / 2 }.sorted()
        #expect(centres[0] < hopper.width && centres[1] >= hopper.width)
        #expect(try FaceDetector.countFaces(in: pair) == 2)
    }

    @Test("No face in a landscape", arguments: ["exif-orientation/Landscape_1.jpg", "jpeg/pillow_flower.jpg"])
    func none(path: String) throws {
        #expect(try FaceDetector.countFaces(in: Self.photo(path)) == 0)
    }

    @Test("The face is found whatever the pixel format (gray, RGBA)")
    func formats() throws {
        let hopper = try Self.photo("jpeg/pillow_hopper.jpg")
        #expect(try FaceDetector.countFaces(in: hopper.converted(to: .gray)) == 1)
        #expect(try FaceDetector.countFaces(in: hopper.converted(to: .rgba)) == 1)
    }
}
