import ImageCore
import Testing
@testable import ContactSheets

@Suite("Sheet layout geometry")
struct LayoutTests {
    @Test("size is 2·margin + columns·tile + (columns−1)·gap, and likewise for rows",
          arguments: [(9, 3, 512, 8, 16), (100, 10, 256, 4, 0), (7, 3, 100, 0, 10), (1, 1, 64, 8, 16), (5, 8, 32, 2, 3)])
    func exactSize(count: Int, columns: Int, tile: Int, gap: Int, margin: Int) throws {
        var options = SheetOptions(columns: columns, tile: tile, gap: gap, margin: margin, captions: .none)
        options.fontScale = 1
        let layout = try SheetLayout(count: count, options: options, captionLines: 0)
        let usedColumns = min(columns, count)
        let rows = (count + usedColumns - 1) / usedColumns
        #expect(layout.columns == usedColumns)
        #expect(layout.rows == rows)
        #expect(layout.width == 2 * margin + usedColumns * tile + (usedColumns - 1) * gap)
        #expect(layout.height == 2 * margin + rows * tile + (rows - 1) * gap)
    }

    @Test("caption and title bands add their exact heights")
    func bands() throws {
        var options = SheetOptions(columns: 3, tile: 200, gap: 10, margin: 20, captions: .name, title: "Batch")
        options.fontScale = 2
        let layout = try SheetLayout(count: 6, options: options, captionLines: 2)
        // Caption band: 3·scale padding + lines · 11 · scale; title: 11 · (scale + 1) + 2 · scale.
        #expect(layout.captionHeight == 3 * 2 + 2 * 11 * 2)
        #expect(layout.titleHeight == 11 * 3 + 2 * 2)
        #expect(layout.height == 2 * 20 + layout.titleHeight + 2 * (200 + layout.captionHeight) + 10)
        #expect(layout.tileRect(4) == Rect(x: 20 + 210, y: 20 + layout.titleHeight + 200 + layout.captionHeight + 10,
                                          width: 200, height: 200))
        #expect(layout.captionRect(4).y == layout.tileRect(4).y + 200)
    }

    @Test("tiles never overlap and stay inside the margins")
    func tilesDisjoint() throws {
        let layout = try SheetLayout(count: 23, options: SheetOptions(columns: 5, tile: 40, gap: 3, margin: 7), captionLines: 1)
        var covered = Set<Int>()
        for index in 0..<layout.count {
            let tile = layout.tileRect(index)
            let band = layout.captionRect(index)
            #expect(tile.x >= layout.margin && tile.x + tile.width <= layout.width - layout.margin)
            #expect(band.y + band.height <= layout.height - layout.margin)
            for y in stride(from: tile.y, to: band.y + band.height, by: 1) {
                for x in tile.x..<(tile.x + tile.width) {
                    #expect(covered.insert(y * layout.width + x).inserted, "tile \(index) overlaps at \(x),\(y)")
                }
            }
        }
    }

    @Test("automatic columns aim at a square sheet", arguments: [(1, 1), (2, 2), (4, 2), (9, 3), (10, 4), (16, 4), (100, 10)])
    func automaticColumns(count: Int, expected: Int) throws {
        let layout = try SheetLayout(count: count, options: SheetOptions(tile: 256, captions: .name), captionLines: 1)
        #expect(layout.columns == expected)
    }

    @Test("a wide target aspect gives more columns")
    func wideTarget() throws {
        var options = SheetOptions(tile: 100, captions: .none)
        options.targetAspect = 16.0 / 9.0
        let layout = try SheetLayout(count: 24, options: options, captionLines: 0)
        #expect(layout.columns > layout.rows)
        let ratio = Double(layout.width) / Double(layout.height)
        #expect(ratio > 1.4 && ratio < 2.3)
    }

    @Test("fit keeps the aspect ratio, touches the tile on the long side and centres",
          arguments: [(1024, 1024, 512), (1600, 900, 256), (300, 1000, 256), (10, 3, 64), (4000, 1, 100), (33, 77, 50)])
    func fit(width: Int, height: Int, tile: Int) {
        let box = SheetLayout.fit(width: width, height: height, tile: tile)
        #expect(max(box.width, box.height) == tile)
        #expect(box.width >= 1 && box.height >= 1)
        // The fitted short side is the exact rounding of the scaled one.
        if width >= height {
            #expect(box.height == max(1, Int((Double(height) * Double(tile) / Double(width)).rounded())))
        } else {
            #expect(box.width == max(1, Int((Double(width) * Double(tile) / Double(height)).rounded())))
        }
        #expect(box.x == (tile - box.width) / 2 && box.y == (tile - box.height) / 2)
    }

    @Test("small images stay small when upscaling is off")
    func noUpscale() {
        #expect(SheetLayout.fit(width: 32, height: 16, tile: 256, upscale: false) == Rect(x: 112, y: 120, width: 32, height: 16))
        #expect(SheetLayout.fit(width: 512, height: 256, tile: 256, upscale: false) == Rect(x: 0, y: 64, width: 256, height: 128))
    }

    @Test("out-of-range options are refused with the option named")
    func invalidOptions() {
        func message(_ build: (inout SheetOptions) -> Void, count: Int = 3) -> String? {
            var options = SheetOptions()
            build(&options)
            do {
                _ = try SheetLayout(count: count, options: options, captionLines: 1)
                return nil
            } catch {
                return (error as? SheetError)?.message
            }
        }
        #expect(message({ $0.tile = 4 })?.contains("tile") == true)
        #expect(message({ $0.gap = -1 })?.contains("gap") == true)
        #expect(message({ $0.margin = 5000 })?.contains("margin") == true)
        #expect(message({ $0.columns = 0 })?.contains("columns") == true)
        #expect(message({ _ in }, count: 0)?.contains("no images") == true)
        #expect(message({ $0.tile = 8192; $0.columns = 100 }, count: 10_000)?.contains("exceeds") == true)
    }
}
