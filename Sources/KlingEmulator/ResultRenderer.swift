import KlingSupport
import ImageCodecs
import ImageCore
import KlingModels

/// What a result image is made from: everything that decides its pixels. Two tasks with the same
/// spec get the same images, so a test or a person can tell which request produced a picture.
struct RenderSpec: Sendable {
    /// The prompt, drawn across the top and hashed into the background.
    var prompt: String
    /// The model name, drawn in the footer and hashed.
    var model: String
    /// Output size in pixels (from `aspect_ratio` × `resolution`).
    var width: Int
    var height: Int
    /// How many images the task makes (drawn as `#i/n`).
    var count: Int
    /// Downscaled copies of the reference images (at most ``ReferenceIntake/thumbnailSide`` a side,
    /// JPEG-encoded to keep a task small), drawn as insets along the bottom edge and hashed into the background.
    var references: [[UInt8]]
}

/// Draws result images: a colour field whose palette and pattern are seeded by a hash of the prompt,
/// model, index and reference pixels; the prompt in a bitmap font on a darkened band at the top;
/// the reference images inset along the bottom; `#index/n` and the model in the footer. The
/// watermarked copy adds a translucent banner. Deterministic: no clock, no randomness.
enum ResultRenderer {
    /// The pixels of image `index` (0-based) of a task.
    static func render(_ spec: RenderSpec, index: Int, watermark: Bool) throws -> Image {
        let width = spec.width, height = spec.height
        var seed = fnv1a64(Array(spec.prompt.utf8)) ^ (fnv1a64(Array(spec.model.utf8)) &* 31)
        for reference in spec.references { seed = seed &* 0x100000001B3 ^ fnv1a64(reference) }
        var rng = SplitMix64(seed: seed ^ UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9_7F4A_7C15)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)

        // Background: a 256-entry cyclic gradient through three seeded colours, indexed by a pattern
        // value t(x, y) = col[x] ⊕ row[y] (sum, or xor for the woven kind).
        let colours = (0..<3).map { _ in hsvColour(hue: Double(rng.next() % 360), saturation: 0.45 + Double(rng.next() % 40) / 100, value: 0.65 + Double(rng.next() % 30) / 100) }
        var lut = [UInt8](repeating: 0, count: 256 * 3)
        for i in 0..<256 {
            let segment = i * 3 / 256, t = Double(i * 3 % 256) / 256
            let a = colours[segment], b = colours[(segment + 1) % 3]
            for c in 0..<3 { lut[i * 3 + c] = UInt8(Double(a[c]) * (1 - t) + Double(b[c]) * t) }
        }
        let kind = Int(rng.next() % 4)
        let ax = Int(rng.next() % 7) + 1, ay = Int(rng.next() % 7) + 1
        let cx = Int(rng.next() % UInt64(width)), cy = Int(rng.next() % UInt64(height))
        let scale = max(1, (width + height) / 512)
        var col = [Int](repeating: 0, count: width), row = [Int](repeating: 0, count: height)
        for x in 0..<width {
            switch kind {
            case 0: col[x] = x * ax / scale
            case 1: col[x] = (x - cx) * (x - cx) / (scale * scale * 24)
            case 2: col[x] = (x / (16 * scale * ax)) * 37 + x / scale
            default: col[x] = Int(64 * (1 + sinApprox(Double(x) / Double(scale * 9 * ax))))
            }
        }
        for y in 0..<height {
            switch kind {
            case 0: row[y] = y * ay / scale
            case 1: row[y] = (y - cy) * (y - cy) / (scale * scale * 24)
            case 2: row[y] = (y / (16 * scale * ay)) * 59 + y / scale
            default: row[y] = Int(64 * (1 + sinApprox(Double(y) / Double(scale * 9 * ay))))
            }
        }
        pixels.withUnsafeMutableBufferPointer { out in
            lut.withUnsafeBufferPointer { lut in
                for y in 0..<height {
                    let r = row[y]
                    var o = y * width * 3
                    for x in 0..<width {
                        let t = (kind == 2 ? (col[x] ^ r) : (col[x] + r)) & 255
                        out[o] = lut[t * 3]; out[o + 1] = lut[t * 3 + 1]; out[o + 2] = lut[t * 3 + 2]
                        o += 3
                    }
                }
            }
        }

