import KlingSupport
import Foundation
import KlingAPI
import KlingEmulator
import KlingKitTestSupport
import Testing

/// `klingkit generate | status | list | download | resume`, run as a child process against an emulator
/// started in this test process on a loopback port.
@Suite("generate, status, list, download, resume", .serialized)
struct GenerateCommandTests {
    /// An emulator plus the environment a child `klingkit` needs to reach it.
    struct Setup {
        let server: EmulatorServer
        let dir: URL
        var journal: URL { dir.appendingPathComponent("journal") }
        var out: URL { dir.appendingPathComponent("out") }
        var env: [String: String] {
            [
                "KLING_BASE_URL": server.baseURL, "KLING_ACCESS_KEY": server.configuration.accessKey,
                "KLING_SECRET_KEY": server.configuration.secretKey, "COMETAPI_BASE_URL": server.baseURL,
                "COMETAPI_KEY": server.configuration.cometAPIKey, "KLINGKIT_JOURNAL": journal.path,
            ]
        }
        func tasksCreated() async -> Int {
            let s = await server.statistics()
            return ["submitted", "processing", "succeed", "failed"].reduce(0) { $0 + (s[$1] ?? 0) }
        }
        func requests() async -> Int { await server.statistics()["requests"] ?? 0 }
        /// Runs the binary with this setup's environment (see ``CLIRunner/run(_:environment:stdin:currentDirectory:timeout:)``),
        /// in the setup's own folder: a command that writes into its working directory by default (`generate`
        /// without `--out`) never writes into the package.
        func run(_ args: [String], env extra: [String: String] = [:], timeout: TimeInterval = 120) async throws -> CLIResult {
            try await CLIRunner.run(args, environment: env.merging(extra) { $1 }, currentDirectory: dir, timeout: timeout)
        }
    }

    static func withSetup(taskSeconds: Double = 1, faults: FaultConfiguration = .init(), clock: (any TimeSource)? = nil,
                          _ body: (Setup) async throws -> Void) async throws {
        var config = EmulatorConfiguration(port: 0, taskSeconds: taskSeconds)
        config.faults = faults
        if let clock { config.clock = clock }
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withEmulator(config) { server in try await body(Setup(server: server, dir: dir)) }
    }

    static let fast = ["--poll-interval", "0.2"]

