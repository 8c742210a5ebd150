import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A request as the stub saw it.
struct StubRequest: Sendable {
    var method: String
    var target: String      // path and query
    var headers: [String: String]   // lower-cased names
    var body: [UInt8]
    var path: String { String(target.split(separator: "?", maxSplits: 1).first ?? "") }
}

/// What the stub answers.
indirect enum StubReply: Sendable {
    /// A complete answer.
    case http(status: Int, contentType: String = "application/json", headers: [(String, String)] = [], body: [UInt8])
    /// Declares `Content-Length: declared` but sends only `body`, then closes (a truncated body).
    case truncated(declared: Int, contentType: String, body: [UInt8])
    /// Sends the body with no `Content-Length` and closes: the length is known only by counting.
    case unsized(contentType: String, body: [UInt8])
    /// Closes the connection after reading the request, without a byte of answer.
    case drop
    /// Waits (real time) and then answers.
    case after(seconds: Double, StubReply)
    /// Declares the whole length, then sends the body at `bytesPerSecond` (ten chunks a second) until
    /// done or the client goes away.
    case trickle(contentType: String, body: [UInt8], bytesPerSecond: Int)
    /// Declares the whole length, sends the first `sent` bytes, then neither sends nor closes until the
    /// client does (at most 60 s).
    case stall(contentType: String, body: [UInt8], sent: Int)

    static func json(_ status: Int, _ text: String) -> StubReply { .http(status: status, body: Array(text.utf8)) }
}

/// A tiny HTTP/1.1 server on 127.0.0.1 (port 0) over plain POSIX sockets, for the faults the emulator
/// cannot produce: HTML or malformed answers, truncated bodies, scripted business codes.
/// One thread per connection, `Connection: close` on every answer.
final class StubServer: @unchecked Sendable {
    let port: Int
    var baseURL: String { "http://127.0.0.1:\(port)" }
    private let listener: Int32
    private let handler: @Sendable (StubRequest, Int) -> StubReply
    private let lock = NSLock()
    private var seen: [StubRequest] = []

    /// - Parameter handler: gets each request and its 0-based sequence number.
    init(_ handler: @escaping @Sendable (StubRequest, Int) -> StubReply) throws {
        self.handler = handler
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StubError("socket failed") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(fd, 64) == 0 else { close(fd); throw StubError("bind/listen failed") }
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) }
        }
        self.port = Int(UInt16(bigEndian: addr.sin_port))
        self.listener = fd
        let thread = Thread { [self] in acceptLoop() }
        thread.start()
    }

    var requests: [StubRequest] { lock.withLock { seen } }

    func shutdown() {
        Glibc.shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private func acceptLoop() {
        while true {
            let conn = accept(listener, nil, nil)
            if conn < 0 { if errno == EINTR { continue }; return }
            let thread = Thread { [self] in serve(conn) }
            thread.start()
        }
    }

    private func serve(_ conn: Int32) {
        defer { close(conn) }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        var headerEnd: Int?
        while headerEnd == nil {
            let n = recv(conn, &chunk, chunk.count, 0)
            if n <= 0 { return }
            buffer += chunk[0..<n]
            headerEnd = find(buffer, Array("\r\n\r\n".utf8))
        }
        let head = String(decoding: buffer[0..<headerEnd!], as: UTF8.self)
        var lines = head.components(separatedBy: "\r\n")
        let requestLine = lines.removeFirst().split(separator: " ")
        var headers: [String: String] = [:]
        for line in lines {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        var body = Array(buffer[(headerEnd! + 4)...])
        while body.count < length {
            let n = recv(conn, &chunk, chunk.count, 0)
            if n <= 0 { break }
            body += chunk[0..<n]
        }
        let request = StubRequest(method: requestLine.count > 0 ? String(requestLine[0]) : "",
                                  target: requestLine.count > 1 ? String(requestLine[1]) : "/",
                                  headers: headers, body: body)
        let index: Int = lock.withLock { seen.append(request); return seen.count - 1 }
        write(handler(request, index), to: conn)
    }

    private func write(_ reply: StubReply, to conn: Int32) {
        switch reply {
        case .after(let seconds, let inner):
            usleep(UInt32(seconds * 1_000_000))
            write(inner, to: conn)
        case .drop:
            return
        case .http(let status, let type, let extra, let body):
            var head = "HTTP/1.1 \(status) \(status == 200 ? "OK" : "Status")\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n"
            for (k, v) in extra { head += "\(k): \(v)\r\n" }
            send(Array((head + "\r\n").utf8) + body, conn)
        case .unsized(let type, let body):
            let head = "HTTP/1.1 200 OK\r\nContent-Type: \(type)\r\nConnection: close\r\n\r\n"
            send(Array(head.utf8) + body, conn)
        case .truncated(let declared, let type, let body):
            let head = "HTTP/1.1 200 OK\r\nContent-Type: \(type)\r\nContent-Length: \(declared)\r\nConnection: close\r\n\r\n"
            send(Array(head.utf8) + body, conn)
        case .trickle(let type, let body, let rate):
            let head = "HTTP/1.1 200 OK\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
            guard send(Array(head.utf8), conn) else { return }
            let chunk = max(1, rate / 10)
            var offset = 0
            while offset < body.count {
                let end = min(body.count, offset + chunk)
                guard send(Array(body[offset..<end]), conn) else { return }
                offset = end
                usleep(100_000)
            }
        case .stall(let type, let body, let sent):
            let head = "HTTP/1.1 200 OK\r\nContent-Type: \(type)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
            guard send(Array(head.utf8) + body.prefix(sent), conn) else { return }
            // Hold the connection open, sending nothing, until the client closes it.
            var pollfd = Glibc.pollfd(fd: conn, events: Int16(POLLIN), revents: 0)
            var byte: UInt8 = 0
            for _ in 0..<600 {
                if poll(&pollfd, 1, 100) > 0, recv(conn, &byte, 1, 0) <= 0 { return }
            }
        }
    }

    /// Sends all of `bytes`; false when the peer has gone.
    @discardableResult
    private func send(_ bytes: [UInt8], _ conn: Int32) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(conn, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return false }
            offset += n
        }
        return true
    }

    private func find(_ haystack: [UInt8], _ needle: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
        return nil
    }
}

struct StubError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
