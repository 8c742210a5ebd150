import Foundation
import ImageCodecs
import ImageCore
import NIOConcurrencyHelpers

/// Contact sheets: many images side by side on one picture, each letterboxed into a square tile and
/// captioned, so a person can pick the good ones at a glance.
///
/// Drawing is parallel and memory-bounded: tiles are decoded, fitted and drawn one per core straight into
/// the sheet, so at most one decoded image per core is alive at any moment however many tiles there are;
/// JPEG inputs are shrunk while decoding (1/2, 1/4, 1/8 in the DCT domain).
/// ``write(_:options:to:)`` never holds the whole sheet: it draws one grid row at a time into a reused band
/// (`width × (cellHeight + gap) × 3` bytes, 2.3 MB for 10×10 captioned tiles of 256 px, 2664×2944) and
/// streams each band through ``ParallelPNGStreamWriter`` or ``JPEGStreamWriter`` into the file, so its memory
/// grows with the sheet's width, never its height or tile count. ``render(_:options:)`` (in memory) holds
/// the whole sheet, `width × height × 3` bytes (4 with a transparent background; 23.5 MB in that example),
/// plus the encoded bytes.
///
/// PNG output uses zlib level 1 with the Up filter by default. A sheet is flat background plus photographs:
/// Up turns every background row and much of each photo's smooth areas into runs of zeros, which deflate's
/// fast path (levels 1–3, no lazy matching) codes as long matches, so it is the fastest filter here and
/// within 1 % of the smallest at this level. Measured on the 3×3 benchmark sheet (1584×1668 RGB, 2 cores):
/// level 1 + Up encodes in 90 ms to 2,880 KiB; level 6 + adaptive (Pillow's and libvips' default) takes
/// 601 ms for 2,660 KiB (8 % smaller); Paeth or adaptive at level 1 save under 1 % and cost 1.3–1.7×.
public enum ContactSheet {
    /// Lines the prompt (``SheetItem/subcaption``) may wrap onto under a `.task` caption.
    static let promptLines = 2

    /// Indexes of items whose ``SheetItem/group`` differs from the previous item's, when the items carry
    /// at least two groups (else none: a sheet of one task is an ordinary grid).
    static func groupStarts(_ items: [SheetItem]) -> [Int] {
        var starts: [Int] = []
        var groups = Set<String>()
        for (index, item) in items.enumerated() {
            if let group = item.group { groups.insert(group) }
            if index > 0 && item.group != items[index - 1].group { starts.append(index) }
        }
        return groups.count >= 2 ? starts : []
    }

    /// The geometry ``render(_:options:)`` would use for `items`.
    /// - Throws: ``SheetError`` for out-of-range options, no items, or a sheet over the pixel limit.
    public static func layout(for items: [SheetItem], options: SheetOptions) throws -> SheetLayout {
        try SheetLayout(count: items.count, options: options, captionLines: captionLines(items, options),
                        groupStarts: groupStarts(items))
    }

    /// Draws the sheet without encoding it: RGB, or RGBA when the background is not opaque.
    /// - Returns: the pixels, the layout, and the inputs drawn as placeholders (in input order).
    /// - Throws: ``SheetError`` for bad options or no items; never for a damaged input.
    public static func compose(_ items: [SheetItem], options: SheetOptions) throws
        -> (image: Image, layout: SheetLayout, failures: [SheetFailure])
    {
        let layout = try layout(for: items, options: options)
        let format: PixelFormat = options.theme.background.alpha == 255 ? .rgb : .rgba
        var pixels = [UInt8](repeating: 0, count: layout.width * layout.height * format.channels)
        let failures = pixels.withUnsafeMutableBufferPointer { buffer in
            let view = CanvasView(base: buffer.baseAddress!, width: layout.width, height: layout.height,
                                  channels: format.channels, originY: 0)
            return draw(items, layout: layout, options: options, into: view)
        }
        let image = try Image(width: layout.width, height: layout.height, format: format, pixels: pixels)
        return (image, layout, failures)
    }

