import Foundation
import ImageCodecs
import ImageCore
import Testing
@testable import ReferenceImages

/// A minimal ICC v2 matrix/TRC display profile, built byte by byte for the tests: Adobe RGB (1998)
/// colorants adapted to D50 (published values) with a pure gamma curve on each channel.
enum TestProfile {
    static func rgb(gamma: Double = 1.8, space: String = "RGB ") -> [UInt8] {
        func be32(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func s15(_ v: Double) -> [UInt8] { be32(UInt32(bitPattern: Int32((v * 65536).rounded()))) }
        func ascii(_ s: String) -> [UInt8] { Array(s.utf8) }
        func xyz(_ x: Double, _ y: Double, _ z: Double) -> [UInt8] { ascii("XYZ ") + [0, 0, 0, 0] + s15(x) + s15(y) + s15(z) }
        let text = "KlingKit test gamma \(gamma)\0"
        let desc = ascii("desc") + [0, 0, 0, 0] + be32(UInt32(text.utf8.count)) + ascii(text)
            + [0, 0, 0, 0] + [0, 0, 0, 0] + [0, 0, 0] + [UInt8](repeating: 0, count: 67)
        let curve = ascii("curv") + [0, 0, 0, 0] + be32(1) + [UInt8(gamma), UInt8(((gamma - gamma.rounded(.down)) * 256).rounded()), 0, 0]
        let tags: [(String, [UInt8])] = [
            ("desc", desc), ("wtpt", xyz(0.9642, 1.0, 0.8249)),
            ("rXYZ", xyz(0.6097, 0.3111, 0.0195)), ("gXYZ", xyz(0.2053, 0.6257, 0.0609)),
            ("bXYZ", xyz(0.1492, 0.0632, 0.7446)),
            ("rTRC", curve), ("gTRC", curve), ("bTRC", curve),
        ]
        var offset = 128 + 4 + 12 * tags.count
        var table: [UInt8] = be32(UInt32(tags.count))
        var data: [UInt8] = []
        for (signature, body) in tags {
            var padded = body
            while padded.count % 4 != 0 { padded.append(0) }
            table += ascii(signature) + be32(UInt32(offset)) + be32(UInt32(body.count))
            data += padded
            offset += padded.count
        }
        var header = be32(UInt32(offset)) + [0, 0, 0, 0] + [0x02, 0x10, 0, 0] + ascii("mntr") + ascii(space) + ascii("XYZ ")
        header += [UInt8](repeating: 0, count: 12) + ascii("acsp") + [UInt8](repeating: 0, count: 24) + [0, 0, 0, 0]
        header += s15(0.9642) + s15(1.0) + s15(0.8249)
        header += [UInt8](repeating: 0, count: 128 - header.count)
        return header + table + data
    }

    /// sRGB encoding of mid-gray 128 stored under a pure gamma `g`: (128/255)^g, then the sRGB curve.
    static func expectedGray(gamma: Double) -> Double {
        let linear = pow(128.0 / 255.0, gamma)
        return 255 * (1.055 * pow(linear, 1 / 2.4) - 0.055)
    }
}

@Suite("ICC profiles: conversion to sRGB")
struct ColorProfileTests {
    @Test("neutral gray under a gamma-1.8 profile becomes the sRGB gray of the same light")
    func grayLevels() throws {
        var image = try Image(width: 4, height: 2, format: .rgba, fill: Color(red: 128, green: 128, blue: 128, alpha: 77))
        try SRGBConverter(profile: TestProfile.rgb(gamma: 1.8), format: .rgba).convert(&image)
        let expected = TestProfile.expectedGray(gamma: 1.8)  // ≈ 146
        for i in stride(from: 0, to: image.pixels.count, by: 4) {
            for c in 0..<3 { #expect(abs(Double(image.pixels[i + c]) - expected) <= 2, "channel \(c): \(image.pixels[i + c])") }
            #expect(image.pixels[i + 3] == 77, "alpha passes through")
        }
        // Gamma 2.2 with the same primaries is close to sRGB already: mid-gray barely moves.
        var near = try Image(width: 1, height: 1, format: .rgb, fill: Color(red: 128, green: 128, blue: 128))
        try SRGBConverter(profile: TestProfile.rgb(gamma: 2.2), format: .rgb).convert(&near)
        #expect(abs(Int(near.pixels[0]) - 128) <= 3)
    }

    @Test("a wide-gamut green is clipped into sRGB, not passed through")
    func wideGamut() throws {
        var image = try Image(width: 1, height: 1, format: .rgb, fill: Color(red: 0, green: 255, blue: 0))
        try SRGBConverter(profile: TestProfile.rgb(gamma: 2.2), format: .rgb).convert(&image)
        #expect(image.pixels[1] >= 250)
        #expect(image.pixels[0] < 40 && image.pixels[2] < 80)
    }

    @Test("a profile that does not parse, or is not RGB, is refused with a reason")
    func refused() throws {
        #expect { try SRGBConverter(profile: [UInt8](repeating: 7, count: 300), format: .rgb) } throws: {
            ($0 as? CodecError)?.code == .corrupt
        }
        #expect { try SRGBConverter(profile: TestProfile.rgb(space: "GRAY"), format: .rgb) } throws: {
            [.unsupported, .corrupt].contains(($0 as? CodecError)?.code)
        }
        #expect(throws: CodecError.self) { try SRGBConverter(profile: TestProfile.rgb(), format: .gray) }
    }

    @Test("prepare --icc srgb converts and drops the profile; keep copies the file as it is")
    func prepareConverts() throws {
        let profile = TestProfile.rgb(gamma: 1.8)
        let image = try Image(width: 600, height: 400, format: .rgb, fill: Color(red: 128, green: 128, blue: 128))
        let jpeg = try ImageCodec.encodeJPEG(image, options: JPEGEncodeOptions(quality: 95, iccProfile: profile)).bytes
        #expect(MetadataStripper.hasICCProfile(jpeg))
        let png = try ImageCodec.encodePNG(image, options: PNGEncodeOptions(iccProfile: profile)).bytes
        #expect(MetadataStripper.hasICCProfile(png))

        for (name, bytes) in [("p.jpg", jpeg), ("p.png", png)] {
            var options = PrepareOptions()
            let kept = try ReferenceImagePreparer(options: options).prepare(bytes: bytes, name: name)
            #expect(kept.encoded.bytes == bytes, "\(name): nothing to change, copied")

            options.colorProfile = .sRGB
            for maxSide in [nil, 300] as [Int?] {  // also through the resize routes
                options.maxSide = maxSide
                let converted = try ReferenceImagePreparer(options: options).prepare(bytes: bytes, name: name)
                #expect(converted.actions.texts.contains("converted colours to sRGB (ICC profile)"), "\(converted.actions.texts)")
                #expect(!MetadataStripper.hasICCProfile(converted.encoded.bytes))
                let decoded = try ImageCodec.decode(converted.encoded.bytes).image
                let center = (decoded.height / 2 * decoded.width + decoded.width / 2) * decoded.format.channels
                #expect(abs(Double(decoded.pixels[center]) - TestProfile.expectedGray(gamma: 1.8)) <= 3, "\(name)")
            }
        }
        // Convert to JPEG from a PNG (the streamed PNG route is skipped for this).
        var options = PrepareOptions()
        options.colorProfile = .sRGB
        options.format = .jpeg
        let fromPNG = try ReferenceImagePreparer(options: options).prepare(bytes: png, name: "p.png")
        #expect(fromPNG.encoded.format == .jpeg && !MetadataStripper.hasICCProfile(fromPNG.encoded.bytes))
    }
}
