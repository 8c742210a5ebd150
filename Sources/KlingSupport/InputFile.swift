#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An input file opened for reading the one safe way for every command: opened without blocking, then
/// refused unless it is a regular file. Opening a FIFO for reading waits for a writer forever, and a
/// device (`/dev/zero`, `/proc/self/mem`) never ends or fails mid-read; refusing them from `fstat` makes
/// `check`, `prepare` and `sheet` answer one line instead of hanging.
public struct InputFile: ~Copyable {
    /// The open descriptor (blocking mode restored); closed when this value ends.
    public let descriptor: Int32
    /// The file's size in bytes, from `fstat`.
    public let size: Int

    /// Why an input cannot be read, in one line (`not a regular file (a FIFO)`, the system's reason).
    public struct Failure: Error, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { message }
    }

    /// Opens `path` for reading.
    /// - Throws: ``Failure`` when it cannot be opened or is not a regular file (directory, FIFO, socket,
    ///   device), naming which.
    public init(path: String) throws(Failure) {
        let fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { throw Failure(message: "cannot open: \(String(cString: strerror(errno)))") }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw Failure(message: "cannot stat: \(reason)")
        }
        let type = info.st_mode & S_IFMT
        guard type == S_IFREG else {
            close(fd)
            let kind = switch type {
            case S_IFDIR: "a directory"
            case S_IFIFO: "a FIFO or pipe"
            case S_IFSOCK: "a socket"
            case S_IFCHR, S_IFBLK: "a device"
            default: "not a file"
            }
            throw Failure(message: "not a regular file (\(kind))")
        }
        // Back to blocking reads: O_NONBLOCK was only for the open.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        descriptor = fd
        size = Int(info.st_size)
    }

    deinit { close(descriptor) }

    /// Reads `count` bytes from `offset` (fewer when the file ends first; retries `EINTR`).
    /// - Throws: ``Failure`` with the system's reason.
    public func read(from offset: Int, count: Int) throws(Failure) -> [UInt8] {
        try Self.read(descriptor: descriptor, from: offset, count: count)
    }

    /// Reads `count` bytes at `offset` of an open descriptor (fewer when the file ends first).
    public static func read(descriptor: Int32, from offset: Int, count: Int) throws(Failure) -> [UInt8] {
        var failure: Failure?
        // Written straight into uninitialised storage: no zero fill of a buffer about to be overwritten.
        let bytes = [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var done = 0
            while done < count {
                let n = pread(descriptor, buffer.baseAddress! + done, count - done, off_t(offset + done))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = Failure(message: "cannot read: \(String(cString: strerror(errno)))")
                    break
                }
                if n == 0 { break }
                done += n
            }
            initialized = done
        }
        if let failure { throw failure }
        return bytes
    }
}
