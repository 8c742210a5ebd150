import Foundation
import KlingKitTestSupport
import Testing

/// What one run of the built `klingkit` binary produced.
struct CLIResult: Sendable {
    var exitCode: Int32
    var stdout: String
    var stderr: String
}

/// Runs the `klingkit` executable that `swift build` put next to the test bundle.
enum CLIRunner {
    /// The built binary: the products directory holds both the test bundle and `klingkit`.
    static var binary: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("klingkit")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        // Fall back to the package's default build folder, relative to the package root.
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            .appendingPathComponent(".build/debug/klingkit")
    }

    /// Runs `klingkit ARGUMENTS` with an optional environment overlay and standard input,
    /// killing it after `timeout` seconds (a hang is a failure, not a stuck test run).
    static func run(
        _ arguments: [String],
        environment: [String: String] = [:],
        stdin: Data? = nil,
        currentDirectory: URL? = nil,
        timeout: TimeInterval = 120
    ) throws -> CLIResult {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        if let currentDirectory { process.currentDirectoryURL = currentDirectory }
        let outPipe = Pipe()
        let errPipe = Pipe()
        process.standardOutput = outPipe
        process.standardError = errPipe
        let inPipe = Pipe()
        process.standardInput = inPipe
        try process.run()
        if let stdin { inPipe.fileHandleForWriting.write(stdin) }
        try? inPipe.fileHandleForWriting.close()

        // Drain both pipes concurrently so a chatty child cannot block on a full pipe.
        let outBox = LockedData()
        let errBox = LockedData()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async {
            outBox.set(outPipe.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        group.enter()
        DispatchQueue.global().async {
            errBox.set(errPipe.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            // SIGKILL, not SIGTERM: a child hung in its own shutdown must not hang the test run too.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            Issue.record("klingkit \(arguments.joined(separator: " ")) did not finish within \(timeout) s")
        }
        process.waitUntilExit()
        group.wait()
        return CLIResult(
            exitCode: process.terminationStatus,
            stdout: String(decoding: outBox.get(), as: UTF8.self),
            stderr: String(decoding: errBox.get(), as: UTF8.self)
        )
    }

    /// A fresh empty directory under the system temporary directory.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("klingkit-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The shared corpus, read from the package root as the project's tests always do.
    static var corpus: URL {
        URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("../shared/corpus").standardizedFileURL
    }
}