    /// Draws the sheet one grid row at a time into a reused band buffer and hands each band, top to bottom,
    /// to `body`: the path for a streaming encoder, which then needs only one band of pixels
    /// (`width × (cellHeight + gap) × channels` bytes) instead of the whole sheet.
    /// - Parameters:
    ///   - body: called once per band with its first sheet row and its pixels (valid only during the call).
    /// - Returns: the layout and the damaged inputs.
    /// - Throws: ``SheetError`` for bad options or no items, and whatever `body` throws.
    public static func composeBands(
        _ items: [SheetItem], options: SheetOptions,
        _ body: (_ firstRow: Int, _ rows: Int, _ pixels: UnsafeBufferPointer<UInt8>) throws -> Void
    ) throws -> (layout: SheetLayout, failures: [SheetFailure]) {
        let layout = try layout(for: items, options: options)
        let channels = options.theme.background.alpha == 255 ? 3 : 4
        var failures: [SheetFailure] = []
        // Band b spans from the end of row b − 1's cells (the top margin and title for the first) to the
        // end of row b's (the bottom margin for the last). One buffer of the tallest band serves them all:
        // growing it later would hold two at once.
        let bounds = (0..<layout.rows).map { band in
            (top: band == 0 ? 0 : layout.rowTops[band - 1] + layout.cellHeight,
             bottom: band == layout.rows - 1 ? layout.height : layout.rowTops[band] + layout.cellHeight)
        }
        let tallest = bounds.map { $0.bottom - $0.top }.max() ?? 0
        var buffer = [UInt8](repeating: 0, count: tallest * layout.width * channels)
        for (top, bottom) in bounds {
            let count = (bottom - top) * layout.width * channels
            try buffer.withUnsafeMutableBufferPointer { pointer in
                let view = CanvasView(base: pointer.baseAddress!, width: layout.width, height: bottom - top,
                                      channels: channels, originY: top)
                failures += draw(items, layout: layout, options: options, into: view)
                try body(top, bottom - top, UnsafeBufferPointer(start: pointer.baseAddress!, count: count))
            }
        }
        return (layout, failures)
    }

    /// Draws and encodes a sheet in ``SheetOptions/format``.
    /// - Returns: the encoded sheet, its size and the damaged inputs (drawn as labelled placeholders).
    /// - Throws: ``SheetError`` for bad options, no items, a transparent background with JPEG output, or an
    ///   encoder failure. A damaged input is reported in ``SheetResult/failures``, never thrown.
    public static func render(_ items: [SheetItem], options: SheetOptions) throws -> SheetResult {
        try checkOutputOptions(options)
        let (image, layout, failures) = try compose(items, options: options)
        let encoded: EncodedImage
        do {
            switch options.format {
            case .png:
                encoded = try ImageCodec.encodePNG(image, options: options.pngEncodeOptions)
            case .jpeg:
                var jpeg = JPEGEncodeOptions()
                jpeg.quality = options.jpegQuality
                encoded = try ImageCodec.encodeJPEG(image, options: jpeg)
            }
        } catch {
            throw SheetError(.output, "cannot encode the sheet as \(options.format.rawValue): \(error)")
        }
        return SheetResult(encoded: encoded, width: layout.width, height: layout.height, layout: layout,
                           failureList: failures)
    }

