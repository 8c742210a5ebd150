import Dispatch
import Foundation

// The separable resampler in one file on purpose (past 400 lines): the filter kernels, the weight
// tables built from them and the two passes that consume those tables are one algorithm, and the
// passes' float rounding and clamping must be read beside the weights they assume.

/// A reconstruction filter for ``Image/resized(to:filter:threads:)``.
///
/// Each filter is a separable kernel applied first down the columns, then along the rows.
/// When shrinking, the kernel is widened by the scale factor so it also acts as the
/// anti-aliasing low-pass filter (Schumacher, "General Filtered Image Rescaling",
/// Graphics Gems III, 1992).
public enum ResampleFilter: String, Sendable, CaseIterable, CustomStringConvertible {
    /// Lanczos windowed sinc, a = 3 (support ±3 px). Sharpest; the default.
    case lanczos3
    /// Mitchell–Netravali cubic, B = C = 1/3 (support ±2 px). Softer, no visible ringing.
    case mitchell
    /// Triangle (tent) filter (support ±1 px); bilinear when enlarging.
    case bilinear
    /// Box filter (support ±½ px); nearest neighbour when enlarging, area average when shrinking.
    case box

    /// Half-width of the kernel in source pixels at scale 1.
    public var support: Double {
        switch self {
        case .lanczos3: 3
        case .mitchell: 2
        case .bilinear: 1
        case .box: 0.5
        }
    }

    /// The short name used in action strings (`lanczos3`, `mitchell`, `bilinear`, `box`).
    public var description: String { rawValue }

    /// The kernel value at distance `x` (in filter units) from the centre.
    func weight(_ x: Double) -> Double {
        switch self {
        case .box:
            return (x > -0.5 && x <= 0.5) ? 1 : 0
        case .bilinear:
            let ax = abs(x)
            return ax < 1 ? 1 - ax : 0
        case .mitchell:
            // Mitchell & Netravali, "Reconstruction Filters in Computer Graphics", SIGGRAPH 1988, B = C = 1/3.
            let b = 1.0 / 3.0, c = 1.0 / 3.0
            let ax = abs(x)
            if ax < 1 {
                return ((12 - 9 * b - 6 * c) * ax * ax * ax + (-18 + 12 * b + 6 * c) * ax * ax + (6 - 2 * b)) / 6
            } else if ax < 2 {
                return ((-b - 6 * c) * ax * ax * ax + (6 * b + 30 * c) * ax * ax + (-12 * b - 48 * c) * ax + (8 * b + 24 * c)) / 6
            }
            return 0
        case .lanczos3:
            let ax = abs(x)
            guard ax < 3 else { return 0 }
            return sinc(ax) * sinc(ax / 3)
        }
    }

    private func sinc(_ x: Double) -> Double {
        if x == 0 { return 1 }
        let px = Double.pi * x
        return sin(px) / px
    }
}

/// Precomputed per-output-pixel filter weights for one axis.
///
/// Output sample `i` is `Σ weights[i * stride + k] * input[starts[i] + k]` for `k < counts[i]`.
/// Taps that fall outside the source are dropped and the remaining weights renormalised to sum 1,
/// so borders keep their brightness without inventing pixels beyond the edge.
struct ResampleWeights: Sendable {
    let outSize: Int
    let stride: Int
    var starts: [Int]
    var counts: [Int]
    var weights: [Float]

