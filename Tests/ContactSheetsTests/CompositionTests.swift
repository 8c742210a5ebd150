import ImageCore
import Testing
@testable import ContactSheets

/// Reads one pixel of an RGB(A) sheet.
func pixel(_ image: Image, _ x: Int, _ y: Int) -> [UInt8] {
    let c = image.format.channels
    let i = (y * image.width + x) * c
    return Array(image.pixels[i..<i + c])
}

func rgb(_ color: Color) -> [UInt8] { [color.red, color.green, color.blue] }

/// Every pixel of `rect` in `image`, as RGB(A) arrays.
func pixels(_ image: Image, in rect: Rect) -> [[UInt8]] {
    var out: [[UInt8]] = []
    for y in rect.y..<(rect.y + rect.height) {
        for x in rect.x..<(rect.x + rect.width) { out.append(pixel(image, x, y)) }
    }
    return out
}

func solid(_ width: Int, _ height: Int, _ color: Color, format: PixelFormat = .rgb) throws -> Image {
    try Image(width: width, height: height, format: format, fill: color)
}

@Suite("Sheet composition")
struct CompositionTests {
    let red = Color(red: 220, green: 30, blue: 40)
    let blue = Color(red: 20, green: 60, blue: 230)
    let green = Color(red: 30, green: 180, blue: 60)

    @Test("each image lands inside its tile, letterboxed with its aspect kept")
    func letterbox() throws {
        let items = [
            SheetItem(source: .image(try solid(400, 200, red), name: "wide")),
            SheetItem(source: .image(try solid(90, 270, blue), name: "tall")),
            SheetItem(source: .image(try solid(64, 64, green), name: "small square")),
            SheetItem(source: .image(try solid(1000, 10, red), name: "strip")),
        ]
        let options = SheetOptions(columns: 2, tile: 120, gap: 6, margin: 10, captions: .none)
        let (sheet, layout, failures) = try ContactSheet.compose(items, options: options)
        #expect(failures.isEmpty)
        #expect(sheet.width == 2 * 10 + 2 * 120 + 6 && sheet.height == 2 * 10 + 2 * 120 + 6)
        #expect(sheet.format == .rgb)
        let background = rgb(options.background)
        let colors = [red, blue, green, red]
        let sizes = [(400, 200), (90, 270), (64, 64), (1000, 10)]
        for index in 0..<items.count {
            let tile = layout.tileRect(index)
            let box = SheetLayout.fit(width: sizes[index].0, height: sizes[index].1, tile: 120)
            for y in tile.y..<(tile.y + tile.height) {
                for x in tile.x..<(tile.x + tile.width) {
                    let inside = x >= tile.x + box.x && x < tile.x + box.x + box.width
                        && y >= tile.y + box.y && y < tile.y + box.y + box.height
                    let expected = inside ? rgb(colors[index]) : background
                    if pixel(sheet, x, y) != expected {
                        Issue.record("tile \(index) pixel \(x),\(y) is \(pixel(sheet, x, y)), expected \(expected)")
                        return
                    }
                }
            }
        }
        // Exact boxes for the first two: 400×200 → 120×60 at y+30; 90×270 → 40×120 at x+40.
        #expect(SheetLayout.fit(width: 400, height: 200, tile: 120) == Rect(x: 0, y: 30, width: 120, height: 60))
        #expect(SheetLayout.fit(width: 90, height: 270, tile: 120) == Rect(x: 40, y: 0, width: 40, height: 120))
        // Margins, gaps and the empty cell are background.
        #expect(pixels(sheet, in: Rect(x: 0, y: 0, width: sheet.width, height: 10)).allSatisfy { $0 == background })
        #expect(pixels(sheet, in: Rect(x: 130, y: 10, width: 6, height: 246)).allSatisfy { $0 == background })
    }

