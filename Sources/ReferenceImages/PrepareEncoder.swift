import ImageCodecs
import ImageCore

/// The byte-budget encoder: the output format, then the best quality (JPEG) or compression (PNG) that
/// fits ``PrepareOptions/effectiveMaxBytes``, shrinking the image (never under the minimum side) when no
/// setting fits.
extension ReferenceImagePreparer {
    /// The lowest JPEG quality the byte-budget search tries before it shrinks the image instead.
    static let qualityFloor = 60

    /// An encoding that fits, with the image it encodes (its size may have been reduced).
    struct Fitted {
        var bytes: EncodedImage
        var size: Size
    }

    /// Chooses the output format and encodes under the byte budget.
    func encode(_ image: consuming Image, source: ImageFormat, forced: ImageFormat?, icc: [UInt8]?) throws -> (Fitted, [PrepareAction]) {
        let transparent = image.hasTransparency
        let target: ImageFormat = forced ?? source
        if target == .jpeg {
            return try encodeJPEG(image, icc: icc, sourceFormat: source)
        }
        // PNG wanted (forced, or auto from a PNG source).
        if forced == nil && !transparent, let jpeg = try? encodeJPEG(copy image, icc: icc, sourceFormat: source) {
            // Auto with nothing to lose in JPEG: the JPEG, unless the PNG of the same pixels is smaller.
            // The PNG (zlib level 6, as the streamed route writes it) is abandoned as soon as it passes
            // the JPEG's size, so a photo-like PNG costs a sliver of a full encode, not 2-4 of them.
            if jpeg.0.size == image.size {
                guard let png = try? smallerPNG(image, than: jpeg.0.bytes.bytes.count, icc: icc) else { return jpeg }
                return (Fitted(bytes: png, size: image.size), [.reencodedPNG])
            }
            // The JPEG had to shrink: the PNG's own search, and the smaller of the two.
            guard let png = try? encodePNG(image, icc: icc) else { return jpeg }
            return jpeg.0.bytes.bytes.count < png.0.bytes.bytes.count ? jpeg : png
        }
        if let png = try? encodePNG(image, icc: icc) { return png }
        if forced == nil { return try encodeJPEG(copy image, icc: icc, sourceFormat: source) }
        return try encodePNG(image, icc: icc)
    }

    /// The PNG of `image` at zlib level 6 when it is smaller than `limit` bytes (and within the budget),
    /// else nil; the encoding stops at the first band of rows that takes it past the limit.
    private func smallerPNG(_ image: Image, than limit: Int, icc: [UInt8]?) throws -> EncodedImage? {
        let cap = min(limit - 1, options.effectiveMaxBytes)
        do {
            let writer = try PNGMemoryWriter(width: image.width, height: image.height, format: image.format,
                                             options: PNGEncodeOptions(compressionLevel: 6, iccProfile: icc))
            let stride = image.width * image.format.channels, band = 16
            return try image.pixels.withUnsafeBufferPointer { pixels -> EncodedImage? in
                var y = 0
                while y < image.height {
                    let count = min(band, image.height - y)
                    try writer.write(rows: pixels.baseAddress! + y * stride, stride: stride, count: count)
                    if writer.bytesWritten > cap { return nil }
                    y += count
                }
                let png = try writer.finish()
                return png.bytes.count <= cap ? png : nil
            }
        } catch let error as CodecError {
            throw PrepareError.encoding(.png, error)
        }
    }

