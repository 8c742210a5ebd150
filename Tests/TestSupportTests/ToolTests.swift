import Foundation
import KlingKitTestSupport
import Testing

/// The test tools themselves, so a broken browser or database set-up fails here, by name, before it
/// fails a feature suite in a confusing way.
@Suite struct ChildProcessTests {
    @Test func capturesOutputAndStatus() async throws {
        let result = try await ChildProcess.run("/bin/sh", ["-c", "cat; echo err >&2; exit 3"], stdin: Data("hello".utf8))
        #expect(result.exitCode == 3)
        #expect(result.stdoutText == "hello")
        #expect(result.stderrText == "err\n")
    }

    @Test func killsAChildThatOverstaysItsTimeout() async throws {
        // A unique duration marks this child among any other sleeps on the machine.
        let seconds = "300.\(UInt32.random(in: 100_000...999_999))"
        await #expect(throws: ChildProcess.Timeout.self) {
            try await ChildProcess.run("/bin/sleep", [seconds], timeout: 0.5)
        }
        // The child is gone (killed), not left running behind the error.
        let survivors = try await ChildProcess.run("/usr/bin/pgrep", ["-f", "sleep \(seconds)"])
        #expect(survivors.stdoutText.isEmpty, "still running: \(survivors.stdoutText)")
    }
}

@Suite(.enabled(if: PostgresCluster.available, "PostgreSQL is not installed"))
struct PostgresClusterTests {
    @Test func startsAcceptsQueriesAndStops() async throws {
        let cluster = try await PostgresCluster.start()
        let psql = try #require(ChildProcess.find("psql", extraDirectories: [PostgresCluster.binDirectory ?? ""]))
        let answer = try await ChildProcess.run(psql, [cluster.url, "-At", "-c", "select 6 * 7"])
        await cluster.stop()
        #expect(answer.exitCode == 0, "\(answer.stderrText)")
        #expect(answer.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "42")
        let after = try await ChildProcess.run(psql, [cluster.url, "-At", "-c", "select 1"])
        #expect(after.exitCode != 0)
    }
}

@Suite(.enabled(if: WebDriverSession.available, "chromedriver is not installed"))
struct WebDriverSessionTests {
    @Test func drivesAPageFromFile() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("klingkit-webdriver-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let page = """
        <!doctype html><meta charset=utf-8><title>t</title>
        <p id=out>none</p><input id=file type=file multiple>
        <button id=b onclick="document.getElementById('out').textContent = event.shiftKey ? 'shift' : 'click'">b</button>
        <script>
        document.addEventListener('keydown', e => { document.getElementById('out').textContent = 'key:' + e.key; });
        document.getElementById('file').addEventListener('change', e => {
          document.getElementById('out').textContent = [...e.target.files].map(f => f.name + ':' + f.size).join(',');
        });
        localStorage.setItem('seen', String(Number(localStorage.getItem('seen') || 0) + 1));
        </script>
        """
        try Data(page.utf8).write(to: dir.appendingPathComponent("index.html"))
        try Data("12345".utf8).write(to: dir.appendingPathComponent("a.txt"))

        let browser = try await WebDriverSession.start()
        do {
            try await browser.navigate(to: dir.appendingPathComponent("index.html").absoluteString)
            let out = try await browser.findElement(css: "#out")
            #expect(try await browser.text(out) == "none")
            try await browser.click(try await browser.findElement(css: "#b"))
            #expect(try await browser.text(out) == "click")
            try await browser.click(try await browser.findElement(css: "#b"), shift: true)
            #expect(try await browser.text(out) == "shift")
            try await browser.pressKeys([WebDriverSession.Key.arrowRight])
            #expect(try await browser.text(out) == "key:ArrowRight")
            try await browser.uploadFiles(css: "#file", paths: [dir.appendingPathComponent("a.txt").path])
            #expect(try await browser.text(try await browser.findElement(css: "#out")) == "a.txt:5")
            try await browser.refresh()
            #expect(try await browser.executeScript("return localStorage.getItem('seen')") == .string("2"))
            let png = try await browser.screenshotPNG()
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        } catch {
            await browser.close()
            throw error
        }
        await browser.close()
    }
}