    /// - Parameter scale: source pixels per output pixel; default `inSize / outSize`. A chroma plane
    ///   passes the image's ratio, which differs slightly from its own when a side is odd.
    init(inSize: Int, outSize: Int, filter: ResampleFilter, scale: Double? = nil) {
        precondition(inSize > 0 && outSize > 0)
        let scale = scale ?? Double(inSize) / Double(outSize)
        let filterScale = max(scale, 1)
        let support = filter.support * filterScale
        let stride = Int((support * 2).rounded(.up)) + 2
        self.outSize = outSize
        self.stride = stride
        var starts = [Int](repeating: 0, count: outSize)
        var counts = [Int](repeating: 0, count: outSize)
        var weights = [Float](repeating: 0, count: outSize * stride)
        var scratch = [Double](repeating: 0, count: stride)
        for i in 0..<outSize {
            let center = (Double(i) + 0.5) * scale
            var lo = Int((center - support + 0.5).rounded(.down))
            var hi = Int((center + support + 0.5).rounded(.down))
            lo = max(lo, 0)
            hi = min(hi, inSize)
            if hi - lo > stride { hi = lo + stride }
            var sum = 0.0
            var n = 0
            if hi > lo {
                for x in lo..<hi {
                    let w = filter.weight((Double(x) - center + 0.5) / filterScale)
                    scratch[x - lo] = w
                    sum += w
                }
                n = hi - lo
            }
            if n == 0 || sum == 0 {
                // Degenerate window (possible only for the box filter at extreme ratios): nearest sample.
                lo = min(max(Int(center), 0), inSize - 1)
                scratch[0] = 1
                sum = 1
                n = 1
            }
            // Trim zero weights at both ends so the inner loops skip them.
            var first = 0
            while first < n - 1 && scratch[first] == 0 { first += 1 }
            var last = n - 1
            while last > first && scratch[last] == 0 { last -= 1 }
            starts[i] = lo + first
            counts[i] = last - first + 1
            for k in first...last {
                weights[i * stride + k - first] = Float(scratch[k] / sum)
            }
        }
        self.starts = starts
        self.counts = counts
        self.weights = weights
    }

    /// The weights zero-padded to whole blocks of four taps, so the one-channel pass runs on 4-lane
    /// vectors. Floats per output pixel: ``grayStride``.
    var grayWeights: [Float] = []
    var grayStride = 0

    mutating func buildGrayWeights() {
        grayStride = (stride + 3) / 4 * 4
        var padded = [Float](repeating: 0, count: outSize * grayStride)
        for i in 0..<outSize {
            for k in 0..<counts[i] { padded[i * grayStride + k] = weights[i * stride + k] }
        }
        grayWeights = padded
    }

    /// Weights repeated once per RGB channel (`w0 w0 w0 w1 w1 w1 …`), zero-padded to whole blocks of
    /// four taps (12 floats), so the horizontal RGB pass runs on full 4-lane vectors with no shuffles.
    var rgbWeights: [Float] = []
    /// Floats per output pixel in ``rgbWeights``.
    var rgbStride = 0

    mutating func buildRGBWeights() {
        let blocks = (stride + 3) / 4
        rgbStride = blocks * 12
        var expanded = [Float](repeating: 0, count: outSize * rgbStride)
        for i in 0..<outSize {
            for k in 0..<counts[i] {
                let w = weights[i * stride + k]
                let base = i * rgbStride + 3 * k
                expanded[base] = w
                expanded[base + 1] = w
                expanded[base + 2] = w
            }
        }
        rgbWeights = expanded
    }
}

/// A raw pointer that may cross into the worker closures of `concurrentPerform`;
/// each worker writes a disjoint band of rows.
private struct SendablePointer<T>: @unchecked Sendable {
    let base: UnsafeMutablePointer<T>
}

