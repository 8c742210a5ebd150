import ImageCodecs
import ImageCore

/// Where one tile's picture comes from.
public enum SheetSource: Sendable {
    /// A JPEG or PNG file on disk, read when its tile is drawn (never all at once).
    case file(String)
    /// Encoded JPEG or PNG bytes, with the name shown in `.name` captions.
    case bytes([UInt8], name: String)
    /// An already decoded image, with the name shown in `.name` captions.
    case image(Image, name: String)

    /// The name a `.name` caption shows: the file's last path component, or the given name.
    public var name: String {
        switch self {
        case .file(let path):
            let trimmed = path.hasSuffix("/") ? String(path.dropLast()) : path
            if let slash = trimmed.lastIndex(of: "/") { return String(trimmed[trimmed.index(after: slash)...]) }
            return trimmed
        case .bytes(_, let name), .image(_, let name):
            return name
        }
    }
}

/// One tile of a contact sheet: a picture and its caption lines.
public struct SheetItem: Sendable {
    /// The picture.
    public var source: SheetSource
    /// The first caption line in `.task` mode (for example `"8421 #0"`); `.name` mode shows
    /// ``SheetSource/name`` instead.
    public var caption: String
    /// Optional text under the caption in `.task` mode, in a quieter colour (for example the prompt), word-wrapped
    /// onto up to two lines and ended with an ellipsis when longer.
    public var subcaption: String?
    /// The group the tile belongs to (a task): a sheet starts each group on a new row with
    /// ``SheetOptions/groupGap`` above it, when items carry more than one group. Default none.
    public var group: String?
    /// The task id, for caption templates (`{task}`).
    public var taskID: String?
    /// The result index, for caption templates (`{index}`).
    public var index: Int?
    /// A reviewer's verdict (`picked`, `rejected`, …), for caption templates (`{verdict}`).
    public var verdict: String?
    /// The name `.name` captions and `{name}` show instead of the source's (set by
    /// ``ContactSheet/items(from:)`` to `parent/name` when two inputs share a file name).
    public var displayName: String?

    /// Creates an item; `caption` defaults to the source's name.
    public init(source: SheetSource, caption: String? = nil, subcaption: String? = nil) {
        self.source = source
        self.caption = caption ?? source.name
        self.subcaption = subcaption
    }

    /// An item for a file, captioned with its file name.
    public static func file(_ path: String) -> SheetItem { SheetItem(source: .file(path)) }
}

/// What the caption band under each tile shows.
public enum CaptionMode: String, Sendable, CaseIterable {
    /// The file (or given) name, one line.
    case name
    /// ``SheetItem/caption`` (task id and index) plus two lines of ``SheetItem/subcaption`` (the prompt) when any
    /// item has one.
    case task
    /// No caption band at all.
    case none
}

/// The colours of a sheet. Text colours follow from the background unless set.
public struct SheetTheme: Sendable, Hashable {
    /// The sheet, gap, margin and letterbox colour.
    public var background: Color
    /// Caption and title text.
    public var text: Color
    /// Second caption line (the prompt).
    public var secondaryText: Color
    /// The fill of a tile whose input could not be decoded.
    public var placeholder: Color
    /// The label drawn on a placeholder tile.
    public var placeholderText: Color

    public init(background: Color, text: Color, secondaryText: Color, placeholder: Color, placeholderText: Color) {
        self.background = background
        self.text = text
        self.secondaryText = secondaryText
        self.placeholder = placeholder
        self.placeholderText = placeholderText
    }

    /// Near-white paper with dark text (the default).
    public static let light = SheetTheme(
        background: Color(red: 0xF4, green: 0xF4, blue: 0xF2),
        text: Color(red: 0x1F, green: 0x1F, blue: 0x1F),
        secondaryText: Color(red: 0x5E, green: 0x5E, blue: 0x5E),
        placeholder: Color(red: 0xDD, green: 0xD8, blue: 0xD8),
        placeholderText: Color(red: 0xA0, green: 0x10, blue: 0x10))

    /// Near-black with light text, for judging bright images.
    public static let dark = SheetTheme(
        background: Color(red: 0x1A, green: 0x1A, blue: 0x1C),
        text: Color(red: 0xEE, green: 0xEE, blue: 0xEE),
        secondaryText: Color(red: 0xA6, green: 0xA6, blue: 0xA6),
        placeholder: Color(red: 0x3A, green: 0x30, blue: 0x30),
        placeholderText: Color(red: 0xFF, green: 0x8A, blue: 0x80))

    /// The theme for an arbitrary background: the light or dark palette, picked by the background's
    /// luminance (Rec. 601 luma below 128 is dark), with the background replaced.
    public static func matching(background: Color) -> SheetTheme {
        let luma = (299 * Int(background.red) + 587 * Int(background.green) + 114 * Int(background.blue)) / 1000
        var theme = (luma < 128 && background.alpha >= 128) ? SheetTheme.dark : SheetTheme.light
        theme.background = background
        return theme
    }
}

