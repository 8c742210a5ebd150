import Testing
@testable import ImageCore

@Suite("Crop, pad and convert")
struct TransformTests {
    @Test("crop keeps exactly the rectangle and clips to the image")
    func crop() {
        let image = noiseImage(width: 20, height: 10, format: .rgb)
        let out = image.cropped(to: Rect(x: 3, y: 2, width: 5, height: 4))
        #expect(out.size == Size(width: 5, height: 4))
        for y in 0..<4 {
            for x in 0..<5 {
                for c in 0..<3 { #expect(out.pixels[(y * 5 + x) * 3 + c] == image.pixels[((y + 2) * 20 + x + 3) * 3 + c]) }
            }
        }
        #expect(image.cropped(to: Rect(x: -5, y: -5, width: 100, height: 100)) == image)
        #expect(image.cropped(to: Rect(x: 18, y: 8, width: 10, height: 10)).size == Size(width: 2, height: 2))
    }

    @Test("pad with a colour surrounds the untouched image", arguments: PixelFormat.allCases)
    func padColor(format: PixelFormat) {
        let image = noiseImage(width: 6, height: 4, format: format)
        let color = Color(red: 10, green: 20, blue: 30, alpha: 40)
        let out = image.padded(to: Size(width: 10, height: 9), at: (x: 2, y: 3), color: color)
        #expect(out.size == Size(width: 10, height: 9))
        #expect(out.cropped(to: Rect(x: 2, y: 3, width: 6, height: 4)) == image)
        let sample = color.samples(for: format)
        let ch = format.channels
        for (x, y) in [(0, 0), (9, 8), (1, 5), (8, 3), (4, 7)] {
            #expect(Array(out.pixels[(y * 10 + x) * ch..<(y * 10 + x + 1) * ch]) == sample)
        }
    }

    @Test("edge padding repeats the nearest border pixel")
    func padEdge() {
        let image = noiseImage(width: 5, height: 3, format: .rgb)
        let out = image.padded(to: Size(width: 9, height: 8), at: (x: 2, y: 4), fill: .edge)
        #expect(out.cropped(to: Rect(x: 2, y: 4, width: 5, height: 3)) == image)
        func px(_ im: Image, _ x: Int, _ y: Int) -> [UInt8] { Array(im.pixels[(y * im.width + x) * 3..<(y * im.width + x) * 3 + 3]) }
        #expect(px(out, 0, 0) == px(image, 0, 0))
        #expect(px(out, 8, 7) == px(image, 4, 2))
        #expect(px(out, 4, 1) == px(image, 2, 0))
        #expect(px(out, 8, 5) == px(image, 4, 1))
    }

    @Test("blur padding fills with the picture's own colours")
    func padBlur() throws {
        // Left half blue, right half yellow: the backdrop left of the picture must be bluish.
        var image = try Image(width: 40, height: 100, format: .rgb, fill: Color(red: 0, green: 0, blue: 255))
        image.blit(try Image(width: 20, height: 100, format: .rgb, fill: Color(red: 255, green: 255, blue: 0)), at: (20, 0))
        let out = image.padded(to: Size(width: 250, height: 100), at: (x: 105, y: 0), fill: .blur)
        #expect(out.cropped(to: Rect(x: 105, y: 0, width: 40, height: 100)) == image)
        let left = out.pixels[(50 * 250 + 5) * 3..<(50 * 250 + 6) * 3]
        let right = out.pixels[(50 * 250 + 245) * 3..<(50 * 250 + 246) * 3]
        #expect(left[left.startIndex + 2] > 200 && left[left.startIndex] < 60)
        #expect(right[right.startIndex] > 200 && right[right.startIndex + 2] < 60)
    }

    @Test("dropping alpha composites over the background")
    func flatten() throws {
        let pixels: [UInt8] = [255, 0, 0, 255, 255, 0, 0, 0, 255, 0, 0, 128, 0, 0, 255, 64]
        let image = try Image(width: 4, height: 1, format: .rgba, pixels: pixels)
        let out = image.converted(to: .rgb, background: Color(red: 0, green: 255, blue: 0))
        #expect(out.pixels == [255, 0, 0, 0, 255, 0, 128, 127, 0, 0, 191, 64])
        let white = image.converted(to: .rgb)
        #expect(white.pixels == [255, 0, 0, 255, 255, 255, 255, 127, 127, 191, 191, 255])
        #expect(image.hasTransparency)
        #expect(!image.converted(to: .rgb).converted(to: .rgba).hasTransparency)
    }

    @Test("in-place flattening matches converted(to:), and leaves a shared original untouched")
    func flattenedInPlace() {
        for format in [PixelFormat.rgba, .grayAlpha] {
            let image = noiseImage(width: 33, height: 17, format: format)
            let background = Color(red: 10, green: 200, blue: 99)
            let expected = image.converted(to: format == .rgba ? .rgb : .gray, background: background)
            let copy = image
            #expect(copy.flattened(background: background) == expected)
            #expect(copy == image)  // the shared buffer was copied, not overwritten
            var owned = noiseImage(width: 33, height: 17, format: format)
            owned = (consume owned).flattened(background: background)
            #expect(owned == expected)
        }
        let opaque = noiseImage(width: 5, height: 5, format: .rgb)
        #expect(opaque.flattened() == opaque)
    }

    @Test("gray and colour conversions use Rec. 601 luma and round-trip")
    func grayConversions() throws {
        let image = try Image(width: 2, height: 1, format: .rgb, pixels: [255, 0, 0, 10, 200, 30])
        let gray = image.converted(to: .gray)
        #expect(gray.pixels == [76, 124])
        #expect(gray.converted(to: .rgb).pixels == [76, 76, 76, 124, 124, 124])
        let ga = try Image(width: 1, height: 1, format: .grayAlpha, pixels: [100, 0])
        #expect(ga.converted(to: .gray, background: .white).pixels == [255])
        #expect(ga.converted(to: .rgba).pixels == [100, 100, 100, 0])
        let rgba = noiseImage(width: 9, height: 9, format: .rgba)
        #expect(rgba.converted(to: .rgba) == rgba)
    }
}
