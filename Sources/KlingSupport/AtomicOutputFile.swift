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
/// What the destination already is decides how it is written:
/// - nothing, or a regular file: the temporary file and the rename, as above;
/// - a symbolic link: it is followed (through every level) and its target is written, so the link stays
///   a link; a loop is refused with `.symlinkLoop`;
/// - a character or block device, a FIFO or a socket (`/dev/null`, `/dev/stdout`, a pipe): written
///   straight into, in place. Renaming over it would replace the device node with a regular file.
///
/// Temporary names are `.NAME.tmp-PID-RANDOM`, with NAME shortened when needed so the whole name stays
/// within 255 bytes; ``sweepStaleTemporaries(in:)`` removes those a killed process left behind.
///
/// Every module that writes an output file (codecs, base64 streams, prepare, sheets, the client's
/// downloads and journal, the commands) goes through this type, usually through
/// ``write(_:to:permissions:syncDirectory:)``.
public final class AtomicOutputFile {
    /// The destination path, as given.
    public let path: String
    /// The temporary file being written (`.NAME.tmp-PID-RANDOM` in the destination's directory), or
    /// the destination itself when it is written in place (a device or FIFO).
    public let temporaryPath: String
    /// The open descriptor of the temporary file, or -1 once committed or discarded.
    public private(set) var descriptor: Int32
    /// True when the destination is a device, FIFO or socket written in place (no rename).
    public let writesInPlace: Bool
    /// What ``commit()`` renames onto: ``path`` with its symbolic links followed.
    public let resolvedPath: String
    /// Whether the temporary file exists on disk (written, maybe flushed, not yet renamed or removed).
    private var temporaryExists = false

    /// The longest file name the temporary name may have, in bytes (Linux's and macOS's `NAME_MAX`).
    static let maxNameBytes = 255

    /// Creates the temporary file with `permissions` (default 0666) less the umask, like any new file;
    /// or opens an existing device or FIFO for writing.
    /// - Throws: ``FileWriteError`` (`.notAFile`, `.isDirectory`, `.symlinkLoop`, `.create`) naming `path`.
    public init(path: String, permissions: mode_t = 0o666) throws(FileWriteError) {
        self.path = path
        let target = try Self.resolveLinks(path)
        resolvedPath = target
        let slash = target.lastIndex(of: "/")
        let directory = slash.map { $0 == target.startIndex ? "/" : String(target[..<$0]) } ?? "."
        let name = slash.map { String(target[target.index(after: $0)...]) } ?? target
        guard !name.isEmpty else { throw FileWriteError(.notAFile, path: path, "cannot write \(path): not a file name") }
        var info = stat()
        if stat(target, &info) == 0 {
            let type = info.st_mode & S_IFMT
            if type == S_IFDIR {
                throw FileWriteError(.isDirectory, path: path, "cannot write \(path): it is a directory")
            }
            if type != S_IFREG {
                // A device, FIFO or socket: write into it; there is nothing to replace atomically.
                writesInPlace = true
                temporaryPath = target
                descriptor = open(target, O_WRONLY | O_CLOEXEC)
                guard descriptor >= 0 else { throw FileWriteError.system(.create, path, errno) }
                return
            }
        }
        writesInPlace = false
        let suffix = ".tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        temporaryPath = directory + "/." + Self.shortened(name, toBytes: Self.maxNameBytes - 1 - suffix.utf8.count) + suffix
        descriptor = open(temporaryPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        guard descriptor >= 0 else { throw FileWriteError.system(.create, path, errno) }
        temporaryExists = true
    }

    /// `path` with every symbolic link in its last component followed (at most 40 levels, as Linux);
    /// a relative link is resolved against the link's own directory.
    static func resolveLinks(_ path: String) throws(FileWriteError) -> String {
        var current = path
        for _ in 0..<40 {
            var info = stat()
            guard lstat(current, &info) == 0, (info.st_mode & S_IFMT) == S_IFLNK else { return current }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let count = readlink(current, &buffer, buffer.count - 1)
            guard count >= 0 else { throw FileWriteError.system(.create, path, errno) }
            let link = String(decoding: buffer.prefix(count).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if link.hasPrefix("/") {
                current = link
            } else {
                let slash = current.lastIndex(of: "/")
                current = slash.map { String(current[...$0]) + link } ?? link
            }
        }
        throw FileWriteError(.symlinkLoop, path: path, "cannot write \(path): too many levels of symbolic links (a loop)")
    }

    /// The longest prefix of `name` (whole characters) of at most `limit` UTF-8 bytes.
    static func shortened(_ name: String, toBytes limit: Int) -> String {
        guard name.utf8.count > limit else { return name }
        var result = ""
        var used = 0
        for character in name {
            let size = character.utf8.count
            if used + size > limit { break }
            result.append(character)
            used += size
        }
        return result
    }

    /// Removes the temporary files (`.NAME.tmp-PID-N`) in `directory` whose process no longer runs: what
    /// a `kill -9` or a power cut left behind. Files of live processes are kept.
    /// - Returns: the paths removed.
    @discardableResult
    public static func sweepStaleTemporaries(in directory: String) -> [String] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        var removed: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            // `.NAME.tmp-PID-RANDOM`: the last two `-` fields after the last `.tmp-`.
            let parts = name.split(separator: ".", omittingEmptySubsequences: false)
            guard name.hasPrefix("."), let last = parts.last, last.hasPrefix("tmp-") else { continue }
            let fields = last.dropFirst(4).split(separator: "-")
            guard fields.count == 2, let pid = Int32(fields[0]), pid > 0, UInt32(fields[1]) != nil else { continue }
            // kill(pid, 0) probes without signalling: ESRCH means no such process.
            guard kill(pid, 0) != 0, errno == ESRCH else { continue }
            let full = (directory.hasSuffix("/") ? directory : directory + "/") + name
            if unlink(full) == 0 { removed.append(full) }
        }
        return removed
    }

