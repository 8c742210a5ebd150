import Crypto
import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Turning untrusted names (task ids from a server) into single, harmless path components.
public enum SafePath {
    /// A directory name for a server-supplied task id: never `.`/`..`, never a separator, never empty.
    ///
    /// Keeps `A–Z a–z 0–9 . _ -`; anything else (including `/`, `\`, NUL, control characters) becomes
    /// `_`; leading dots and `..` runs become `_`; at most 100 characters. If anything had to change, a short SHA-256
    /// of the original id is appended so two different ids can never share a folder.
    public static func component(forTaskID id: String) -> String {
        var out = ""
        for scalar in id.unicodeScalars {
            let v = scalar.value
            let ok = (v >= 48 && v <= 57) || (v >= 65 && v <= 90) || (v >= 97 && v <= 122) || v == 45 || v == 46 || v == 95
            out.unicodeScalars.append(ok ? scalar : "_")
        }
        while out.hasPrefix(".") { out = "_" + out.dropFirst() }
        while out.contains("..") { out = out.replacingOccurrences(of: "..", with: "._") }
        if out.count > 100 { out = String(out.prefix(100)) }
        if out != id || out.isEmpty {
            let digest = SHA256.hash(data: Array(id.utf8)).prefix(4).map { String(format: "%02x", $0) }.joined()
            out = (out.isEmpty ? "task" : out) + "-" + digest
        }
        return out
    }
}

/// Durable, atomic file writes: temp file in the same directory, `fsync`, `rename`, `fsync` of the
/// directory. A reader sees either the old file or the whole new one, and after return it survives a crash.
enum AtomicFile {
    static func write(_ bytes: [UInt8], to url: URL, permissions: mode_t = 0o644, errorCode: ClientError.Code = .journal) throws {
        let posixError = { (what: String) in ClientError(errorCode, "\(what): \(String(cString: strerror(errno)))") }
        let dir = url.deletingLastPathComponent()
        let tmp = dir.appendingPathComponent(".\(url.lastPathComponent).\(UUID().uuidString).tmp")
        let fd = open(tmp.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, permissions)
        guard fd >= 0 else { throw posixError("cannot create \(tmp.path)") }
        var ok = false
        defer {
            if !ok { close(fd); unlink(tmp.path) }
        }
        var offset = 0
        try bytes.withUnsafeBytes { raw in
            while offset < raw.count {
                let n = Foundation.write(fd, raw.baseAddress! + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    throw posixError("cannot write \(tmp.path)")
                }
                offset += n
            }
        }
        guard fsync(fd) == 0 else { throw posixError("cannot fsync \(tmp.path)") }
        ok = true
        close(fd)
        guard rename(tmp.path, url.path) == 0 else {
            let error = posixError("cannot rename to \(url.path)")
            unlink(tmp.path)
            throw error
        }
        syncDirectory(dir)
    }

    /// `fsync` of a directory so a rename or a new entry in it is durable.
    static func syncDirectory(_ dir: URL) {
        let fd = open(dir.path, O_RDONLY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    /// Creates `dir` and its parents (permissions for new directories: `permissions`).
    static func makeDirectory(_ dir: URL, permissions: Int = 0o755) throws {
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: permissions])
        } catch {
            throw ClientError(.journal, "cannot create directory \(dir.path): \(error.localizedDescription)")
        }
    }
}