    @Test("captions put ink in the band under each tile; without captions the band does not exist")
    func captionsDrawn() throws {
        let items = (0..<3).map { i in
            SheetItem(source: .image(try! solid(50, 50, green), name: "image-\(i).png"))
        }
        let options = SheetOptions(columns: 3, tile: 160, gap: 8, margin: 12, captions: .name)
        let (sheet, layout, _) = try ContactSheet.compose(items, options: options)
        let background = rgb(options.background)
        #expect(layout.captionHeight > 0)
        for index in 0..<3 {
            let band = pixels(sheet, in: layout.captionRect(index))
            let ink = band.filter { $0 != background }
            #expect(ink.count > 50, "caption \(index) has \(ink.count) ink pixels")
            // Text is the theme's text colour, nothing else.
            #expect(ink.allSatisfy { $0 == rgb(options.theme.text) })
        }
        // Different names draw different ink.
        #expect(pixels(sheet, in: layout.captionRect(0)) != pixels(sheet, in: layout.captionRect(1)))

        let bare = try ContactSheet.compose(items, options: SheetOptions(columns: 3, tile: 160, gap: 8, margin: 12, captions: .none))
        #expect(bare.layout.captionHeight == 0)
        #expect(bare.image.height == 2 * 12 + 160)
    }

