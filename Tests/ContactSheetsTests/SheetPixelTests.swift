import Foundation
import ImageCodecs
import ImageCore
import Testing
@testable import ContactSheets

/// Grouping, wrapped task ids, caption templates and wrapped titles, checked on the pixels: tiles where
/// the geometry says, and caption text exactly as the bitmap font draws the expected words there.
@Suite("Sheet pixels: groups, captions, titles")
struct SheetPixelTests {
    static let colours: [Color] = (0..<8).map { (n: Int) -> Color in
        let red = UInt8(30 * n + 20), green = UInt8(200 - 20 * n), blue = UInt8(90 + 15 * n)
        return Color(red: red, green: green, blue: blue)
    }

    /// `text` lines drawn as a sheet draws a caption or title: each centred in `width`, `lineHeight` apart,
    /// starting `top` pixels down, on `background`.
    static func expectedText(_ lines: [String], width: Int, height: Int, top: Int, scale: Int, colors: [Color],
                             background: Color) throws -> Image {
        var image = try Image(width: width, height: height, format: .rgb, fill: background)
        image.withCanvas { canvas in
            for (number, line) in lines.enumerated() {
                let x = max(0, (width - BitmapFont.width(of: line, scale: scale)) / 2)
                canvas.draw(line, x: x, y: top + number * BitmapFont.lineHeight * scale, scale: scale,
                            color: colors[min(number, colors.count - 1)])
            }
        }
        return image
    }

    /// The `rect` of `image` as an image of its own.
    static func crop(_ image: Image, _ rect: Rect) throws -> Image {
        var pixels: [UInt8] = []
        for y in rect.y..<(rect.y + rect.height) {
            let start = (y * image.width + rect.x) * 3
            pixels += image.pixels[start..<(start + rect.width * 3)]
        }
        return try Image(width: rect.width, height: rect.height, format: .rgb, pixels: pixels)
    }

    @Test("each group starts a new row with the group gap above it; one group is an ordinary grid")
    func groups() throws {
        var items: [SheetItem] = []
        for (index, group) in ["A", "A", "A", "A", "B", "B", "C"].enumerated() {
            var item = SheetItem(source: .image(try solid(40, 40, Self.colours[index]), name: "\(index)"))
            item.group = group
            items.append(item)
        }
        var options = SheetOptions(columns: 3, tile: 40, gap: 4, margin: 6, captions: .none)
        options.groupGap = 20
        let (image, layout, _) = try ContactSheet.compose(items, options: options)
        // A: rows 0 and 1 (3 + 1); B: row 2; C: row 3. Rows 2 and 3 have the group gap above them.
        let rowTops = [6, 6 + 44, 6 + 44 + 44 + 20, 6 + 44 + 44 + 20 + 44 + 20]
        let expected = [(0, 0), (1, 0), (2, 0), (0, 1), (0, 2), (1, 2), (0, 3)]
        #expect(layout.rows == 4 && layout.height == rowTops[3] + 40 + 6)
        for (index, (column, row)) in expected.enumerated() {
            let rect = layout.tileRect(index)
            #expect(rect == Rect(x: 6 + column * 44, y: rowTops[row], width: 40, height: 40), "tile \(index)")
            #expect(pixel(image, rect.x + 20, rect.y + 20) == rgb(Self.colours[index]), "tile \(index) drawn there")
        }
        // The group gap and the empty cells after a short group are background.
        #expect(pixel(image, 6 + 20, rowTops[2] - 10) == rgb(options.background))
        #expect(pixel(image, 6 + 44 + 20, rowTops[1] + 20) == rgb(options.background))
        // Bands streamed to a file give the same pixels as the whole canvas.
        let dir = NSTemporaryDirectory() + "klingkit-groups-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try ContactSheet.write(items, options: options, to: dir + "/s.png")
        #expect(try ImageCodec.decode([UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/s.png")))).image == image)
        // Without groups (or with one) the grid is the plain one.
        let plain = try ContactSheet.layout(for: items.map { var i = $0; i.group = "same"; return i }, options: options)
        #expect(plain.rows == 3 && plain.tileRect(4) == Rect(x: 6 + 44, y: 6 + 44, width: 40, height: 40))
    }