extension Image {
    /// Returns the image resampled to `size` with a separable filter.
    ///
    /// Colour channels are filtered premultiplied by alpha, so transparent pixels, whatever colour
    /// they hold, never bleed into visible edges; alpha and colour are clamped to 0…255 after the
    /// negative lobes of Lanczos. Work is spread over `threads` row bands (default: every active
    /// core) when the image is large enough to pay for it. Arithmetic is single-precision float.
    /// - Parameters:
    ///   - size: the output size in pixels; both sides ≥ 1.
    ///   - filter: the reconstruction filter, ``ResampleFilter/lanczos3`` by default.
    ///   - threads: the most threads to use; `nil` means `ProcessInfo.activeProcessorCount`.
    /// - Returns: a new image in the same pixel format (`self` when `size` equals the current size).
    /// - Important: `size` must be positive; a zero or negative side is a programming error and traps.
    public func resized(to size: Size, filter: ResampleFilter = .lanczos3, threads: Int? = nil) -> Image {
        precondition(size.width > 0 && size.height > 0, "resize target \(size) is not positive")
        if size.width == width && size.height == height { return self }
        let ch = format.channels
        var horizontalWeights = ResampleWeights(inSize: width, outSize: size.width, filter: filter)
        if ch == 3 { horizontalWeights.buildRGBWeights() }
        if ch == 1 { horizontalWeights.buildGrayWeights() }
        let hWeights = horizontalWeights
        let vWeights = ResampleWeights(inSize: height, outSize: size.height, filter: filter)
        let outW = size.width, outH = size.height
        let outCount = outW * outH * ch
        let hasAlpha = format.hasAlpha

        // Work in multiply-adds, to decide whether threads pay for themselves.
        let vTaps = vWeights.counts.reduce(0, +)
        let hTaps = hWeights.counts.reduce(0, +)
        let work = vTaps * width * ch + hTaps * outH * ch
        let cores = max(1, threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let bands = work < 2_000_000 ? 1 : min(outH, cores * 4)
        let inW = width

        var out = [UInt8](repeating: 0, count: outCount)
        pixels.withUnsafeBufferPointer { srcBuf in
            out.withUnsafeMutableBufferPointer { dstBuf in
                let src = SendablePointer(base: UnsafeMutablePointer(mutating: srcBuf.baseAddress!))
                let dst = SendablePointer(base: dstBuf.baseAddress!)
                let body: @Sendable (Int) -> Void = { band in
                    let y0 = band * outH / bands
                    let y1 = (band + 1) * outH / bands
                    guard y1 > y0 else { return }
                    ResampleKernel.run(
                        src: src.base, inWidth: inW, channels: ch, hasAlpha: hasAlpha,
                        dst: dst.base, outWidth: outW, rows: y0..<y1,
                        h: hWeights, v: vWeights)
                }
                if bands == 1 {
                    body(0)
                } else {
                    let limit = min(cores, bands)
                    // concurrentPerform uses every core; cap by striding bands over `limit` workers.
                    DispatchQueue.concurrentPerform(iterations: limit) { worker in
                        var band = worker
                        while band < bands {
                            body(band)
                            band += limit
                        }
                    }
                }
            }
        }
        // The byte count was computed from validated sizes, so this cannot fail.
        return Image(validWidth: outW, height: outH, format: format, pixels: out)
    }
}

/// The two-pass inner loops. Each source row a band needs is converted to float once (premultiplying
/// alpha on the way) into a small ring of cached rows; for each output row a vertical pass sums the
/// contributing cached rows into a scratch row, then a horizontal pass filters that row into the
/// output. No full-size intermediate image is ever allocated: the ring holds at most one filter
/// window of rows.
enum ResampleKernel {
    static func run(
        src: UnsafeMutablePointer<UInt8>, inWidth: Int, channels ch: Int, hasAlpha: Bool,
        dst: UnsafeMutablePointer<UInt8>, outWidth: Int, rows: Range<Int>,
        h: ResampleWeights, v: ResampleWeights
    ) {
        let rowBytes = inWidth * ch
        // Spare zero floats after each row: the RGB pass reads whole blocks of four taps (up to three
        // pixels past the last real tap, always with zero weight).
        let rowFloats = rowBytes + 16
        let ringSize = max(1, v.counts[rows].max() ?? 1)
        let ring = UnsafeMutablePointer<Float>.allocate(capacity: rowFloats * ringSize)
        defer { ring.deallocate() }
        ring.initialize(repeating: 0, count: rowFloats * ringSize)
        var ringRow = [Int](repeating: -1, count: ringSize)
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: rowFloats)
        defer { scratch.deallocate() }
        scratch.initialize(repeating: 0, count: rowFloats)
        let sums = UnsafeMutablePointer<Float>.allocate(capacity: outWidth * ch)
        defer { sums.deallocate() }
        let alphaLUT = premultiplyTable()
        var pointers = [UnsafeMutablePointer<Float>](repeating: scratch, count: ringSize)
        v.weights.withUnsafeBufferPointer { vw in
            h.weights.withUnsafeBufferPointer { hw in
                alphaLUT.withUnsafeBufferPointer { lut in
                    for y in rows {
                        let start = v.starts[y]
                        let count = v.counts[y]
                        for k in 0..<count {
                            let row = start + k
                            let slot = row % ringSize
                            let cached = ring + slot * rowFloats
                            if ringRow[slot] != row {
                                let source = src + row * rowBytes
                                if hasAlpha {
                                    convertPremultiplied(source, cached, rowBytes, ch, lut.baseAddress!)
                                } else {
                                    convert(source, cached, rowBytes)
                                }
                                ringRow[slot] = row
                            }
                            pointers[k] = cached
                        }
                        pointers.withUnsafeBufferPointer { rowsBuf in
                            vertical(rows: rowsBuf.baseAddress!, count: count, n: rowBytes,
                                     weights: vw.baseAddress! + y * v.stride, into: scratch)
                        }
                        let out = dst + y * outWidth * ch
                        switch ch {
                        case 1: horizontal1(scratch, out, outWidth, h)
                        case 2: horizontal2(scratch, out, outWidth, h, hw.baseAddress!)
                        case 3: horizontal3(scratch, out, outWidth, h, sums)
                        default: horizontal4(scratch, out, outWidth, h, hw.baseAddress!, alpha: true)
                        }
                    }
                }
            }
        }
    }

