#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif
import KlingSupport

/// Where a stream reads from.
public enum Base64Input: Sendable, Equatable {
    /// A file path; `-` is not special here (use ``standardInput``).
    case file(String)
    case standardInput

    var name: String {
        switch self { case .file(let path): path; case .standardInput: "<stdin>" }
    }
}

/// Where a stream writes to. Files are written atomically: a temporary file in the same directory,
/// renamed over the destination only when everything succeeded, removed on any error.
public enum Base64Output: Sendable, Equatable {
    case file(String)
    case standardOutput

    var name: String {
        switch self { case .file(let path): path; case .standardOutput: "<stdout>" }
    }
}

/// What a streaming encode or decode did.
public struct Base64StreamSummary: Sendable, Equatable {
    /// Bytes read from the input.
    public var bytesRead: Int
    /// Bytes written to the output.
    public var bytesWritten: Int
    /// The media type of a stripped `data:` prefix (decode with `stripDataURLPrefix: true`).
    public var mediaType: String?
}

/// A failed read, write, open or rename while streaming; `path` names the file.
public struct Base64IOError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var operation: String
    public var errorNumber: Int32

    public var description: String {
        "cannot \(operation) \(path): \(String(cString: strerror(errorNumber)))"
    }
}

/// A file's decoding failed; wraps the ``Base64Error`` (absolute offset in the file) with its name.
public struct Base64StreamError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var error: Base64Error
    public var description: String { "\(path): \(error)" }
}

extension Base64 {
    /// The default input chunk of streaming encode: 3 MiB (a multiple of 3 bytes).
    public static let defaultEncodeChunk = 3 << 20
    /// The default input chunk of streaming decode: 4 MiB.
    public static let defaultDecodeChunk = 4 << 20

    /// Encodes a file or standard input of any size to a file or standard output in bounded memory
    /// (one input chunk plus its encoding).
    /// - Parameters:
    ///   - chunkSize: input bytes per read, rounded down to a multiple of 3 (at least 3); default 3 MiB.
    /// - Throws: ``Base64IOError``; a file output is then left untouched (no partial file).
    @discardableResult
    public static func encode(from input: Base64Input, to output: Base64Output, options: Base64Options = [],
                              kernel: Kernel? = nil, chunkSize: Int = defaultEncodeChunk) throws -> Base64StreamSummary {
        let chunk = max(3, chunkSize - chunkSize % 3)
        let reader = try StreamReader(input)
        defer { reader.close() }
        let writer = try StreamWriter(output)
        var summary = Base64StreamSummary(bytesRead: 0, bytesWritten: 0)
        do {
            let inBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
            defer { inBuffer.deallocate() }
            let outBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: encodedLength(of: chunk, options: options), alignment: 64)
            defer { outBuffer.deallocate() }
            while true {
                let count = try reader.readFully(into: inBuffer)
                summary.bytesRead += count
                // Only a short read (end of input) can leave a partial group, so padding lands once, at the end.
                let written = encode(UnsafeRawBufferPointer(rebasing: inBuffer.prefix(count)), into: outBuffer, options: options, kernel: kernel)
                try writer.write(UnsafeRawBufferPointer(rebasing: outBuffer.prefix(written)))
                summary.bytesWritten += written
                if count < chunk { break }
            }
            try writer.commit()
        } catch {
            writer.abort()
            throw error
        }
        return summary
    }

    /// Decodes a file or standard input of any size to a file or standard output in bounded memory,
    /// strictly (see ``decode(_:options:kernel:)-(UnsafeRawBufferPointer,_,_)``).
    /// - Parameters:
    ///   - stripDataURLPrefix: accept and skip a leading `data:...;base64,` header (its media type is
    ///     returned in the summary); error offsets still count from the start of the input.
    ///   - acceptsTrailingNewline: accept one line break (`\n` or `\r\n`) at the very end of the input, as
    ///   text files and `echo` leave it; any other whitespace is still an error unless the options
    ///   allow it. Default true.
    ///   - chunkSize: input bytes per read; default 4 MiB.
    /// - Throws: ``Base64StreamError`` (invalid input, with its absolute offset) or ``Base64IOError``.
    ///   A file output is then left untouched; standard output may have received the bytes before the error.
    @discardableResult
    public static func decode(from input: Base64Input, to output: Base64Output, options: Base64Options = [],
                              kernel: Kernel? = nil, stripDataURLPrefix: Bool = false, acceptsTrailingNewline: Bool = true,
                              chunkSize: Int = defaultDecodeChunk) throws -> Base64StreamSummary {
        let chunk = max(maxDataURLHeader, chunkSize)
        // The last two bytes of each read are held back until the next one, so a final line break can be
        // recognised at the end of the input even when it arrives in a read of its own.
        let held = acceptsTrailingNewline ? 2 : 0
        let reader = try StreamReader(input)
        defer { reader.close() }
        let writer = try StreamWriter(output)
        var summary = Base64StreamSummary(bytesRead: 0, bytesWritten: 0)
        do {
            let inBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk + held, alignment: 64)
            defer { inBuffer.deallocate() }
            let outBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: maxDecodedLength(of: chunk + held + 4), alignment: 64)
            defer { outBuffer.deallocate() }
            var decoder = Base64StreamDecoder(options: options, kernel: kernel)
            var first = true
            var skip = 0
            var carried = 0   // held-back bytes at the start of inBuffer
            while true {
                let count = try reader.readFully(into: UnsafeMutableRawBufferPointer(rebasing: inBuffer[carried..<(carried + chunk)]))
                summary.bytesRead += count
                let atEnd = count < chunk
                var available = carried + count
                if atEnd && acceptsTrailingNewline {
                    if available >= 1, inBuffer[available - 1] == UInt8(ascii: "\n") {
                        available -= 1
                        if available >= 1, inBuffer[available - 1] == UInt8(ascii: "\r") { available -= 1 }
                    }
                }
                let keep = atEnd ? 0 : min(held, available)
                var text = UnsafeRawBufferPointer(rebasing: inBuffer.prefix(available - keep))
                if first {
                    first = false
                    if stripDataURLPrefix, let (start, mediaType) = parseDataURLHeader(text.prefix(maxDataURLHeader)) {
                        skip = start
                        summary.mediaType = mediaType
                        text = UnsafeRawBufferPointer(rebasing: text.dropFirst(start))
                    }
                }
                let written: Int
                do {
                    written = try decoder.decode(text, into: outBuffer)
                } catch let error as Base64Error {
                    throw Base64StreamError(path: input.name, error: error.shifted(by: skip))
                }
                try writer.write(UnsafeRawBufferPointer(rebasing: outBuffer.prefix(written)))
                summary.bytesWritten += written
                if atEnd { break }
                // The held-back bytes move to the front for the next read.
                if keep > 0 {
                    UnsafeMutableRawBufferPointer(rebasing: inBuffer.prefix(keep))
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: inBuffer[(available - keep)..<available]))
                }
                carried = keep
            }
            do {
                let tail = try decoder.finish()
                try tail.withUnsafeBytes { try writer.write($0) }
                summary.bytesWritten += tail.count
            } catch let error as Base64Error {
                throw Base64StreamError(path: input.name, error: error.shifted(by: skip))
            }
            try writer.commit()
        } catch {
            writer.abort()
            throw error
        }
        return summary
    }
}

