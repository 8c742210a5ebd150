import Testing
@testable import ImageCore

@Suite("EXIF orientation")
struct OrientationTests {
    /// The naive reference: flips and quarter turns written pixel by pixel.
    static func reference(_ image: Image, _ orientation: Int) -> Image {
        func flipH(_ im: Image) -> Image { remap(im, im.width, im.height) { x, y in (im.width - 1 - x, y) } }
        func flipV(_ im: Image) -> Image { remap(im, im.width, im.height) { x, y in (x, im.height - 1 - y) } }
        // Clockwise quarter turn: output (x, y) shows source (y, H-1-x).
        func turnCW(_ im: Image) -> Image { remap(im, im.height, im.width) { x, y in (y, im.height - 1 - x) } }
        switch orientation {
        case 2: return flipH(image)
        case 3: return turnCW(turnCW(image))
        case 4: return flipV(image)
        case 5: return turnCW(flipV(image))      // transpose
        case 6: return turnCW(image)
        case 7: return turnCW(flipH(image))      // transverse
        case 8: return turnCW(turnCW(turnCW(image)))
        default: return image
        }
    }

    static func remap(_ im: Image, _ w: Int, _ h: Int, _ source: (Int, Int) -> (Int, Int)) -> Image {
        let ch = im.format.channels
        var out = [UInt8](repeating: 0, count: w * h * ch)
        for y in 0..<h {
            for x in 0..<w {
                let (sx, sy) = source(x, y)
                for c in 0..<ch { out[(y * w + x) * ch + c] = im.pixels[(sy * im.width + sx) * ch + c] }
            }
        }
        return try! Image(width: w, height: h, format: im.format, pixels: out)
    }

    @Test("each EXIF value matches flips and turns", arguments: 1...8)
    func matchesReference(orientation: Int) {
        for format in PixelFormat.allCases {
            for (w, h) in [(3, 2), (1, 5), (130, 70), (64, 64), (65, 129)] {
                let image = noiseImage(width: w, height: h, format: format, seed: UInt64(w * 31 + h))
                let out = image.oriented(exif: orientation)
                #expect(out.pixels == Self.reference(image, orientation).pixels, "orientation \(orientation) \(format) \(w)x\(h)")
                #expect(out.size == Image.orientedSize(width: w, height: h, exif: orientation))
            }
        }
    }

    @Test("the inverse pairs undo each other")
    func inverses() {
        let image = noiseImage(width: 17, height: 9, format: .rgb)
        for (a, b) in [(2, 2), (3, 3), (4, 4), (5, 5), (6, 8), (8, 6), (7, 7)] {
            #expect(image.oriented(exif: a).oriented(exif: b) == image, "\(a) then \(b)")
        }
    }

    @Test("1, 0 and out-of-range values leave the image alone")
    func noOp() {
        let image = noiseImage(width: 5, height: 4, format: .rgba)
        for value in [0, 1, 9, -3] { #expect(image.oriented(exif: value) == image) }
    }
}
