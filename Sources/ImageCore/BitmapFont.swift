import Foundation

/// The project's embedded bitmap font (contact-sheet captions, the emulator's result images): printable ASCII drawn on a 5×9 grid (5×7 body, capitals 7 rows high,
/// lower case 5, two rows below the baseline for descenders), plus an ellipsis and a box for anything
/// else. Drawn for this project; no system font or FreeType is involved.
///
/// A glyph advances ``advance`` columns (5 + 1 spacing) and a line is ``lineHeight`` rows (9 + 2 leading),
/// both multiplied by the integer drawing scale.
public enum BitmapFont {
    /// Glyph width in font pixels.
    public static let glyphWidth = 5
    /// Glyph height in font pixels (7 above the baseline, 2 below).
    public static let glyphHeight = 9
    /// Horizontal advance per character in font pixels.
    public static let advance = 6
    /// Line pitch in font pixels.
    public static let lineHeight = 11

    /// One glyph: bit 4 of each row is the leftmost column, 9 rows top to bottom.
    public struct Glyph: Sendable { public let rows: [UInt8] }

    /// Printable ASCII 0x20...0x7E, indexed by code − 0x20.
    public static let ascii: [Glyph] = {
        var glyphs = [Glyph](repeating: Glyph(rows: []), count: 95)
        for line in artwork.split(separator: "\n") where !line.isEmpty {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            let key = fields[0]
            let code: Int
            switch key {
            case "SP": code = 0x20
            case "ELLIPSIS", "BOX": continue
            default: code = Int(key.unicodeScalars.first!.value)
            }
            glyphs[code - 0x20] = parse(fields.dropFirst())
        }
        return glyphs
    }()

    /// "…", used where a caption is truncated.
    public static let ellipsis: Glyph = named("ELLIPSIS")
    /// Drawn for any character outside printable ASCII that has no ASCII base letter.
    public static let fallback: Glyph = named("BOX")

    private static func named(_ name: String) -> Glyph {
        for line in artwork.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.first.map(String.init) == name { return parse(fields.dropFirst()) }
        }
        preconditionFailure("glyph \(name) missing from the font artwork")
    }

    private static func parse(_ rows: ArraySlice<Substring>) -> Glyph {
        precondition(rows.count == 7 || rows.count == 9, "a glyph has 7 or 9 rows")
        var bits: [UInt8] = rows.map { row in
            precondition(row.count == glyphWidth)
            var value: UInt8 = 0
            for character in row { value = value << 1 | (character == "#" ? 1 : 0) }
            return value
        }
        while bits.count < glyphHeight { bits.append(0) }
        return Glyph(rows: bits)
    }

    /// The glyph for a character: ASCII directly, accented Latin letters by their base letter
    /// (canonical decomposition, so "é" draws as "e"), tab as space, anything else as a box.
    public static func glyph(for character: Character) -> Glyph {
        if let ascii = character.asciiValue {
            if ascii == 0x09 { return Self.ascii[0] }
            if (0x20...0x7E).contains(ascii) { return Self.ascii[Int(ascii) - 0x20] }
            return fallback
        }
        if character == "…" { return ellipsis }
        let decomposed = String(character).decomposedStringWithCanonicalMapping.unicodeScalars
        if let base = decomposed.first, base.isASCII, (0x20...0x7E).contains(base.value) {
            return Self.ascii[Int(base.value) - 0x20]
        }
        return fallback
    }

    /// Width in pixels of `text` drawn at `scale` (no trailing spacing).
    public static func width(of text: String, scale: Int) -> Int {
        let count = text.count
        return count == 0 ? 0 : (count * advance - 1) * scale
    }

    /// `text` shortened so it draws within `maxWidth` pixels at `scale`, ending in "…" when cut.
    /// Control characters become spaces. Returns "" when not even the ellipsis fits.
    public static func truncate(_ text: String, toWidth maxWidth: Int, scale: Int) -> String {
        let cleaned = String(text.map { $0.isNewline || ($0.asciiValue.map { $0 < 0x20 || $0 == 0x7F } ?? false) ? " " : $0 })
        let capacity = (maxWidth / scale + 1) / advance  // characters that fit
        if cleaned.count <= capacity { return cleaned }
        guard capacity >= 1 else { return "" }
        var kept = String(cleaned.prefix(capacity - 1))
        while kept.last == " " { kept.removeLast() }
        return kept + "…"
    }
}

extension BitmapFont {
    /// `text` shortened in the middle so it draws within `maxWidth` pixels at `scale`: the start and the end
    /// stay ("861204711…3556352 #0", "jpegdec_16b…tables.jpg"), because a file's extension and a task's index
    /// tell tiles apart. Returns "" when not even the ellipsis fits.
    public static func truncateMiddle(_ text: String, toWidth maxWidth: Int, scale: Int) -> String {
        let cleaned = truncate(text, toWidth: Int.max / 2, scale: 1)  // same control-character clean-up
        let capacity = (maxWidth / scale + 1) / advance
        if cleaned.count <= capacity { return cleaned }
        guard capacity >= 1 else { return "" }
        let tail = capacity / 2
        let head = capacity - 1 - tail
        return String(cleaned.prefix(head)) + "…" + String(cleaned.suffix(tail))
    }
}

