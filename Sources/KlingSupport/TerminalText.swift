/// Text from outside the program (file names, server messages, task ids from a response) made safe to
/// print as part of one terminal line.
///
/// A file may be named `a\nb.png` or `\u{1B}[2Jx.jpg`, and a hostile server may put escape sequences in
/// `task_status_msg`: printed raw, the first splits a `check` line in two and the second drives the
/// terminal. Every control character (C0, DEL, C1) but the tab becomes a visible escape: `\n`, `\r`, otherwise
/// `\xHH` for a byte-sized scalar (the tab stays: it neither splits a line nor drives the terminal, and
/// the tab-separated outputs of `list` and `batch status` use it); Unicode's bidirectional overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069), which reorder what is shown, become `\u{HHHH}`. Everything else is kept as is, so
/// ordinary names, including non-Latin ones, print unchanged. (The convention is GNU `ls
/// --quoting-style=escape`'s, without its backslash doubling: a path with a backslash still reads as typed.)
public enum TerminalText {
    /// `text` with every character that could split the line or control the terminal made visible.
    public static func escaped(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard needsEscape(scalar) else {
                out.append(scalar)
                continue
            }
            let visible: String
            switch scalar {
            case "\n": visible = "\\n"
            case "\r": visible = "\\r"
            default:
                let hex = String(scalar.value, radix: 16, uppercase: true)
                visible = scalar.value <= 0xFF
                    ? "\\x" + String(repeating: "0", count: 2 - hex.count) + hex
                    : "\\u{" + hex + "}"
            }
            out.append(contentsOf: visible.unicodeScalars)
        }
        return String(out)
    }

    private static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09: false
        case 0x00...0x1F, 0x7F...0x9F, 0x202A...0x202E, 0x2066...0x2069: true
        default: false
        }
    }
}
