import Foundation
import ImageCodecs
import ImageCore
import KlingKitTestSupport
import Testing
@testable import ContactSheets

/// Sheet tiles of PNGs are decoded row by row into the resampler (``TileCodec/streamedPNG(_:options:to:)``):
/// the same pixels as decoding the whole PNG and resampling it, without holding the decoded image.
@Suite("PNG sheet tiles streamed")
struct TilePNGStreamTests {
    static func png(width: Int, height: Int, format: PixelFormat) throws -> [UInt8] {
        let ch = format.channels
        var pixels = [UInt8](repeating: 0, count: width * height * ch)
        for i in 0..<(width * height) {
            let x = i % width, y = i / width
            for c in 0..<ch { pixels[i * ch + c] = UInt8((x * (c + 1) + y * (3 - c) + (x / 7 + y / 5) % 2 * 90) % 256) }
        }
        return try ImageCodec.encodePNG(try Image(width: width, height: height, format: format, pixels: pixels)).bytes
    }

    @Test("streamed tiles equal whole decodes resampled, shrinking, enlarging and at size",
          arguments: [(900, 600, PixelFormat.rgb), (640, 1100, .rgba), (150, 90, .gray), (256, 200, .grayAlpha)])
    func matchesWholeDecode(width: Int, height: Int, format: PixelFormat) throws {
        let bytes = try Self.png(width: width, height: height, format: format)
        for (tile, upscale) in [(256, false), (256, true), (1200, false)] {
            let box = SheetLayout.fit(width: width, height: height, tile: tile, upscale: upscale)
            let whole = TileCodec.resample(try ImageCodec.decode(bytes).image, to: box)
            let streamed = try TileCodec.streamedPNG(bytes, options: DecodeOptions(), to: box)
            #expect(streamed.size == whole.size)
            #expect(streamed.format == whole.format)
            #expect(streamed.pixels == whole.pixels, "\(width)x\(height) \(format) in a \(tile) px tile")
        }
    }

    @Test("a damaged PNG becomes a failure naming libpng's reason, not a half-drawn tile")
    func damaged() throws {
        let bytes = try Self.png(width: 900, height: 600, format: .rgb)
        let cut = Array(bytes.prefix(bytes.count / 2))
        #expect(throws: TileCodec.Failure.self) { _ = try TileCodec.decodeFitted(cut, tile: 256, upscale: false) }
        // Interlaced files are not streamed: they still decode whole.
        let interlaced = try [UInt8](Data(contentsOf: TestCorpus.url("png-suite/basi6a08.png")))
        #expect(try TileCodec.decodeFitted(interlaced, tile: 64, upscale: true).size == Size(width: 64, height: 64))
    }
}
