import ArgumentParser
import FastBase64
import Foundation

/// `klingkit base64 FILE [-o OUT]` and `klingkit base64 --decode FILE [-o OUT]`.
///
/// Encoding writes exactly the base64 text of FILE: no `data:` prefix, no line breaks, and a trailing
/// newline only when standard output is a terminal. Decoding is strict and streams in bounded memory.
/// Output files are written atomically (temporary file + rename); on any error nothing is left behind.
struct Base64Command: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "base64",
        abstract: "Encode a file as base64 (no prefix, no line breaks), or decode base64 strictly.",
        discussion: """
            Reads FILE (or standard input for -) in bounded memory and writes to standard output, or atomically to OUT. \
            Decoding rejects any byte outside the alphabet, misplaced or missing padding and truncated input, \
            naming the byte offset, and exits 1; one line break at the very end (as `echo` and editors leave it) is \
            accepted. Kernel: the fastest this CPU supports (AVX-512 VBMI, AVX2, SSSE3, \
            NEON or scalar); set KLINGKIT_BASE64_KERNEL=scalar|ssse3|avx2|avx512vbmi|neon to cap it.
            """
    )

    @Flag(name: [.short, .long], help: "Decode base64 text to bytes instead of encoding.")
    var decode = false

    @Argument(help: "The input file, or - for standard input.", completion: .file())
    var file: String

    @Option(name: [.short, .customLong("output")], help: "Write to this file (atomically) instead of standard output.", completion: .file())
    var output: String?

    @Flag(name: .customLong("url-safe"), help: "Use the URL-safe alphabet (- and _ instead of + and /).")
    var urlSafe = false

    @Flag(name: .customLong("no-padding"), help: "Encode without '=' padding; when decoding, expect none.")
    var noPadding = false

    @Flag(name: [.short, .customLong("ignore-whitespace")], help: "Decode: skip spaces, tabs and line breaks anywhere in the input.")
    var ignoreWhitespace = false

    @Flag(name: .customLong("data-url"), help: "Decode: accept and strip a leading data:<type>;base64, prefix (its media type goes to standard error).")
    var dataURL = false

    func validate() throws {
        if !decode && ignoreWhitespace { throw ValidationError("--ignore-whitespace only applies to --decode") }
        if !decode && dataURL { throw ValidationError("--data-url only applies to --decode") }
        if file.isEmpty { throw ValidationError("FILE must not be empty (use - for standard input)") }
        if output?.isEmpty == true { throw ValidationError("-o needs a file name (or - for standard output)") }
    }

    func run() async throws {
        var options: Base64Options = []
        if urlSafe { options.insert(.urlSafe) }
        if noPadding { options.insert(.omitPadding) }
        if ignoreWhitespace { options.insert(.ignoreWhitespace) }
        let input: Base64Input = file == "-" ? .standardInput : .file(file)
        let destination: Base64Output = (output == nil || output == "-") ? .standardOutput : .file(output!)
        do {
            if decode {
                let summary = try Base64.decode(from: input, to: destination, options: options, stripDataURLPrefix: dataURL)
                if let mediaType = summary.mediaType {
                    note("klingkit: stripped data: URL prefix (media type \(mediaType))")
                }
            } else {
                try Base64.encode(from: input, to: destination, options: options)
                if destination == .standardOutput, isatty(STDOUT_FILENO) == 1 {
                    FileHandle.standardOutput.write(Data("\n".utf8))
                }
            }
        } catch let error as Base64StreamError {
            let name = file == "-" ? "<stdin>" : file
            var message = "\(name): \(error.error)"
            if error.error.code == .invalidCharacter, let byte = error.error.byte,
               byte == 0x20 || (0x09...0x0D).contains(byte) {
                message += "; pass --ignore-whitespace to skip it"
            } else if error.error.code == .invalidCharacter, error.error.offset == 4, !dataURL,
                      error.error.byte == UInt8(ascii: ":") {
                message += "; pass --data-url to strip a data: URL prefix"
            }
            throw CommandFailure(message)
        } catch let error as Base64IOError {
            throw CommandFailure(error.description)
        }
    }
}