        var image = try Image(width: width, height: height, format: .rgb, pixels: pixels)
        let white = Color.white
        image.withCanvas { canvas in
            let fontScale = max(2, min(width, height) / 300)
            let margin = 4 * fontScale
            // The prompt across the top on a darkened band.
            let columns = (width - 2 * margin) / (BitmapFont.advance * fontScale)
            let lines = wrapLines(spec.prompt, columns: columns, maxLines: 4)
            let bandHeight = margin * 2 + max(1, lines.count) * BitmapFont.lineHeight * fontScale
            canvas.shade(Rect(x: 0, y: 0, width: width, height: min(height, bandHeight)), keep: 96)
            for (i, line) in lines.enumerated() {
                canvas.draw(line, x: margin, y: margin + i * BitmapFont.lineHeight * fontScale, scale: fontScale, color: white)
            }
            // The reference images along the bottom.
            let footer = "#\(index + 1)/\(spec.count)  \(spec.model)"
            let footerHeight = BitmapFont.lineHeight * fontScale + margin
            let references = spec.references.compactMap { try? ImageCodec.decode($0).image.converted(to: .rgb) }
            if !references.isEmpty {
                let k = references.count
                let side = max(16, min(min(width, height) / 3, (width - margin * (k + 1)) / k))
                var x = margin
                for reference in references {
                    let fit = fitted(reference.width, reference.height, into: side)
                    let thumb = reference.resized(to: Size(width: fit.width, height: fit.height), filter: .bilinear)
                    let y = height - footerHeight - margin - fit.height
                    canvas.fill(Rect(x: x - 3, y: y - 3, width: fit.width + 6, height: fit.height + 6), with: white)
                    canvas.composite(thumb, x: x, y: y)
                    x += side + margin
                }
            }
            canvas.shade(Rect(x: 0, y: height - footerHeight, width: width, height: footerHeight), keep: 128)
            canvas.draw(footer, x: margin, y: height - footerHeight + margin / 2, scale: fontScale, color: white)
            if watermark {
                let text = "KLING EMULATOR"
                let wmScale = max(fontScale, width / (text.count * BitmapFont.advance + 4))
                let y = height / 2 - BitmapFont.glyphHeight * wmScale / 2
                canvas.shade(Rect(x: 0, y: y - wmScale * 2, width: width, height: (BitmapFont.glyphHeight + 4) * wmScale), keep: 160)
                canvas.draw(text, x: (width - text.count * BitmapFont.advance * wmScale) / 2, y: y, scale: wmScale,
                            color: white, opacity: 170)
            }
        }
        return image
    }

    /// The PNG bytes of image `index` of a task.
    static func encode(_ spec: RenderSpec, index: Int, watermark: Bool) throws -> EncodedImage {
        try ImageCodec.encodePNG(render(spec, index: index, watermark: watermark), options: PNGEncodeOptions(compressionLevel: 3))
    }

    static func fitted(_ w: Int, _ h: Int, into side: Int) -> (width: Int, height: Int) {
        if w >= h { return (side, max(1, h * side / max(1, w))) }
        return (max(1, w * side / max(1, h)), side)
    }

    /// FNV-1a, 64-bit (Fowler, Noll, Vo).
    static func fnv1a64(_ bytes: [UInt8]) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01B3 }
        return hash
    }

    static func hsvColour(hue: Double, saturation: Double, value: Double) -> [UInt8] {
        let c = value * saturation
        let h = hue / 60
        let x = c * (1 - abs(h.truncatingRemainder(dividingBy: 2) - 1))
        let (r, g, b): (Double, Double, Double) = switch Int(h) {
        case 0: (c, x, 0)
        case 1: (x, c, 0)
        case 2: (0, c, x)
        case 3: (0, x, c)
        case 4: (x, 0, c)
        default: (c, 0, x)
        }
        let m = value - c
        return [r, g, b].map { UInt8(max(0, min(255, (($0 + m) * 255).rounded()))) }
    }

    /// sin(x) by a 5th-order Taylor polynomial after range reduction (plenty for a background).
    static func sinApprox(_ x: Double) -> Double {
        var t = x.truncatingRemainder(dividingBy: 2 * .pi)
        if t > .pi { t -= 2 * .pi } else if t < -.pi { t += 2 * .pi }
        if t > .pi / 2 { t = .pi - t } else if t < -.pi / 2 { t = -.pi - t }
        let t2 = t * t
        return t * (1 - t2 / 6 * (1 - t2 / 20))
    }
}


/// Splits `text` into at most `maxLines` lines of at most `columns` characters, breaking at spaces
/// where possible (longer words are cut); the last line ends in `...` when text was left out.
func wrapLines(_ text: String, columns: Int, maxLines: Int) -> [String] {
    guard columns > 3, maxLines > 0 else { return [] }
    var pieces: [Substring] = []
    for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "\r" }) {
        var rest = word
        while rest.count > columns {
            pieces.append(rest.prefix(columns))
            rest = rest.dropFirst(columns)
        }
        pieces.append(rest)
    }
    var lines: [String] = []
    var current = ""
    for piece in pieces {
        if current.isEmpty {
            current = String(piece)
        } else if current.count + 1 + piece.count <= columns {
            current += " " + piece
        } else {
            lines.append(current)
            current = String(piece)
        }
    }
    if !current.isEmpty { lines.append(current) }
    if lines.count > maxLines {
        lines = Array(lines.prefix(maxLines))
        lines[maxLines - 1] = String(lines[maxLines - 1].prefix(columns - 3)) + "..."
    }
    return lines
}
