/// How ``Image/padded(to:at:fill:)`` fills the area around the original pixels.
public enum PadFill: Sendable, Hashable {
    /// A flat colour (converted to the image's pixel format).
    case color(Color)
    /// The outermost row or column of the image repeated outward.
    case edge
    /// The image itself, scaled to cover the canvas and heavily blurred (the "blurred backdrop"
    /// look), so the padding carries the picture's own colours.
    case blur
}

extension Image {
    /// Returns the pixels inside `rect`.
    /// - Parameter rect: the region to keep, clipped to the image; it must overlap the image.
    /// - Returns: the cropped image (`self` when `rect` covers the whole image).
    /// - Important: a rectangle that does not overlap the image traps; callers clip first.
    public func cropped(to rect: Rect) -> Image {
        let x0 = max(rect.x, 0), y0 = max(rect.y, 0)
        let x1 = min(rect.x + rect.width, width), y1 = min(rect.y + rect.height, height)
        precondition(x1 > x0 && y1 > y0, "crop \(rect) does not overlap the \(width)x\(height) image")
        if x0 == 0 && y0 == 0 && x1 == width && y1 == height { return self }
        let ch = format.channels
        let cw = x1 - x0, chh = y1 - y0
        let rowBytes = cw * ch
        var out = [UInt8](repeating: 0, count: rowBytes * chh)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<chh {
                    let s = src.baseAddress! + ((y0 + y) * width + x0) * ch
                    (dst.baseAddress! + y * rowBytes).update(from: s, count: rowBytes)
                }
            }
        }
        return Image(validWidth: cw, height: chh, format: format, pixels: out)
    }

    /// Returns the image placed on a larger canvas of a flat colour.
    /// - Parameters:
    ///   - size: the canvas size; each side at least the image's.
    ///   - origin: where the image's top-left corner lands on the canvas.
    ///   - color: the canvas colour, converted to this image's pixel format.
    public func padded(to size: Size, at origin: (x: Int, y: Int), color: Color) -> Image {
        padded(to: size, at: origin, fill: .color(color))
    }

    /// Returns the image placed on a larger canvas, the surround filled as `fill` says.
    /// - Parameters:
    ///   - size: the canvas size; each side at least the image's.
    ///   - origin: where the image's top-left corner lands; the image must fit inside the canvas.
    ///   - fill: a flat colour, the repeated edge, or a blurred enlargement of the image.
    /// - Important: an origin that places the image partly outside the canvas traps.
    public func padded(to size: Size, at origin: (x: Int, y: Int), fill: PadFill) -> Image {
        precondition(origin.x >= 0 && origin.y >= 0 && origin.x + width <= size.width && origin.y + height <= size.height,
                     "image \(width)x\(height) at \(origin) does not fit a \(size) canvas")
        if size.width == width && size.height == height { return self }
        var canvas: Image
        switch fill {
        case .color(let color):
            canvas = Image(validWidth: size.width, height: size.height, format: format, fill: color)
        case .edge:
            canvas = edgeExtended(to: size, at: origin)
        case .blur:
            canvas = blurredBackdrop(size: size)
        }
        canvas.blit(self, at: origin)
        return canvas
    }

    /// Copies `image` (same pixel format) into this one with its top-left corner at `origin`.
    mutating func blit(_ image: Image, at origin: (x: Int, y: Int)) {
        precondition(image.format == format)
        let ch = format.channels
        let rowBytes = image.width * ch
        let dstWidth = width
        image.pixels.withUnsafeBufferPointer { src in
            withUnsafeMutablePixels { dst in
                for y in 0..<image.height {
                    let d = dst.baseAddress! + ((origin.y + y) * dstWidth + origin.x) * ch
                    d.update(from: src.baseAddress! + y * rowBytes, count: rowBytes)
                }
            }
        }
    }

    /// A canvas where every pixel takes the value of the nearest image pixel (clamp-to-edge).
    private func edgeExtended(to size: Size, at origin: (x: Int, y: Int)) -> Image {
        let ch = format.channels
        var out = [UInt8](repeating: 0, count: size.width * size.height * ch)
        pixels.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBufferPointer { dst in
                for y in 0..<size.height {
                    let sy = min(max(y - origin.y, 0), height - 1)
                    let srow = src.baseAddress! + sy * width * ch
                    let drow = dst.baseAddress! + y * size.width * ch
                    for x in 0..<size.width {
                        let sx = min(max(x - origin.x, 0), width - 1)
                        for c in 0..<ch { drow[x * ch + c] = srow[sx * ch + c] }
                    }
                }
            }
        }
        return Image(validWidth: size.width, height: size.height, format: format, pixels: out)
    }

    /// The image scaled to cover `size` (centred, overflow cropped) and blurred: shrunk to a few
    /// dozen pixels with a box filter, then enlarged with Mitchell, which is a wide, cheap blur.
    private func blurredBackdrop(size: Size) -> Image {
        let scale = max(Double(size.width) / Double(width), Double(size.height) / Double(height))
        let coverW = max(size.width, Int((Double(width) * scale).rounded(.up)))
        let coverH = max(size.height, Int((Double(height) * scale).rounded(.up)))
        // Blur radius about 1/20 of the canvas's long side.
        let tinyScale = 24.0 / Double(max(coverW, coverH))
        let tiny = Size(width: max(2, Int(Double(coverW) * tinyScale)), height: max(2, Int(Double(coverH) * tinyScale)))
        let small = resized(to: tiny, filter: .box)
        let cover = small.resized(to: Size(width: coverW, height: coverH), filter: .mitchell)
        return cover.cropped(to: Rect(x: (coverW - size.width) / 2, y: (coverH - size.height) / 2,
                                      width: size.width, height: size.height))
    }
}