    /// Draws the sheet and streams it to `path` in ``SheetOptions/format``, one grid row band at a time, so
    /// the whole sheet is never in memory (see the type's discussion). The file is written atomically: a
    /// temporary file beside it, flushed to disk and renamed, so `path` holds either its previous content or
    /// the whole new sheet, never part of one; on any error the temporary file is removed.
    ///
    /// PNG output is encoded on ``SheetOptions/pngThreads`` cores (``ParallelPNGStreamWriter``: parallel
    /// deflate segments) and carries the sheet marker (``isSheet(_:)``); its pixels are exactly
    /// ``render(_:options:)``'s, its bytes are not (other deflate flush points). JPEG output carries the
    /// marker as a COM segment and uses standard Huffman tables
    /// (optimised ones would make libjpeg keep every coefficient of the sheet), so the file is a few percent
    /// larger than ``render(_:options:)``'s while its pixels are the same.
    /// - Returns: the file's length, the sheet's size and layout, and the damaged inputs.
    /// - Throws: everything ``render(_:options:)`` throws, and ``SheetError`` `.output` naming the path
    ///   when it cannot be written.
    @discardableResult
    public static func write(_ items: [SheetItem], options: SheetOptions, to path: String) throws -> SheetFileResult {
        try checkOutputOptions(options)
        let layout = try layout(for: items, options: options)
        let format: PixelFormat = options.theme.background.alpha == 255 ? .rgb : .rgba
        let sink: SheetSink
        do {
            switch options.format {
            case .png:
                let threads = options.pngThreads ?? ProcessInfo.processInfo.activeProcessorCount
                sink = .png(try ParallelPNGStreamWriter(
                    path: path, width: layout.width, height: layout.height, format: format,
                    options: options.pngEncodeOptions, threads: min(64, max(1, threads)), text: sheetMarker))
            case .jpeg:
                var jpeg = JPEGStreamWriter.boundedOptions
                jpeg.quality = options.jpegQuality
                jpeg.comment = jpegSheetComment
                sink = .jpeg(try JPEGStreamWriter(path: path, width: layout.width, height: layout.height,
                                                  format: format, options: jpeg))
            }
        } catch let error as CodecError {
            throw SheetError(.output, error.message)
        }
        // Any throw from here on drops the writer unfinished, which removes its temporary file.
        let (_, failures) = try composeBands(items, options: options) { _, _, pixels in
            do {
                try sink.write(UnsafeRawBufferPointer(pixels))
            } catch let error as CodecError {
                throw SheetError(.output, error.message)
            }
        }
        let byteCount: Int
        do {
            byteCount = try sink.finish()
        } catch let error as CodecError {
            throw SheetError(.output, error.message)
        }
        return SheetFileResult(path: path, format: options.format, byteCount: byteCount, width: layout.width,
                               height: layout.height, layout: layout, failureList: failures)
    }

    /// The tEXt chunks of a PNG sheet file: `Software` and the marker ``isSheet(_:)`` recognises, so a
    /// sheet made into a folder is never taken as an input of the next sheet of that folder (JPEG
    /// sheets carry ``jpegSheetComment``).
    static let sheetMarker: [(keyword: String, text: String)] = [("Software", "KlingKit"), (markerKeyword, markerText)]
    static let markerKeyword = "KlingKit"
    static let markerText = "contact-sheet/1"
    /// The same marker in a JPEG sheet's COM segment.
    static let jpegSheetComment = markerKeyword + " " + markerText

    /// Whether the file starting with `head` (its first few KiB) is a sheet KlingKit wrote: a PNG with
    /// the marker tEXt chunk, or a JPEG whose first COM segment is the marker (any version).
    public static func isSheet(_ head: [UInt8]) -> Bool {
        if ImageCodec.pngHasText(head, keyword: markerKeyword, textPrefix: "contact-sheet/") { return true }
        guard head.starts(with: [0xFF, 0xD8, 0xFF]), let header = try? ImageCodec.probe(head, options: DecodeOptions(maxPixels: .max)) else { return false }
        return header.comment?.hasPrefix(markerKeyword + " contact-sheet/") == true
    }

    /// The output options ``render(_:options:)`` and ``write(_:options:to:)`` refuse.
    static func checkOutputOptions(_ options: SheetOptions) throws {
        if let threads = options.pngThreads, !(1...64).contains(threads) {
            throw SheetError(.invalidOption, "PNG threads \(threads) is out of range 1...64")
        }
        if options.format == .jpeg && options.theme.background.alpha != 255 {
            throw SheetError(.invalidOption, "a transparent background needs PNG output, not JPEG")
        }
        guard (1...100).contains(options.jpegQuality) else {
            throw SheetError(.invalidOption, "JPEG quality \(options.jpegQuality) is out of range 1...100")
        }
        guard (0...9).contains(options.pngCompressionLevel) else {
            throw SheetError(.invalidOption, "PNG compression level \(options.pngCompressionLevel) is out of range 0...9")
        }
    }

