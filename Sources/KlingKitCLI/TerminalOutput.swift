import Foundation
import KlingSupport

// The two ways a command prints a line. Both pass the text through `TerminalText.escaped`, because the
// lines carry file names and server messages: a newline in a name must not split a `check` line, and an
// escape sequence in `task_status_msg` must not reach the terminal. (JSON lines are escaped by their
// encoder and must not be escaped again; progress lines escape what they embed and keep their own `\r` and erase codes.)

/// A line on standard output, written at once (unbuffered, like every stdout line of the CLI, so lines
/// and the progress display on standard error keep their order on a terminal and in a pipe).
func output(_ text: String) {
    FileHandle.standardOutput.write(Data((TerminalText.escaped(text) + "\n").utf8))
}

/// A line on standard error.
func note(_ text: String) {
    FileHandle.standardError.write(Data((TerminalText.escaped(text) + "\n").utf8))
}
