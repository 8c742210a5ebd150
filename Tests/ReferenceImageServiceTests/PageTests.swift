import Foundation
import KlingKitTestSupport
import ReferenceImageService
import Testing

/// The page in a real browser: headless Chromium opens `/` on a running service, chooses the samples
/// in the file input, and the verdicts and prepared previews are read back from the DOM.
@Suite("klingkit serve: the page in headless Chromium", .enabled(if: WebDriverSession.available, "chromedriver is not installed"))
struct PageTests {
    static let files = ["portrait-valid.jpg", "avatar-tiny.png", "panorama-wide.jpg", "corrupt-truncated.jpg"]

    @Test("uploading the samples shows each verdict in words, the prepared preview, its size, actions and buttons")
    func uploadSamples() async throws {
        // A debug build on a loaded machine prepares the 4200x1200 panorama slowly: a generous deadline.
        try await withService(.init(requestDeadline: .seconds(600))) { server in
            let browser = try await WebDriverSession.start(width: 1100, height: 2400)
            do {
                try await Self.exercise(browser, server: server)
                await browser.close()
            } catch {
                await browser.close()
                throw error
            }
        }
    }

    static func exercise(_ browser: WebDriverSession, server: ReferenceImageServer) async throws {
        try await browser.navigate(to: server.baseURL + "/")
        let paths = files.map { Samples.root.appendingPathComponent($0).path }
        try await browser.uploadFiles(css: "#files", paths: paths)
        let done = try await browser.waitFor("return document.body.dataset.done || '0'", timeout: 180) { $0.stringValue == "\(files.count)" }
        #expect(done.stringValue == "\(files.count)", "the page finished \(done) of \(files.count) files")

        let cards = try await browser.findElements(css: ".card")
        #expect(cards.count == files.count)
        var byFile: [String: WebDriverSession.Element] = [:]
        for card in cards {
            if let name = try await browser.attribute(card, "data-file") { byFile[name] = card }
        }
        #expect(Set(byFile.keys) == Set(files))

        func read(_ file: String, _ css: String) async throws -> String {
            let value = try await browser.executeScript(
                "const el = document.querySelector(`.card[data-file='${arguments[0]}'] ${arguments[1]}`); return el ? el.textContent : null;",
                [.string(file), .string(css)])
            return value.stringValue ?? ""
        }
        func rules(_ file: String) async throws -> [String] {
            let value = try await browser.executeScript(
                "return Array.from(document.querySelectorAll(`.card[data-file='${arguments[0]}'] li[data-rule]`)).map(li => li.dataset.rule);",
                [.string(file)])
            return (value.arrayValue ?? []).compactMap(\.stringValue)
        }
        func preview(_ file: String) async throws -> (src: String, width: Int) {
            let value = try await browser.executeScript(
                "const img = document.querySelector(`.card[data-file='${arguments[0]}'] img.after`); return img ? [img.src.slice(0, 30), img.naturalWidth] : null;",
                [.string(file)])
            let pair = value.arrayValue ?? []
            return (pair.first?.stringValue ?? "", Int(pair.last?.intValue ?? 0))
        }

        // Valid: accepted, facts with values, the prepared copy (the same file) shown.
        #expect(try await read("portrait-valid.jpg", ".verdict").contains("accepts this image"))
        #expect(try await read("portrait-valid.jpg", ".facts").contains("900 × 1200 px"))
        // Too small: refused in words, with the measured value and the limit; fixed by resizing.
        #expect(try await read("avatar-tiny.png", ".verdict").contains("would refuse"))
        #expect(try await rules("avatar-tiny.png") == ["min-dimension", "min-dimension"])
        #expect(try await read("avatar-tiny.png", ".violations").contains("160 px is below the minimum of 300 px"))
        #expect(try await read("avatar-tiny.png", ".actions-list").contains("resized"))
        // Too wide: the ratio rule; padded.
        #expect(try await rules("panorama-wide.jpg") == ["aspect-ratio"])
        #expect(try await read("panorama-wide.jpg", ".actions-list").contains("padded"))
        // Corrupt: the rule, and no fixed file.
        #expect(try await rules("corrupt-truncated.jpg").contains("corrupt"))
        #expect(try await read("corrupt-truncated.jpg", ".after-caption").contains("Cannot be fixed: corrupt-truncated.jpg: does not decode"))

        for file in ["portrait-valid.jpg", "avatar-tiny.png", "panorama-wide.jpg"] {
            // The prepared image decodes in the browser, at its reported size.
            _ = try await browser.waitFor(
                "const img = document.querySelector(`.card[data-file='\(file)'] img.after`); return img && img.complete ? img.naturalWidth : 0;",
                timeout: 20) { ($0.intValue ?? 0) > 0 }
            let (src, width) = try await preview(file)
            #expect(src.hasPrefix("data:image/"), "\(file): \(src)")
            let caption = try await read(file, ".after-caption")
            #expect(width >= 300 && caption.contains("\(width) ×"), "\(file): \(width) px, caption \(caption)")
            #expect(caption.contains("bytes"))
            let download = try await browser.executeScript(
                "const a = document.querySelector(`.card[data-file='\(file)'] a.download`); return a ? [a.href.slice(0, 5), a.download] : null;")
            #expect(download.arrayValue?.first?.stringValue == "blob:", "\(file): \(download)")
            #expect(try await browser.findElements(css: ".card[data-file='\(file)'] button.copy").count == 1)
        }

        let png = try await browser.screenshotPNG()
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        let out = ProcessInfo.processInfo.environment["KLINGKIT_WRITE_SAMPLES"] == "1"
            ? TestCorpus.packageRoot.appendingPathComponent("docs/screenshots/serve-page.png")
            : FileManager.default.temporaryDirectory.appendingPathComponent("serve-page-\(getpid()).png")
        try png.write(to: out, options: .atomic)
    }
}