/// How a sheet is laid out, drawn and encoded.
public struct SheetOptions: Sendable {
    /// Columns of the grid; `nil` chooses the count whose sheet is closest to ``targetAspect``. 1...10 000.
    public var columns: Int?
    /// The side of the square each image is fitted into, in pixels (letterboxed, aspect kept). 8...8192, default 256.
    public var tile: Int = 256
    /// Space between tiles, in pixels. 0...1024, default 8.
    public var gap: Int = 8
    /// Space around the grid, in pixels. 0...4096, default 16.
    public var margin: Int = 16
    /// The sheet colour (also the letterbox colour). An alpha below 255 needs PNG output. Default ``SheetTheme/light``'s.
    public var background: Color {
        get { theme.background }
        set { theme = SheetTheme.matching(background: newValue) }
    }
    /// Every colour of the sheet; setting ``background`` picks the matching palette.
    public var theme: SheetTheme = .light
    /// What the caption band shows. Default `.name`.
    public var captions: CaptionMode = .name
    /// An optional title above the grid, word-wrapped to the sheet width onto up to three lines (the
    /// last ends with an ellipsis when more is left).
    public var title: String?
    /// A caption template replacing ``captions`` when set: one caption line per template line (at most 4),
    /// each truncated to the tile, with `{name}` (file or display name), `{task}`, `{index}`, `{w}` and
    /// `{h}` (the source's pixels), `{bytes}`, `{size}` (as `1.2 MB`), `{prompt}`, `{verdict}`, `{n}` (the
    /// tile's 1-based position) replaced; unknown values become empty. Default nil.
    public var captionTemplate: String?
    /// Extra space above the first row of each group, pixels (0...4096). Default 24.
    public var groupGap: Int = 24
    /// Output format. Default PNG.
    public var format: ImageFormat = .png
    /// Width over height the automatic column count aims for. Default 1 (square).
    public var targetAspect: Double = 1.0
    /// Integer scale of the 5×7 bitmap font (1...8); `nil` picks 1 below 160 px tiles, 2 up to 639, then 3.
    public var fontScale: Int?
    /// Whether images smaller than a tile are enlarged to fill it. Default true.
    public var upscale: Bool = true
    /// JPEG quality 1...100 when ``format`` is JPEG. Default 90.
    public var jpegQuality: Int = 90
    /// zlib level 0...9 when ``format`` is PNG. Default 1: see ``ContactSheet`` for why.
    public var pngCompressionLevel: Int = 1
    /// PNG row filter when ``format`` is PNG. Default `.up`: see ``ContactSheet`` for why.
    public var pngFilter: PNGFilter = .up
    /// Threads deflating a PNG sheet file in ``ContactSheet/write(_:options:to:)`` (each band's rows cut
    /// into that many segments, see ``ParallelPNGStreamWriter``). 1...64; `nil` (default): the active cores.
    public var pngThreads: Int?
    /// The largest sheet, in pixels, that will be composed. Default 250 000 000.
    public var maxSheetPixels: Int = 250_000_000

    public init(
        columns: Int? = nil, tile: Int = 256, gap: Int = 8, margin: Int = 16,
        theme: SheetTheme = .light, captions: CaptionMode = .name, title: String? = nil, format: ImageFormat = .png
    ) {
        self.columns = columns
        self.tile = tile
        self.gap = gap
        self.margin = margin
        self.theme = theme
        self.captions = captions
        self.title = title
        self.format = format
    }
}

/// A tile whose input could not be used; the sheet shows a labelled placeholder in its place.
public struct SheetFailure: Sendable, Equatable {
    /// The item's name (``SheetSource/name``).
    public var name: String
    /// Why, in one line (the codec's own message kept).
    public var message: String
    /// The item's position in the input list.
    public var index: Int
}

/// A rendered sheet.
public struct SheetResult: Sendable {
    /// The encoded sheet.
    public var encoded: EncodedImage
    /// Sheet width in pixels.
    public var width: Int
    /// Sheet height in pixels.
    public var height: Int
    /// The grid that was drawn.
    public var layout: SheetLayout
    /// Inputs drawn as placeholders, in input order.
    public var failures: [(name: String, message: String)] { failureList.map { ($0.name, $0.message) } }
    /// Inputs drawn as placeholders, with their positions.
    public var failureList: [SheetFailure]
}

/// A sheet written to a file by ``ContactSheet/write(_:options:to:)``: what was drawn and how big the file
/// is. The encoded bytes are not kept; they are in the file.
public struct SheetFileResult: Sendable {
    /// The file written.
    public var path: String
    /// The file's format.
    public var format: ImageFormat
    /// The file's length in bytes.
    public var byteCount: Int
    /// Sheet width in pixels.
    public var width: Int
    /// Sheet height in pixels.
    public var height: Int
    /// The grid that was drawn.
    public var layout: SheetLayout
    /// Inputs drawn as placeholders, in input order.
    public var failures: [(name: String, message: String)] { failureList.map { ($0.name, $0.message) } }
    /// Inputs drawn as placeholders, with their positions.
    public var failureList: [SheetFailure]
}

/// An error that stops a sheet: bad options, nothing to draw, or an output that cannot be written.
/// A damaged input is never one of these; it becomes a placeholder and a ``SheetFailure``.
public struct SheetError: Error, Sendable, CustomStringConvertible {
    /// What kind of problem it is.
    public struct Code: Hashable, Sendable {
        fileprivate let raw: String
        /// An option is out of range (the message names it and its limit).
        public static let invalidOption = Code(raw: "invalid-option")
        /// There are no images to draw.
        public static let noInputs = Code(raw: "no-inputs")
        /// An input path does not exist or cannot be listed.
        public static let input = Code(raw: "input")
        /// The sheet would exceed ``SheetOptions/maxSheetPixels``.
        public static let tooLarge = Code(raw: "too-large")
        /// Encoding or writing the output failed.
        public static let output = Code(raw: "output")
    }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }
    public var description: String { message }
}
