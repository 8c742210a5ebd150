extension Image {
    /// The size after applying EXIF `orientation`: width and height swap for 5…8.
    public static func orientedSize(width: Int, height: Int, exif orientation: Int) -> Size {
        (5...8).contains(orientation) ? Size(width: height, height: width) : Size(width: width, height: height)
    }

    /// Returns the pixels turned upright according to an EXIF orientation value (TIFF tag 274).
    ///
    /// | value | stored image is…           | this applies            |
    /// |-------|----------------------------|-------------------------|
    /// | 1     | upright                    | nothing (returns self)  |
    /// | 2     | mirrored                   | horizontal flip         |
    /// | 3     | upside down                | rotate 180°             |
    /// | 4     | mirrored upside down       | vertical flip           |
    /// | 5     | transposed                 | transpose (main diagonal) |
    /// | 6     | lying on its left side     | rotate 90° clockwise    |
    /// | 7     | transversed                | transverse (anti-diagonal) |
    /// | 8     | lying on its right side    | rotate 90° anticlockwise |
    ///
    /// Values outside 1…8 are treated as 1, as every viewer does.
    /// - Returns: the upright image; for 5…8 its width and height are swapped.
    public func oriented(exif orientation: Int) -> Image {
        guard (2...8).contains(orientation) else { return self }
        let w = width, h = height, ch = format.channels
        let out = Image.orientedSize(width: w, height: h, exif: orientation)
        let ow = out.width, oh = out.height
        // Express the source position of output (ox, oy) as base + ox*dx + oy*dy (in pixels), so one
        // loop handles all seven cases.
        let base: Int, dx: Int, dy: Int
        switch orientation {
        case 2: base = w - 1; dx = -1; dy = w
        case 3: base = (h - 1) * w + w - 1; dx = -1; dy = -w
        case 4: base = (h - 1) * w; dx = 1; dy = -w
        case 5: base = 0; dx = w; dy = 1
        case 6: base = (h - 1) * w; dx = -w; dy = 1
        case 7: base = (h - 1) * w + w - 1; dx = -w; dy = -1
        default: base = w - 1; dx = w; dy = -1  // 8
        }
        var result = [UInt8](repeating: 0, count: pixels.count)
        pixels.withUnsafeBufferPointer { srcBuf in
            result.withUnsafeMutableBufferPointer { dstBuf in
                let src = srcBuf.baseAddress!, dst = dstBuf.baseAddress!
                // 64×64 tiles keep both the reads and the writes of a rotation inside the cache.
                let tile = 64
                var ty = 0
                while ty < oh {
                    let yEnd = min(ty + tile, oh)
                    var tx = 0
                    while tx < ow {
                        let xEnd = min(tx + tile, ow)
                        for oy in ty..<yEnd {
                            var s = base + tx * dx + oy * dy
                            var d = (oy * ow + tx) * ch
                            switch ch {
                            case 1:
                                for _ in tx..<xEnd { dst[d] = src[s]; s += dx; d += 1 }
                            case 3:
                                for _ in tx..<xEnd {
                                    let p = src + s * 3
                                    dst[d] = p[0]; dst[d + 1] = p[1]; dst[d + 2] = p[2]
                                    s += dx; d += 3
                                }
                            case 4:
                                let s32 = UnsafeRawPointer(src)
                                let d32 = UnsafeMutableRawPointer(dst)
                                for _ in tx..<xEnd {
                                    d32.storeBytes(of: s32.loadUnaligned(fromByteOffset: s * 4, as: UInt32.self),
                                                   toByteOffset: d, as: UInt32.self)
                                    s += dx; d += 4
                                }
                            default:
                                for _ in tx..<xEnd {
                                    for c in 0..<ch { dst[d + c] = src[s * ch + c] }
                                    s += dx; d += ch
                                }
                            }
                        }
                        tx = xEnd
                    }
                    ty = yEnd
                }
            }
        }
        return Image(validWidth: ow, height: oh, format: format, pixels: result)
    }
}
