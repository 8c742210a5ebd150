import Foundation
import KlingBatch
import KlingEmulator
import KlingKitTestSupport
import Testing

/// The environment a `klingkit batch` child needs for an in-process emulator.
func emulatorEnvironment(_ server: EmulatorServer) -> [String: String] {
    ["KLING_ACCESS_KEY": server.configuration.accessKey, "KLING_SECRET_KEY": server.configuration.secretKey]
}

/// `batch run`'s connection flags for fast emulator tasks.
func fastFlags(_ server: EmulatorServer) -> [String] {
    ["--base-url", server.baseURL, "--poll-interval", "0.2", "--timeout", "10"]
}

/// A batch of `count` lines, `n` alternating 1 and 2 (or every 10th line 2 with `sparse`).
func writeLines(_ dir: URL, count: Int, sparse: Bool = false, name: String = "batch.jsonl") throws -> String {
    var text = "{\"defaults\": {\"aspect_ratio\": \"3:4\", \"model\": \"kling-v2\"}}\n"
    for i in 0..<count {
        let n = sparse ? (i % 10 == 0 ? 2 : 1) : 1 + i % 2
        text += "{\"id\": \"shot-\(i)\", \"prompt\": \"bottle \(i) on marble\", \"n\": \(n)}\n"
    }
    let path = dir.appendingPathComponent(name).path
    try Data(text.utf8).write(to: URL(fileURLWithPath: path))
    return path
}

