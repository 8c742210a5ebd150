import KlingKitTestSupport
import Foundation
import ImageCodecs
import ImageCore
import Testing

/// JPEGPlanarReader, JPEGPlanarWriter and PlanarJPEGResize against the RGB decoder and the
/// RGB resampler.
@Suite("Planar JPEG: YCbCr bands in and out")
struct PlanarJPEGTests {
    /// 47x31 crops of pillow_flower.jpg made with libjpeg-turbo's cjpeg (-sample 2x1 and 1x2, -quality 85):
    /// 4:2:2 and 4:4:0 sampling, which the corpus lacks, at odd sizes.
    static let sampled422 = Array(Data(base64Encoded: "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAUDBAQEAwUEBAQFBQUGBwwIBwcHBw8LCwkMEQ8SEhEPERETFhwXExQaFRERGCEYGh0dHx8fExciJCIeJBweHx7/2wBDAQUFBQcGBw4ICA4eFBEUHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh7/wAARCAAfAC8DASEAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDSnKQli0X7uQbXGccetZkFvJG5WVswKfkOfvDsPw/rXgwPGJ7hYghEg+919hW14N157CdbO9JEa/dcdUHY13YafJI+t4YxKUnRfU2PHWlx3MX9r2ihhxvx0b0P864uNGkZixwnc1z4ynyVXLueZn+FeHxTfSWps3CK4Zdu4DtWbdxJ5JtxIyj70eex9K5XKzPEKduJ3G+4TaV4C+/rTNStpni8+3kK3Scq2cAjup9jXTF9TuwFZ4fEqaNPwV4teWN9Pm4DApLA56f7lRaiqxXTRoQsY+4O4Hv71pipe0pKR9hxPQVXBwxC9TanALcAn69qoXUG9WG4dO/TNcTPgjNvUnaIzgBXiGHA6OO35c/nUcc5mwkZJ+XLEVdN6WBK5z3izTriB/7Y04srxDLqPvY9R9K0dG1z+1khMrgyhMEjuPWt1rBo+9wddY7K5UuqR2f3lEkbZVwCufSoXBweue9c0tz4OW5nXayRt5qfw5JwcEj0qlNNHaCExR/uJFDe4buKKPxWFew6WVJ2I2kjbyD3HpXFyWsmj689vCx8lwZIcHop7fhW0XZ2Po+G6rhXdF7M/9k=")!)
    static let sampled440 = Array(Data(base64Encoded: "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAUDBAQEAwUEBAQFBQUGBwwIBwcHBw8LCwkMEQ8SEhEPERETFhwXExQaFRERGCEYGh0dHx8fExciJCIeJBweHx7/2wBDAQUFBQcGBw4ICA4eFBEUHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh7/wAARCAAfAC8DARIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwDSnKQli0X7uQbXGccetW7hFcMu3cB2r57Y8UwYLeSNysrZgU/Ic/eHYfh/Wrl3Enkm3EjKPvR57H0qlUS3DQiuFiCESD73X2FQW4ncb7hNpXgL7+tbRfVG0Ks6EuaJ0Pg3XnsJ1s70kRr91x1QdjXN6lbTPF59vIVuk5Vs4BHdT7GuqliJRPscsz9SXJX+87zx1pcdzF/a9ooYcb8dG9D/ADrlvBXi15Y30+bgMCksDnp/uVdSNLEq/U9fF5NQzCnz0/vKkaNIzFjhO5qbUVWK6aNCFjH3B3A9/evLqRdN2Pz3G4GrhJ8s9u5tTgFuAT9e1N+8okjbKuAVz6UONjmcbFK6g3qw3Dp36ZqdwcHrnvUbkXMa9SdojOAFeIYcDo47flz+dWLtZI281P4ck4OCR6UlKzGU45zNhIyT8uWIpJpo7QQmKP8AcSKG9w3cV0xfOgTXzOf8WadcQP8A2xpxZXiGXUfex6j6V0UsqTsRtJG3kHuPShS5Wezl2dYjByUXsZ2ja5/ayQmVwZQmCR3HrXOSWsmj689vCx8lwZIcHop7fhWkmqi1PrpToZvR80f/2Q==")!)

