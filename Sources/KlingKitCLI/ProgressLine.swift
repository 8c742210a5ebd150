import Foundation
import KlingSupport
import NIOConcurrencyHelpers

/// The one progress display of the commands: a single line on standard error, redrawn in place, shown
/// only when standard error is a terminal.
///
/// Two faces share the drawing, the terminal check and the clean-up:
/// - ``batch(verb:total:minimumBatch:)``: `VERB [#####-----] done/total files, N failed, R/s, ~Ts left`,
///   redrawn at most every 0.1 s by ``update(done:failed:)``; shown for batches of `minimumBatch`+ files.
/// - ``spinner(label:enabled:)``: `| LABEL: STATUS (S s)`, redrawn every 0.2 s by its own ticker while a
///   task runs; ``setStatus(_:)`` changes the status shown.
/// - ``live(label:enabled:)``: `LABEL: TEXT`, the caller's own text (a batch run's queued / running
///   slots / done / failed / rate / ETA), redrawn at most every 0.1 s by ``show(_:)``.
final class ProgressLine: Sendable {
    private struct State {
        var shown = false
        var finished = false
        var lastDraw = Date.distantPast
        var status = "submitted"
        var ticker: Task<Void, Never>?
    }
    private enum Face { case batch(verb: String, total: Int), spinner(label: String), live(label: String) }

    private let face: Face
    private let enabled: Bool
    private let started = Date()
    private let state = NIOLockedValueBox(State())

    private init(face: Face, enabled: Bool) {
        self.face = face
        self.enabled = enabled && Display.progress && isatty(STDERR_FILENO) == 1
    }

    /// A bar for a batch of `total` files, shown when the batch has at least `minimumBatch` files.
    static func batch(verb: String, total: Int, minimumBatch: Int) -> ProgressLine {
        ProgressLine(face: .batch(verb: verb, total: total), enabled: total >= minimumBatch)
    }

    /// A spinner with a status for one running task (`enabled: false` shows nothing).
    static func spinner(label: String, enabled: Bool = true) -> ProgressLine {
        let line = ProgressLine(face: .spinner(label: label), enabled: enabled)
        guard line.enabled else { return line }
        let ticker = Task { [weak line] in
            let frames = ["|", "/", "-", "\\"]
            var i = 0
            while !Task.isCancelled {
                line?.drawSpinner(frames[i % frames.count])
                i += 1
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
        line.state.withLockedValue { $0.ticker = ticker }
        return line
    }

    /// A line showing the caller's text (`enabled: false` shows nothing).
    static func live(label: String, enabled: Bool = true) -> ProgressLine {
        ProgressLine(face: .live(label: label), enabled: enabled)
    }

    /// Live face: redraws `LABEL: TEXT` (at most every 0.1 s; `force` draws now).
    func show(_ text: String, force: Bool = false) {
        guard enabled, case .live(let label) = face else { return }
        let now = Date()
        let due = state.withLockedValue { s -> Bool in
            guard !s.finished, force || now.timeIntervalSince(s.lastDraw) >= 0.1 else { return false }
            s.lastDraw = now
            s.shown = true
            return true
        }
        if due { write("\r\(TerminalText.escaped(label)): \(TerminalText.escaped(text))\u{1B}[K") }
    }

    /// Batch face: `done` of the total finished, `failed` of them failed.
    func update(done: Int, failed: Int = 0) {
        guard enabled, case .batch(let verb, let total) = face else { return }
        let now = Date()
        let due = state.withLockedValue { s -> Bool in
            guard !s.finished, now.timeIntervalSince(s.lastDraw) >= 0.1 || done == total else { return false }
            s.lastDraw = now
            s.shown = true
            return true
        }
        guard due else { return }
        let cells = 30
        let filled = done * cells / max(total, 1)
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: cells - filled)
        let elapsed = max(now.timeIntervalSince(started), 0.001)
        let rate = Int(Double(done) / elapsed)
        let eta = done > 0 ? Int(elapsed / Double(done) * Double(total - done)) : 0
        let failedText = failed > 0 ? ", \(failed) failed" : ""
        write("\r\(verb): [\(bar)] \(done)/\(total) files\(failedText), \(rate)/s, ~\(eta)s left\u{1B}[K")
    }

    /// Spinner face: the status to show (e.g. a task's `task_status`).
    func setStatus(_ status: String) {
        state.withLockedValue { $0.status = status }
    }

    /// Erases the line (before printing a result); a batch line is drawn again by the next update.
    func clear() {
        let wasShown = state.withLockedValue { s -> Bool in
            defer { s.shown = false }
            return s.shown
        }
        if wasShown { write("\r\u{1B}[K") }
    }

    /// Stops the spinner and erases the line for good.
    func finish() {
        let ticker = state.withLockedValue { s -> Task<Void, Never>? in
            s.finished = true
            return s.ticker
        }
        ticker?.cancel()
        clear()
    }

    private func drawSpinner(_ frame: String) {
        guard case .spinner(let label) = face else { return }
        let line: String? = state.withLockedValue { s in
            guard !s.finished else { return nil }
            s.shown = true
            return "\r\(frame) \(TerminalText.escaped(label)): \(TerminalText.escaped(s.status)) (\(Int(Date().timeIntervalSince(started))) s)\u{1B}[K"
        }
        if let line { write(line) }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }
}