// The artwork: a glyph name (the character itself, SP for space) then 7 rows of 5 columns, or 9 rows for
// glyphs that reach below the baseline. '#' is ink.
private let artwork = """
SP ..... ..... ..... ..... ..... ..... .....
! ..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..
" .#.#. .#.#. .#.#. ..... ..... ..... .....
# .#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.
$ ..#.. .#### #.#.. .###. ..#.# ####. ..#..
% ##... ##..# ...#. ..#.. .#... #..## ...##
& .##.. #..#. #.#.. .#... #.#.# #..#. .##.#
' ..#.. ..#.. .#... ..... ..... ..... .....
( ...#. ..#.. .#... .#... .#... ..#.. ...#.
) .#... ..#.. ...#. ...#. ...#. ..#.. .#...
* ..... ..#.. #.#.# .###. #.#.# ..#.. .....
+ ..... ..#.. ..#.. ##### ..#.. ..#.. .....
, ..... ..... ..... ..... ..... .##.. .##.. ..#.. .#...
- ..... ..... ..... .###. ..... ..... .....
. ..... ..... ..... ..... ..... .##.. .##..
/ ..... ....# ...#. ..#.. .#... #.... .....
0 .###. #...# #..## #.#.# ##..# #...# .###.
1 ..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.
2 .###. #...# ....# ...#. ..#.. .#... #####
3 ##### ...#. ..#.. ...#. ....# #...# .###.
4 ...#. ..##. .#.#. #..#. ##### ...#. ...#.
5 ##### #.... ####. ....# ....# #...# .###.
6 ..##. .#... #.... ####. #...# #...# .###.
7 ##### ....# ...#. ..#.. .#... .#... .#...
8 .###. #...# #...# .###. #...# #...# .###.
9 .###. #...# #...# .#### ....# ...#. .##..
: ..... .##.. .##.. ..... .##.. .##.. .....
; ..... .##.. .##.. ..... ..... .##.. .##.. ..#.. .#...
< ...#. ..#.. .#... #.... .#... ..#.. ...#.
= ..... ..... ##### ..... ##### ..... .....
> .#... ..#.. ...#. ....# ...#. ..#.. .#...
? .###. #...# ....# ...#. ..#.. ..... ..#..
@ .###. #...# ....# .##.# #.#.# #.#.# .###.
A .###. #...# #...# ##### #...# #...# #...#
B ####. #...# #...# ####. #...# #...# ####.
C .###. #...# #.... #.... #.... #...# .###.
D ###.. #..#. #...# #...# #...# #..#. ###..
E ##### #.... #.... ####. #.... #.... #####
F ##### #.... #.... ####. #.... #.... #....
G .###. #...# #.... #.### #...# #...# .####
H #...# #...# #...# ##### #...# #...# #...#
I .###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.
J ..### ...#. ...#. ...#. ...#. #..#. .##..
K #...# #..#. #.#.. ##... #.#.. #..#. #...#
L #.... #.... #.... #.... #.... #.... #####
M #...# ##.## #.#.# #.#.# #...# #...# #...#
N #...# #...# ##..# #.#.# #..## #...# #...#
O .###. #...# #...# #...# #...# #...# .###.
P ####. #...# #...# ####. #.... #.... #....
Q .###. #...# #...# #...# #.#.# #..#. .##.#
R ####. #...# #...# ####. #.#.. #..#. #...#
S .#### #.... #.... .###. ....# ....# ####.
T ##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..
U #...# #...# #...# #...# #...# #...# .###.
V #...# #...# #...# #...# #...# .#.#. ..#..
W #...# #...# #...# #.#.# #.#.# #.#.# .#.#.
X #...# #...# .#.#. ..#.. .#.#. #...# #...#
Y #...# #...# .#.#. ..#.. ..#.. ..#.. ..#..
Z ##### ....# ...#. ..#.. .#... #.... #####
[ .###. .#... .#... .#... .#... .#... .###.
\\ ..... #.... .#... ..#.. ...#. ....# .....
] .###. ...#. ...#. ...#. ...#. ...#. .###.
^ ..#.. .#.#. #...# ..... ..... ..... .....
_ ..... ..... ..... ..... ..... ..... ..... ##### .....
` .#... ..#.. ...#. ..... ..... ..... .....
a ..... ..... .###. ....# .#### #...# .####
b #.... #.... #.##. ##..# #...# #...# ####.
c ..... ..... .###. #.... #.... #...# .###.
d ....# ....# .##.# #..## #...# #...# .####
e ..... ..... .###. #...# ##### #.... .###.
f ..##. .#..# .#... ###.. .#... .#... .#...
g ..... ..... .#### #...# #...# #...# .#### ....# .###.
h #.... #.... #.##. ##..# #...# #...# #...#
i ..#.. ..... .##.. ..#.. ..#.. ..#.. .###.
j ...#. ..... ..##. ...#. ...#. ...#. ...#. #..#. .##..
k #.... #.... #..#. #.#.. ##... #.#.. #..#.
l .##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.
m ..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#
n ..... ..... #.##. ##..# #...# #...# #...#
o ..... ..... .###. #...# #...# #...# .###.
p ..... ..... ####. #...# #...# #...# ####. #.... #....
q ..... ..... .#### #...# #...# #...# .#### ....# ....#
r ..... ..... #.##. ##..# #.... #.... #....
s ..... ..... .#### #.... .###. ....# ####.
t .#... .#... ###.. .#... .#... .#..# ..##.
u ..... ..... #...# #...# #...# #..## .##.#
v ..... ..... #...# #...# #...# .#.#. ..#..
w ..... ..... #...# #...# #.#.# #.#.# .#.#.
x ..... ..... #...# .#.#. ..#.. .#.#. #...#
y ..... ..... #...# #...# #...# #...# .#### ....# .###.
z ..... ..... ##### ...#. ..#.. .#... #####
{ ...#. ..#.. ..#.. .#... ..#.. ..#.. ...#.
| ..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..
} .#... ..#.. ..#.. ...#. ..#.. ..#.. .#...
~ ..... ..... .#... #.#.# ...#. ..... .....
ELLIPSIS ..... ..... ..... ..... ..... ..... #.#.#
BOX ##### #...# #...# #...# #...# #...# #####
"""
