import KlingKitTestSupport
import Foundation
import ImageCodecs
import ImageCore
import Testing

/// libjpeg-turbo's M/8 IDCT scaling through ``DecodeOptions/jpegScaleEighths``.
@Suite("JPEG M/8 shrink-on-load")
struct StreamReadScaleTests {
    static let photo = "exif-orientation/Landscape_1.jpg"

    @Test("every M/8 gives ⌈side·M/8⌉ and M = 4 equals jpegScale 2", arguments: Array(1...16))
    func sizes(eighths: Int) throws {
        let bytes = try Corpus.bytes(Self.photo)
        let header = try ImageCodec.probe(bytes)
        var options = DecodeOptions()
        options.jpegScaleEighths = eighths
        let image = try ImageCodec.decode(bytes, options: options).image
        #expect(image.width == (header.width * eighths + 7) / 8)
        #expect(image.height == (header.height * eighths + 7) / 8)
        if eighths == 4 {
            #expect(image.pixels == (try ImageCodec.decode(bytes, options: DecodeOptions(jpegScale: 2)).image.pixels))
        }
        if eighths == 8 {
            #expect(image.pixels == (try ImageCodec.decode(bytes).image.pixels))
        }
    }

    @Test("a 4/8 decode is close to a full decode box-filtered down (the IDCT filters, it does not skip)")
    func quality() throws {
        let bytes = try Corpus.bytes(Self.photo)
        var options = DecodeOptions()
        options.jpegScaleEighths = 4
        let half = try ImageCodec.decode(bytes, options: options).image
        let full = try ImageCodec.decode(bytes).image
        let boxed = full.resized(to: half.size, filter: .box)
        #expect(psnr(half, boxed) >= 30)
    }

    @Test("out-of-range scales are refused, not clamped", arguments: [0, 17, -1])
    func refused(eighths: Int) throws {
        var options = DecodeOptions()
        options.jpegScaleEighths = eighths
        let bytes = try Corpus.bytes(Self.photo)
        #expect(throws: CodecError.self) { try ImageCodec.decode(bytes, options: options) }
    }

    @Test("the smallest covering M for a target size")
    func choice() {
        #expect(DecodeOptions.jpegScaleEighths(width: 4000, height: 3000, minWidth: 2048, minHeight: 1536) == 5)
        #expect(DecodeOptions.jpegScaleEighths(width: 4000, height: 3000, minWidth: 1000, minHeight: 750) == 2)
        #expect(DecodeOptions.jpegScaleEighths(width: 4000, height: 3000, minWidth: 3999, minHeight: 1) == 8)
        #expect(DecodeOptions.jpegScaleEighths(width: 9, height: 9, minWidth: 2, minHeight: 2) == 1)  // ⌈9/8⌉ = 2
    }
}