    deinit { discard() }

    /// Flushes the temporary file to disk, closes it and renames it to ``path``.
    /// - Throws: ``FileWriteError`` (`.sync`, `.rename`, `.closed`) with the system's reason; the
    ///   temporary file is removed then.
    public func commit() throws(FileWriteError) {
        try flush()
        try publish()
    }

    /// The first half of ``commit()``: every byte on disk (`fsync`) and the descriptor closed; the
    /// destination is still untouched. On failure the temporary file is removed.
    func flush() throws(FileWriteError) {
        guard descriptor >= 0 else { throw FileWriteError(.closed, path: path, "cannot write \(path): the output was already closed") }
        if writesInPlace {
            // A device or FIFO: nothing to flush or rename (fsync fails with EINVAL on most of them).
            let closed = close(descriptor)
            descriptor = -1
            if closed != 0 { throw FileWriteError.system(.sync, path, errno) }
            return
        }
        if fsync(descriptor) != 0 {
            let code = errno
            discard()
            throw FileWriteError.system(.sync, path, code)
        }
        let closed = close(descriptor)
        descriptor = -1
        if closed != 0 {
            let code = errno
            discard()
            throw FileWriteError.system(.sync, path, code)
        }
    }

    /// The second half of ``commit()``: the flushed temporary file renamed onto the destination.
    func publish() throws(FileWriteError) {
        guard !writesInPlace, temporaryExists else { return }
        temporaryExists = false
        if rename(temporaryPath, resolvedPath) != 0 {
            let code = errno
            unlink(temporaryPath)
            throw FileWriteError.system(.rename, path, code)
        }
    }

    /// Closes and removes the temporary file; the destination is untouched. Safe to call twice.
    public func discard() {
        if descriptor >= 0 {
            close(descriptor)
            descriptor = -1
        }
        if temporaryExists {
            unlink(temporaryPath)
            temporaryExists = false
        }
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

    /// Writes several files as one output: every file is written and flushed before any is renamed
    /// into place, so a failed write (a full disk) leaves none of the new files, and a rename that fails
    /// after earlier ones succeeded removes those (`prepare --base64`: the image and its `.b64` appear
    /// together or not at all). Files written in place (devices, FIFOs) cannot be taken back.
    /// - Throws: ``FileWriteError`` naming the file that failed.
    public static func writeTogether(_ files: [(bytes: [UInt8], path: String)], permissions: mode_t = 0o644) throws(FileWriteError) {
        var opened: [AtomicOutputFile] = []
        for file in files {
            let output = try AtomicOutputFile(path: file.path, permissions: permissions)   // earlier ones discard on deinit
            opened.append(output)
            let appended: Result<Void, FileWriteError> = file.bytes.withUnsafeBytes { raw in
                do throws(FileWriteError) { try output.append(raw); return .success(()) } catch { return .failure(error) }
            }
            try appended.get()
        }
        for output in opened { try output.flush() }
        for (index, output) in opened.enumerated() {
            do {
                try output.publish()
            } catch {
                for earlier in opened[..<index] where !earlier.writesInPlace { unlink(earlier.resolvedPath) }
                throw error
            }
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
        if syncDirectory && !file.writesInPlace {
            let target = file.resolvedPath
            let slash = target.lastIndex(of: "/")
            let directory = slash.map { $0 == target.startIndex ? "/" : String(target[..<$0]) } ?? "."
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
