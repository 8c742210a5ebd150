#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One folder's entries as the image commands see them, read with `readdir(3)` so that no name is lost.
///
/// Foundation's listing drops what it cannot represent (a name that is not valid UTF-8) and its
/// regular-file test is false for a symbolic link, so `check DIR` used to skip both without a word.
/// Here a symbolic link is followed to what it points at (`stat(2)`); a link that loops or points
/// nowhere, and a name that is not valid UTF-8, become ``Entry/Kind/unusable(_:)`` entries the caller
/// reports. Hidden names (a leading `.`) are left out, as `ls` does.
public enum FolderListing {
    public struct Entry: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            case file
            case folder
            /// Cannot be opened by name.
            case unusable(Problem)
        }
        /// Why an entry cannot be opened; ``description`` is the one-line reason.
        public enum Problem: Sendable, Equatable, CustomStringConvertible {
            case nameNotUTF8, linkLoops, linkBroken, unreadable
            public var description: String {
                switch self {
                case .nameNotUTF8: "the name is not valid UTF-8 (rename the file to open it)"
                case .linkLoops: "a symbolic link that loops"
                case .linkBroken: "a symbolic link to nothing (broken)"
                case .unreadable: "cannot be read"
                }
            }
        }
        /// The entry's name; for a name that is not valid UTF-8, its bytes with every non-ASCII byte
        /// shown as `\xHH` (for messages only: no file has this name).
        public var name: String
        /// `folder/name`, as the caller spelled `folder`.
        public var path: String
        public var kind: Kind
        /// Whether the entry is a symbolic link (to a file or folder, or broken).
        public var isLink: Bool
    }

    /// The entries of `folder`, sorted by name (byte order), hidden ones left out.
    /// - Returns: `nil` when the folder cannot be opened.
    public static func entries(of folder: String) -> [Entry]? {
        guard let dir = opendir(folder) else { return nil }
        defer { closedir(dir) }
        let base = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        var out: [Entry] = []
        while let raw = readdir(dir) {
            let bytes: [UInt8] = withUnsafeBytes(of: raw.pointee.d_name) { buffer in
                Array(buffer.prefix { $0 != 0 })
            }
            guard let first = bytes.first, first != UInt8(ascii: ".") else { continue }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                let shown = String(bytes.map { $0 < 0x80 ? String(UnicodeScalar($0)) : "\\x" + hex($0) }.joined())
                out.append(Entry(name: shown, path: base + "/" + shown,
                                 kind: .unusable(.nameNotUTF8), isLink: false))
                continue
            }
            let path = base + "/" + name
            var link = stat()
            let isLink = lstat(path, &link) == 0 && (link.st_mode & S_IFMT) == S_IFLNK
            var target = stat()
            if stat(path, &target) != 0 {
                let problem: Entry.Problem = errno == ELOOP ? .linkLoops : isLink ? .linkBroken : .unreadable
                out.append(Entry(name: name, path: path, kind: .unusable(problem), isLink: isLink))
                continue
            }
            let kind: Entry.Kind = (target.st_mode & S_IFMT) == S_IFDIR ? .folder : .file
            out.append(Entry(name: name, path: path, kind: kind, isLink: isLink))
        }
        return out.sorted { Array($0.name.utf8).lexicographicallyPrecedes(Array($1.name.utf8)) }
    }

    private static func hex(_ byte: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(byte >> 4)], digits[Int(byte & 0xF)]])
    }
}
