#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Why ``AtomicOutputFile`` could not write a file: what step failed, the file, the system's `errno`
/// when there is one, and a one-line message naming the path and the system's reason.
public struct FileWriteError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The step that failed. An open set: compare with `==`; new codes break no `switch`.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case notAFile = "not-a-file", isDirectory = "is-directory", symlinkLoop = "symlink-loop", create, write, sync, rename, closed
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// The path has no file name (it ends in `/`).
        public static let notAFile = Code(.notAFile)
        /// The destination is a directory.
        public static let isDirectory = Code(.isDirectory)
        /// The destination is a symbolic link that does not end (a loop, or too many levels).
        public static let symlinkLoop = Code(.symlinkLoop)
        /// The temporary file beside the destination could not be created.
        public static let create = Code(.create)
        /// `write(2)` failed.
        public static let write = Code(.write)
        /// `fsync(2)` or `close(2)` failed.
        public static let sync = Code(.sync)
        /// Renaming the temporary file over the destination failed.
        public static let rename = Code(.rename)
        /// The file was already committed or discarded.
        public static let closed = Code(.closed)

        public var description: String { value.rawValue }
    }

    /// The step that failed.
    public var code: Code
    /// The destination path.
    public var path: String
    /// The system's `errno`, when a system call failed.
    public var errorNumber: Int32?
    /// `cannot write PATH: REASON`.
    public var message: String

    public init(_ code: Code, path: String, errorNumber: Int32? = nil, _ message: String) {
        self.code = code
        self.path = path
        self.errorNumber = errorNumber
        self.message = message
    }

    static func system(_ code: Code, _ path: String, _ number: Int32) -> FileWriteError {
        FileWriteError(code, path: path, errorNumber: number, "cannot write \(path): \(String(cString: strerror(number)))")
    }

    public var description: String { message }
}
