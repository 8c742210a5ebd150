import KlingSupport
import Testing

@Suite("TerminalText")
struct TerminalTextTests {
    @Test("ordinary text, non-Latin names and emoji are unchanged", arguments: [
        "photo.jpg", "Fotos/Über uns/Straße.png", "写真 01.heic", "😀 café.webp", #"C:\odd\name.png"#, "",
    ])
    func unchanged(text: String) {
        #expect(TerminalText.escaped(text) == text)
    }

    @Test("every control character, DEL, C1 and the bidi overrides become visible escapes")
    func escapes() {
        #expect(TerminalText.escaped("a\nb\rc\td") == "a\\nb\\rc\td")   // the tab stays: TSV output uses it
        #expect(TerminalText.escaped("\u{1B}[31mred\u{1B}[0m") == #"\x1B[31mred\x1B[0m"#)
        #expect(TerminalText.escaped("\u{00}\u{07}\u{7F}\u{85}\u{9B}") == #"\x00\x07\x7F\x85\x9B"#)
        #expect(TerminalText.escaped("abc\u{202E}gpj.exe\u{2066}x\u{2069}") == #"abc\u{202E}gpj.exe\u{2066}x\u{2069}"#)
        // Escaped text never holds a control character, whatever went in.
        let all = String(String.UnicodeScalarView((0..<0x2100).compactMap(Unicode.Scalar.init)))
        let escaped = TerminalText.escaped(all)
        #expect(!escaped.unicodeScalars.contains { ($0.value < 0x20 && $0 != "\t") || (0x7F...0x9F).contains($0.value) || (0x202A...0x202E).contains($0.value) || (0x2066...0x2069).contains($0.value) })
    }
}
