import Foundation
import KlingKitTestSupport
import Testing
@testable import ImageCore

@Suite("Resampler")
struct ResampleTests {
    @Test("weight tables sum to 1 and stay inside the source", arguments: ResampleFilter.allCases)
    func weightTables(filter: ResampleFilter) {
        for (inSize, outSize) in [(1, 7), (7, 1), (10, 3), (3, 10), (1800, 600), (300, 301), (1000, 999)] {
            let table = ResampleWeights(inSize: inSize, outSize: outSize, filter: filter)
            for i in 0..<outSize {
                let start = table.starts[i], count = table.counts[i]
                #expect(start >= 0 && count >= 1 && start + count <= inSize, "\(filter) \(inSize)->\(outSize) at \(i)")
                let sum = (0..<count).reduce(Float(0)) { $0 + table.weights[i * table.stride + $1] }
                #expect(abs(sum - 1) < 1e-4, "\(filter) \(inSize)->\(outSize) at \(i): weights sum to \(sum)")
            }
        }
    }

    @Test("a flat image stays flat, borders included", arguments: ResampleFilter.allCases)
    func flatStaysFlat(filter: ResampleFilter) throws {
        let color = Color(red: 200, green: 17, blue: 90, alpha: 255)
        for format in PixelFormat.allCases {
            let image = try Image(width: 37, height: 23, format: format, fill: color)
            for size in [Size(width: 11, height: 5), Size(width: 100, height: 61), Size(width: 37, height: 90), Size(width: 1, height: 1)] {
                let out = image.resized(to: size, filter: filter)
                #expect(out.size == size && out.format == format)
                let expected = try Image(width: size.width, height: size.height, format: format, fill: color)
                #expect(out.pixels == expected.pixels, "\(filter) \(format) -> \(size)")
            }
        }
    }

    @Test("the same size returns the image untouched")
    func identity() {
        let image = noiseImage(width: 40, height: 30, format: .rgb)
        #expect(image.resized(to: image.size) == image)
    }

    @Test("row bands on several threads give the same bytes as one thread", arguments: [PixelFormat.rgb, .rgba, .gray])
    func threadsAgree(format: PixelFormat) {
        let image = noiseImage(width: 900, height: 700, format: format)
        let target = Size(width: 413, height: 297)
        let one = image.resized(to: target, threads: 1)
        let many = image.resized(to: target, threads: 4)
        #expect(one == many)
    }

    @Test("transparent pixels' colour never bleeds into visible edges, and alpha does not ring far out")
    func transparentEdges() throws {
        // Opaque red square on a fully transparent *green* background: a non-premultiplied resampler
        // would mix the green into the square's edge.
        for format in [PixelFormat.rgba, .grayAlpha] {
            let side = 64
            var image = try Image(width: side, height: side, format: format,
                                  fill: Color(red: 0, green: 255, blue: 0, alpha: 0))
            let square = try Image(width: 32, height: 32, format: format, fill: Color(red: 255, green: 0, blue: 0))
            image.blit(square, at: (16, 16))
            let red = Color(red: 255, green: 0, blue: 0).samples(for: format)
            for size in [Size(width: 45, height: 45), Size(width: 150, height: 150), Size(width: 21, height: 77)] {
                for filter in ResampleFilter.allCases {
                    let out = image.resized(to: size, filter: filter)
                    let ch = format.channels
                    var visible = 0
                    for y in 0..<size.height {
                        for x in 0..<size.width {
                            let p = (y * size.width + x) * ch
                            let alpha = out.pixels[p + ch - 1]
                            if alpha == 0 { continue }
                            visible += 1
                            for c in 0..<(ch - 1) {
                                let d = abs(Int(out.pixels[p + c]) - Int(red[c]))
                                #expect(d <= 1, "\(format) \(filter) \(size) (\(x),\(y)) channel \(c) = \(out.pixels[p + c]) alpha \(alpha)")
                            }
                            // Anything visible lies within the filter's reach of the square.
                            let sx = Double(size.width) / Double(side), sy = Double(size.height) / Double(side)
                            let reachX = (filter.support * max(1, 1 / sx) + 1) * sx
                            let reachY = (filter.support * max(1, 1 / sy) + 1) * sy
                            let fx = (Double(x) + 0.5), fy = (Double(y) + 0.5)
                            #expect(fx > 16 * sx - reachX && fx < 48 * sx + reachX && fy > 16 * sy - reachY && fy < 48 * sy + reachY,
                                    "\(format) \(filter) \(size): alpha \(alpha) at (\(x),\(y)) far from the square")
                        }
                    }
                    #expect(visible > 0)
                }
            }
        }
    }

    @Test("Lanczos-3 matches Pillow's LANCZOS on a photograph (PSNR ≥ 40 dB); bilinear and box match theirs",
          .enabled(if: TestCorpus.available))
    func matchesPillow() throws {
        if let reason = Pillow.unavailableReason {
            withKnownIssue("Pillow reference skipped: \(reason)") { throw ImageError(reason) }
            return
        }
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let source = dir.appendingPathComponent("source.ppm").path
        // Pillow decodes the photo (no orientation applied), and writes the reference resizes.
        let cases: [(ResampleFilter, String, Size, Bool)] = [
            (.lanczos3, "LANCZOS", Size(width: 600, height: 400), false),
            (.lanczos3, "LANCZOS", Size(width: 1024, height: 683), false),
            (.lanczos3, "LANCZOS", Size(width: 257, height: 171), false),
            (.lanczos3, "LANCZOS", Size(width: 700, height: 500), true),
            (.bilinear, "BILINEAR", Size(width: 600, height: 400), false),
            (.box, "BOX", Size(width: 450, height: 300), false),
        ]
        let script = """
        import sys
        from PIL import Image
        src, out = sys.argv[1], sys.argv[2]
        im = Image.open('\(TestCorpus.path("exif-orientation/Landscape_1.jpg"))').convert('RGB')
        im.save(src)
        crop = im.crop((600, 400, 900, 600))
        crop.save(src.replace('.ppm', '-crop.ppm'))
        for i, spec in enumerate(sys.argv[3:]):
            name, w, h, c = spec.split(',')
            base = crop if c == '1' else im
            base.resize((int(w), int(h)), getattr(Image.Resampling, name)).save(f'{out}/ref{i}.ppm')
        """
        try Pillow.script(script, [source, dir.path] + cases.map { "\($0.1),\($0.2.width),\($0.2.height),\($0.3 ? 1 : 0)" })
        let image = try Pillow.readPNM(source)
        let crop = try Pillow.readPNM(source.replacingOccurrences(of: ".ppm", with: "-crop.ppm"))
        for (i, (filter, name, size, useCrop)) in cases.enumerated() {
            let reference = try Pillow.readPNM(dir.appendingPathComponent("ref\(i).ppm").path)
            let ours = (useCrop ? crop : image).resized(to: size, filter: filter)
            let db = psnr(ours, reference)
            #expect(db >= 40, "\(filter) vs Pillow \(name) at \(size): \(db) dB")
        }
    }
}
