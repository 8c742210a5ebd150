#if os(Linux)
import Foundation
import Glibc
import KlingEmulator
import Testing

/// curl sends `Expect: 100-continue` for bodies over 1 KiB and waits for `100 Continue` before sending
/// them: the emulator must answer it. Spoken over a raw socket, since HTTP clients hide the interim answer.
@Suite("Emulator HTTP details")
struct ExpectContinueTests {
    /// Sends `head`, reads the interim answer, sends `body`, reads the final answer. Blocking, 10 s timeouts.
    static func exchange(port: Int, head: String, body: [UInt8]) throws -> (interim: String, final: String) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw EmulatorError(.listen, "socket failed") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw EmulatorError(.listen, "connect failed") }
        func sendAll(_ bytes: [UInt8]) {
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, 0) }
                if n <= 0 { return }
                offset += n
            }
        }
        func receive(until done: (String) -> Bool) -> String {
            var data: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while !done(String(decoding: data, as: UTF8.self)) {
                let n = recv(fd, &buffer, buffer.count, 0)
                if n <= 0 { break }
                data += buffer[0..<n]
            }
            return String(decoding: data, as: UTF8.self)
        }
        sendAll(Array(head.utf8))
        let interim = receive { $0.contains("\r\n\r\n") }
        sendAll(body)
        let final = receive { text in
            guard let split = text.range(of: "\r\n\r\n") else { return false }
            let length = text[..<split.lowerBound].split(separator: "\r\n")
                .first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            return text.utf8.count - text[..<split.upperBound].utf8.count >= length
        }
        return (interim, final)
    }

    @Test("Expect: 100-continue gets an interim 100 Continue, then the answer")
    func expectContinue() async throws {
        try await Harness.with { h in
            let body = Array(#"{"prompt":"\#(String(repeating: "long prompt ", count: 150))"}"#.utf8)
            let head = "POST /kling/v1/images/generations HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: \(h.server.cometAPIAuthorization)\r\n"
                + "Content-Type: application/json\r\nContent-Length: \(body.count)\r\nExpect: 100-continue\r\n\r\n"
            let port = h.server.port
            let (interim, final) = try await Task.detached { try Self.exchange(port: port, head: head, body: body) }.value
            #expect(interim.hasPrefix("HTTP/1.1 100 Continue\r\n"), "\(interim)")
            #expect(final.hasPrefix("HTTP/1.1 200 OK\r\n") && final.contains("\"code\":0"), "\(final)")
        }
    }
}
#endif