    static let ycc = ["exif-orientation/Landscape_1.jpg", "jpeg/jpegdec_progressive3.jpg", "jpeg/ljt_testimgari.jpg",
                      "jpeg/ljt_testimgp.jpg", "jpeg/pillow_flower.jpg", "jpeg/pillow_flower2.jpg",
                      "jpeg/moz_jpg-size-15x15.jpg", "jpeg/moz_jpg-size-1x1.jpg", "jpeg/jpegdec_non-interleaved-mcu.jpg"]

    static func bytes(_ name: String) throws -> [UInt8] {
        switch name {
        case "4:2:2": sampled422
        case "4:4:0": sampled440
        default: try Corpus.bytes(name)
        }
    }

    /// Reads every band and stitches each plane into a packed buffer (plane width × plane height).
    static func planes(of reader: JPEGPlanarReader) throws -> [[UInt8]] {
        let layout = reader.layout
        var planes = layout.planes.map { [UInt8](repeating: 0, count: $0.width * $0.height) }
        let band = UnsafeMutableRawPointer.allocate(byteCount: layout.bandBytes, alignment: 64)
        defer { band.deallocate() }
        for index in 0..<layout.bands {
            try reader.readBand(into: band)
            for (c, p) in layout.planes.enumerated() {
                for r in 0..<p.bandRows where index * p.bandRows + r < p.height {
                    let source = (band + p.offset + r * p.stride).assumingMemoryBound(to: UInt8.self)
                    let y = index * p.bandRows + r
                    planes[c].withUnsafeMutableBufferPointer { ($0.baseAddress! + y * p.width).update(from: source, count: p.width) }
                }
            }
        }
        try reader.finish()
        return planes
    }

    /// JFIF YCbCr → RGB with nearest-neighbour chroma: a reconstruction independent of libjpeg's.
    static func rgb(_ planes: [[UInt8]], _ layout: JPEGPlaneLayout, width: Int, height: Int) -> Image {
        var out = [UInt8](repeating: 0, count: width * height * 3)
        let cb = layout.planes[1], cr = layout.planes[2]
        for y in 0..<height {
            for x in 0..<width {
                let Y = Double(planes[0][y * layout.planes[0].width + x])
                let u = Double(planes[1][min(y / cb.subsampleY, cb.height - 1) * cb.width + min(x / cb.subsampleX, cb.width - 1)]) - 128
                let v = Double(planes[2][min(y / cr.subsampleY, cr.height - 1) * cr.width + min(x / cr.subsampleX, cr.width - 1)]) - 128
                let px = [Y + 1.402 * v, Y - 0.344136 * u - 0.714136 * v, Y + 1.772 * u]
                for c in 0..<3 { out[(y * width + x) * 3 + c] = UInt8(max(0, min(255, px[c].rounded()))) }
            }
        }
        return try! Image(width: width, height: height, format: .rgb, pixels: out)
    }

    @Test("planes rebuild the RGB decode, at full size and at 1/2, 1/4, 1/8",
          arguments: ycc + ["4:2:2", "4:4:0"])
    func planesMatchDecode(name: String) throws {
        let bytes = try Self.bytes(name)
        for eighths in [8, 4, 2, 1] {
            var options = DecodeOptions()
            options.jpegScaleEighths = eighths
            let reference = try ImageCodec.decode(bytes, options: options).image
            let reader = try JPEGPlanarReader(bytes, options: options)
            #expect(reader.width == reference.width && reader.height == reference.height)
            let layout = reader.layout
            #expect(layout.planes.count == 3)
            #expect(layout.planes[0].width == reader.width && layout.planes[0].height == reader.height)
            for p in layout.planes {
                #expect(p.stride >= p.width && p.offset + p.stride * p.bandRows <= layout.bandBytes)
                #expect(p.width == (reader.width + p.subsampleX - 1) / p.subsampleX)
                #expect(p.height == (reader.height + p.subsampleY - 1) / p.subsampleY)
            }
            let rebuilt = Self.rgb(try Self.planes(of: reader), layout, width: reader.width, height: reader.height)
            // libjpeg interpolates chroma ("fancy upsampling"); nearest-neighbour differs only at chroma edges.
            let limit = reader.width * reader.height < 64 ? 20.0 : 28.0
            #expect(psnr(rebuilt, reference) > limit, "\(name) at \(eighths)/8")
        }
    }

