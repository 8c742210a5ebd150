import Foundation

/// A throwaway PostgreSQL server for one test: `initdb` in a temporary folder, started on a free
/// loopback port, removed by ``stop()``.
///
/// It needs PostgreSQL's server programs (Debian `postgresql`: `/usr/lib/postgresql/N/bin`, or
/// `initdb`/`pg_ctl` on `PATH`). Run as root, the cluster belongs to the `postgres` system user (the
/// server refuses to run as root) and its programs run through `runuser`; otherwise as the current user.
/// Authentication is `trust` on loopback only, for the user ``user``.
public final class PostgresCluster: @unchecked Sendable {  // Process is thread-safe for isRunning/pid
    /// The connection URL, `postgres://klingkit@127.0.0.1:PORT/postgres`.
    public let url: String
    public let port: Int
    public let user = "klingkit"
    public let database = "postgres"
    private let base: URL
    /// Replaced by ``restart(downFor:)``; only the test that owns the cluster touches it.
    private var server: Process

    /// Where the server programs are, `nil` when PostgreSQL is not installed.
    public static let binDirectory: String? = {
        let root = "/usr/lib/postgresql"
        if let versions = try? FileManager.default.contentsOfDirectory(atPath: root) {
            let sorted = versions.compactMap { Int($0) }.sorted(by: >)
            for version in sorted where FileManager.default.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
                return "\(root)/\(version)/bin"
            }
        }
        if let initdb = ChildProcess.find("initdb"), ChildProcess.find("pg_ctl") != nil {
            return URL(fileURLWithPath: initdb).deletingLastPathComponent().path
        }
        return nil
    }()

    /// Whether suites needing PostgreSQL should run: it is installed, or `KLINGKIT_REQUIRE_TOOLS=1`
    /// (CI sets it) so that its absence fails instead of skipping.
    public static let available: Bool = binDirectory != nil || RequiredTools.areRequired

    private init(url: String, port: Int, base: URL, server: Process) {
        self.url = url
        self.port = port
        self.base = base
        self.server = server
    }

    /// Creates and starts a cluster; throws with the server's own words when it cannot.
    ///
    /// The server is this process's own child (`postgres -D`, not `pg_ctl start`): a daemon that
    /// `pg_ctl` leaves behind keeps inherited descriptors open, and Foundation's `Process` then never
    /// sees the launcher end.
    public static func start() async throws -> PostgresCluster {
        guard let bin = binDirectory else { throw ClusterError("PostgreSQL's initdb/postgres are not installed (Debian: postgresql)") }
        let runAs: String? = getuid() == 0 ? "postgres" : nil
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("klingkit-pg-\(UUID().uuidString)")
        let data = base.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
        if let runAs {
            let chown = try await ChildProcess.run("/bin/chown", ["-R", runAs, base.path])
            guard chown.exitCode == 0 else { throw ClusterError("chown \(runAs) \(base.path): \(chown.stderrText)") }
        }
        let initdb = try await ChildProcess.run(
            wrap(runAs, bin + "/initdb")[0], Array(wrap(runAs, bin + "/initdb").dropFirst())
                + ["-D", data.path, "-U", "klingkit", "--auth=trust", "-E", "UTF8", "--no-sync"], currentDirectory: base, timeout: 120)
        guard initdb.exitCode == 0 else { throw ClusterError("initdb failed (\(initdb.exitCode)): \(initdb.stderrText)") }

        let port = try ChildProcess.freeLoopbackPort()
        let logURL = base.appendingPathComponent("log")
        FileManager.default.createFile(atPath: logURL.path, contents: nil)
        if let runAs { _ = try await ChildProcess.run("/bin/chown", [runAs, logURL.path]) }
        let cluster = PostgresCluster(
            url: "postgres://klingkit@127.0.0.1:\(port)/postgres", port: port,
            base: base, server: try launch(bin: bin, runAs: runAs, base: base, port: port))
        try await cluster.waitUntilReady(bin: bin)
        return cluster
    }

    /// Starts `postgres` on the cluster in `base` (its data in `base/data`, its log appended to `base/log`).
    private static func launch(bin: String, runAs: String?, base: URL, port: Int) throws -> Process {
        let server = Process()
        let command = wrap(runAs, bin + "/postgres")
        server.executableURL = URL(fileURLWithPath: command[0])
        // Unix socket in the cluster's own folder: /var/run/postgresql may not exist or be writable.
        server.arguments = Array(command.dropFirst()) + [
            "-D", base.appendingPathComponent("data").path, "-p", String(port), "-k", base.path,
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "max_connections=200",
        ]
        let log = try FileHandle(forWritingTo: base.appendingPathComponent("log"))
        log.seekToEndOfFile()
        server.standardOutput = log
        server.standardError = log
        server.standardInput = FileHandle.nullDevice
        try server.run()
        return server
    }

    /// Returns when the server accepts connections (start-up takes about a second; 60 s is generous).
    private func waitUntilReady(bin: String) async throws {
        for _ in 0..<600 {
            if !server.isRunning { throw ClusterError("postgres exited at start: \(log)") }
            if ChildProcess.canConnect(port: port) {
                let ready = try await ChildProcess.run(bin + "/pg_isready", ["-h", "127.0.0.1", "-p", String(port), "-U", "klingkit"], timeout: 10)
                if ready.exitCode == 0 { return }
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        await stop()
        throw ClusterError("postgres did not accept connections within 60 s: \(log)")
    }

    /// Simulates an outage: the server stops at once (immediate shutdown, as in a crash: every
    /// connection drops), stays down for `downFor`, then starts again on the same data and port (crash
    /// recovery) and is ready when this returns.
    public func restart(downFor: Duration) async throws {
        guard let bin = Self.binDirectory else { throw ClusterError("PostgreSQL is not installed") }
        kill(server.processIdentifier, SIGQUIT)
        for _ in 0..<300 where server.isRunning { try await Task.sleep(nanoseconds: 100_000_000) }
        if server.isRunning { kill(server.processIdentifier, SIGKILL) }
        server.waitUntilExit()
        try await Task.sleep(for: downFor)
        server = try Self.launch(bin: bin, runAs: getuid() == 0 ? "postgres" : nil, base: base, port: port)
        try await waitUntilReady(bin: bin)
    }

    /// `program` run as `user` when set (setpriv execs in place, so the server stays our direct child).
    private static func wrap(_ user: String?, _ program: String) -> [String] {
        guard let user else { return [program] }
        return ["/usr/bin/setpriv", "--reuid=\(user)", "--regid=\(user)", "--init-groups", "--", program]
    }

    /// Runs `body` with a fresh cluster and stops it afterwards, whether `body` throws or not.
    public static func with<T>(_ body: (PostgresCluster) async throws -> T) async throws -> T {
        let cluster = try await start()
        do {
            let value = try await body(cluster)
            await cluster.stop()
            return value
        } catch {
            await cluster.stop()
            throw error
        }
    }

    /// Stops the server (immediate shutdown: SIGQUIT) and deletes its folder. Stopping twice is harmless.
    public func stop() async {
        if server.isRunning { kill(server.processIdentifier, SIGQUIT) }
        for _ in 0..<300 where server.isRunning { try? await Task.sleep(nanoseconds: 100_000_000) }
        if server.isRunning { kill(server.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: base)
    }

    /// The server's log so far (for a failing test's message).
    public var log: String {
        (try? String(contentsOf: base.appendingPathComponent("log"), encoding: .utf8)) ?? ""
    }

    /// Why a cluster could not be made or started.
    public struct ClusterError: Error, CustomStringConvertible {
        public var description: String
        init(_ description: String) { self.description = description }
    }
}

/// `KLINGKIT_REQUIRE_TOOLS=1` (set by CI): suites needing Chromium or PostgreSQL run and fail when the
/// tool is missing, instead of skipping.
public enum RequiredTools {
    public static let areRequired: Bool = ProcessInfo.processInfo.environment["KLINGKIT_REQUIRE_TOOLS"] == "1"
}
