import Crypto
import Foundation
import KlingSupport

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
        do {
            try AtomicOutputFile.write(bytes, to: url.path, permissions: permissions, syncDirectory: true)
        } catch {
            throw ClientError(errorCode, error.message)
        }
    }

    /// Creates `dir` and its parents (permissions for new directories: `permissions`).
    static func makeDirectory(_ dir: URL, permissions: Int = 0o755) throws {
        do {
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: permissions])
        } catch {
            throw ClientError(.journal, "cannot create directory \(dir.path): \(error.localizedDescription)")
        }
        // Temporaries a killed earlier run left there (a download, a journal entry).
        AtomicOutputFile.sweepStaleTemporaries(in: dir.path)
    }
}
