import Foundation
import NIOConcurrencyHelpers

/// A long-running `klingkit` child (a `batch run` worker) that a test can kill at any moment and
/// await without blocking the cooperative pool: output goes to files, the exit arrives through
/// `terminationHandler` (a Dispatch thread) and is awaited with a deadline.
final class BatchChild: Sendable {
    let pid: Int32
    let stdoutPath: String
    let stderrPath: String
    private let process: NIOLockedValueBox<Process>
    private let state = NIOLockedValueBox<(status: Int32?, signalled: Bool, waiters: [CheckedContinuation<Void, Never>])>((nil, false, []))

    init(_ arguments: [String], environment: [String: String] = [:], directory: URL) throws {
        let id = UUID().uuidString.prefix(8)
        stdoutPath = directory.appendingPathComponent("child-\(id).out").path
        stderrPath = directory.appendingPathComponent("child-\(id).err").path
        FileManager.default.createFile(atPath: stdoutPath, contents: nil)
        FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let p = Process()
        p.executableURL = CLIRunner.binary
        p.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        p.environment = env
        p.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdoutPath))
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        p.standardInput = FileHandle.nullDevice
        let state = self.state
        p.terminationHandler = { proc in
            let waiters = state.withLockedValue { s -> [CheckedContinuation<Void, Never>] in
                s.status = proc.terminationStatus
                s.signalled = proc.terminationReason == .uncaughtSignal
                defer { s.waiters = [] }
                return s.waiters
            }
            for w in waiters { w.resume() }
        }
        try p.run()
        pid = p.processIdentifier
        process = NIOLockedValueBox(p)
    }

    /// SIGKILL, now.
    func kill9() { kill(pid, SIGKILL) }

    /// The exit status (or signal), waiting at most `timeout` seconds; on timeout the child is killed
    /// and `nil` returned.
    func exit(timeout: Double) async -> (status: Int32, signalled: Bool)? {
        let finished: Bool = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                    let done = self.state.withLockedValue { s -> Bool in
                        if s.status != nil { return true }
                        s.waiters.append(c)
                        return false
                    }
                    if done { c.resume() }
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(timeout))
                return false
            }
            let first = await group.next() ?? false
            if !first {
                self.kill9()
            }
            group.cancelAll()
            await group.waitForAll()
            return first
        }
        guard finished, let status = state.withLockedValue({ $0.status }) else { return nil }
        return (status, state.withLockedValue { $0.signalled })
    }

    var stdout: String { (try? String(contentsOfFile: stdoutPath, encoding: .utf8)) ?? "" }
    var stderr: String { (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "" }
}
