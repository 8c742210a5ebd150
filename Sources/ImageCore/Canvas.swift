/// The one drawing surface of KlingKit (contact sheets, the emulator's result images): a window onto
/// pixels, rows `originY ..< originY + height` of a picture `width` pixels wide, 3 (RGB) or 4 (RGBA,
/// straight alpha) bytes per pixel, no row padding. All drawing takes picture coordinates and clips to
/// the window, so the same calls draw a whole picture or one row band of it. Text is drawn in
/// ``BitmapFont``.
///
/// - Important: the view does not own its memory; get one from ``Image/withCanvas(_:)`` or over a buffer
///   that outlives it. Several views may write one buffer from several threads at once only if the
///   rectangles they draw do not overlap (tiles never do).
public struct CanvasView: @unchecked Sendable {
    /// The first byte of row `originY`.
    public let base: UnsafeMutablePointer<UInt8>
    /// Width of the picture (and the window) in pixels.
    public let width: Int
    /// Rows in the window.
    public let height: Int
    /// 3 (RGB) or 4 (RGBA).
    public let channels: Int
    /// The picture row the window starts at.
    public let originY: Int

    /// A view of `height` rows starting at picture row `originY`.
    /// - Precondition: `channels` is 3 or 4; `base` holds `width × height × channels` bytes.
    public init(base: UnsafeMutablePointer<UInt8>, width: Int, height: Int, channels: Int, originY: Int = 0) {
        precondition(channels == 3 || channels == 4, "a canvas is RGB or RGBA")
        self.base = base
        self.width = width
        self.height = height
        self.channels = channels
        self.originY = originY
    }

    /// Bytes in one row: `width × channels`.
    public var bytesPerRow: Int { width * channels }

    /// `rect` intersected with the window, or nil when they do not meet.
    private func clip(_ rect: Rect) -> Rect? {
        let x0 = max(0, rect.x), x1 = min(width, rect.x + rect.width)
        let y0 = max(originY, rect.y), y1 = min(originY + height, rect.y + rect.height)
        guard x1 > x0, y1 > y0 else { return nil }
        return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
    }

    /// Fills `rect` with `color`, replacing what was there (alpha included on an RGBA canvas).
    public func fill(_ rect: Rect, with color: Color) {
        guard let r = clip(rect) else { return }
        let sample: [UInt8] = channels == 4
            ? [color.red, color.green, color.blue, color.alpha]
            : [color.red, color.green, color.blue]
        let rowBytes = r.width * channels
        // Write the first row pixel by pixel, then copy it down.
        let first = base + (r.y - originY) * bytesPerRow + r.x * channels
        for i in 0..<r.width {
            for c in 0..<channels { first[i * channels + c] = sample[c] }
        }
        for y in 1..<max(1, r.height) {
            (first + y * bytesPerRow).update(from: first, count: rowBytes)
        }
    }

    /// Paints `color` over `rect` at `opacity`/255 (0...255): `color·o + pixel·(1 − o)`, rounded; alpha of
    /// an RGBA canvas is left as it is.
    public func blend(_ rect: Rect, with color: Color, opacity: Int) {
        guard let r = clip(rect) else { return }
        let o = max(0, min(255, opacity))
        let sample = [Int(color.red), Int(color.green), Int(color.blue)]
        for y in r.y ..< r.y + r.height {
            let row = base + (y - originY) * bytesPerRow + r.x * channels
            for i in 0..<r.width {
                let d = row + i * channels
                for c in 0..<3 { d[c] = CanvasView.blend(sample[c], Int(d[c]), o) }
            }
        }
    }

    /// Darkens `rect`: every colour sample multiplied by `keep`/255 (0...255), rounded down.
    public func shade(_ rect: Rect, keep: Int) {
        guard let r = clip(rect) else { return }
        let k = max(0, min(255, keep))
        for y in r.y ..< r.y + r.height {
            let row = base + (y - originY) * bytesPerRow + r.x * channels
            for i in 0..<r.width {
                let d = row + i * channels
                for c in 0..<3 { d[c] = UInt8(Int(d[c]) * k / 255) }
            }
        }
    }

    /// Draws `image` with its top-left corner at picture point (`x`, `y`), blending by its alpha
    /// ("over", straight alpha, rounded); gray is widened to RGB.
    public func composite(_ image: Image, x: Int, y: Int) {
        guard let r = clip(Rect(x: x, y: y, width: image.width, height: image.height)) else { return }
        let srcChannels = image.format.channels
        image.pixels.withUnsafeBufferPointer { buffer in
            let src = buffer.baseAddress!
            for row in r.y ..< r.y + r.height {
                let s = src + (row - y) * image.bytesPerRow + (r.x - x) * srcChannels
                let d = base + (row - originY) * bytesPerRow + r.x * channels
                CanvasView.blendRow(src: s, format: image.format, dst: d, dstChannels: channels, count: r.width)
            }
        }
    }

