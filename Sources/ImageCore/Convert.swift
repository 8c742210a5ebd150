extension Image {
    /// Whether any pixel is less than fully opaque (always `false` for formats without alpha).
    public var hasTransparency: Bool {
        guard format.hasAlpha else { return false }
        let ch = format.channels
        return pixels.withUnsafeBufferPointer { p in
            var i = ch - 1
            while i < p.count {
                if p[i] != 255 { return true }
                i += ch
            }
            return false
        }
    }

    /// Returns the image in another pixel format.
    ///
    /// - Colour to gray uses Rec. 601 luma (`0.299 R + 0.587 G + 0.114 B`), as JPEG does.
    /// - Gray to colour copies the luma into R, G and B.
    /// - Dropping alpha composites each pixel over `background` ("flattening"):
    ///   `out = (c·a + bg·(255 − a)) / 255`, rounded; the background's own alpha is ignored.
    /// - Adding alpha sets it to 255.
    /// - Parameters:
    ///   - format: the pixel format wanted.
    ///   - background: the colour transparent pixels are composited over, white by default.
    /// - Returns: `self` when the format is already `format`.
    public func converted(to format: PixelFormat, background: Color = .white) -> Image {
        if format == self.format { return self }
        let sch = self.format.channels, dch = format.channels
        let n = width * height
        let srcAlpha = self.format.hasAlpha, srcGray = self.format.isGray
        let dstAlpha = format.hasAlpha, dstGray = format.isGray
        let bg = (Int(background.red), Int(background.green), Int(background.blue))
        let bgLuma = (299 * bg.0 + 587 * bg.1 + 114 * bg.2 + 500) / 1000
        var out = [UInt8](repeating: 0, count: n * dch)
        pixels.withUnsafeBufferPointer { sBuf in
            out.withUnsafeMutableBufferPointer { dBuf in
                let s = sBuf.baseAddress!, d = dBuf.baseAddress!
                for i in 0..<n {
                    let sp = s + i * sch, dp = d + i * dch
                    var r: Int, g: Int, b: Int
                    if srcGray {
                        r = Int(sp[0]); g = r; b = r
                    } else {
                        r = Int(sp[0]); g = Int(sp[1]); b = Int(sp[2])
                    }
                    let a = srcAlpha ? Int(sp[sch - 1]) : 255
                    if dstGray {
                        var y = srcGray ? r : (299 * r + 587 * g + 114 * b + 500) / 1000
                        if srcAlpha && !dstAlpha {
                            y = (y * a + bgLuma * (255 - a) + 127) / 255
                        }
                        dp[0] = UInt8(y)
                    } else {
                        if srcAlpha && !dstAlpha {
                            r = (r * a + bg.0 * (255 - a) + 127) / 255
                            g = (g * a + bg.1 * (255 - a) + 127) / 255
                            b = (b * a + bg.2 * (255 - a) + 127) / 255
                        }
                        dp[0] = UInt8(r); dp[1] = UInt8(g); dp[2] = UInt8(b)
                    }
                    if dstAlpha { dp[dch - 1] = UInt8(a) }
                }
            }
        }
        return Image(validWidth: width, height: height, format: format, pixels: out)
    }
}

extension Image {
    /// Returns the image without its alpha channel, composited over `background` like
    /// ``converted(to:background:)`` (RGBA becomes RGB, gray+alpha becomes gray).
    ///
    /// The work happens in place when nothing else shares the pixel buffer, so flattening a large
    /// image needs no second buffer (pass the image with `consume` to make sure of it). A shared
    /// buffer is copied first, as usual for a value type.
    public consuming func flattened(background: Color = .white) -> Image {
        guard format.hasAlpha else { return self }
        let image = consume self
        let target: PixelFormat = image.format.isGray ? .gray : .rgb
        let n = image.width * image.height
        let sch = image.format.channels, dch = target.channels
        let (width, height) = (image.width, image.height)
        var buffer = image.takePixels()  // `buffer` is the only reference, so writing to it does not copy
        let bg = (Int(background.red), Int(background.green), Int(background.blue))
        let bgLuma = (299 * bg.0 + 587 * bg.1 + 114 * bg.2 + 500) / 1000
        buffer.withUnsafeMutableBufferPointer { p in
            let b = p.baseAddress!
            // Forward sweep: pixel i is written at i*dch <= i*sch, after it has been read.
            for i in 0..<n {
                let s = b + i &* sch, d = b + i &* dch
                let a = Int(s[sch - 1]), ia = 255 - a
                if dch == 1 {
                    d[0] = UInt8((Int(s[0]) * a + bgLuma * ia + 127) / 255)
                } else {
                    let r = Int(s[0]), g = Int(s[1]), bl = Int(s[2])
                    d[0] = UInt8((r * a + bg.0 * ia + 127) / 255)
                    d[1] = UInt8((g * a + bg.1 * ia + 127) / 255)
                    d[2] = UInt8((bl * a + bg.2 * ia + 127) / 255)
                }
            }
        }
        buffer.removeLast(n * (sch - dch))  // keeps the allocation: no copy, no new buffer
        return Image(validWidth: width, height: height, format: target, pixels: buffer)
    }
}