extension Base64Error {
    fileprivate func shifted(by delta: Int) -> Base64Error {
        var copy = self
        copy.offset += delta
        return copy
    }
}

// MARK: - POSIX plumbing

/// Reads a file descriptor in full chunks, retrying short reads and EINTR.
final class StreamReader {
    let fd: Int32
    let name: String
    let owned: Bool

    init(_ input: Base64Input) throws {
        name = input.name
        switch input {
        case .standardInput:
            fd = 0
            owned = false
        case .file(let path):
            fd = open(path, O_RDONLY | O_CLOEXEC)
            owned = true
            if fd < 0 { throw Base64IOError(path: path, operation: "open", errorNumber: errno) }
            var info = stat()
            if fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
                posixClose(fd)
                throw Base64IOError(path: path, operation: "read", errorNumber: EISDIR)
            }
        }
    }

    /// Fills `buffer` unless the input ends first; returns the bytes read.
    func readFully(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = read(fd, buffer.baseAddress! + total, buffer.count - total)
            if n > 0 {
                total += n
            } else if n == 0 {
                break
            } else if errno != EINTR {
                throw Base64IOError(path: name, operation: "read", errorNumber: errno)
            }
        }
        return total
    }

    func close() {
        if owned { posixClose(fd) }
    }
}

/// Writes to standard output, or atomically to a file through ``AtomicOutputFile``.
final class StreamWriter {
    private let file: AtomicOutputFile?
    private let destination: String

    init(_ output: Base64Output) throws {
        switch output {
        case .standardOutput:
            file = nil
            destination = "<stdout>"
        case .file(let path):
            destination = path
            do { file = try AtomicOutputFile(path: path) } catch {
                throw Base64IOError(path: path, operation: "create a temporary file for", errorNumber: error.errorNumber ?? EISDIR)
            }
        }
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        if let file {
            do { try file.append(bytes) } catch {
                throw Base64IOError(path: destination, operation: "write", errorNumber: error.errorNumber ?? EBADF)
            }
            return
        }
        var offset = 0
        while offset < bytes.count {
            let n = posixWrite(1, bytes.baseAddress! + offset, bytes.count - offset)
            if n >= 0 {
                offset += n
            } else if errno != EINTR {
                throw Base64IOError(path: destination, operation: "write", errorNumber: errno)
            }
        }
    }

    /// Flushes and renames the temporary file over the destination.
    func commit() throws {
        guard let file else { return }
        do { try file.commit() } catch {
            let operation = error.code == .rename ? "rename a temporary file to" : "write"
            throw Base64IOError(path: destination, operation: operation, errorNumber: error.errorNumber ?? EBADF)
        }
    }

    /// Discards a file output: closes and removes the temporary file. Idempotent.
    func abort() { file?.discard() }
}

@inline(__always) private func posixClose(_ fd: Int32) { _ = close(fd) }
@inline(__always) private func posixWrite(_ fd: Int32, _ pointer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, pointer, count)
}
