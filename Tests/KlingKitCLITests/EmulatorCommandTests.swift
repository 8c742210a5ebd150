import Foundation
import NIOConcurrencyHelpers
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

@Suite("klingkit emulator")
struct EmulatorCommandTests {
    /// A running `klingkit emulator` child process and what it printed.
    final class Running: @unchecked Sendable {
        let process = Process()
        let out = Pipe()
        let err = Pipe()
        var variables: [String: String] = [:]

        init(_ arguments: [String]) throws {
            process.executableURL = CLIRunner.binary
            process.arguments = ["emulator"] + arguments
            process.standardOutput = out
            process.standardError = err
            try process.run()
            // The five NAME=value lines arrive at once, flushed; read until all are there. The blocking
            // reads run on a Dispatch thread with a real deadline: a read blocked on one of the two
            // cooperative threads would starve every other suite, and an emulator that never prints
            // must fail this test, not hang the run.
            let reader = out.fileHandleForReading
            let done = DispatchSemaphore(value: 0)
            let box = NIOLockedValueBox<[String: String]>([:])
            DispatchQueue.global().async {
                var text = ""
                var found: [String: String] = [:]
                while found.count < 5 {
                    let chunk = reader.availableData
                    if chunk.isEmpty { break }
                    text += String(decoding: chunk, as: UTF8.self)
                    for line in text.split(separator: "\n") {
                        let parts = line.split(separator: "=", maxSplits: 1)
                        if parts.count == 2 { found[String(parts[0])] = String(parts[1]) }
                    }
                }
                box.withLockedValue { $0 = found }
                done.signal()
            }
            if done.wait(timeout: .now() + 60) == .timedOut {
                kill(process.processIdentifier, SIGKILL)
                Issue.record("klingkit emulator printed no environment within 60 s")
                _ = done.wait(timeout: .now() + 10)
            }
            variables = box.withLockedValue { $0 }
        }

        /// Sends `signal` and waits (bounded) for the exit; returns the status and stderr.
        func stop(_ signal: Int32) -> (Int32, String) {
            kill(process.processIdentifier, signal)
            let deadline = Date().addingTimeInterval(30)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning {
                kill(process.processIdentifier, SIGKILL)   // a hung shutdown must fail this test, not hang the run
                Issue.record("emulator did not stop on signal \(signal) within 30 s")
            }
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
    }

    /// A blocking GET/POST with URLSession (bounded by a timeout).
    static func call(_ url: String, method: String = "GET", body: String? = nil, authorization: String? = nil) throws -> (Int, String) {
        var request = URLRequest(url: URL(string: url)!, timeoutInterval: 30)
        request.httpMethod = method
        if let body { request.httpBody = Data(body.utf8); request.setValue("application/json", forHTTPHeaderField: "Content-Type") }
        if let authorization { request.setValue(authorization, forHTTPHeaderField: "Authorization") }
        let done = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var result: (Int, String) = (0, "")
        URLSession.shared.dataTask(with: request) { data, response, _ in
            result = ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data ?? Data(), as: UTF8.self))
            done.signal()
        }.resume()
        _ = done.wait(timeout: .now() + 30)
        return result
    }

    @Test("prints the base URL and keys, serves both providers, ends cleanly on SIGTERM and SIGINT", arguments: [SIGTERM, SIGINT])
    func runsAndStops(signal: Int32) throws {
        let running = try Running(["--port", "0", "--access-key", "ak-test", "--secret-key", "sk-test", "--cometapi-key", "ck-test", "--task-seconds", "0.5"])
        let base = try #require(running.variables["KLING_BASE_URL"])
        #expect(base.hasPrefix("http://127.0.0.1:") && running.variables["COMETAPI_BASE_URL"] == base)
        #expect(running.variables["KLING_ACCESS_KEY"] == "ak-test" && running.variables["KLING_SECRET_KEY"] == "sk-test")
        #expect(running.variables["COMETAPI_KEY"] == "ck-test")
        #expect(try Self.call(base + "/_emulator/health").0 == 200)
        // CometAPI create with the printed key; native without a token is 401 / 1001.
        let created = try Self.call(base + "/kling/v1/images/generations", method: "POST", body: #"{"prompt":"cli"}"#, authorization: "Bearer ck-test")
        #expect(created.0 == 200 && created.1.contains("\"task_id\""), "\(created)")
        let denied = try Self.call(base + "/v1/images/generations")
        #expect(denied.0 == 401 && denied.1.contains("\"code\":1001"))
        let (status, stderr) = running.stop(signal)
        #expect(status == 0, "\(stderr)")
        #expect(stderr.contains("stopped by \(signal == SIGTERM ? "SIGTERM" : "SIGINT")"))
        #expect(!stderr.contains("sk-test"))
    }

    @Test("usage errors exit 2 naming the option")
    func usageErrors() async throws {
        for (arguments, fragment) in [
            (["--failure-rate", "1.5"], "task failure rate"),
            (["--port", "70000"], "port"),
            (["--latency-ms", "9-3"], "--latency-ms"),
            (["--concurrency-limit", "0"], "concurrency limit"),
            (["--cometapi-key", ""], "key"),
        ] {
            let result = try await CLIRunner.run(["emulator"] + arguments, timeout: 60)
            #expect(result.exitCode == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(fragment), "\(arguments): \(result.stderr)")
        }
    }

    @Test("a port already in use is a one-line failure, exit 1")
    func portInUse() async throws {
        let first = try Running(["--port", "0"])
        let base = try #require(first.variables["KLING_BASE_URL"])
        let port = try #require(base.split(separator: ":").last.map(String.init))
        let second = try await CLIRunner.run(["emulator", "--port", port], timeout: 60)
        #expect(second.exitCode == 1 && second.stderr.contains("cannot listen on 127.0.0.1:\(port)"), "\(second.stderr)")
        #expect(first.stop(SIGTERM).0 == 0)
    }
}
