import ArgumentParser
import Foundation

/// `-` as an input (`check -`, `prepare -`): standard input, read whole before any work starts (it can
/// be read only once, and a blocking read must not hold a thread of the concurrency pool later).
enum StandardInput {
    /// The argument that names it.
    static let argument = "-"
    /// How it is named in output lines.
    static let name = "<stdin>"

    /// All of standard input, at most `limit` bytes.
    /// - Throws: ``CommandFailure`` (exit 1) when it is longer or cannot be read.
    static func read(limit: Int) throws -> [UInt8] {
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = buffer.withUnsafeMutableBytes { Foundation.read(STDIN_FILENO, $0.baseAddress, $0.count) }
            if n == 0 { return bytes }
            if n < 0 {
                if errno == EINTR { continue }
                throw CommandFailure("\(name): cannot read standard input: \(String(cString: strerror(errno)))")
            }
            guard bytes.count + n <= limit else {
                throw CommandFailure("\(name): more than \(limit) bytes on standard input; pass a file instead")
            }
            bytes.append(contentsOf: buffer[0..<n])
        }
    }

    /// Refuses `-` given twice (standard input holds one image).
    static func checkUsedOnce(_ arguments: [String]) throws {
        if arguments.filter({ $0 == argument }).count > 1 {
            throw ValidationError("- (standard input) can be given once")
        }
    }
}

/// `--out -` (`prepare`, `sheet`): an image on standard output.
enum StandardOutput {
    /// Refuses a terminal as the destination: image bytes would garble it (pipe or redirect instead).
    /// - Throws: `ValidationError` (exit 2) naming the option.
    static func checkNotTerminal() throws {
        if isatty(STDOUT_FILENO) == 1 {
            throw ValidationError("--out - writes image bytes to standard output, which is a terminal; redirect it (> FILE) or pipe it")
        }
    }
}
