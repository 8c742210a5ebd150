import Foundation

/// A one-line progress display on standard error for a batch of files:
/// `VERB [#####-----] done/total files, N failed, R/s, ~Ts left`.
///
/// Shown only when standard error is a terminal and the batch has at least `minimumBatch` files;
/// redrawn at most every 0.1 s. The caller serialises calls (results are printed from one place).
final class BatchProgress: @unchecked Sendable {
    private let verb: String
    private let total: Int
    private let enabled: Bool
    private var shown = false
    private var last = Date.distantPast
    private let started = Date()

    init(verb: String, total: Int, minimumBatch: Int) {
        self.verb = verb
        self.total = total
        enabled = total >= minimumBatch && isatty(STDERR_FILENO) == 1
    }

    func update(done: Int, failed: Int = 0) {
        guard enabled else { return }
        let now = Date()
        guard now.timeIntervalSince(last) >= 0.1 || done == total else { return }
        last = now
        let cells = 30
        let filled = done * cells / max(total, 1)
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: cells - filled)
        let elapsed = max(now.timeIntervalSince(started), 0.001)
        let rate = Int(Double(done) / elapsed)
        let eta = done > 0 ? Int(elapsed / Double(done) * Double(total - done)) : 0
        let failedText = failed > 0 ? ", \(failed) failed" : ""
        FileHandle.standardError.write(Data(
            "\r\(verb): [\(bar)] \(done)/\(total) files\(failedText), \(rate)/s, ~\(eta)s left\u{1B}[K".utf8))
        shown = true
    }

    /// Erases the line (before printing a result, and at the end).
    func clear() {
        guard shown else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        shown = false
    }
}