    /// `i / 255` for every alpha byte, so premultiplying costs one multiply.
    static func premultiplyTable() -> [Float] {
        (0..<256).map { Float($0) / 255 }
    }

    @inline(__always)
    static func convert(_ s: UnsafeMutablePointer<UInt8>, _ d: UnsafeMutablePointer<Float>, _ n: Int) {
        for i in 0..<n { d[i] = Float(s[i]) }
    }

    /// Colour samples scaled by `alpha / 255` (premultiplied, still in 0…255 units); alpha as is.
    @inline(__always)
    static func convertPremultiplied(_ s: UnsafeMutablePointer<UInt8>, _ d: UnsafeMutablePointer<Float>, _ n: Int,
                                     _ ch: Int, _ lut: UnsafePointer<Float>) {
        var i = 0
        if ch == 4 {
            while i < n {
                let a = lut[Int(s[i + 3])]
                d[i] = Float(s[i]) * a
                d[i + 1] = Float(s[i + 1]) * a
                d[i + 2] = Float(s[i + 2]) * a
                d[i + 3] = Float(s[i + 3])
                i += 4
            }
        } else {
            while i < n {
                d[i] = Float(s[i]) * lut[Int(s[i + 1])]
                d[i + 1] = Float(s[i + 1])
                i += 2
            }
        }
    }

    /// `acc[i] = Σ w[k] * rows[k][i]`, four rows per sweep so each pass over `acc` does four taps.
    @inline(__always)
    static func vertical(
        rows r: UnsafePointer<UnsafeMutablePointer<Float>>, count: Int, n: Int,
        weights w: UnsafePointer<Float>, into acc: UnsafeMutablePointer<Float>
    ) {
        var k = 0
        var first = true
        while k < count {
            let left = count - k
            let r0 = r[k]
            if left >= 4 {
                let r1 = r[k + 1], r2 = r[k + 2], r3 = r[k + 3]
                let w0 = w[k], w1 = w[k + 1], w2 = w[k + 2], w3 = w[k + 3]
                if first {
                    for i in 0..<n { acc[i] = w0 * r0[i] + w1 * r1[i] + w2 * r2[i] + w3 * r3[i] }
                } else {
                    for i in 0..<n { acc[i] += w0 * r0[i] + w1 * r1[i] + w2 * r2[i] + w3 * r3[i] }
                }
                k += 4
            } else if left >= 2 {
                let r1 = r[k + 1]
                let w0 = w[k], w1 = w[k + 1]
                if first {
                    for i in 0..<n { acc[i] = w0 * r0[i] + w1 * r1[i] }
                } else {
                    for i in 0..<n { acc[i] += w0 * r0[i] + w1 * r1[i] }
                }
                k += 2
            } else {
                let w0 = w[k]
                if first {
                    for i in 0..<n { acc[i] = w0 * r0[i] }
                } else {
                    for i in 0..<n { acc[i] += w0 * r0[i] }
                }
                k += 1
            }
            first = false
        }
    }

