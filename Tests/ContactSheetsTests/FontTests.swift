import Testing
@testable import ContactSheets
import ImageCore

@Suite("Embedded bitmap font")
struct FontTests {
    @Test("every printable ASCII character has its own glyph; only space is blank")
    func asciiGlyphs() {
        var seen: [[UInt8]: Character] = [:]
        for code in 0x20...0x7E {
            let character = Character(Unicode.Scalar(UInt8(code)))
            let glyph = BitmapFont.glyph(for: character)
            #expect(glyph.rows.count == BitmapFont.glyphHeight)
            #expect(glyph.rows.allSatisfy { $0 < 32 }, "glyph \(character) is wider than 5 columns")
            if code == 0x20 {
                #expect(glyph.rows.allSatisfy { $0 == 0 })
                continue
            }
            #expect(glyph.rows.contains { $0 != 0 }, "glyph \(character) is blank")
            if let other = seen[glyph.rows] { Issue.record("\(character) and \(other) share a glyph") }
            seen[glyph.rows] = character
        }
    }

    @Test("descenders reach below the baseline; capitals do not")
    func descenders() {
        for c: Character in ["g", "j", "p", "q", "y"] {
            #expect(BitmapFont.glyph(for: c).rows[7] != 0, "\(c) has no descender")
        }
        for c: Character in ["A", "Z", "a", "x", "0"] {
            #expect(BitmapFont.glyph(for: c).rows[7...].allSatisfy { $0 == 0 })
        }
    }

    @Test("accented letters draw as their base letter; other characters as a box")
    func fallback() {
        #expect(BitmapFont.glyph(for: "é").rows == BitmapFont.glyph(for: "e").rows)
        #expect(BitmapFont.glyph(for: "Ö").rows == BitmapFont.glyph(for: "O").rows)
        #expect(BitmapFont.glyph(for: "狐").rows == BitmapFont.fallback.rows)
        #expect(BitmapFont.glyph(for: "🦊").rows == BitmapFont.fallback.rows)
        #expect(BitmapFont.fallback.rows != BitmapFont.glyph(for: "O").rows)
    }

    @Test("truncation keeps text within the width and ends in an ellipsis")
    func truncation() {
        // 5 characters at scale 2 need (5·6 − 1)·2 = 58 px.
        #expect(BitmapFont.width(of: "hello", scale: 2) == 58)
        #expect(BitmapFont.truncate("hello", toWidth: 58, scale: 2) == "hello")
        #expect(BitmapFont.truncate("hello!", toWidth: 58, scale: 2) == "hell…")
        #expect(BitmapFont.truncate("ab cdef", toWidth: 4 * 6 - 1, scale: 1) == "ab…")
        #expect(BitmapFont.truncate("x", toWidth: 3, scale: 1) == "")
        #expect(BitmapFont.truncate("a\nb", toWidth: 100, scale: 1) == "a b")
        for width in [1, 10, 57, 58, 100, 333] {
            let text = BitmapFont.truncate(String(repeating: "W", count: 80), toWidth: width, scale: 2)
            #expect(BitmapFont.width(of: text, scale: 2) <= width)
        }
    }

    @Test("captions are shortened in the middle, keeping the extension or the index")
    func middle() {
        // 20 characters fit in (20·6 − 1) px at scale 1.
        #expect(BitmapFont.truncateMiddle("861204711923556352 #0", toWidth: 119, scale: 1) == "861204711…3556352 #0")
        #expect(BitmapFont.truncateMiddle("short.png", toWidth: 119, scale: 1) == "short.png")
        #expect(BitmapFont.truncateMiddle("abcdef", toWidth: 5, scale: 1) == "…")
        #expect(BitmapFont.truncateMiddle("abcdef", toWidth: 4, scale: 1) == "")
        for width in [6, 50, 119, 200] {
            let text = BitmapFont.truncateMiddle(String(repeating: "x", count: 60) + ".png", toWidth: width, scale: 1)
            #expect(BitmapFont.width(of: text, scale: 1) <= width)
        }
    }

    @Test("word wrap for placeholder labels")
    func wrap() {
        let lines = ContactSheet.wrap("Premature end of JPEG file while reading scan data", width: 6 * 12 - 1, scale: 1, maxLines: 3)
        #expect(lines.count == 3)
        #expect(lines.allSatisfy { $0.count <= 12 })
        #expect(lines.last?.hasSuffix("…") == true)
        #expect(ContactSheet.wrap("short", width: 100, scale: 1, maxLines: 3) == ["short"])
    }
}
