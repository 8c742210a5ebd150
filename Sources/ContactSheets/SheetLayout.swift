import Foundation
import ImageCore

/// The exact integer geometry of a contact sheet.
///
/// ```
/// ┌ margin ───────────────────────────────────────────┐
/// │ title band (titleHeight, only with a title)        │
/// │ ┌tile┐ gap ┌tile┐ gap ┌tile┐                        │
/// │ │    │     │    │     │    │   tile × tile squares  │
/// │ └────┘     └────┘     └────┘                        │
/// │ caption    caption    caption  (captionHeight)      │
/// │  gap                                               │
/// │ ┌tile┐ ...                                         │
/// └───────────────────────────────────────────────────┘
/// ```
/// `width  = 2·margin + columns·tile + (columns−1)·gap`
/// `height = 2·margin + titleHeight + rows·(tile + captionHeight) + (rows−1)·gap + groupRows·groupGap`
///
/// With groups (``groupStarts``: the first item of each group after the first), every group starts a new
/// row and has ``groupGap`` more pixels above it, so tasks stand apart; rows are then not all full.
public struct SheetLayout: Sendable, Hashable {
    /// Number of tiles.
    public let count: Int
    /// Grid columns (≥ 1, ≤ count).
    public let columns: Int
    /// Grid rows: `ceil(count / columns)` without groups; each group's rows with them.
    public let rows: Int
    /// Extra space above a row that starts a group, pixels (0 without groups).
    public let groupGap: Int
    /// Item indexes that start a group (not 0), ascending.
    public let groupStarts: [Int]
    /// Lines of the title (0 without a title; long titles wrap, up to ``maxTitleLines``).
    public let titleLines: Int
    /// Sheet height in pixels.
    public let height: Int
    /// The top of each grid row (its tiles), sheet coordinates.
    public let rowTops: [Int]
    /// Each item's cell, `row · columns + column`.
    private let cells: [Int]
    /// Title lines a sheet wraps its title onto.
    public static let maxTitleLines = 3
    /// The square side each image is fitted into, pixels.
    public let tile: Int
    /// Space between cells, pixels.
    public let gap: Int
    /// Space around everything, pixels.
    public let margin: Int
    /// Height of the caption band under each tile (0 without captions), pixels.
    public let captionHeight: Int
    /// Caption lines in each band (0...3).
    public let captionLines: Int
    /// Height of the title band including its spacing below (0 without a title), pixels.
    public let titleHeight: Int
    /// Scale of the caption font.
    public let fontScale: Int
    /// Scale of the title font (caption scale + 1).
    public let titleScale: Int

    /// Sheet width in pixels.
    public var width: Int { 2 * margin + columns * tile + (columns - 1) * gap }
    /// A cell: the tile square plus its caption band.
    public var cellHeight: Int { tile + captionHeight }

    /// Padding above the first caption line, pixels.
    var captionPadding: Int { 3 * fontScale }