    @inline(__always)
    static func clampByte(_ v: Float) -> UInt8 {
        // Clamp (Lanczos over- and undershoots), then round to nearest by adding 1.5 * 2^23: the sum's
        // low mantissa bits are then the integer itself. No traps, no branches (a checked
        // `Int32(Float)` costs more than the whole filter for a pixel).
        let clamped = Swift.min(Swift.max(v, 0), 255)
        return UInt8(truncatingIfNeeded: (clamped + 12_582_912).bitPattern)
    }

    /// One channel: the taps are contiguous, so each block of four is one vector multiply-add against
    /// ``ResampleWeights/grayWeights`` (zero past the last tap; the row has spare floats to read into).
    /// Four outputs are summed at a time, so their reductions share one transpose. A plain per-tap loop
    /// would be one long dependent chain of additions.
    static func horizontal1(_ s: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<UInt8>, _ outW: Int,
                            _ h: ResampleWeights) {
        h.grayWeights.withUnsafeBufferPointer { wb in
            h.starts.withUnsafeBufferPointer { starts in
                h.counts.withUnsafeBufferPointer { counts in
                    let weights = UnsafeRawPointer(wb.baseAddress!)
                    let stride = h.grayStride &* MemoryLayout<Float>.stride
                    @inline(__always) func dot(_ x: Int) -> SIMD4<Float> {
                        let p = UnsafeRawPointer(s + starts[x])
                        let w = weights + x &* stride
                        var acc = SIMD4<Float>()
                        var offset = 0
                        let end = counts[x] &* MemoryLayout<Float>.stride
                        while offset < end {
                            acc += w.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self)
                                * p.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self)
                            offset &+= 16
                        }
                        return acc
                    }
                    var x = 0
                    while x &+ 4 <= outW {
                        let a = dot(x), b = dot(x &+ 1), c = dot(x &+ 2), d = dot(x &+ 3)
                        // Transpose-add: lane j of the result is the sum of the lanes of the j-th vector.
                        let ab = SIMD4(lowHalf: a.lowHalf, highHalf: b.lowHalf) + SIMD4(lowHalf: a.highHalf, highHalf: b.highHalf)
                        let cd = SIMD4(lowHalf: c.lowHalf, highHalf: d.lowHalf) + SIMD4(lowHalf: c.highHalf, highHalf: d.highHalf)
                        let sums = SIMD4(ab[0], ab[2], cd[0], cd[2]) + SIMD4(ab[1], ab[3], cd[1], cd[3])
                        // clampByte's rounding, four lanes at once: after adding 1.5 × 2^23 the low
                        // mantissa bits hold the rounded integer.
                        var clamped = sums
                        clamped.replace(with: 0, where: clamped .< 0)
                        clamped.replace(with: 255, where: clamped .> 255)
                        let rounded = unsafeBitCast(clamped + SIMD4(repeating: 12_582_912), to: SIMD4<UInt32>.self)
                        out[x] = UInt8(truncatingIfNeeded: rounded[0])
                        out[x &+ 1] = UInt8(truncatingIfNeeded: rounded[1])
                        out[x &+ 2] = UInt8(truncatingIfNeeded: rounded[2])
                        out[x &+ 3] = UInt8(truncatingIfNeeded: rounded[3])
                        x &+= 4
                    }
                    while x < outW {
                        out[x] = clampByte(dot(x).sum())
                        x &+= 1
                    }
                }
            }
        }
    }

    static func horizontal2(_ s: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<UInt8>, _ outW: Int,
                            _ h: ResampleWeights, _ hw: UnsafePointer<Float>) {
        h.starts.withUnsafeBufferPointer { starts in
            h.counts.withUnsafeBufferPointer { counts in
                for x in 0..<outW {
                    let p = s + starts[x] * 2
                    let w = hw + x * h.stride
                    var g: Float = 0, a: Float = 0
                    for k in 0..<counts[x] {
                        g += w[k] * p[2 * k]
                        a += w[k] * p[2 * k + 1]
                    }
                    let alpha = clampByte(a)
                    out[2 * x + 1] = alpha
                    out[2 * x] = alpha == 0 ? 0 : clampByte(g * 255 / max(a, 1e-3))
                }
            }
        }
    }

    /// RGB: blocks of four taps are three 4-lane vectors `(r g b r)(g b r g)(b r g b)` multiplied by the
    /// matching expanded weights; each lane keeps one channel, summed at the end.
    static func horizontal3(_ s: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<UInt8>, _ outW: Int,
                            _ h: ResampleWeights, _ sums: UnsafeMutablePointer<Float>) {
        let floatSize = MemoryLayout<Float>.stride
        h.rgbWeights.withUnsafeBufferPointer { wb in
            h.starts.withUnsafeBufferPointer { starts in
                h.counts.withUnsafeBufferPointer { counts in
                    let weights = UnsafeRawPointer(wb.baseAddress!)
                    for x in 0..<outW {
                        // Indices come from validated tables: wrapping arithmetic skips overflow checks.
                        let p = UnsafeRawPointer(s + starts[x] &* 3)
                        let w = weights + x &* h.rgbStride &* floatSize
                        var a = SIMD4<Float>(), b = SIMD4<Float>(), c = SIMD4<Float>()
                        let blocks = (counts[x] &+ 3) >> 2
                        var o = 0
                        for _ in 0..<blocks {
                            a += p.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
                                * w.loadUnaligned(fromByteOffset: o, as: SIMD4<Float>.self)
                            b += p.loadUnaligned(fromByteOffset: o + 16, as: SIMD4<Float>.self)
                                * w.loadUnaligned(fromByteOffset: o + 16, as: SIMD4<Float>.self)
                            c += p.loadUnaligned(fromByteOffset: o + 32, as: SIMD4<Float>.self)
                                * w.loadUnaligned(fromByteOffset: o + 32, as: SIMD4<Float>.self)
                            o &+= 48
                        }
                        let q = sums + 3 &* x
                        q[0] = a[0] + a[3] + b[2] + c[1]
                        q[1] = a[1] + b[0] + b[3] + c[2]
                        q[2] = a[2] + b[1] + c[0] + c[3]
                    }
                }
            }
        }
        // Rounding and clamping as a separate sweep over the row vectorises; per pixel it would not.
        for i in 0..<(3 &* outW) { out[i] = clampByte(sums[i]) }
    }

    static func horizontal4(_ s: UnsafeMutablePointer<Float>, _ out: UnsafeMutablePointer<UInt8>, _ outW: Int,
                            _ h: ResampleWeights, _ hw: UnsafePointer<Float>, alpha: Bool) {
        let raw = UnsafeRawPointer(s)
        h.starts.withUnsafeBufferPointer { starts in
            h.counts.withUnsafeBufferPointer { counts in
                for x in 0..<outW {
                    var offset = starts[x] * 4 * MemoryLayout<Float>.stride
                    let w = hw + x * h.stride
                    var acc0 = SIMD4<Float>(), acc1 = SIMD4<Float>()
                    let count = counts[x]
                    let step = 4 * MemoryLayout<Float>.stride
                    var k = 0
                    while k + 1 < count {
                        acc0 += w[k] * raw.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self)
                        acc1 += w[k + 1] * raw.loadUnaligned(fromByteOffset: offset + step, as: SIMD4<Float>.self)
                        offset += 2 * step
                        k += 2
                    }
                    if k < count { acc0 += w[k] * raw.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self) }
                    let acc = acc0 + acc1
                    let o = out + 4 * x
                    let a = clampByte(acc[3])
                    o[3] = a
                    if a == 0 {
                        o[0] = 0; o[1] = 0; o[2] = 0
                    } else {
                        let unpremultiply = 255 / max(acc[3], 1e-3)
                        o[0] = clampByte(acc[0] * unpremultiply)
                        o[1] = clampByte(acc[1] * unpremultiply)
                        o[2] = clampByte(acc[2] * unpremultiply)
                    }
                }
            }
        }
    }
}