    @Test("a long task id wraps onto caption lines whole, never cut, and the prompt follows under it")
    func wrappedTaskID() throws {
        let id = "abcdefghijklmnopqrstuvwxyz0123456789"
        let items = [
            SheetItem(source: .image(try solid(96, 96, Self.colours[0]), name: "a"), caption: "\(id) #3", subcaption: "red tile"),
            SheetItem(source: .image(try solid(96, 96, Self.colours[1]), name: "b"), caption: "short #1"),
        ]
        let options = SheetOptions(columns: 2, tile: 96, gap: 4, margin: 4, captions: .task)
        let (image, layout, _) = try ContactSheet.compose(items, options: options)
        // 96 px at scale 1 holds 16 characters a line: three id lines, then two prompt lines.
        #expect(layout.fontScale == 1 && layout.captionLines == 5)
        let band = layout.captionRect(0)
        let theme = options.theme
        let expected = try Self.expectedText(["abcdefghijklmnop", "qrstuvwxyz012345", "6789 #3", "red tile"],
                                             width: band.width, height: band.height, top: layout.captionPadding, scale: 1,
                                             colors: [theme.text, theme.text, theme.text, theme.secondaryText],
                                             background: theme.background)
        #expect(try Self.crop(image, band) == expected)
        let second = try Self.expectedText(["short #1"], width: band.width, height: band.height, top: layout.captionPadding,
                                           scale: 1, colors: [theme.text], background: theme.background)
        #expect(try Self.crop(image, layout.captionRect(1)) == second)
    }

    @Test("caption templates put the name, the source's size and the verdict where the band's lines are")
    func template() throws {
        var red = SheetItem(source: .image(try solid(30, 20, Self.colours[2]), name: "red.png"))
        red.verdict = "picked"
        red.taskID = "T9"
        red.index = 4
        var options = SheetOptions(columns: 1, tile: 120, gap: 4, margin: 4)
        options.captionTemplate = "{name} {w}x{h}\n{task} #{index} {verdict} {n}"
        let (image, layout, _) = try ContactSheet.compose([red], options: options)
        #expect(layout.captionLines == 2)
        let band = layout.captionRect(0)
        let expected = try Self.expectedText(["red.png 30x20", "T9 #4 picked 1"], width: band.width, height: band.height,
                                             top: layout.captionPadding, scale: 1,
                                             colors: [options.theme.text, options.theme.secondaryText], background: options.theme.background)
        #expect(try Self.crop(image, band) == expected)
        #expect(ContactSheet.expand("{size} {bytes} {unknown}", item: SheetItem(source: .bytes([1, 2, 3], name: "x")),
                                    position: 1, size: nil) == "3 B 3 {unknown}")
    }

    @Test("a title longer than the sheet wraps onto lines above the grid, each centred")
    func wrappedTitle() throws {
        let items = (0..<2).map { SheetItem(source: .image(try! solid(64, 64, Self.colours[$0]), name: "\($0)")) }
        var options = SheetOptions(columns: 2, tile: 64, gap: 4, margin: 6, captions: .none)
        options.title = "a title far too long for one line"
        let (image, layout, _) = try ContactSheet.compose(items, options: options)
        // The title band is 132 px wide: at the title's scale 2 that holds 11 characters a line.
        #expect(layout.titleLines == 3)
        #expect(layout.titleHeight == 3 * BitmapFont.lineHeight * 2 + 2 * 1)
        #expect(layout.tileRect(0).y == 6 + layout.titleHeight)
        let lines = ContactSheet.wrap(options.title!, width: layout.titleRect.width, scale: 2, maxLines: 3)
        #expect(lines.count == 3 && lines[0] == "a title far" && lines[1] == "too long" && lines[2].hasPrefix("for one"), "\(lines)")
        #expect(lines[2].hasSuffix("…"), "the rest is elided on the last line")
        let expected = try Self.expectedText(lines, width: layout.titleRect.width, height: layout.titleHeight, top: 0,
                                             scale: 2, colors: [options.theme.text], background: options.theme.background)
        #expect(try Self.crop(image, layout.titleRect) == expected)
    }

    @Test("clashing file names get their parent folder, as many levels as it takes")
    func clashingNames() throws {
        let paths = ["/r/a/x/0.png", "/r/b/x/0.png", "/r/c/1.png", "/r/d/2.png", "/r/e/2.png"]
        let items = ContactSheet.disambiguated(paths.map { SheetItem.file($0) })
        let names: [String?] = items.map(\.displayName)
        let expected: [String?] = ["a/x/0.png", "b/x/0.png", nil, "d/2.png", "e/2.png"]
        #expect(names == expected)
    }
}