@Suite("klingkit batch", .serialized)
struct BatchCommandTests {
    @Test("batch validate lists every problem with its line number and exits 2; a good file exits 0")
    func validate() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.jsonl").path
        try Data("{\"prompt\": \"ok\"}\n{\"prompt\": \"x\", \"n\": 10}\n{\"n\": 1}\n{oops\n".utf8).write(to: URL(fileURLWithPath: bad))
        let child = try BatchChild(["batch", "validate", bad], directory: dir)
        let exit = await child.exit(timeout: 60)
        #expect(exit?.status == 2)
        let lines = child.stdout.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("\(bad):2: n") })
        #expect(lines.contains { $0.hasPrefix("\(bad):3: prompt") })
        #expect(lines.contains { $0.hasPrefix("\(bad):4: ") && $0.contains("JSON") })
        #expect(!lines.contains { $0.hasPrefix("\(bad):1:") })
        let good = try writeLines(dir, count: 3)
        let ok = try BatchChild(["batch", "validate", good, "--json"], directory: dir)
        #expect(await ok.exit(timeout: 60)?.status == 0)
        let summary = try JSONSerialization.jsonObject(with: Data(ok.stdout.utf8)) as? [String: Any]
        #expect(summary?["lines"] as? Int == 3 && summary?["problems"] as? Int == 0)
        // Bad input: one line naming the file or the flag, exit 2, nothing created.
        let missing = try BatchChild(["batch", "run", dir.appendingPathComponent("none.jsonl").path, "--out", dir.appendingPathComponent("o").path],
                                     directory: dir)
        #expect(await missing.exit(timeout: 60)?.status == 2)
        #expect(missing.stderr.contains("none.jsonl:") && missing.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("o").path))
        let badSet = try BatchChild(["batch", "validate", good, "--set", "colour=red"], directory: dir)
        #expect(await badSet.exit(timeout: 60)?.status == 2)
        #expect(badSet.stderr.contains("--set colour"))
        let noJournal = try BatchChild(["batch", "status", "--out", dir.appendingPathComponent("nothing").path], directory: dir)
        #expect(await noJournal.exit(timeout: 60)?.status == 1)
        #expect(noJournal.stderr.contains("no batch journal"))
    }

    @Test("batch run --json: one event per line, a manifest line per batch line with the request fields, contact sheets; status says finished")
    func runJSON() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try writeLines(dir, count: 12)
        try await withEmulator(EmulatorConfiguration(port: 0, taskSeconds: 0.4, concurrencyLimit: 6)) { server in
            let out = dir.appendingPathComponent("out").path
            let child = try BatchChild(["batch", "run", path, "--out", out, "--budget", "6", "--json", "--sheet-every", "8"] + fastFlags(server),
                                       environment: emulatorEnvironment(server), directory: dir)
            let exit = await child.exit(timeout: 240)
            #expect(exit?.status == 0, "\(child.stderr)")
            var kinds: [String: Int] = [:]
            for line in child.stdout.split(separator: "\n") {
                let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
                kinds[object["event"] as? String ?? "?", default: 0] += 1
            }
            #expect(kinds["started"] == 1 && kinds["submitted"] == 12 && kinds["succeeded"] == 12 && kinds["finished"] == 1)
            let manifest = try String(contentsOfFile: out + "/manifest.jsonl", encoding: .utf8).split(separator: "\n")
            #expect(manifest.count == 12)
            let first = try #require(try JSONSerialization.jsonObject(with: Data(manifest[0].utf8)) as? [String: Any])
            #expect(first["id"] as? String == "shot-0" && first["outcome"] as? String == "succeeded")
            #expect(first["prompt"] as? String == "bottle 0 on marble" && first["model"] as? String == "kling-v2" && first["aspect_ratio"] as? String == "3:4")
            #expect((first["files"] as? [String])?.count == 1 && first["task_id"] is String && first["references"] is [Any])
            #expect(manifest[0].hasPrefix("{\"line\":2,\"id\":\"shot-0\",\"external_task_id\":\"kkb-"))
            // 18 images, 8 per sheet: three sheets.
            let sheets = try FileManager.default.contentsOfDirectory(atPath: out + "/sheets").sorted()
            #expect(sheets == ["sheet-001.jpg", "sheet-002.jpg", "sheet-003.jpg"])
            #expect(await server.statistics()["native_peak_running_slots"].map { $0 <= 6 } == true)
            let status = try BatchChild(["batch", "status", "--out", out, "--json"], directory: dir)
            #expect(await status.exit(timeout: 60)?.status == 0)
            let counts = try #require(try JSONSerialization.jsonObject(with: Data(status.stdout.utf8)) as? [String: Any])
            #expect(counts["succeeded"] as? Int == 12 && counts["finished"] as? Bool == true && counts["slots_in_use"] as? Int == 0)
        }
    }

    @Test("kill -9 of batch run at random moments, then batch resume: every line done, one task per line, none lost")
    func killAndResume() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try writeLines(dir, count: 60)
        var config = EmulatorConfiguration(port: 0, taskSeconds: 0.5, concurrencyLimit: 10)
        config.faults.dropAfterCreateRate = 0.05
        try await withEmulator(config) { server in
            let out = dir.appendingPathComponent("out").path
            var generator = SystemRandomNumberGenerator()
            let started = Date()
            var kills = 0
            // Random moments from just after start to well into the run, until about 35 s are spent.
            let journalPath = out + "/.klingkit-batch/journal.sqlite"
            @Sendable func isRegistered() async throws -> Bool {
                guard FileManager.default.fileExists(atPath: journalPath) else { return false }
                let journal = try SQLiteBatchJournal(path: journalPath)
                let registered = try await !journal.batchIDs().isEmpty
                await journal.close()
                return registered
            }
            for _ in 0..<20 where Date().timeIntervalSince(started) < 25 {
                // `batch run` until the batch is registered (a kill may come before that), then `batch resume`.
                let verb = try await isRegistered() ? ["batch", "resume"] : ["batch", "run", path]
                let child = try BatchChild(verb + ["--out", out, "--budget", "10", "--json"] + fastFlags(server),
                                           environment: emulatorEnvironment(server), directory: dir)
                try await Task.sleep(for: .milliseconds(Int.random(in: 150...1400, using: &generator)))
                child.kill9()
                guard let exit = await child.exit(timeout: 30) else { break }
                if exit.signalled { kills += 1 } else if exit.status == 0 { break }   // finished before the kill
            }
            // On a loaded machine every child may have been killed before it registered the batch: then the
            // last one starts it (registration comes before any create, so nothing was sent yet).
            let finalVerb = try await isRegistered() ? ["batch", "resume"] : ["batch", "run", path]
            let final = try BatchChild(finalVerb + ["--out", out, "--budget", "10"] + fastFlags(server),
                                       environment: emulatorEnvironment(server), directory: dir)
            let exit = await final.exit(timeout: 240)
            #expect(exit?.status == 0, "\(final.stderr)")
            #expect(kills >= 5)
            let journal = try SQLiteBatchJournal(path: out + "/.klingkit-batch/journal.sqlite")
            let id = try #require(try await journal.batchIDs().first)
            let jobs = try await journal.jobs(batch: id)
            await journal.close()
            let stats = await server.statistics()
            #expect(jobs.count == 60 && jobs.allSatisfy { $0.state == .succeeded })
            #expect(stats["native_tasks_created"] == 60)                 // 0 duplicates (and none refused as one)
            #expect(Set(jobs.compactMap(\.taskID)).count == 60)
            #expect(jobs.allSatisfy { $0.files.count == $0.slots && $0.files.allSatisfy { FileManager.default.fileExists(atPath: $0) } })
            #expect(stats["native_concurrency_refusals"] == 0)
        }
    }

    @Test("--callback-listen: the service's callbacks drive the run (each confirmed by one query) while polling is slow")
    func callbacksDriveTheRun() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = try writeLines(dir, count: 10)
        try await withEmulator(EmulatorConfiguration(port: 0, taskSeconds: 0.5, concurrencyLimit: 20)) { server in
            let port = try ChildProcess.freeLoopbackPort()
            let out = dir.appendingPathComponent("out").path
            // Polling every 20 s (the first query after 3 s): without callbacks every task would wait for it.
            let child = try BatchChild(["batch", "run", path, "--out", out, "--budget", "20", "--json", "--sheet-every", "0",
                                        "--base-url", server.baseURL, "--poll-interval", "20",
                                        "--callback-listen", "127.0.0.1:\(port)", "--callback-url", "http://127.0.0.1:\(port)/hook"],
                                       environment: emulatorEnvironment(server), directory: dir)
            let exit = await child.exit(timeout: 240)
            #expect(exit?.status == 0, "\(child.stderr)")
            let stats = await server.statistics()
            #expect(stats["native_tasks_created"] == 10 && stats["succeed"] == 10)
            #expect((stats["callbacks_delivered"] ?? 0) >= 20)       // processing and succeed, at least, per task
            // With callbacks attached the fallback query of a running task comes only after 30 s, so a
            // batch that finished sooner was driven by the callbacks (each confirmed by one query).
            let finished = child.stdout.split(separator: "\n").first { $0.contains("\"event\":\"finished\"") }
            let event = try #require(try finished.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] })
            #expect(try #require(event["elapsed"] as? Double) < 25)
            // Creates, 15 downloads and a few queries per task: no poll loop.
            #expect((stats["requests"] ?? 999) <= 10 + 15 + 10 * 4)
        }
    }
}
