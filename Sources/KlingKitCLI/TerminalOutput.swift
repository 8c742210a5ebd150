import ArgumentParser
import Foundation
import KlingSupport
import NIOConcurrencyHelpers

// The two ways a command prints a line. Both pass the text through `TerminalText.escaped`, because the
// lines carry file names and server messages: a newline in a name must not split a `check` line, and an
// escape sequence in `task_status_msg` must not reach the terminal. (JSON lines are escaped by their
// encoder and must not be escaped again; progress lines escape what they embed and keep their own `\r` and erase codes.)

/// A line on standard output, written at once (unbuffered, like every stdout line of the CLI, so lines
/// and the progress display on standard error keep their order on a terminal and in a pipe).
func output(_ text: String) {
    FileHandle.standardOutput.write(Data((TerminalText.escaped(text) + "\n").utf8))
}

/// A line that is already JSON on standard output, written as is: its encoder escaped it (escaping it
/// again would break it).
func outputJSON(_ json: String) {
    FileHandle.standardOutput.write(Data((json + "\n").utf8))
}

/// A line on standard error.
func note(_ text: String) {
    FileHandle.standardError.write(Data((TerminalText.escaped(text) + "\n").utf8))
}

/// `--quiet` and `--no-progress`, shared by the commands that work through many files or wait on tasks.
struct DisplayOptions: ParsableArguments {
    @Flag(name: [.short, .long], help: "Print only results and errors: no progress line, no summary, no notices.")
    var quiet = false

    @Flag(name: .customLong("no-progress"), help: "No progress line on standard error (it is shown only on a terminal anyway).")
    var noProgress = false

    /// Makes the choice process-wide (``ProgressLine`` and ``notice(_:)`` read it); call first in `run()`.
    func apply() {
        Display.settings.withLockedValue { $0 = (progress: !(quiet || noProgress), notices: !quiet) }
    }
}

/// What the commands show beside their results (set once by ``DisplayOptions/apply()``).
enum Display {
    static let settings = NIOLockedValueBox((progress: true, notices: true))
    static var progress: Bool { settings.withLockedValue { $0.progress } }
    static var notices: Bool { settings.withLockedValue { $0.notices } }
}

/// A line on standard error that `--quiet` silences (summaries, notices); errors use ``note(_:)``.
func notice(_ text: String) {
    if Display.notices { note(text) }
}

/// One line summing up a batch: `520 checked: 312 valid, 208 invalid (min-dimension 120, aspect-ratio 64)`,
/// rules by how many files broke them, most first.
func batchSummary(verb: String, total: Int, good: Int, goodWord: String, badWord: String, rules: [String: Int]) -> String {
    var line = "\(total) \(verb): \(good) \(goodWord), \(total - good) \(badWord)"
    if !rules.isEmpty {
        let parts = rules.sorted { ($0.value, $1.key) > ($1.value, $0.key) }.map { "\($0.key) \($0.value)" }
        line += " (" + parts.joined(separator: ", ") + ")"
    }
    return line
}