    // MARK: Drawing

    /// Draws title, tiles and captions into `view` (clipped to it) and returns the damaged inputs.
    static func draw(_ items: [SheetItem], layout: SheetLayout, options: SheetOptions, into view: CanvasView)
        -> [SheetFailure]
    {
        let theme = options.theme
        view.fill(Rect(x: 0, y: view.originY, width: view.width, height: view.height), with: theme.background)
        if layout.titleHeight > 0, let title = options.title {
            let lines = wrap(title, width: layout.titleRect.width, scale: layout.titleScale, maxLines: layout.titleLines)
            for (number, line) in lines.enumerated() {
                view.drawCentered(line, in: layout.titleRect, y: layout.titleRect.y + number * BitmapFont.lineHeight * layout.titleScale,
                                  scale: layout.titleScale, color: theme.text)
            }
        }
        // Only the tiles whose cells meet the window; every worker claims the next one until none is left,
        // so a slow decode never leaves a core idle and at most one decoded image per worker is alive.
        let visible = (0..<layout.count).filter { index in
            let top = layout.tileRect(index).y
            return top < view.originY + view.height && top + layout.cellHeight > view.originY
        }
        let state = DrawState()
        let prompts = promptLineCount(items, options)
        let workers = max(1, min(visible.count, ProcessInfo.processInfo.activeProcessorCount))
        DispatchQueue.concurrentPerform(iterations: workers) { _ in
            while let slot = state.claim(limit: visible.count) {
                let index = visible[slot]
                if let failure = drawTile(items[index], index: index, layout: layout, options: options,
                                          promptLineCount: prompts, into: view) {
                    state.record(failure)
                }
            }
        }
        return state.failures.sorted { $0.index < $1.index }
    }

    /// Draws one tile and its caption; returns the failure when the input was drawn as a placeholder.
    static func drawTile(_ item: SheetItem, index: Int, layout: SheetLayout, options: SheetOptions,
                         promptLineCount: Int, into view: CanvasView) -> SheetFailure?
    {
        let theme = options.theme
        let square = layout.tileRect(index)
        var failure: SheetFailure?
        var sourceSize: (width: Int, height: Int)?
        do {
            let picture = try TileCodec.fittedWithSize(item.source, tile: layout.tile, upscale: options.upscale)
            sourceSize = (picture.width, picture.height)
            view.composite(picture.image, x: square.x + (layout.tile - picture.image.width) / 2,
                           y: square.y + (layout.tile - picture.image.height) / 2)
        } catch {
            failure = SheetFailure(name: item.source.name, message: error.message, index: index)
            drawPlaceholder(message: error.message, in: square, scale: layout.fontScale, theme: theme, into: view)
        }
        guard layout.captionLines > 0 else { return failure }
        let band = layout.captionRect(index)
        let lineStep = BitmapFont.lineHeight * layout.fontScale
        let top = band.y + layout.captionPadding
        if let template = options.captionTemplate {
            let lines = template.split(separator: "\n", omittingEmptySubsequences: false).prefix(layout.captionLines)
            for (number, line) in lines.enumerated() {
                let text = expand(String(line), item: item, position: index + 1, size: sourceSize)
                view.drawCentered(text, in: band, y: top + number * lineStep, scale: layout.fontScale,
                                  color: number == 0 ? theme.text : theme.secondaryText)
            }
            return failure
        }
        switch options.captions {
        case .none:
            break
        case .name:
            view.drawCentered(item.displayName ?? item.source.name, in: band, y: top, scale: layout.fontScale,
                              color: theme.text, keepEnd: true)
        case .task:
            // The task id and index wrap onto as many lines as the layout gave them: never cut in the middle.
            let prompts = promptLineCount
            let idLines = layout.captionLines - prompts
            let first = wrap(item.caption, width: band.width, scale: layout.fontScale, maxLines: max(1, idLines))
            for (number, line) in first.enumerated() {
                view.drawCentered(line, in: band, y: top + number * lineStep, scale: layout.fontScale, color: theme.text)
            }
            if prompts > 0, let prompt = item.subcaption, !prompt.isEmpty {
                let lines = wrap(prompt, width: band.width, scale: layout.fontScale, maxLines: prompts)
                for (number, line) in lines.enumerated() {
                    view.drawCentered(line, in: band, y: top + (idLines + number) * lineStep,
                                      scale: layout.fontScale, color: theme.secondaryText)
                }
            }
        }
        return failure
    }

