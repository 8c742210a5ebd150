#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A file written atomically: bytes go to a temporary file beside the destination, which ``commit()``
/// flushes to disk (`fsync`) and renames over the destination. Until then the destination keeps its old
/// content (or stays absent); ``discard()``, or dropping the object uncommitted, removes the temporary file.
///
/// Every module that writes an output file (codecs, base64 streams, prepare, sheets, the client's
/// downloads and journal, the commands) goes through this type, usually through
/// ``write(_:to:permissions:syncDirectory:)``.
public final class AtomicOutputFile {
    /// The destination path.
    public let path: String
    /// The temporary file being written (`.NAME.tmp-PID-RANDOM` in the same directory).
    public let temporaryPath: String
    /// The open descriptor of the temporary file, or -1 once committed or discarded.
    public private(set) var descriptor: Int32

    /// Creates the temporary file with `permissions` (default 0666) less the umask, like any new file.
    /// - Throws: ``FileWriteError`` (`.notAFile`, `.isDirectory`, `.create`) naming `path`.
    public init(path: String, permissions: mode_t = 0o666) throws(FileWriteError) {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw FileWriteError(.notAFile, path: path, "cannot write \(path): not a file name") }
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw FileWriteError(.isDirectory, path: path, "cannot write \(path): it is a directory")
        }
        temporaryPath = directory + "/." + name + ".tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        guard descriptor >= 0 else { throw FileWriteError.system(.create, path, errno) }
    }

    deinit { discard() }

    /// Flushes the temporary file to disk, closes it and renames it to ``path``.
    /// - Throws: ``FileWriteError`` (`.sync`, `.rename`, `.closed`) with the system's reason; the
    ///   temporary file is removed then.
    public func commit() throws(FileWriteError) {
        guard descriptor >= 0 else { throw FileWriteError(.closed, path: path, "cannot write \(path): the output was already closed") }
        if fsync(descriptor) != 0 {
            let code = errno
            discard()
            throw FileWriteError.system(.sync, path, code)
        }
        let closed = close(descriptor)
        descriptor = -1
        if closed != 0 {
            let code = errno
            unlink(temporaryPath)
            throw FileWriteError.system(.sync, path, code)
        }
        if rename(temporaryPath, path) != 0 {
            let code = errno
            unlink(temporaryPath)
            throw FileWriteError.system(.rename, path, code)
        }
    }

    /// Closes and removes the temporary file; the destination is untouched. Safe to call twice.
    public func discard() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(temporaryPath)
    }

    /// Writes all of `bytes` to the temporary file (retrying short writes and `EINTR`).
    /// - Throws: ``FileWriteError`` `.write` with the system's reason; the temporary file is removed then.
    public func append(_ bytes: UnsafeRawBufferPointer) throws(FileWriteError) {
        guard descriptor >= 0 else { throw FileWriteError(.closed, path: path, "cannot write \(path): the output was already closed") }
        var offset = 0
        while offset < bytes.count {
            let n = systemWrite(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                discard()
                throw FileWriteError.system(.write, path, code)
            }
            offset += n
        }
    }

    /// Writes `bytes` to `path` atomically and durably: temporary file, `fsync`, rename, and with
    /// `syncDirectory` an `fsync` of the directory too, so the new name survives a crash.
    /// - Parameters:
    ///   - permissions: mode of a new file, less the umask. Default 0644.
    ///   - syncDirectory: also flush the directory entry. Default false.
    /// - Throws: ``FileWriteError`` naming `path` and the system's reason; nothing is left behind.
    public static func write(_ bytes: [UInt8], to path: String, permissions: mode_t = 0o644,
                             syncDirectory: Bool = false) throws(FileWriteError) {
        let file = try AtomicOutputFile(path: path, permissions: permissions)
        let appended: Result<Void, FileWriteError> = bytes.withUnsafeBytes { raw in
            do throws(FileWriteError) { try file.append(raw); return .success(()) } catch { return .failure(error) }
        }
        try appended.get()
        try file.commit()
        if syncDirectory {
            let slash = path.lastIndex(of: "/")
            let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
            let fd = open(directory, O_RDONLY | O_CLOEXEC)
            if fd >= 0 {
                _ = fsync(fd)
                close(fd)
            }
        }
    }

}

/// `write(2)`, named apart from ``AtomicOutputFile/write(_:to:permissions:syncDirectory:)``.
private func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #elseif canImport(Musl)
    Musl.write(fd, buffer, count)
    #else
    Darwin.write(fd, buffer, count)
    #endif
}
