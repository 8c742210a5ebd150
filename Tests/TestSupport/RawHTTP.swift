import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An HTTP/1.1 client over a plain socket, for tests that must control every byte a server sees:
/// a body slower than the read timeout, a `Content-Length` larger than the bytes sent, a malformed
/// multipart form, a slowloris of many half-sent heads.
///
/// Every call blocks, so it runs on a Dispatch thread (``RawHTTP/async(_:timeout:)``), never on the
/// cooperative pool, and every socket has send and receive timeouts: a silent server fails the test.
public enum RawHTTP {
    /// A parsed answer.
    public struct Answer: Sendable, CustomStringConvertible {
        public var status: Int
        /// Header names lowercased.
        public var headers: [String: String]
        public var body: [UInt8]
        public var text: String { String(decoding: body, as: UTF8.self) }
        public var description: String { "\(status) \(headers) \(text.prefix(300))" }
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// One connected socket (`Connection: close` requests: one request per socket).
    public final class Connection: @unchecked Sendable {
        public let fd: Int32

        /// Connects to `127.0.0.1:port` with send/receive timeouts of `timeout` seconds.
        public init(port: Int, timeout: Double = 30) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw Failure("socket: \(String(cString: strerror(errno)))") }
            var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard rc == 0 else {
                close(fd)
                throw Failure("connect to port \(port): \(String(cString: strerror(errno)))")
            }
        }

        deinit { close(fd) }

        /// Sends all of `bytes`; false when the peer closed or reset (a refusal mid-upload is expected).
        @discardableResult
        public func send(_ bytes: [UInt8]) -> Bool {
            var sent = 0
            while sent < bytes.count {
                let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + sent, bytes.count - sent, Int32(MSG_NOSIGNAL)) }
                if n <= 0 { return false }
                sent += n
            }
            return true
        }

        @discardableResult
        public func send(_ text: String) -> Bool { send(Array(text.utf8)) }

        /// Reads until the peer closes (or the receive timeout passes: then what arrived so far).
        public func readToEnd(limit: Int = 64 << 20) -> [UInt8] {
            var result: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65536)
            while result.count < limit {
                let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { break }
                result.append(contentsOf: buffer[0..<n])
            }
            return result
        }

        /// Whether the peer has closed the connection (a read returns 0 or fails) within `seconds`.
        public func isClosedByPeer(within seconds: Double) -> Bool {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                let rc = poll(&pfd, 1, 100)
                if rc > 0 {
                    var byte: UInt8 = 0
                    let n = recv(fd, &byte, 1, 0)
                    if n <= 0 { return true }
                }
            }
            return false
        }

        /// Reads up to the end of the next answer head (`\r\n\r\n`), an interim `100 Continue` included,
        /// without waiting for the peer to close. Byte by byte, so nothing after the head is consumed.
        public func readHead(limit: Int = 1 << 20) throws -> String {
            var result: [UInt8] = []
            var byte: UInt8 = 0
            while result.count < limit {
                let n = recv(fd, &byte, 1, 0)
                if n <= 0 { throw Failure("closed or timed out after \(result.count) bytes of an answer head") }
                result.append(byte)
                if result.count >= 4 && result.suffix(4) == [13, 10, 13, 10] {
                    return String(decoding: result, as: UTF8.self)
                }
            }
            throw Failure("no answer head within \(limit) bytes")
        }

        /// Reads the answer to a `Connection: close` request.
        public func answer() throws -> Answer { try RawHTTP.parse(readToEnd()) }
    }

    /// Sends one request with `Connection: close` and reads the answer.
    public static func request(port: Int, method: String = "GET", path: String, headers: [String: String] = [:],
                               body: [UInt8] = [], timeout: Double = 60) throws -> Answer {
        let connection = try Connection(port: port, timeout: timeout)
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        if method != "GET" || !body.isEmpty, headers.keys.first(where: { $0.lowercased() == "content-length" || $0.lowercased() == "transfer-encoding" }) == nil {
            head += "Content-Length: \(body.count)\r\n"
        }
        head += "\r\n"
        connection.send(Array(head.utf8) + body)
        return try connection.answer()
    }

    /// Parses a complete HTTP/1.1 answer (Content-Length or chunked or until close).
    public static func parse(_ bytes: [UInt8]) throws -> Answer {
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = bytes.indices.dropLast(3).first(where: { Array(bytes[$0..<$0 + 4]) == separator }) else {
            throw Failure("no complete answer head in \(bytes.count) bytes: \(String(decoding: bytes.prefix(200), as: UTF8.self))")
        }
        let lines = String(decoding: bytes[0..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let statusParts = lines[0].split(separator: " ")
        guard statusParts.count >= 2, let status = Int(statusParts[1]) else { throw Failure("bad status line \(lines[0])") }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        var body = Array(bytes[(end + 4)...])
        if headers["transfer-encoding"]?.lowercased() == "chunked" {
            var decoded: [UInt8] = []
            var index = 0
            while let lineEnd = body[index...].indices.dropLast().first(where: { body[$0] == 13 && body[$0 + 1] == 10 }) {
                let sizeText = String(decoding: body[index..<lineEnd], as: UTF8.self).split(separator: ";")[0]
                guard let size = Int(sizeText, radix: 16) else { break }
                if size == 0 { break }
                let start = lineEnd + 2
                guard start + size <= body.count else { break }
                decoded += body[start..<start + size]
                index = start + size + 2
                if index >= body.count { break }
            }
            body = decoded
        } else if let length = headers["content-length"].flatMap(Int.init), length < body.count {
            body = Array(body[0..<length])
        }
        // A 100 Continue interim answer precedes the real one.
        if status == 100 { return try parse(body) }
        return Answer(status: status, headers: headers, body: body)
    }

    /// Runs blocking `work` on a Dispatch thread and returns its result to the async caller; a `work`
    /// that has not returned after `timeout` seconds fails (its thread is left to finish on its own).
    public static func async<T: Sendable>(timeout: Double = 120, _ work: @escaping @Sendable () throws -> T) async throws -> T {
        let box = OnceBox<T>()
        return try await withCheckedThrowingContinuation { continuation in
            box.install(continuation)
            DispatchQueue.global().async { box.finish(Result { try work() }) }
            DispatchQueue.global().asyncAfter(deadline: .now() + timeout) {
                box.finish(.failure(Failure("blocking work did not finish within \(timeout) s")))
            }
        }
    }
}

/// Resumes a continuation exactly once, from whichever of the work and its deadline ends first.
private final class OnceBox<T: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var continuation: CheckedContinuation<T, any Error>?
    private var early: Result<T, any Error>?

    func install(_ continuation: CheckedContinuation<T, any Error>) {
        lock.lock()
        if let early {
            lock.unlock()
            continuation.resume(with: early)
            return
        }
        self.continuation = continuation
        lock.unlock()
    }

    func finish(_ result: Result<T, any Error>) {
        lock.lock()
        guard let continuation else {
            if early == nil { early = result }
            lock.unlock()
            return
        }
        self.continuation = nil
        early = result
        lock.unlock()
        continuation.resume(with: result)
    }
}