    /// A damaged input's tile: the placeholder colour, a crossed frame, "UNREADABLE" and up to three lines
    /// of the reason.
    static func drawPlaceholder(message: String, in square: Rect, scale: Int, theme: SheetTheme, into view: CanvasView) {
        view.fill(square, with: theme.placeholder)
        let inset = max(2, square.width / 16)
        let inner = Rect(x: square.x + inset, y: square.y + inset,
                         width: square.width - 2 * inset, height: square.height - 2 * inset)
        // A thin frame in the label colour.
        let line = max(1, scale)
        view.fill(Rect(x: inner.x, y: inner.y, width: inner.width, height: line), with: theme.placeholderText)
        view.fill(Rect(x: inner.x, y: inner.y + inner.height - line, width: inner.width, height: line), with: theme.placeholderText)
        view.fill(Rect(x: inner.x, y: inner.y, width: line, height: inner.height), with: theme.placeholderText)
        view.fill(Rect(x: inner.x + inner.width - line, y: inner.y, width: line, height: inner.height), with: theme.placeholderText)

        let textRect = Rect(x: inner.x + 2 * line, y: inner.y, width: max(1, inner.width - 4 * line), height: inner.height)
        let detailScale = max(1, scale - 1)
        let lines = wrap(message, width: textRect.width, scale: detailScale, maxLines: 3)
        let headline = BitmapFont.lineHeight * scale
        let total = headline + lines.count * BitmapFont.lineHeight * detailScale
        var y = inner.y + max(0, (inner.height - total) / 2)
        view.drawCentered("UNREADABLE", in: textRect, y: y, scale: scale, color: theme.placeholderText)
        y += headline
        for text in lines {
            view.drawCentered(text, in: textRect, y: y, scale: detailScale, color: theme.placeholderText)
            y += BitmapFont.lineHeight * detailScale
        }
    }
}

/// The streaming encoder a sheet file is written through.
private enum SheetSink {
    case png(ParallelPNGStreamWriter)
    case jpeg(JPEGStreamWriter)

    func write(_ rows: UnsafeRawBufferPointer) throws {
        switch self {
        case .png(let writer): try writer.write(rows: rows)
        case .jpeg(let writer): try writer.write(rows: rows)
        }
    }

    func finish() throws -> Int {
        switch self {
        case .png(let writer): try writer.finish()
        case .jpeg(let writer): try writer.finish()
        }
    }
}

/// Hands out tile slots to workers and gathers their failures.
private struct DrawState: Sendable {
    private struct State {
        var next = 0
        var failures: [SheetFailure] = []
    }
    private let state = NIOLockedValueBox(State())

    var failures: [SheetFailure] { state.withLockedValue { $0.failures } }

    func claim(limit: Int) -> Int? {
        state.withLockedValue { state in
            guard state.next < limit else { return nil }
            state.next += 1
            return state.next - 1
        }
    }

    func record(_ failure: SheetFailure) {
        state.withLockedValue { $0.failures.append(failure) }
    }
}

extension SheetOptions {
    /// The PNG encoder settings these options ask for (level and filter), for both output routes.
    var pngEncodeOptions: PNGEncodeOptions {
        PNGEncodeOptions(compressionLevel: pngCompressionLevel, filter: pngFilter)
    }
}
