import Foundation
import KlingKitTestSupport
import Testing

@Suite("klingkit serve")
struct ServeCommandTests {
    /// A running `klingkit serve` child; every blocking step happens on a Dispatch thread with a deadline.
    final class Running: @unchecked Sendable {
        let process = Process()
        let out = Pipe()
        let err = Pipe()
        private(set) var port = 0

        init(_ arguments: [String]) throws {
            process.executableURL = CLIRunner.binary
            process.arguments = ["serve", "--port", "0"] + arguments
            process.standardOutput = out
            process.standardError = err
            try process.run()
        }

        /// Reads stdout until the "listening on" line (blocking: call through ``RawHTTP/async(timeout:_:)``).
        func waitForPort() throws -> Int {
            var text = ""
            while !text.contains("\n") {
                let chunk = out.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            guard let range = text.range(of: "listening on http://127.0.0.1:"),
                  let port = Int(text[range.upperBound...].prefix { $0.isNumber }) else {
                process.terminate()
                throw RawHTTP.Failure("no 'listening on' line: \(text)")
            }
            self.port = port
            return port
        }

        /// Sends `signal` and waits (bounded) for the exit: status and stderr.
        func stop(_ signal: Int32, within seconds: Double = 30) -> (Int32, String) {
            kill(process.processIdentifier, signal)
            return waitForExit(within: seconds)
        }

        func waitForExit(within seconds: Double) -> (Int32, String) {
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { usleep(20_000) }
            if process.isRunning { process.terminate(); Issue.record("klingkit serve did not stop within \(seconds) s") }
            process.waitUntilExit()
            return (process.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
        }
    }

    static let samples = TestCorpus.packageRoot.appendingPathComponent("samples")

    @Test("prints the bound address; /v1/check answers exactly what check --json prints")
    func sameReportAsCheck() async throws {
        let running = try Running(["--quiet"])
        let port = try await RawHTTP.async(timeout: 60) { try running.waitForPort() }
        for name in ["portrait-valid.jpg", "avatar-tiny.png", "corrupt-truncated.jpg"] {
            let path = Self.samples.appendingPathComponent(name).path
            let printed = try await CLIRunner.run(["check", "--json", path], timeout: 60)
            let body = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            let encodedPath = path.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(["&", "=", "+"])) ?? path
            let answer = try await RawHTTP.async { try RawHTTP.request(port: port, method: "POST", path: "/v1/check?name=\(encodedPath)", body: body) }
            #expect(answer.status == 200)
            #expect(answer.text == printed.stdout.trimmingCharacters(in: .newlines), "\(name)")
        }
        let (status, stderr) = await (try? RawHTTP.async { running.stop(SIGINT) }) ?? (-1, "")
        #expect(status == 0, "\(stderr)")
    }

    @Test("SIGTERM drains: a request in flight is answered in full, then the server exits 0")
    func sigtermDrains() async throws {
        let running = try Running([])
        let port = try await RawHTTP.async(timeout: 60) { try running.waitForPort() }
        let image = try [UInt8](Data(contentsOf: Self.samples.appendingPathComponent("avatar-tiny.png")))
        let (answer, exit, stderr, refusedNew) = try await RawHTTP.async(timeout: 120) {
            let connection = try RawHTTP.Connection(port: port, timeout: 30)
            connection.send("POST /v1/prepare HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: \(image.count)\r\n\r\n")
            connection.send(Array(image.prefix(image.count / 2)))
            usleep(300_000)
            kill(running.process.processIdentifier, SIGTERM)
            usleep(700_000)
            // The listener is closed: a new connection is refused while the old one is served.
            let refusedNew = (try? RawHTTP.Connection(port: port, timeout: 2)) == nil
            connection.send(Array(image.suffix(from: image.count / 2)))
            let answer = try connection.answer()
            let (exit, stderr) = running.waitForExit(within: 30)
            return (answer, exit, stderr, refusedNew)
        }
        #expect(answer.status == 200, "\(answer)")
        #expect(answer.headers["content-type"]?.hasPrefix("image/") == true)
        #expect(answer.headers["x-klingkit-actions"]?.contains("resized") == true)
        #expect(exit == 0, "\(stderr)")
        #expect(refusedNew)
        #expect(stderr.contains("stopped; in-flight requests finished"), "\(stderr)")
        // The access log names the route and status, never image bytes.
        #expect(stderr.contains("/v1/prepare") && stderr.contains("200"), "\(stderr)")
        #expect(!stderr.contains("IHDR") && !stderr.contains("PNG\r"))
    }

    @Test("usage errors exit 2 naming the option; a port in use exits 1")
    func usage() async throws {
        for (arguments, fragment) in [(["--port", "70000"], "port"), (["--max-files", "0"], "max-files"), (["--deadline", "0"], "--deadline")] {
            let result = try await CLIRunner.run(["serve"] + arguments, timeout: 60)
            #expect(result.exitCode == 2, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(fragment), "\(arguments): \(result.stderr)")
        }
        let first = try Running(["--quiet"])
        let port = try await RawHTTP.async(timeout: 60) { try first.waitForPort() }
        let second = try await CLIRunner.run(["serve", "--port", String(port)], timeout: 60)
        #expect(second.exitCode == 1 && second.stderr.contains("cannot listen"), "\(second.stderr)")
        #expect(await (try? RawHTTP.async { first.stop(SIGTERM).0 }) == 0)
    }
}