    /// Computes the geometry for `count` tiles.
    /// - Parameters:
    ///   - count: Tiles to place (≥ 1).
    ///   - options: Columns (or automatic), tile, gap, margin, captions, title, font scale.
    ///   - captionLines: Lines in each caption band (0...8); ``ContactSheet`` derives it from the captions mode.
    ///   - groupStarts: indexes (1..<count) of items that start a new group: a new row, ``groupGap`` above it.
    /// - Throws: ``SheetError`` `.invalidOption` naming the option and its limit, `.noInputs` for zero tiles,
    ///   `.tooLarge` when the sheet exceeds ``SheetOptions/maxSheetPixels``.
    public init(count: Int, options: SheetOptions, captionLines: Int, groupStarts: [Int] = []) throws {
        guard count >= 1 else { throw SheetError(.noInputs, "no images to put on the sheet") }
        guard (8...8192).contains(options.tile) else {
            throw SheetError(.invalidOption, "tile \(options.tile) px is out of range 8...8192")
        }
        guard (0...1024).contains(options.gap) else {
            throw SheetError(.invalidOption, "gap \(options.gap) px is out of range 0...1024")
        }
        guard (0...4096).contains(options.margin) else {
            throw SheetError(.invalidOption, "margin \(options.margin) px is out of range 0...4096")
        }
        if let columns = options.columns, !(1...10_000).contains(columns) {
            throw SheetError(.invalidOption, "columns \(columns) is out of range 1...10000")
        }
        if let scale = options.fontScale, !(1...8).contains(scale) {
            throw SheetError(.invalidOption, "font scale \(scale) is out of range 1...8")
        }
        guard options.targetAspect.isFinite, options.targetAspect > 0 else {
            throw SheetError(.invalidOption, "target aspect \(options.targetAspect) is not a positive number")
        }
        guard (0...8).contains(captionLines) else {
            throw SheetError(.invalidOption, "caption lines \(captionLines) is out of range 0...8")
        }
        guard (0...4096).contains(options.groupGap) else {
            throw SheetError(.invalidOption, "group gap \(options.groupGap) px is out of range 0...4096")
        }
        let scale = options.fontScale ?? SheetLayout.defaultFontScale(tile: options.tile)
        self.count = count
        self.tile = options.tile
        self.gap = options.gap
        self.margin = options.margin
        self.fontScale = scale
        self.titleScale = scale + 1
        self.captionLines = captionLines
        self.captionHeight = captionLines == 0 ? 0 : 3 * scale + captionLines * BitmapFont.lineHeight * scale
        let titleLineHeight = BitmapFont.lineHeight * (scale + 1)
        let hasTitle = !(options.title ?? "").isEmpty
        let starts = Array(Set(groupStarts.filter { $0 > 0 && $0 < count })).sorted()
        self.groupStarts = starts
        self.groupGap = starts.isEmpty ? 0 : options.groupGap
        let cellHeight = options.tile + captionHeight
        // The longest group decides the automatic column count's ceiling: a wider grid would only add empty cells.
        var longestGroup = 0
        var previous = 0
        for start in starts + [count] { longestGroup = max(longestGroup, start - previous); previous = start }
        let automatic = options.columns ?? SheetLayout.automaticColumns(
            count: count, cellWidth: options.tile, cellHeight: cellHeight, gap: options.gap,
            margin: options.margin, titleHeight: hasTitle ? titleLineHeight + 2 * scale : 0, targetAspect: options.targetAspect)
        let columns = min(count, starts.isEmpty ? automatic : min(automatic, max(longestGroup, options.columns ?? 1)))
        self.columns = columns
        let width = 2 * options.margin + columns * options.tile + (columns - 1) * options.gap
        if let title = options.title, !title.isEmpty {
            let lines = ContactSheet.wrap(title, width: max(1, width - 2 * options.margin), scale: scale + 1,
                                          maxLines: SheetLayout.maxTitleLines).count
            self.titleLines = max(1, lines)
            self.titleHeight = titleLineHeight * max(1, lines) + 2 * scale
        } else {
            self.titleLines = 0
            self.titleHeight = 0
        }
        // Place every item: the next cell of its row, or a new row when the row is full or a group starts.
        var cells: [Int] = []
        cells.reserveCapacity(count)
        var groupRows = Set<Int>()
        var row = 0
        var column = 0
        var nextStart = 0
        for index in 0..<count {
            var startsGroup = false
            if nextStart < starts.count, starts[nextStart] == index { startsGroup = true; nextStart += 1 }
            if index > 0 && (column == columns || startsGroup) {
                row += 1
                column = 0
                if startsGroup { groupRows.insert(row) }
            }
            cells.append(row * columns + column)
            column += 1
        }
        self.cells = cells
        self.rows = row + 1
        var tops: [Int] = []
        tops.reserveCapacity(rows)
        var y = options.margin + titleHeight
        // Rows of an absurd count are refused below, before anyone allocates pixels; the sum stays small.
        for r in 0..<rows {
            if r > 0 { y += options.gap + (groupRows.contains(r) ? groupGap : 0) }
            tops.append(y)
            y += cellHeight
        }
        self.rowTops = tops
        self.height = y + options.margin

        // Check the size before anyone allocates it: each factor is bounded above, so these products fit in Int.
        let pixels = width.multipliedReportingOverflow(by: height)
        guard !pixels.overflow, pixels.partialValue <= options.maxSheetPixels else {
            throw SheetError(.tooLarge, "sheet \(width)x\(height) exceeds the limit of \(options.maxSheetPixels) pixels")
        }
    }

