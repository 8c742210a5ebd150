import Foundation
import KlingKitTestSupport
import Testing

/// What one run of the built `klingkit` binary produced.
struct CLIResult: Sendable {
    var exitCode: Int32
    var stdout: String
    var stderr: String
    /// Standard output as bytes (an image written to `-`).
    var stdoutBytes: [UInt8] = []
    /// Standard error's non-empty lines.
    var stderrLines: [String] { stderr.split(separator: "\n").map(String.init) }
}

/// Runs the `klingkit` executable that `swift build` put next to the test bundle.
enum CLIRunner {
    /// The built binary: the products directory holds both the test bundle and `klingkit`.
    static var binary: URL { executable("klingkit") }

    /// An executable product of the package (`klingkit`, the examples) beside the test bundle.
    static func executable(_ name: String) -> URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        // Fall back to the package's default build folder, relative to the package root.
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
            .appendingPathComponent(".build/debug/\(name)")
    }

    /// Runs `klingkit ARGUMENTS` with an optional environment overlay and standard input, killing it
    /// after `timeout` seconds (a hang is a failure, not a stuck test run). The wait happens on
    /// Dispatch threads (``ChildProcess``), so a test that runs the CLI never blocks the cooperative
    /// pool that an in-process emulator or server needs to answer the child.
    /// - Throws: ``ChildProcess/Timeout`` when the child had to be killed.
    static func run(
        _ arguments: [String],
        environment: [String: String] = [:],
        stdin: Data? = nil,
        currentDirectory: URL? = nil,
        timeout: TimeInterval = 120,
        executable: String = "klingkit"
    ) async throws -> CLIResult {
        let r = try await ChildProcess.run(Self.executable(executable).path, arguments, environment: environment, stdin: stdin,
                                           currentDirectory: currentDirectory, timeout: timeout)
        return CLIResult(exitCode: r.exitCode, stdout: r.stdoutText, stderr: r.stderrText, stdoutBytes: [UInt8](r.stdout))
    }

    /// Runs the built binary under Python's `resource` (so only this child's peak counts, not the other
    /// children of a parallel test run) and returns its exit status, output and peak RSS in KiB.
    static func measured(_ arguments: [String], timeout: TimeInterval = 600) async throws -> (result: ChildResult, peakKiB: Int) {
        let wrapper = "import resource, subprocess, sys\n"
            + "r = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE)\n"
            + "sys.stdout.write(r.stdout.decode() + 'PEAK_KIB=%d\\n' % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
            + "sys.exit(r.returncode)\n"
        let python = try #require(ChildProcess.find("python3"), "python3 measures the child's peak RSS")
        let result = try await ChildProcess.run(python, ["-c", wrapper, binary.path] + arguments, timeout: timeout)
        let peak = result.stdoutText.split(separator: "\n").last { $0.hasPrefix("PEAK_KIB=") }.flatMap { Int($0.dropFirst(9)) } ?? -1
        return (result, peak)
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
