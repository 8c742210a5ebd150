import ImageCore

/// The geometry of a preparation, worked out from the header alone, in the coordinates of the
/// upright (orientation-applied) full-resolution image: which region to keep, what size to resample
/// it to, and the canvas it lands on.
struct PreparePlan: Equatable, Sendable {
    /// The upright source size.
    var upright: Size
    /// The part of the upright image kept (the whole image unless cropping).
    var region: Rect
    /// The size `region` is resampled to.
    var content: Size
    /// The output size (`content` plus any padding).
    var canvas: Size
    /// Where `content`'s top-left corner lands on `canvas`.
    var originX: Int
    var originY: Int

    var isCropped: Bool { region != Rect(x: 0, y: 0, width: upright.width, height: upright.height) }
    var isResized: Bool { content != Size(width: region.width, height: region.height) }
    var isPadded: Bool { canvas != content }
    var changesPixels: Bool { isCropped || isResized || isPadded }

    /// Whether `size` is inside the aspect band (`w ≤ maxAspect·h` and `h ≤ maxAspect·w`, inclusive).
    static func aspectFits(_ w: Int, _ h: Int, maxAspect: Double) -> Bool {
        Double(w) <= maxAspect * Double(h) && Double(h) <= maxAspect * Double(w)
    }

    /// Nudges a size by whole pixels so it meets the aspect band and the short-side minimum.
    static func legalize(_ w: Int, _ h: Int, minSide: Int, maxAspect: Double) -> Size {
        var w = max(1, w), h = max(1, h)
        if w < h {
            if w < minSide { w = minSide }
        } else if h < minSide {
            h = minSide
        }
        if w < minSide { w = minSide }
        if h < minSide { h = minSide }
        if Double(w) > maxAspect * Double(h) { w = Int((maxAspect * Double(h)).rounded(.down)) }
        if Double(h) > maxAspect * Double(w) { h = Int((maxAspect * Double(w)).rounded(.down)) }
        return Size(width: w, height: h)
    }

    init(upright: Size, options: PrepareOptions) {
        self.upright = upright
        let w = upright.width, h = upright.height
        let aspect = options.rules.maxAspect
        let minSide = options.effectiveMinSide
        var region = Rect(x: 0, y: 0, width: w, height: h)
        var canvasW = w, canvasH = h

        // 1. Aspect ratio: pad the short side out, or crop the long side in, to the nearest allowed ratio.
        if !Self.aspectFits(w, h, maxAspect: aspect) {
            let wide = Double(w) > aspect * Double(h)
            switch options.fit {
            case .pad:
                if wide {
                    canvasH = Int((Double(w) / aspect).rounded(.up))
                } else {
                    canvasW = Int((Double(h) / aspect).rounded(.up))
                }
            case .crop:
                let long = wide ? w : h
                let keep = max(1, Int((aspect * Double(wide ? h : w)).rounded(.down)))
                let slack = long - keep
                let start: Int
                switch options.cropAnchor {
                case .center: start = slack / 2
                case .offset(let px): start = min(max(px, 0), slack)
                case .fraction(let f): start = Int((Double(slack) * min(max(f, 0), 1)).rounded())
                }
                region = wide ? Rect(x: start, y: 0, width: keep, height: h) : Rect(x: 0, y: start, width: w, height: keep)
                canvasW = region.width
                canvasH = region.height
            }
        }

        // 2. Scale: up to the minimum short side; down to the optional maximum long side (the minimum
        //    wins when they conflict); down under the pixel limit.
        let short = Double(min(canvasW, canvasH)), long = Double(max(canvasW, canvasH))
        var scale = 1.0
        if short < Double(minSide) { scale = Double(minSide) / short }
        if let maxSide = options.maxSide, long * scale > Double(maxSide) {
            scale = max(Double(maxSide) / long, Double(minSide) / short)
        }
        let pixels = Double(canvasW) * Double(canvasH) * scale * scale
        if pixels > Double(options.rules.maxPixels) {
            scale = max(Double(minSide) / short, scale * (Double(options.rules.maxPixels) / pixels).squareRoot() * 0.999)
        }
        var final = Size(width: canvasW, height: canvasH)
        if scale != 1 {
            final = Self.legalize(Int((Double(canvasW) * scale).rounded()), Int((Double(canvasH) * scale).rounded()),
                                  minSide: minSide, maxAspect: aspect)
        }

        // 3. Content inside the canvas: everything when cropping, the scaled image when padding.
        var contentW = final.width, contentH = final.height
        if options.fit == .pad && (canvasW != region.width || canvasH != region.height) {
            contentW = min(final.width, max(1, Int((Double(region.width) * Double(final.width) / Double(canvasW)).rounded())))
            contentH = min(final.height, max(1, Int((Double(region.height) * Double(final.height) / Double(canvasH)).rounded())))
        }
        self.region = region
        self.content = Size(width: contentW, height: contentH)
        self.canvas = final
        self.originX = (final.width - contentW) / 2
        self.originY = (final.height - contentH) / 2
    }

    /// Refuses a plan whose output holds more pixels than the rules allow (a minimum side that beats the
    /// pixel limit once the aspect ratio is kept): the output would fail the rules it is prepared for.
    /// - Throws: ``PrepareError`` `too-many-pixels`, before anything is decoded.
    func checkOutputLimit(_ options: PrepareOptions) throws {
        let pixels = canvas.width.multipliedReportingOverflow(by: canvas.height)
        guard pixels.overflow || pixels.partialValue > options.rules.maxPixels else { return }
        throw PrepareError(.tooManyPixels, "the output would be \(canvas) = \(pixels.overflow ? "too many" : grouped(pixels.partialValue)) "
                           + "pixels (minimum side \(options.effectiveMinSide) px), more than the limit of \(grouped(options.rules.maxPixels))")
    }

    /// The smallest JPEG IDCT scale M/8 (M in 1...8) whose decode of `region` is still at least as
    /// large as `content` on both axes, so the Lanczos pass only finishes a reduction the decoder began
    /// (libjpeg-turbo scales by M/8 in the IDCT). 8 means full size: shrink-on-load would not help.
    /// Example: 4000×3000 fitted to 2048 px decodes at 5/8 (2500×1875).
    var shrinkOnLoadEighths: Int { shrinkOnLoadEighths(powersOfTwo: false) }

    /// ``shrinkOnLoadEighths`` restricted to 1/8, 1/4, 1/2 and 1 when `powersOfTwo` is set: libjpeg-turbo
    /// has SIMD IDCTs only for those, and its scalar 5/8 decode is slower than a full-size one, so a
    /// streamed resize (where the decoded image is never held) gains nothing from the other scales.
    func shrinkOnLoadEighths(powersOfTwo: Bool) -> Int {
        for m in 1..<8 where region.width * m >= content.width * 8 && region.height * m >= content.height * 8 {
            if powersOfTwo && m & (m - 1) != 0 { continue }
            return m
        }
        return 8
    }

    /// ``shrinkOnLoadEighths`` as a reduced fraction for the actions list (`1/2`, `5/8`, `3/4`).
    static func fraction(eighths: Int) -> String {
        var num = eighths, den = 8
        while num % 2 == 0 && den > 1 { num /= 2; den /= 2 }
        return "\(num)/\(den)"
    }

    /// A smaller output for the byte-budget search: the canvas scaled by `factor`, still legal.
    static func shrunk(_ size: Size, by factor: Double, minSide: Int, maxAspect: Double) -> Size {
        legalize(Int((Double(size.width) * factor).rounded()), Int((Double(size.height) * factor).rounded()),
                 minSide: minSide, maxAspect: maxAspect)
    }
}