    /// JPEG: flatten, then the best quality ≤ the start quality that fits; below the quality floor,
    /// shrink the image (never under the minimum side) and search again.
    private func encodeJPEG(_ input: consuming Image, icc: [UInt8]?, sourceFormat: ImageFormat) throws -> (Fitted, [PrepareAction]) {
        let options = self.options
        var actions: [PrepareAction] = []
        var image = consume input
        if image.format.hasAlpha {
            let transparent = image.hasTransparency
            image = (consume image).flattened(background: options.background)
            if transparent { actions.append(.flattenedAlpha(onto: options.background)) }
        }
        if sourceFormat != .jpeg { actions.append(.converted(from: sourceFormat, to: .jpeg)) }
        let budget = options.effectiveMaxBytes
        let start = options.startQuality
        let floor = min(Self.qualityFloor, start)
        func encode(_ image: Image, _ quality: Int, optimize: Bool = true) throws -> EncodedImage {
            do {
                let settings = JPEGEncodeOptions(quality: quality, optimizeHuffman: optimize, iccProfile: icc)
                return try ImageCodec.encodeJPEG(image, options: settings)
            } catch let error as CodecError {
                throw PrepareError.encoding(.jpeg, error)
            }
        }
        let base = image
        var current = image
        while true {
            var best: (EncodedImage, Int)?
            // Standard Huffman tables first: a third of the encoding time, a few per cent larger.
            // Only when that misses the budget does the search pay for optimised tables.
            let quick = try encode(current, start, optimize: options.optimizeHuffman)
            let first = quick.bytes.count <= budget ? quick : try encode(current, start)
            if first.bytes.count <= budget {
                best = (first, start)
            } else {
                let low = try encode(current, floor)
                if low.bytes.count <= budget {
                    best = (low, floor)
                    // Binary search the highest quality in (floor, start) that fits.
                    var lo = floor + 1, hi = start - 1
                    while lo <= hi {
                        let mid = (lo + hi) / 2
                        let candidate = try encode(current, mid)
                        if candidate.bytes.count <= budget {
                            best = (candidate, mid)
                            lo = mid + 1
                        } else {
                            hi = mid - 1
                        }
                    }
                } else {
                    let next = try shrinkStep(current.size, encodedBytes: low.bytes.count,
                                              what: "JPEG at \(current.size) and quality \(floor)")
                    actions.append(.resizedToFit(from: current.size, to: next, filter: options.filter, budget: budget))
                    current = base.resized(to: next, filter: options.filter, threads: options.threads)
                    continue
                }
            }
            let (bytes, quality) = best!
            actions.append(.reencodedJPEG(quality: quality))
            return (Fitted(bytes: bytes, size: current.size), actions)
        }
    }

    /// PNG: compression level 6, then 9, then shrink the image and try again.
    private func encodePNG(_ input: Image, icc: [UInt8]?) throws -> (Fitted, [PrepareAction]) {
        let options = self.options
        let budget = options.effectiveMaxBytes
        var actions: [PrepareAction] = []
        var current = input
        func encode(_ image: Image, _ level: Int) throws -> EncodedImage {
            do {
                return try ImageCodec.encodePNG(image, options: PNGEncodeOptions(compressionLevel: level, iccProfile: icc))
            } catch let error as CodecError {
                throw PrepareError.encoding(.png, error)
            }
        }
        while true {
            var out = try encode(current, 6)
            if out.bytes.count > budget { out = try encode(current, 9) }
            if out.bytes.count <= budget {
                actions.append(.reencodedPNG)
                return (Fitted(bytes: out, size: current.size), actions)
            }
            let next = try shrinkStep(current.size, encodedBytes: out.bytes.count, what: "PNG at \(current.size)")
            actions.append(.resizedToFit(from: current.size, to: next, filter: options.filter, budget: budget))
            current = input.resized(to: next, filter: options.filter, threads: options.threads)
        }
    }

    /// The next, smaller size for the budget search: shrunk by the square root of the overshoot with a
    /// 5 % margin, still legal (aspect band, minimum side).
    /// - Throws: ``PrepareError`` `file-size` when the image cannot shrink further.
    private func shrinkStep(_ size: Size, encodedBytes: Int, what: String) throws -> Size {
        let budget = options.effectiveMaxBytes
        let factor = (Double(budget) / Double(encodedBytes)).squareRoot() * 0.95
        let next = PreparePlan.shrunk(size, by: factor, minSide: options.effectiveMinSide, maxAspect: options.rules.maxAspect)
        guard next.width * next.height < size.width * size.height else {
            throw PrepareError(.fileSize, "\(what) is \(encodedBytes) bytes, over the \(budget)-byte budget, and the image cannot shrink further")
        }
        return next
    }
}
