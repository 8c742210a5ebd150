import Foundation
import ImageCodecs
import ImageCore
import KlingKitTestSupport
import Testing

/// `image_reference=face` wants exactly one face: the emulator counts them (dlib, through
/// ReferenceImages' `FaceCount`) and answers 1201 otherwise, as the service does.
@Suite("Emulator face references", .enabled(if: TestCorpus.available))
struct FaceReferenceTests {
    static func base64(_ url: URL) throws -> String { try Data(contentsOf: url).base64EncodedString() }

    /// Two copies of the corpus's Grace Hopper portrait side by side (1000x500): two faces.
    static func twoHoppers() throws -> String {
        let hopper = try ImageCodec.decode(TestCorpus.bytes("png/pillow_hopper_bw_500.png")).image
        let rowBytes = hopper.bytesPerRow
        var pixels: [UInt8] = []
        pixels.reserveCapacity(rowBytes * 2 * hopper.height)
        for y in 0..<hopper.height {
            let row = hopper.pixels[(y * rowBytes)..<((y + 1) * rowBytes)]
            pixels += row
            pixels += row
        }
        let pair = try Image(width: hopper.width * 2, height: hopper.height, format: hopper.format, pixels: pixels)
        return Data(try ImageCodec.encodePNG(pair).bytes).base64EncodedString()
    }

    @Test("one face is accepted; a landscape (0 faces) and two people (2) are refused with 1201 naming the count")
    func faceCount() async throws {
        try await Harness.with { h in
            func post(_ image: String) async throws -> Answer {
                try await h.post("/v1/images/generations",
                                 ["prompt": "p", "model_name": "kling-v1-5", "image": image, "image_reference": "face"])
            }
            let hopper = try await post(Self.base64(TestCorpus.url("png/pillow_hopper_bw_500.png")))
            #expect(hopper.status == 200 && hopper.code == 0, "\(hopper.text)")

            let landscape = try await post(Self.base64(TestCorpus.url("exif-orientation/Landscape_1.jpg")))
            #expect(landscape.status == 400 && landscape.code == 1201, "\(landscape.text)")
            #expect(landscape.message.contains("image: image_reference=face needs exactly one face; found 0"), "\(landscape.message)")

            let pair = try await post(Self.twoHoppers())
            #expect(pair.code == 1201 && pair.message.contains("found 2"), "\(pair.message)")

            // The same landscape as a subject reference is fine: only face references are counted.
            let subject = try await h.post("/v1/images/generations", [
                "prompt": "p", "model_name": "kling-v1-5", "image_reference": "subject",
                "image": try Self.base64(TestCorpus.url("exif-orientation/Landscape_1.jpg")),
            ])
            #expect(subject.code == 0, "\(subject.text)")
        }
    }
}