    @Test("a gray JPEG's one plane is exactly the gray decode",
          arguments: ["jpeg/ljt_testimggray.jpg", "jpeg/pillow_hopper_gray.jpg", "jpeg/jpegdec_grayscale_long.jpg"])
    func grayIsExact(path: String) throws {
        let bytes = try Corpus.bytes(path)
        for eighths in [8, 2] {
            var options = DecodeOptions()
            options.jpegScaleEighths = eighths
            let reader = try JPEGPlanarReader(bytes, options: options)
            #expect(reader.layout.planes.count == 1)
            #expect(try Self.planes(of: reader)[0] == ImageCodec.decode(bytes, options: options).image.pixels)
        }
    }

    @Test("CMYK, YCCK and RGB JPEGs are refused as unsupported, and the row reader takes them",
          arguments: ["jpeg/moz_jpg-cmyk-1.jpg", "jpeg/moz_jpg-cmyk-2.jpg", "jpeg/pillow_pil_sample_cmyk.jpg"])
    func refusesOtherColourSpaces(path: String) throws {
        let bytes = try Corpus.bytes(path)
        #expect { try JPEGPlanarReader(bytes) } throws: { ($0 as? CodecError)?.code == .unsupported }
        _ = try JPEGRowReader(bytes)
    }

    @Test("a truncated stream fails (strict mode) while reading bands or at finish, never hangs",
          arguments: [0.3, 0.8, 0.995])
    func truncated(fraction: Double) throws {
        let bytes = try Corpus.bytes("exif-orientation/Landscape_1.jpg")
        let cut = Array(bytes.prefix(Int(Double(bytes.count) * fraction)))
        #expect(throws: CodecError.self) { _ = try Self.planes(of: try JPEGPlanarReader(cut)) }
        #expect(throws: CodecError.self) { try JPEGPlanarReader(cut).finish() }
        for prefetch in [false, true] {
            let reader = try JPEGPlanarReader(cut)
            let writer = try JPEGPlanarWriter(width: 300, height: 200, gray: false)
            #expect(throws: CodecError.self) { try PlanarJPEGResize.run(from: reader, to: writer, prefetch: prefetch) }
        }
    }

    @Test("planes written back at the same size re-encode the same picture", arguments: ["jpeg/pillow_flower.jpg", "4:2:2"])
    func writerRoundTrip(name: String) throws {
        let bytes = try Self.bytes(name)
        let original = try ImageCodec.decode(bytes).image
        for subsampling in [JPEGSubsampling.s420, .s444] {
            let reader = try JPEGPlanarReader(bytes)
            let writer = try JPEGPlanarWriter(width: reader.width, height: reader.height, gray: false,
                                              options: JPEGEncodeOptions(quality: 95, subsampling: subsampling))
            try PlanarJPEGResize.run(from: reader, to: writer)
            let encoded = try writer.finish()
            let decoded = try ImageCodec.decode(encoded.bytes).image
            #expect(decoded.size == original.size)
            #expect(psnr(decoded, original) > 33, "\(name) \(subsampling)")
        }
    }