    /// The caption font scale for a tile size: 1 below 160 px, 2 below 640 px, 3 from there.
    public static func defaultFontScale(tile: Int) -> Int { tile < 160 ? 1 : (tile < 640 ? 2 : 3) }

    /// The column count whose sheet aspect (width / height) is closest to `targetAspect` on a log scale;
    /// ties go to the count leaving fewer empty cells, then to fewer columns.
    static func automaticColumns(
        count: Int, cellWidth: Int, cellHeight: Int, gap: Int, margin: Int, titleHeight: Int, targetAspect: Double
    ) -> Int {
        var best = 1
        var bestScore = Double.infinity
        var bestEmpty = Int.max
        for columns in 1...count {
            let rows = (count + columns - 1) / columns
            // Skip counts that give the same number of rows as one fewer column: they only add empty cells.
            if columns > 1, (count + columns - 2) / (columns - 1) == rows { continue }
            let width = Double(2 * margin + columns * cellWidth + (columns - 1) * gap)
            let height = Double(2 * margin + titleHeight + rows * cellHeight + (rows - 1) * gap)
            let score = abs(log(width / height / targetAspect))
            let empty = rows * columns - count
            if score < bestScore - 1e-9 || (abs(score - bestScore) <= 1e-9 && empty < bestEmpty) {
                best = columns
                bestScore = score
                bestEmpty = empty
            }
        }
        return best
    }

    /// The tile square of item `index` (row-major, groups starting new rows), in sheet coordinates.
    public func tileRect(_ index: Int) -> Rect {
        let cell = cells[index]
        let column = cell % columns
        let row = cell / columns
        return Rect(x: margin + column * (tile + gap), y: rowTops[row], width: tile, height: tile)
    }

    /// The grid row of item `index`.
    public func row(of index: Int) -> Int { cells[index] / columns }

    /// The caption band under item `index`'s tile, in sheet coordinates (zero height without captions).
    public func captionRect(_ index: Int) -> Rect {
        let square = tileRect(index)
        return Rect(x: square.x, y: square.y + tile, width: tile, height: captionHeight)
    }

    /// The title band, in sheet coordinates (zero height without a title).
    public var titleRect: Rect {
        Rect(x: margin, y: margin, width: width - 2 * margin, height: titleHeight)
    }

    /// Where an image of `width`×`height` lands inside a tile square at the origin: scaled to touch the
    /// square on its longer side (never enlarged when `upscale` is false), rounded to whole pixels with at
    /// least 1 px per side, and centred (odd leftovers go right and down).
    public static func fit(width: Int, height: Int, tile: Int, upscale: Bool = true) -> Rect {
        precondition(width > 0 && height > 0 && tile > 0)
        var fittedWidth: Int
        var fittedHeight: Int
        if !upscale && width <= tile && height <= tile {
            fittedWidth = width
            fittedHeight = height
        } else if width >= height {
            fittedWidth = tile
            fittedHeight = max(1, (height * tile + width / 2) / width)
        } else {
            fittedHeight = tile
            fittedWidth = max(1, (width * tile + height / 2) / height)
        }
        fittedWidth = min(fittedWidth, tile)
        fittedHeight = min(fittedHeight, tile)
        return Rect(x: (tile - fittedWidth) / 2, y: (tile - fittedHeight) / 2, width: fittedWidth, height: fittedHeight)
    }
}