    private static func blendRow(
        src: UnsafePointer<UInt8>, format: PixelFormat, dst: UnsafeMutablePointer<UInt8>, dstChannels: Int, count: Int
    ) {
        switch (format, dstChannels) {
        case (.rgb, 3):
            dst.update(from: src, count: count * 3)
        case (.rgb, _), (.gray, _):
            for i in 0..<count {
                let r: UInt8, g: UInt8, b: UInt8
                if format == .gray { r = src[i]; g = r; b = r } else { r = src[3 * i]; g = src[3 * i + 1]; b = src[3 * i + 2] }
                let d = dst + i * dstChannels
                d[0] = r; d[1] = g; d[2] = b
                if dstChannels == 4 { d[3] = 255 }
            }
        case (.rgba, _), (.grayAlpha, _):
            let stride = format.channels
            for i in 0..<count {
                let s = src + i * stride
                let r: UInt8, g: UInt8, b: UInt8, a: UInt8
                if format == .grayAlpha { r = s[0]; g = r; b = r; a = s[1] } else { r = s[0]; g = s[1]; b = s[2]; a = s[3] }
                if a == 0 { continue }
                let d = dst + i * dstChannels
                if a == 255 {
                    d[0] = r; d[1] = g; d[2] = b
                    if dstChannels == 4 { d[3] = 255 }
                    continue
                }
                let sa = Int(a)
                if dstChannels == 3 {
                    // Opaque destination: out = src·a + dst·(1 − a).
                    d[0] = blend(Int(r), Int(d[0]), sa)
                    d[1] = blend(Int(g), Int(d[1]), sa)
                    d[2] = blend(Int(b), Int(d[2]), sa)
                } else {
                    // Porter–Duff "over" with straight alpha (Porter & Duff 1984):
                    // αo = αs + αd(1 − αs); Co = (Cs·αs + Cd·αd(1 − αs)) / αo, in 0…255 fixed point.
                    let da = Int(d[3])
                    let dWeight = da * (255 - sa)            // ×255²
                    let outAlpha255 = sa * 255 + dWeight      // αo·255²
                    let alpha = (outAlpha255 + 127) / 255
                    for c in 0..<3 {
                        let sc = Int(c == 0 ? r : (c == 1 ? g : b))
                        let numerator = sc * sa * 255 + Int(d[c]) * dWeight
                        d[c] = UInt8(min(255, (numerator + outAlpha255 / 2) / max(1, outAlpha255)))
                    }
                    d[3] = UInt8(min(255, alpha))
                }
            }
        }
    }

    @inline(__always)
    private static func blend(_ source: Int, _ destination: Int, _ alpha: Int) -> UInt8 {
        // (s·a + d·(255 − a)) / 255, rounded, exact for 0…255 by the (x + 128 + (x + 128) >> 8) >> 8 identity.
        let x = source * alpha + destination * (255 - alpha) + 128
        return UInt8((x + (x >> 8)) >> 8)
    }

    /// Draws `text` in the bitmap font with its top-left at picture point (`x`, `y`), each font pixel a
    /// `scale`×`scale` block of `color`: replacing the pixels at `opacity` 255 (the default), blended
    /// over them below. Nothing is truncated here; see ``BitmapFont/truncate(_:toWidth:scale:)``.
    public func draw(_ text: String, x: Int, y: Int, scale: Int, color: Color, opacity: Int = 255) {
        // Skip whole lines outside the window quickly.
        guard y < originY + height, y + BitmapFont.glyphHeight * scale > originY else { return }
        var penX = x
        for character in text {
            guard penX < width else { break }   // the rest is clipped anyway
            let glyph = BitmapFont.glyph(for: character)
            for (row, bits) in glyph.rows.enumerated() where bits != 0 {
                for column in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(column)) != 0 {
                    let block = Rect(x: penX + column * scale, y: y + row * scale, width: scale, height: scale)
                    if opacity >= 255 { fill(block, with: color) } else { blend(block, with: color, opacity: opacity) }
                }
            }
            penX += BitmapFont.advance * scale
        }
    }

    /// Draws `text` centred in `rect` horizontally (left-aligned when it fills the width) at top `y`,
    /// shortened with an ellipsis to the rectangle's width: at the end, or in the middle with `keepEnd`.
    public func drawCentered(_ text: String, in rect: Rect, y: Int, scale: Int, color: Color, keepEnd: Bool = false) {
        let fitted = keepEnd ? BitmapFont.truncateMiddle(text, toWidth: rect.width, scale: scale)
                             : BitmapFont.truncate(text, toWidth: rect.width, scale: scale)
        let width = BitmapFont.width(of: fitted, scale: scale)
        draw(fitted, x: rect.x + max(0, (rect.width - width) / 2), y: y, scale: scale, color: color)
    }
}

extension Image {
    /// Calls `body` with a ``CanvasView`` over the whole image, to draw on it in place.
    /// - Precondition: the format is ``PixelFormat/rgb`` or ``PixelFormat/rgba``.
    public mutating func withCanvas<R>(_ body: (CanvasView) throws -> R) rethrows -> R {
        let (width, height, channels) = (self.width, self.height, format.channels)
        return try withUnsafeMutablePixels { pixels in
            try body(CanvasView(base: pixels.baseAddress!, width: width, height: height, channels: channels))
        }
    }
}
