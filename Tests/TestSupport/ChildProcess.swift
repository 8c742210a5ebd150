import Foundation
import NIOConcurrencyHelpers

/// What one finished child process produced.
public struct ChildResult: Sendable {
    /// The exit status, or the signal number when ``terminatedBySignal``.
    public var exitCode: Int32
    public var terminatedBySignal: Bool
    public var stdout: Data
    public var stderr: Data
    /// Standard output as UTF-8 (invalid bytes replaced).
    public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
    /// Standard error as UTF-8 (invalid bytes replaced).
    public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
}

/// Runs a program to its end without blocking Swift concurrency's cooperative pool.
///
/// Why this exists: the test run's cooperative pool has as many threads as cores (two here), and a
/// `waitUntilExit()` or a pipe read on one of them starves every other suite, which can hang the run.
/// Here the pipes are drained and the exit awaited on Dispatch threads; the caller only suspends.
public enum ChildProcess {
    /// A child that did not end in time (it has been killed).
    public struct Timeout: Error, CustomStringConvertible {
        public var command: String
        public var seconds: Double
        public var description: String { "\(command) did not finish within \(seconds) s (killed)" }
    }

    /// Runs `executable ARGUMENTS` and returns what it printed and how it ended.
    ///
    /// - Parameters:
    ///   - environment: variables laid over this process's environment.
    ///   - stdin: bytes written to its standard input, which is then closed (an empty input by default).
    ///   - timeout: seconds before the child is sent SIGKILL and ``Timeout`` is thrown; default 120.
    public static func run(
        _ executable: String,
        _ arguments: [String],
        environment: [String: String] = [:],
        stdin: Data? = nil,
        currentDirectory: URL? = nil,
        timeout: Double = 120
    ) async throws -> ChildResult {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let outPipe = Pipe(), errPipe = Pipe(), inPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        process.standardInput = inPipe
        // A child that exits without reading all of its input (a usage error) closes the pipe: the write
        // must fail with EPIPE, not kill the test process with SIGPIPE.
        signal(SIGPIPE, SIG_IGN)
        try process.run()
        // Our copy of the input's read end: closed, so that once the child is gone a write fails at once
        // instead of waiting on a pipe nobody will read.
        try? inPipe.fileHandleForReading.close()
        let command = ([executable] + arguments).joined(separator: " ")
        // Input is written on a thread of its own, beside the drains (a child that writes before it has
        // read everything cannot deadlock against a full pipe) and outside Dispatch's pool (a write
        // that blocks must not take a thread the drains need). Nobody waits for it.
        let writer = Thread {
            if let stdin { try? inPipe.fileHandleForWriting.write(contentsOf: stdin) }
            try? inPipe.fileHandleForWriting.close()
        }
        writer.start()
        // The drains and the wait run on threads of their own, never on Dispatch's global pool: with two
        // cores its threads are few, and when parallel tests fill them with blocking reads a drain could
        // not start before the grace below ran out (seen as an empty stdout from a child that printed).
        return try await withCheckedThrowingContinuation { continuation in
            let group = DispatchGroup()
            let out = LockedData(), err = LockedData()
            for (pipe, box) in [(outPipe, out), (errPipe, err)] {
                group.enter()
                Thread { drain(pipe, into: box); group.leave() }.start()
            }
            Thread {
                let deadline = Date().addingTimeInterval(timeout)
                while process.isRunning && Date() < deadline { usleep(10_000) }
                if process.isRunning {
                    kill(process.processIdentifier, SIGKILL)
                    _ = group.wait(timeout: .now() + 1)
                    continuation.resume(throwing: Timeout(command: command, seconds: timeout))
                    return
                }
                process.waitUntilExit()
                // A grandchild that outlives the child (a daemon) may hold the pipes open: take what
                // was written within a grace period rather than wait for an end of file that never comes.
                _ = group.wait(timeout: .now() + 5)
                continuation.resume(returning: ChildResult(
                    exitCode: process.terminationStatus,
                    terminatedBySignal: process.terminationReason == .uncaughtSignal,
                    stdout: out.get(), stderr: err.get()))
            }.start()
        }
    }

    /// Reads `pipe` to its end in chunks, so what came before a stuck end is kept.
    private static func drain(_ pipe: Pipe, into box: LockedData) {
        let handle = pipe.fileHandleForReading
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { return }
            box.append(chunk)
        }
    }

    /// Whether something accepts TCP connections on 127.0.0.1:`port` right now.
    public static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// The first executable called `name` in `$PATH` or in `extraDirectories`, `nil` when there is none.
    public static func find(_ name: String, extraDirectories: [String] = []) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":").map(String.init) + extraDirectories {
            let candidate = dir + "/" + name
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// A TCP port on 127.0.0.1 that was free a moment ago (the kernel's choice for port 0), for
    /// programs that take a port number but cannot report the one they bound.
    public static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw POSIXError(.EADDRINUSE) }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Bytes handed from a Dispatch thread to the waiting task.
public final class LockedData: Sendable {
    private let box = NIOLockedValueBox(Data())
    public init() {}
    public func set(_ value: Data) { box.withLockedValue { $0 = value } }
    public func append(_ value: Data) { box.withLockedValue { $0.append(value) } }
    public func get() -> Data { box.withLockedValue { $0 } }
}
