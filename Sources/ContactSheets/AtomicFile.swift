import Foundation

/// Writes files so a reader sees either the old file or the complete new one.
enum AtomicFile {
    /// Writes `bytes` to a temporary file in `path`'s directory, flushes it to disk, then renames it over
    /// `path`. The temporary file is removed on any failure.
    /// - Throws: ``SheetError`` `.output` naming the path and the system's reason.
    static func write(_ bytes: [UInt8], to path: String) throws {
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = slash == path.startIndex ? "/" : String(path[..<slash])
        } else {
            directory = "."
        }
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        guard !fileName.isEmpty, !path.hasSuffix("/") else {
            throw SheetError(.output, "cannot write \(path): not a file name")
        }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            throw SheetError(.output, "cannot write \(path): it is a directory")
        }
        let temporary = directory + "/." + fileName + ".tmp-\(getpid())-\(UInt32.random(in: 0 ... .max))"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw failure(path, errno) }
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + written, bytes.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                close(fd)
                throw failure(path, code)
            }
            written += n
        }
        if fsync(fd) != 0 {
            let code = errno
            close(fd)
            throw failure(path, code)
        }
        guard close(fd) == 0 else { throw failure(path, errno) }
        guard rename(temporary, path) == 0 else { throw failure(path, errno) }
        ok = true
    }

    private static func failure(_ path: String, _ code: Int32) -> SheetError {
        SheetError(.output, "cannot write \(path): \(String(cString: strerror(code)))")
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif
