import FastBase64
import Foundation
import ImageCodecs
import Testing

/// The emulator's image intake leans on FastBase64 and the codecs: pin the round trips it relies on.
@Suite("Emulator image intake dependencies")
struct IntakeTests {
    @Test("FastBase64 decodes what Foundation encodes, at image sizes", arguments: [0, 1, 2, 3, 63, 64, 65, 1000, 4096, 100_003, 1_000_000])
    func base64RoundTrip(count: Int) throws {
        var rng = SystemRandomNumberGenerator()
        let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let text = Data(bytes).base64EncodedString()
        #expect(try Base64.decode(Array(text.utf8)) == bytes)
    }

    @Test("a PNG and a JPEG made by the codecs decode again at their size")
    func codecRoundTrip() throws {
        let png = Fixtures.png(width: 320, height: 400)
        let decoded = try ImageCodec.decode(png)
        #expect(decoded.image.width == 320 && decoded.image.height == 400 && decoded.image.pixels == Fixtures.image(width: 320, height: 400).pixels)
        let jpeg = Fixtures.jpeg(width: 500, height: 400)
        #expect(try ImageCodec.probe(jpeg).width == 500 && ImageCodec.probe(jpeg).height == 400)
    }
}