    static let resizes: [(String, Int, Int)] = [
        ("exif-orientation/Landscape_1.jpg", 1024, 683), ("exif-orientation/Landscape_1.jpg", 301, 217),
        ("jpeg/jpegdec_progressive3.jpg", 333, 241), ("jpeg/pillow_flower.jpg", 960, 720),
        ("4:2:2", 20, 13), ("4:4:0", 100, 66), ("jpeg/ljt_testimggray.jpg", 100, 66),
    ]

    @Test("a planar resize looks like decode → RGB resize → encode, with or without prefetch", arguments: resizes)
    func resizeMatchesRGBRoute(name: String, width: Int, height: Int) throws {
        let bytes = try Self.bytes(name)
        let source = try ImageCodec.decode(bytes).image
        let target = Size(width: width, height: height)
        let expected = source.resized(to: target, threads: 1)
        var outputs: [[UInt8]] = []
        for prefetch in [false, true] {
            let reader = try JPEGPlanarReader(bytes)
            let gray = reader.layout.planes.count == 1
            let writer = try JPEGPlanarWriter(width: width, height: height, gray: gray,
                                              options: JPEGEncodeOptions(quality: 95))
            try PlanarJPEGResize.run(from: reader, to: writer, prefetch: prefetch)
            let encoded = try writer.finish()
            outputs.append(encoded.bytes)
            let decoded = try ImageCodec.decode(encoded.bytes).image
            #expect(decoded.size == target)
            #expect(psnr(decoded, expected) > 30, "\(name) -> \(width)x\(height)")
        }
        #expect(outputs[0] == outputs[1], "the prefetch thread changes nothing in the output")
    }

    @Test("an EXIF orientation is applied to the planes: the output matches the RGB route turned upright",
          arguments: 2...8)
    func orientation(value: Int) throws {
        let bytes = try Corpus.bytes("exif-orientation/Landscape_1.jpg")  // stored 1800x1200, 4:2:0
        let source = try ImageCodec.decode(bytes).image
        let upright = source.oriented(exif: value)
        let target = Size(width: upright.width * 2 / 5 + 1, height: upright.height * 2 / 5)  // odd side on purpose
        let expected = upright.resized(to: target, threads: 1)
        for (prefetch, eighths) in [(false, 8), (true, 4)] {
            var options = DecodeOptions()
            options.jpegScaleEighths = eighths
            let reader = try JPEGPlanarReader(bytes, options: options)
            let writer = try JPEGPlanarWriter(width: target.width, height: target.height, gray: false,
                                              options: JPEGEncodeOptions(quality: 95))
            try PlanarJPEGResize.run(from: reader, to: writer, orientation: value, prefetch: prefetch)
            let got = try ImageCodec.decode(writer.finish().bytes).image
            #expect(got.size == target)
            #expect(psnr(got, expected) > 30, "orientation \(value), decoded at \(eighths)/8")
            // Fails for a wrong turn: the same output against the unturned or half-turned picture.
            let wrong = upright.oriented(exif: 3).resized(to: target, threads: 1)
            #expect(psnr(got, wrong) < 20)
        }
    }

    @Test("mismatched plane counts and too many bands are refused")
    func misuse() throws {
        let reader = try JPEGPlanarReader(try Corpus.bytes("jpeg/pillow_flower.jpg"))
        let writer = try JPEGPlanarWriter(width: 10, height: 10, gray: true)
        #expect(throws: CodecError.self) { try PlanarJPEGResize.run(from: reader, to: writer) }
        for extra in [false, true] {
            let small = try JPEGPlanarWriter(width: 8, height: 8, gray: true)
            #expect(small.layout.bands == 1)
            let band = UnsafeMutableRawPointer.allocate(byteCount: small.layout.bandBytes, alignment: 64)
            defer { band.deallocate() }
            band.initializeMemory(as: UInt8.self, repeating: 128, count: small.layout.bandBytes)
            try small.writeBand(band)
            if extra {
                #expect(throws: CodecError.self) { try small.writeBand(band) }
            } else {
                #expect(try ImageCodec.decode(small.finish().bytes).image.pixels == [UInt8](repeating: 128, count: 64))
            }
        }
    }
}
