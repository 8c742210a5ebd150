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
final class AtomicOutputFile {
    /// The destination path.
    let path: String
    /// The temporary file being written (`.NAME.tmp-PID-RANDOM` in the same directory).
    let temporaryPath: String
    /// The open descriptor of the temporary file, or -1 once committed or discarded.
    private(set) var descriptor: Int32

    /// Creates the temporary file (mode 0666 less the umask, like any new file).
    /// - Throws: ``CodecError`` `.io` naming `path` when it is a directory or its directory is not writable.
    init(path: String) throws {
        self.path = path
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
        guard !name.isEmpty else { throw CodecError(.io, "cannot write \(path): not a file name") }
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw CodecError(.io, "cannot write \(path): it is a directory")
        }
        temporaryPath = directory + "/." + name + ".tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o666)
        guard descriptor >= 0 else { throw AtomicOutputFile.failure(path, errno) }
    }

    deinit { discard() }

    /// Flushes the temporary file to disk, closes it and renames it to ``path``.
    /// - Throws: ``CodecError`` `.io` with the system's reason; the temporary file is removed then.
    func commit() throws {
        guard descriptor >= 0 else { throw CodecError(.io, "cannot write \(path): the output was already closed") }
        if fsync(descriptor) != 0 {
            let code = errno
            discard()
            throw AtomicOutputFile.failure(path, code)
        }
        let closed = close(descriptor)
        descriptor = -1
        if closed != 0 {
            let code = errno
            unlink(temporaryPath)
            throw AtomicOutputFile.failure(path, code)
        }
        if rename(temporaryPath, path) != 0 {
            let code = errno
            unlink(temporaryPath)
            throw AtomicOutputFile.failure(path, code)
        }
    }

    /// Closes and removes the temporary file; the destination is untouched. Safe to call twice.
    func discard() {
        guard descriptor >= 0 else { return }
        close(descriptor)
        descriptor = -1
        unlink(temporaryPath)
    }

    static func failure(_ path: String, _ code: Int32) -> CodecError {
        CodecError(.io, "cannot write \(path): \(String(cString: strerror(code)))")
    }
}