    @Test("task captions show caption and prompt lines; long text ends in an ellipsis within the tile")
    func taskCaptions() throws {
        let prompt = String(repeating: "a very long prompt about a red fox in snow ", count: 5)
        let items = [
            SheetItem(source: .image(try solid(30, 30, red), name: "0.png"), caption: "task-123 #0", subcaption: prompt),
            SheetItem(source: .image(try solid(30, 30, red), name: "1.png"), caption: "task-123 #1"),
        ]
        var options = SheetOptions(columns: 2, tile: 100, gap: 4, margin: 4, captions: .task)
        options.fontScale = 1
        let (sheet, layout, _) = try ContactSheet.compose(items, options: options)
        #expect(layout.captionLines == 3)
        let band = layout.captionRect(0)
        let lineHeight = 11
        let second = Rect(x: band.x, y: band.y + 3 + lineHeight, width: band.width, height: 9)
        let secondInk = pixels(sheet, in: second).filter { $0 == rgb(options.theme.secondaryText) }
        #expect(secondInk.count > 20)
        let third = Rect(x: band.x, y: band.y + 3 + 2 * lineHeight, width: band.width, height: 9)
        #expect(pixels(sheet, in: third).filter { $0 == rgb(options.theme.secondaryText) }.count > 20)
        // Nothing spills past the tile's column into the gap.
        let gapColumn = Rect(x: band.x + band.width, y: band.y, width: 4, height: band.height)
        #expect(pixels(sheet, in: gapColumn).allSatisfy { $0 == rgb(options.background) })
        // The item without a prompt has an empty second line.
        let other = layout.captionRect(1)
        #expect(pixels(sheet, in: Rect(x: other.x, y: other.y + 3 + lineHeight, width: other.width, height: 9))
            .allSatisfy { $0 == rgb(options.background) })
    }

    @Test("a title draws ink in the title band")
    func title() throws {
        let items = [SheetItem(source: .image(try solid(20, 20, blue), name: "x"))]
        let options = SheetOptions(columns: 1, tile: 200, gap: 8, margin: 8, captions: .none, title: "Batch 7: foxes")
        let (sheet, layout, _) = try ContactSheet.compose(items, options: options)
        #expect(layout.titleHeight > 0)
        #expect(layout.tileRect(0).y == 8 + layout.titleHeight)
        #expect(pixels(sheet, in: layout.titleRect).contains { $0 == rgb(options.theme.text) })
    }

    @Test("a damaged input becomes a labelled placeholder and is reported; the rest still draw")
    func placeholder() throws {
        let items = [
            SheetItem(source: .image(try solid(50, 50, green), name: "good.png")),
            SheetItem(source: .bytes([0x89, 0x50, 0x4E, 0x47, 1, 2, 3], name: "broken.png")),
            SheetItem(source: .file("/nonexistent/klingkit/missing.jpg")),
        ]
        let options = SheetOptions(columns: 3, tile: 128, gap: 4, margin: 4, captions: .name)
        let (sheet, layout, failures) = try ContactSheet.compose(items, options: options)
        #expect(failures.map(\.name) == ["broken.png", "missing.jpg"])
        #expect(failures.map(\.index) == [1, 2])
        #expect(failures[1].message.contains("No such file"))
        for index in [1, 2] {
            let tile = pixels(sheet, in: layout.tileRect(index))
            #expect(tile.filter { $0 == rgb(options.theme.placeholder) }.count > tile.count / 2)
            #expect(tile.contains { $0 == rgb(options.theme.placeholderText) })
        }
        #expect(pixel(sheet, layout.tileRect(0).x + 64, layout.tileRect(0).y + 64) == rgb(green))
    }

    @Test("alpha is composited over the background")
    func alpha() throws {
        let half = Color(red: 255, green: 0, blue: 0, alpha: 128)
        let items = [SheetItem(source: .image(try solid(40, 40, half, format: .rgba), name: "half"))]
        var options = SheetOptions(columns: 1, tile: 40, gap: 0, margin: 0, captions: .none)
        options.background = .white
        let (sheet, _, _) = try ContactSheet.compose(items, options: options)
        // 255·128/255 + 255·127/255 = 255 red; 0·128 + 255·127/255 = 127 green and blue.
        #expect(pixel(sheet, 20, 20) == [255, 127, 127])

        // On a transparent background the sheet keeps alpha and the tile keeps its own.
        options.background = .transparent
        let clear = try ContactSheet.compose(items, options: options)
        #expect(clear.image.format == .rgba)
        #expect(pixel(clear.image, 20, 20) == [255, 0, 0, 128])
        #expect(throws: SheetError.self) {
            var jpeg = options
            jpeg.format = .jpeg
            _ = try ContactSheet.render(items, options: jpeg)
        }
    }

    @Test("gray and gray+alpha inputs are widened to RGB")
    func gray() throws {
        let items = [
            SheetItem(source: .image(try solid(10, 10, Color(red: 100, green: 100, blue: 100), format: .gray), name: "g")),
            SheetItem(source: .image(try solid(10, 10, Color(red: 200, green: 200, blue: 200, alpha: 255), format: .grayAlpha), name: "ga")),
        ]
        let options = SheetOptions(columns: 2, tile: 10, gap: 0, margin: 0, captions: .none)
        let (sheet, _, _) = try ContactSheet.compose(items, options: options)
        #expect(pixel(sheet, 5, 5) == [100, 100, 100])
        #expect(pixel(sheet, 15, 5) == [200, 200, 200])
    }

    @Test("the dark theme draws light text on a dark background")
    func darkTheme() throws {
        let items = [SheetItem(source: .image(try solid(10, 10, red), name: "dark.png"))]
        let options = SheetOptions(columns: 1, tile: 160, gap: 0, margin: 4, theme: .dark, captions: .name)
        let (sheet, layout, _) = try ContactSheet.compose(items, options: options)
        #expect(pixel(sheet, 0, 0) == rgb(SheetTheme.dark.background))
        let ink = pixels(sheet, in: layout.captionRect(0)).filter { $0 != rgb(SheetTheme.dark.background) }
        #expect(!ink.isEmpty && ink.allSatisfy { $0 == rgb(SheetTheme.dark.text) })
        // Setting a dark background colour picks the dark palette too.
        var custom = SheetOptions()
        custom.background = Color(red: 10, green: 20, blue: 30)
        #expect(custom.theme.text == SheetTheme.dark.text)
    }

    @Test("composition is deterministic whatever the thread interleaving")
    func deterministic() throws {
        let items = (0..<12).map { i in
            SheetItem(source: .image(try! solid(30 + i * 7, 50, Color(red: UInt8(i * 20), green: 90, blue: 200)), name: "n\(i)"))
        }
        let options = SheetOptions(columns: 4, tile: 48, gap: 2, margin: 2, captions: .name, title: "t")
        let a = try ContactSheet.compose(items, options: options).image
        let b = try ContactSheet.compose(items, options: options).image
        #expect(a == b)
    }

    @Test("band-by-band composition gives exactly the whole-canvas pixels")
    func bands() throws {
        let items = (0..<7).map { i in
            SheetItem(source: .image(try! solid(20 + 9 * i, 40, Color(red: UInt8(30 * i), green: 120, blue: 90)), name: "b\(i)"))
        } + [SheetItem(source: .bytes([1, 2, 3], name: "bad.png"))]
        let options = SheetOptions(columns: 3, tile: 40, gap: 5, margin: 7, captions: .name, title: "bands")
        let whole = try ContactSheet.compose(items, options: options)
        var rows: [UInt8] = []
        var nextRow = 0
        let (layout, failures) = try ContactSheet.composeBands(items, options: options) { first, count, pixels in
            #expect(first == nextRow)
            nextRow += count
            rows += pixels
        }
        #expect(nextRow == layout.height)
        #expect(rows == whole.image.pixels)
        #expect(failures == whole.failures)
    }
}