    @Test("generate waits, downloads every image, writes the sheet, exit 0", arguments: ["kling", "cometapi"])
    func generate(provider: String) async throws {
        try await Self.withSetup { s in
            let sheet = s.dir.appendingPathComponent("sheet.png").path
            let r = try await s.run(["generate", "--provider", provider, "--prompt", "a lighthouse at dusk", "--n", "2",
                               "--aspect-ratio", "1:1", "--out", s.out.path, "--sheet", sheet] + Self.fast)
            #expect(r.exitCode == 0, "\(r.stderr)")
            let lines = r.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 3)
            #expect(lines[0].hasSuffix("/0.png") || lines[0].hasSuffix("/0.jpg"))
            #expect(lines[2] == sheet)
            for path in lines { #expect(FileManager.default.fileExists(atPath: path)) }
            let folder = URL(fileURLWithPath: lines[0]).deletingLastPathComponent()
            let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("task.json"))) as? [String: Any]
            #expect(manifest?["prompt"] as? String == "a lighthouse at dusk")
            #expect(await s.tasksCreated() == 1)
            // The journal says it is done: resume has nothing to do.
            let resume = try await s.run(["resume"])
            #expect(resume.exitCode == 0 && resume.stderr.contains("nothing to resume"))
        }
    }

    @Test("--json prints one object with files; multi-image and image→image shapes go through")
    func jsonAndShapes() async throws {
        try await Self.withSetup { s in
            let corpus = CLIRunner.corpus.path
            let r = try await s.run(["generate", "--prompt", "two friends", "--subject", corpus + "/jpeg/pillow_flower.jpg",
                               "--subject", corpus + "/png/pillow_test-card.png", "--scene", corpus + "/png/pillow_hopper_bw_500.png",
                               "--model", "kling-v2-1", "--out", s.out.path, "--json"] + Self.fast)
            #expect(r.exitCode == 0, "\(r.stderr)")
            let o = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
            #expect(o?["task_status"] as? String == "succeed")
            #expect((o?["files"] as? [String])?.count == 1)
            let i2i = try await s.run(["generate", "--prompt", "in watercolour", "--image", corpus + "/jpeg/pillow_flower.jpg",
                                 "--image-reference", "subject", "--model", "kling-v1-5", "--image-fidelity", "0.6",
                                 "--human-fidelity", "0.3", "--watermark", "--out", s.out.path] + Self.fast)
            #expect(i2i.exitCode == 0, "\(i2i.stderr)")
            #expect(i2i.stdout.contains("0-watermark."))
        }
    }

    @Test("a request that breaks a rule is refused before anything is sent (exit 2)", arguments: [
        ["--prompt", "x", "--n", "12"],
        ["--prompt", "x", "--aspect-ratio", "5:4"],
        ["--prompt", "x", "--image-reference", "face"],
        ["--prompt", "x", "--image", "https://e.com/a.jpg", "--negative-prompt", "blur", "--image-reference", "subject"],
        ["--prompt", "x", "--model", "kling-v1-5", "--image", "https://e.com/a.jpg"],
        ["--prompt", "x", "--image-fidelity", "0.5"],
        ["--prompt", "x", "--resolution", "4k"],
        ["--prompt", "x", "--callback-url", "not a url"],
        ["--prompt", "x", "--image", "../shared/corpus/png-suite/basn2c08.png", "--image-reference", "subject"],
        ["--prompt", "x", "--subject", "a.jpg", "--subject", "b.jpg", "--subject", "c.jpg", "--subject", "d.jpg", "--subject", "e.jpg"],
        ["--prompt", "x", "--element-id", "12x"],
        ["--prompt", "x", "--sheet", "s.png", "--no-wait"],
        ["--prompt", "x", "--provider", "other"],
    ])
    func refused(args: [String]) async throws {
        try await Self.withSetup { s in
            let r = try await s.run(["generate"] + args)
            #expect(r.exitCode == 2, "\(args): \(r.stderr)")
            #expect(r.stderr.split(separator: "\n").count >= 1)
            #expect(await s.requests() == 0)
        }
    }

    @Test("credentials only from the environment, never printed")
    func credentials() async throws {
        try await Self.withSetup { s in
            let missing = try await s.run(["list"], env: ["KLING_ACCESS_KEY": ""])
            #expect(missing.exitCode == 2 && missing.stderr.contains("KLING_ACCESS_KEY"))
            let wrong = try await s.run(["generate", "--prompt", "x"], env: ["KLING_SECRET_KEY": "s3cr3t-value-XYZ"])
            #expect(wrong.exitCode == 1 && wrong.stderr.contains("code 1000"))
            #expect(!wrong.stderr.contains("s3cr3t-value-XYZ") && !wrong.stdout.contains("s3cr3t-value-XYZ"))
            let comet = try await s.run(["list", "--provider", "cometapi"], env: ["COMETAPI_KEY": "bad-key-XYZ"])
            #expect(comet.exitCode == 1 && !comet.stderr.contains("bad-key-XYZ"))
            #expect(await s.tasksCreated() == 0)
        }
    }

    @Test("--download-timeout is one deadline per result download: a trickling server fails it, retried, in seconds")
    func downloadDeadline() async throws {
        try await Self.withSetup(faults: FaultConfiguration(slowDownloadBytesPerSecond: 200)) { s in
            let r = try await s.run(["generate", "--prompt", "x", "--out", s.out.path, "--download-timeout", "1", "--timeout", "3"] + Self.fast)
            #expect(r.exitCode != 0)
            #expect(r.stderr.contains("did not arrive within the download deadline of 1.0 seconds"), "\(r.stderr)")
            #expect(r.stderr.contains("gave up after"), "\(r.stderr)")
            let usage = try await s.run(["generate", "--prompt", "x", "--min-download-rate", "-1"])
            #expect(usage.exitCode == 2 && usage.stderr.contains("--min-download-rate"), "\(usage.stderr)")
        }
    }

    @Test("a failed task exits 3 with the service's reason")
    func failedTask() async throws {
        try await Self.withSetup(faults: FaultConfiguration(taskFailureRate: 1)) { s in
            let r = try await s.run(["generate", "--prompt", "x", "--out", s.out.path] + Self.fast)
            #expect(r.exitCode == 3)
            #expect(r.stderr.contains(FaultConfiguration.defaultFailureMessage))
            // Redirected stderr: the waiting notice is a line of its own (no carriage return), then one line of reason.
            let lines = r.stderr.split(separator: "\n")
            #expect(lines.count == 2 && lines[0].hasPrefix("klingkit: waiting for task "), "\(r.stderr)")
            #expect(lines.last?.contains(FaultConfiguration.defaultFailureMessage) == true)
        }
    }

    @Test("--no-wait prints the id; status, list and download work on it; resume finishes it")
    func noWaitThenCommands() async throws {
        try await Self.withSetup { s in
            let r = try await s.run(["generate", "--prompt", "later", "--no-wait", "--out", s.out.path, "--external-task-id", "job-7"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(!id.isEmpty && !id.contains("\n"))
            let byExternal = try await s.run(["status", "--external", "job-7"])
            #expect(byExternal.exitCode == 0 && byExternal.stdout.hasPrefix(id + " "))
            let list = try await s.run(["list", "--page", "1", "--page-size", "10"])
            #expect(list.exitCode == 0 && list.stdout.contains(id) && list.stdout.contains("job-7"))
            let badPage = try await s.run(["list", "--page-size", "501"])
            #expect(badPage.exitCode == 2)
            let resume = try await s.run(["resume"] + Self.fast)
            #expect(resume.exitCode == 0, "\(resume.stderr)")
            #expect(FileManager.default.fileExists(atPath: s.out.appendingPathComponent(id).path))
            let status = try await s.run(["status", id, "--json"])
            #expect(status.stdout.contains("\"task_status\":\"succeed\""))
            let dl = try await s.run(["download", id, "--out", s.dir.appendingPathComponent("again").path])
            #expect(dl.exitCode == 0 && dl.stdout.contains("/again/\(id)/0."))
            let missing = try await s.run(["status", "no-such-task"])
            #expect(missing.exitCode == 1 && missing.stderr.contains("not-found"))
            // Running the same external id again never makes a second task.
            let again = try await s.run(["generate", "--prompt", "later", "--external-task-id", "job-7", "--out", s.out.path] + Self.fast)
            #expect(again.exitCode == 0, "\(again.stderr)")
            #expect(await s.tasksCreated() == 1)
        }
    }

    @Test("killed while waiting, then resumed: every image downloaded, exactly one task per request")
    func killThenResume() async throws {
        // The emulator's clock stands still until the children are dead, so no task can finish early
        // however slowly the children start; then it jumps past the tasks' end.
        // It starts a minute ahead so the children's tokens (nbf = their now - 5 s) are valid however late they start.
        let clock = ManualClock(unixMilliseconds: Int64(Date().timeIntervalSince1970 * 1000) + 60_000, mode: .waits)
        try await Self.withSetup(taskSeconds: 30, clock: clock) { s in
            let count = 3
            var children: [Process] = []
            for i in 0..<count {
                let p = Process()
                p.executableURL = CLIRunner.binary
                p.arguments = ["generate", "--prompt", "request \(i)", "--n", "2", "--out", s.out.path,
                               "--sheet", s.dir.appendingPathComponent("sheet\(i).png").path] + Self.fast
                var env = ProcessInfo.processInfo.environment
                for (k, v) in s.env { env[k] = v }
                p.environment = env
                p.standardOutput = FileHandle.nullDevice
                p.standardError = FileHandle.nullDevice
                try p.run()
                children.append(p)
            }
            // Wait until every child has journaled its task id, then kill them all mid-wait.
            let journal = try TaskJournal(directory: s.journal)
            var submitted = 0
            for _ in 0..<1200 {
                submitted = (try? journal.entries().filter { $0.state == .submitted }.count) ?? 0
                if submitted == count { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(submitted == count)
            try await Task.sleep(for: .milliseconds(300))   // let them poll a little
            for p in children { kill(p.processIdentifier, SIGKILL) }
            for p in children { p.waitUntilExit() }
            #expect(children.allSatisfy { $0.terminationReason == .uncaughtSignal })
            #expect(try journal.unfinished().count == count)
            let before = (try? FileManager.default.subpathsOfDirectory(atPath: s.out.path))?.filter { $0.hasSuffix(".png") } ?? []
            #expect(before.isEmpty)
            clock.advance(bySeconds: 31)

            let r = try await s.run(["resume"] + Self.fast)
            #expect(r.exitCode == 0, "\(r.stderr)")
            let entries = try journal.entries()
            #expect(entries.count == count && entries.allSatisfy { $0.state == .completed })
            for e in entries {
                #expect(e.files.count == 2)
                for f in e.files { #expect(FileManager.default.fileExists(atPath: f)) }
                #expect(FileManager.default.fileExists(atPath: e.sheetPath ?? "/nonexistent"))
            }
            #expect(await s.tasksCreated() == count)
            // A second resume finds nothing to do and submits nothing.
            let again = try await s.run(["resume"])
            #expect(again.exitCode == 0)
            #expect(await s.tasksCreated() == count)
        }
    }

    @Test("Ctrl-C while waiting exits 130 and says how to finish the journaled task")
    func interrupt() async throws {
        let clock = ManualClock(unixMilliseconds: Int64(Date().timeIntervalSince1970 * 1000) + 60_000, mode: .waits)
        try await Self.withSetup(taskSeconds: 30, clock: clock) { s in
            let p = Process()
            p.executableURL = CLIRunner.binary
            p.arguments = ["generate", "--prompt", "x", "--out", s.out.path] + Self.fast
            var env = ProcessInfo.processInfo.environment
            for (k, v) in s.env { env[k] = v }
            p.environment = env
            let err = Pipe()
            p.standardError = err
            p.standardOutput = FileHandle.nullDevice
            try p.run()
            let journal = try TaskJournal(directory: s.journal)
            // Interrupt only once the command says it is waiting (its signal handlers are in place then).
            let reader = err.fileHandleForReading
            // Blocking reads and waits run on a Dispatch thread, never on the cooperative pool: with two
            // cores that pool has two threads, and a blocked one starves every other test's tasks.
            let early: String = await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    var seen = Data()
                    while true {
                        let chunk = reader.availableData
                        if chunk.isEmpty { break }
                        seen.append(chunk)
                        if String(decoding: seen, as: UTF8.self).contains("waiting for task") { break }
                    }
                    continuation.resume(returning: String(decoding: seen, as: UTF8.self))
                }
            }
            #expect(early.contains("waiting for task"), "\(early)")
            p.interrupt()
            // Bounded: a lost signal fails this test instead of hanging the suite.
            let exited: Bool = await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    let deadline = Date().addingTimeInterval(30)
                    while p.isRunning && Date() < deadline { usleep(20_000) }
                    continuation.resume(returning: !p.isRunning)
                }
            }
            guard exited else {
                kill(p.processIdentifier, SIGKILL)
                Issue.record("generate was still running 30 s after SIGINT: the signal was lost")
                return
            }
            let text = early + String(decoding: reader.readDataToEndOfFile(), as: UTF8.self)
            #expect(p.terminationStatus == 130)
            #expect(text.contains("klingkit resume"))
            // stderr is a pipe here, not a terminal: plain lines, no carriage returns or erase escapes.
            #expect(!text.contains("\r") && !text.contains("\u{1B}"), "\(text.debugDescription)")
            #expect(try journal.unfinished().count == 1)
        }
    }

    @Test("a run interrupted before the create answered: resume finds the task by external id")
    func interruptedCreate() async throws {
        try await Self.withSetup { s in
            // The state a kill leaves between journaling and the create's answer: `submitting`, no task id.
            let journal = try TaskJournal(directory: s.journal)
            let created = try await s.run(["generate", "--prompt", "x", "--no-wait", "--external-task-id", "ext-1", "--out", s.out.path,
                                     "--journal", s.dir.appendingPathComponent("other-journal").path])
            #expect(created.exitCode == 0)
            try journal.record(JournalEntry(externalTaskID: "ext-1", kind: .generation, provider: "kling",
                                            baseURL: s.server.baseURL, state: .submitting, outputDirectory: s.out.path))
            try journal.record(JournalEntry(externalTaskID: "never-sent", kind: .generation, provider: "kling",
                                            baseURL: s.server.baseURL, state: .submitting, outputDirectory: s.out.path))
            let r = try await s.run(["resume"] + Self.fast)
            #expect(r.exitCode == 1)   // one entry could not complete: its create never arrived
            #expect(r.stdout.contains("completed: 1 image(s)"))
            #expect(r.stdout.contains("not-created"))
            #expect(try journal.entry(externalTaskID: "ext-1")?.state == .completed)
            #expect(try journal.entry(externalTaskID: "never-sent")?.state == .notCreated)
            #expect(await s.tasksCreated() == 1)
        }
    }

    @Test("unreadable journal files (truncated, garbage, empty, unknown state, stray) are set aside; the readable entry still resumes; exit 1 at the end")
    func corruptJournalEntries() async throws {
        try await Self.withSetup { s in
            let r = try await s.run(["generate", "--prompt", "later", "--no-wait", "--out", s.out.path, "--external-task-id", "good-1"])
            #expect(r.exitCode == 0, "\(r.stderr)")
            let id = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let good = try Data(contentsOf: s.journal.appendingPathComponent("good-1.json"))
            let bad: [String: Data] = [
                "truncated.json": good.prefix(good.count / 2),
                "garbage.json": good + Data("}}{{ appended".utf8),
                "empty.json": Data(),
                "unknown-state.json": Data(String(decoding: good, as: UTF8.self).replacingOccurrences(of: "\"submitted\"", with: "\"teleported\"").utf8),
                "stray.json": Data("{\"hello\": 1}".utf8),
            ]
            for (name, data) in bad { try data.write(to: s.journal.appendingPathComponent(name)) }
            let resume = try await s.run(["resume"] + Self.fast)
            #expect(resume.exitCode == 1, "\(resume.stdout) \(resume.stderr)")
            #expect(resume.stdout.contains("\(id) completed"), "\(resume.stdout)")
            #expect(FileManager.default.fileExists(atPath: s.out.appendingPathComponent(id).path))
            for name in bad.keys {
                #expect(resume.stderr.contains(name), "\(name) not named in: \(resume.stderr)")
                #expect(FileManager.default.fileExists(atPath: s.journal.appendingPathComponent(name + ".corrupt").path), "\(name)")
                #expect(!FileManager.default.fileExists(atPath: s.journal.appendingPathComponent(name).path), "\(name)")
            }
            #expect(resume.stderr.contains("5 unreadable journal entries set aside"), "\(resume.stderr)")
            // No raw multi-line DecodingError text.
            #expect(!resume.stderr.contains("DecodingError"), "\(resume.stderr)")
            // Set aside once: the next resume is clean.
            let again = try await s.run(["resume"] + Self.fast)
            #expect(again.exitCode == 0, "\(again.stderr)")
        }
    }

    @Test("--image-reference face counts the faces of a local image: a warning by default, a refusal with --strict-face")
    func faceReference() async throws {
        try await Self.withSetup { s in
            let landscape = CLIRunner.corpus.path + "/exif-orientation/Landscape_1.jpg"
            let strict = try await s.run(["generate", "--prompt", "p", "--model", "kling-v1-5", "--image", landscape,
                                          "--image-reference", "face", "--strict-face", "--no-wait"])
            #expect(strict.exitCode == 2, "\(strict.stderr)")
            #expect(strict.stderr.contains("faces: 0"), "\(strict.stderr)")
            #expect(await s.tasksCreated() == 0)
            let hopper = CLIRunner.corpus.path + "/png/pillow_hopper_bw_500.png"
            let one = try await s.run(["generate", "--prompt", "p", "--model", "kling-v1-5", "--image", hopper,
                                       "--image-reference", "face", "--strict-face", "--no-wait"])
            #expect(one.exitCode == 0, "\(one.stderr)")
            #expect(one.stderr.contains("faces: 1"), "\(one.stderr)")
        }
    }

    @Test("--wait-timeout shorter than the first poll still waits and asks once at the deadline; --json prints the task; exit 4; download of it exits 4")
    func waitTimeoutUnfinished() async throws {
        try await Self.withSetup(taskSeconds: 120) { s in
            let before = await s.requests()
            let r = try await s.run(["generate", "--prompt", "a lighthouse", "--wait-timeout", "1", "--json", "--out", s.out.path])
            #expect(r.exitCode == 4, "\(r.stderr)")
            // The create and at least one status query (the old sequence gave up before any query).
            #expect(await s.requests() - before >= 2)
            let line = try #require(r.stdout.split(separator: "\n").last.map(String.init), "no JSON on stdout: \(r.stderr)")
            let object = try JSONDecoder().decode([String: JSONValue].self, from: Data(line.utf8))
            let taskID = try #require(object["task_id"]?.stringValue)
            #expect(["submitted", "processing"].contains(object["task_status"]?.stringValue ?? ""), "\(line)")
            #expect(object["external_task_id"]?.stringValue?.isEmpty == false)

            let download = try await s.run(["download", taskID, "--out", s.out.path])
            #expect(download.exitCode == 4, "\(download.stderr)")
            #expect(download.stderr.contains("nothing to download yet"), "\(download.stderr)")
        }
    }
}
