#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a TCP port can be bound, asked before a server starts.
///
/// Why: when a Hummingbird service fails to bind inside a ServiceGroup, the group cancels its other
/// tasks, and with a task-executor preference in force that cancellation can deadlock against
/// swift-async-algorithms' merge lock (seen under gdb: a `klingkit emulator --port BUSY` that never
/// exited). Refusing a busy port before the group starts keeps that path from being taken. A port
/// taken in the instant between the probe and the real bind still goes the slow way.
public enum PortProbe {
    /// `nil` when `host` (an IPv4 literal, e.g. `127.0.0.1`) : `port` can be bound now, else the
    /// `errno` of the failed bind (`EADDRINUSE` for a port in use, `EACCES` for a privileged one).
    /// Port 0 is always available. The socket sets `SO_REUSEADDR`, as SwiftNIO's servers do, so a
    /// port in `TIME_WAIT` counts as free.
    public static func bindError(host: String, port: Int) -> Int32? {
        guard port != 0 else { return nil }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return errno }
        defer { close(fd) }
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(truncatingIfNeeded: port).bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return nil }  // not IPv4: let the server decide
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return result == 0 ? nil : errno
    }
}
