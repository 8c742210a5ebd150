import Foundation
import ImageCodecs
import ImageCore
import KlingKitTestSupport
import Testing

/// `klingkit gallery` end to end: results made by `klingkit generate` against the emulator, the gallery
/// made by the built binary, the page opened from `file://` in headless Chromium and driven with the
/// keyboard and the mouse; everything it shows is checked against the `gallery.json` beside it.
@Suite("gallery in a browser", .serialized, .enabled(if: WebDriverSession.available))
struct GalleryBrowserTests {
    /// Eight tasks, 60 results: text→image with negative prompts and image→image with a corpus reference
    /// and fidelities, in several aspect ratios.
    static func makeResults(_ s: GenerateCommandTests.Setup) async throws {
        let reference = CLIRunner.corpus.appendingPathComponent("jpeg/jpegdec_progressive3.jpg").path
        let ratios = ["1:1", "16:9", "3:4", "4:3"]
        for task in 0..<8 {
            var args = ["generate", "--prompt", "task \(task): a lighthouse at dusk, shot \(task)", "--n", task < 4 ? "8" : "7",
                        "--aspect-ratio", ratios[task % 4], "--out", s.out.path, "--poll-interval", "0.2"]
            if task % 2 == 1 {
                args += ["--image", reference, "--image-reference", "subject", "--image-fidelity", "0.\(task)",
                         "--human-fidelity", "0.25", "--model", "kling-v1-5"]
            } else {
                args += ["--negative-prompt", "fog \(task)", "--resolution", task == 2 ? "2k" : "1k"]
            }
            let r = try await s.run(args)
            #expect(r.exitCode == 0, "\(r.stderr)")
        }
    }

    /// The JavaScript that reports every card and heading currently in the DOM.
    static let domScript = """
        const cards = [...document.querySelectorAll('.card')].map((c) => {
          const q = (s) => { const e = c.querySelector(s); return e ? e.textContent : null; };
          const img = c.querySelector('img');
          return { id: c.dataset.id, cls: c.className, top: c.offsetTop, left: c.offsetLeft, height: c.offsetHeight,
                   task: q('.f-task'), prompt: q('.f-prompt'), negative: q('.f-negative'), settings: q('.f-settings'),
                   reference: q('.f-reference'), cost: q('.f-cost'), size: q('.f-size'), name: q('.f-name'),
                   src: img ? img.getAttribute('src') : null, loading: img ? img.getAttribute('loading') : null,
                   loaded: img ? (img.complete && img.naturalWidth > 0) : false };
        });
        const heads = [...document.querySelectorAll('.ghead')].map((h) => ({ group: h.dataset.group, top: h.offsetTop, text: h.textContent }));
        return { cards, heads };
        """

    @Test("60 emulator results over 8 tasks: groups, references, captions and metadata match gallery.json; keys, picks kept across a reload, exports")
    func sixtyResults() async throws {
        try await GenerateCommandTests.withSetup(taskSeconds: 0.2) { s in
            try await Self.makeResults(s)
            let dir = s.dir.appendingPathComponent("gallery")
            let made = try await s.run(["gallery", s.out.path, "--out", dir.path, "--title", "Lighthouse review"])
            #expect(made.exitCode == 0, "\(made.stderr)")
            #expect(made.stdout.contains("60 results, 4 references in 8 groups"), "\(made.stdout)")
            let doc = try JSONDecoder().decode(JSONValue.self, from: Data(contentsOf: dir.appendingPathComponent("gallery.json")))
            let groups = try #require(doc["groups"]?.arrayValue)
            #expect(groups.count == 8)
            let entries = groups.flatMap { $0["entries"]?.arrayValue ?? [] }
            #expect(entries.filter { $0["role"]?.stringValue == "result" }.count == 60)
            let byID = Dictionary(uniqueKeysWithValues: entries.map { ($0["id"]!.stringValue!, $0) })

            let browser = try await WebDriverSession.start(width: 1280, height: 900)
            do {
                try await browser.navigate(to: dir.appendingPathComponent("index.html").absoluteString)
                try await browser.waitFor("return !!window.klingkitGallery") { $0.boolValue == true }
                #expect(try await browser.executeScript("return document.title").stringValue == "Lighthouse review")

                // Every group, brought into view in turn: its heading, then its cards in gallery.json's order
                // (references first), each showing that entry's facts.
                var seen = Set<String>()
                var previousBottom: Int?
                for group in groups {
                    let groupID = group["id"]!.stringValue!
                    let expected = group["entries"]!.arrayValue!.map { $0["id"]!.stringValue! }
                    try await browser.executeScript("window.klingkitGallery.reveal(arguments[0])", [.string(expected[0])])
                    let dom = try await browser.waitFor(Self.domScript) { dom in
                        let ids = Set((dom["cards"]?.arrayValue ?? []).filter { $0["loaded"]?.boolValue == true }.compactMap { $0["id"]?.stringValue })
                        return expected.allSatisfy(ids.contains)
                    }
                    let head = try #require(dom["heads"]?.arrayValue?.first { $0["group"]?.stringValue == groupID })
                    #expect(head["text"]?.stringValue?.contains(group["label"]!.stringValue!) == true)
                    let cards = (dom["cards"]?.arrayValue ?? []).filter { expected.contains($0["id"]?.stringValue ?? "") }
                    let ordered = cards.sorted { ($0["top"]!.intValue!, $0["left"]!.intValue!) < ($1["top"]!.intValue!, $1["left"]!.intValue!) }
                    #expect(ordered.map { $0["id"]!.stringValue! } == expected, "group \(groupID) order")
                    let headTop = head["top"]!.intValue!
                    if let previousBottom { #expect(headTop > previousBottom + 24, "a gap between groups") }
                    #expect(ordered.allSatisfy { $0["top"]!.intValue! > headTop })
                    previousBottom = ordered.map { $0["top"]!.intValue! + $0["height"]!.intValue! }.max() ?? headTop
                    for card in ordered {
                        let id = card["id"]!.stringValue!
                        let entry = byID[id]!
                        seen.insert(id)
                        let isReference = entry["role"]?.stringValue == "reference"
                        #expect(card["cls"]?.stringValue?.contains(isReference ? "reference" : "result") == true)
                        #expect(card["task"]?.stringValue == entry["task_id"]?.stringValue, "whole task id on \(id)")
                        #expect(card["prompt"]?.stringValue == entry["prompt"]?.stringValue)
                        if let negative = entry["negative_prompt"]?.stringValue { #expect(card["negative"]?.stringValue == "− " + negative) }
                        let settings = card["settings"]?.stringValue ?? ""
                        for key in ["model", "aspect_ratio", "resolution"] {
                            if let value = entry[key]?.stringValue { #expect(settings.contains(value), "\(key) on \(id)") }
                        }
                        if let fidelity = entry["image_fidelity"]?.numberValue {
                            #expect(card["reference"]?.stringValue?.contains("subject") == true)
                            #expect(card["reference"]?.stringValue?.contains("image \(fidelity)") == true)
                        }
                        let units = try #require(entry["final_unit_deduction"]?.stringValue)
                        #expect(card["cost"]?.stringValue?.contains("\(units) units") == true)
                        #expect(card["cost"]?.stringValue?.contains(" s") == true, "wall time")
                        let size = "\(entry["width"]!.intValue!)×\(entry["height"]!.intValue!)"
                        #expect(card["size"]?.stringValue?.hasPrefix(size) == true, "\(size) on \(id)")
                        #expect(card["src"]?.stringValue == entry["thumbnail"]?.stringValue)
                        #expect(card["loading"]?.stringValue == "lazy")
                        if !isReference { #expect(card["name"]?.stringValue?.hasPrefix("#\(entry["index"]!.intValue!)") == true) }
                    }
                    // References are exactly the image→image tasks'.
                    let refs = group["entries"]!.arrayValue!.filter { $0["role"]?.stringValue == "reference" }
                    #expect(refs.count == (group["request"]?["image"] == nil ? 0 : 1))
                }
                #expect(seen.count == entries.count)
                let rendered = try await browser.executeScript("return window.klingkitGallery.renderedCards").intValue ?? 0
                #expect(rendered < entries.count, "the grid is virtualised: \(rendered) of \(entries.count) cards in the DOM")

                // Keys: p picks, → moves, x rejects, u undoes the last verdict.
                let g0 = groups[0]["entries"]!.arrayValue!.map { $0["id"]!.stringValue! }
                try await browser.executeScript("window.klingkitGallery.reveal(arguments[0])", [.string(g0[0])])
                try await browser.pressKeys(["p", WebDriverSession.Key.arrowRight, "x", WebDriverSession.Key.arrowRight, "p", "u"])
                var verdicts = try await browser.executeScript("return window.klingkitGallery.verdicts")
                #expect(verdicts[g0[0]]?.stringValue == "pick" && verdicts[g0[1]]?.stringValue == "reject")
                #expect(verdicts[g0[2]] == nil, "undone")
                #expect(try await browser.executeScript("return window.klingkitGallery.cursorId").stringValue == g0[2])
                // The lightbox shows the full-size picture of the cursor; ← goes back.
                try await browser.pressKeys([WebDriverSession.Key.enter, WebDriverSession.Key.arrowLeft])
                let box = try await browser.waitFor("""
                    const i = document.getElementById('lb-img');
                    return { open: !document.getElementById('lightbox').hidden, src: i.getAttribute('src'), w: i.naturalWidth, h: i.naturalHeight };
                    """) { $0["w"]?.intValue ?? 0 > 0 }
                #expect(box["open"]?.boolValue == true)
                #expect(box["src"]?.stringValue == byID[g0[1]]!["href"]!.stringValue)
                #expect(box["w"]?.intValue == byID[g0[1]]!["width"]!.intValue && box["h"]?.intValue == byID[g0[1]]!["height"]!.intValue)
                try await browser.pressKeys([WebDriverSession.Key.escape])

                // Shift-click selects a range in group 1; x rejects all of it.
                let g1 = groups[1]["entries"]!.arrayValue!.filter { $0["role"]?.stringValue == "result" }.map { $0["id"]!.stringValue! }
                try await browser.executeScript("window.klingkitGallery.reveal(arguments[0])", [.string(g1[0])])
                try await browser.click(try await browser.findElement(css: ".card[data-id=\"\(g1[1])\"]"))
                try await browser.click(try await browser.findElement(css: ".card[data-id=\"\(g1[3])\"]"), shift: true)
                #expect(Set(try await browser.executeScript("return window.klingkitGallery.selectedIds").arrayValue?.compactMap(\.stringValue) ?? [])
                        == Set(g1[1...3]))
                try await browser.pressKeys(["x"])
                verdicts = try await browser.executeScript("return window.klingkitGallery.verdicts")
                #expect(g1[1...3].allSatisfy { verdicts[$0]?.stringValue == "reject" })
                let classes = try await browser.attribute(try await browser.findElement(css: ".card[data-id=\"\(g1[2])\"]"), "class") ?? ""
                #expect(classes.contains("reject"))

                // A reload keeps every verdict (localStorage).
                try await browser.refresh()
                try await browser.waitFor("return !!window.klingkitGallery") { $0.boolValue == true }
                let reloaded = try await browser.executeScript("return window.klingkitGallery.verdicts")
                #expect(reloaded == verdicts)

                // Filters: rejected only, then by text.
                try await browser.click(try await browser.findElement(css: "#verdict-filter button[data-verdict=reject]"))
                let rejectedIDs = [g0[1]] + Array(g1[1...3])
                let visible = try await browser.executeScript("return window.klingkitGallery.visibleIds").arrayValue?.compactMap(\.stringValue) ?? []
                #expect(visible.filter { byID[$0]?["role"]?.stringValue == "result" } == rejectedIDs)
                try await browser.click(try await browser.findElement(css: "#verdict-filter button[data-verdict=all]"))
                try await browser.sendKeys(try await browser.findElement(css: "#text-filter"), "shot 5")
                let filtered = try await browser.waitFor("return window.klingkitGallery.visibleIds") { ($0.arrayValue?.count ?? 0) == 8 }
                #expect(filtered.arrayValue?.compactMap(\.stringValue).allSatisfy { byID[$0]?["prompt"]?.stringValue?.contains("shot 5") == true } == true)

                // Exports: JSON and CSV carry the verdicts; the command regenerates the rejected ones.
                try await browser.click(try await browser.findElement(css: "#export-json"))
                let exported = try await browser.executeScript("return document.getElementById('export-text').value").stringValue ?? ""
                let json = try JSONDecoder().decode(JSONValue.self, from: Data(exported.utf8))
                let records = json["entries"]?.arrayValue ?? []
                #expect(records.count == 60)
                #expect(Set(records.filter { $0["verdict"]?.stringValue == "rejected" }.compactMap { $0["id"]?.stringValue }) == Set(rejectedIDs))
                #expect(records.filter { $0["verdict"]?.stringValue == "picked" }.compactMap { $0["id"]?.stringValue } == [g0[0]])
                try await browser.pressKeys([WebDriverSession.Key.escape])
                try await browser.click(try await browser.findElement(css: "#export-csv"))
                let csv = try await browser.executeScript("return document.getElementById('export-text').value").stringValue ?? ""
                let rows = csv.split(whereSeparator: \.isNewline).map(String.init)
                #expect(rows.first == "id,verdict,task_id,index,line,file,prompt,model")
                #expect(rows.count == 61)
                #expect(rows.filter { $0.contains(",rejected,") }.count == 4)
                try await browser.pressKeys([WebDriverSession.Key.escape])
                try await browser.click(try await browser.findElement(css: "#export-command"))
                let script = try await browser.executeScript("return document.getElementById('export-text').value").stringValue ?? ""
                let commands = script.split(separator: "\n").filter { $0.hasPrefix("klingkit generate ") }.map(String.init)
                #expect(commands.count == 2, "\(script)")
                // Groups are in the order the tasks were made: group 1 is task 1, an image→image task.
                let task1 = try #require(groups[1]["task_id"]?.stringValue)
                for (number, group) in groups.enumerated() {
                    #expect(group["request"]?["prompt"]?.stringValue?.hasPrefix("task \(number):") == true)
                }
                let lines = script.split(separator: "\n").map(String.init)
                let comment = try #require(lines.firstIndex { $0.hasPrefix("# task \(task1): rejected") })
                #expect(lines[comment] == "# task \(task1): rejected #1 #2 #3")
                let command = lines[comment + 1]
                #expect(command.hasPrefix("klingkit generate --prompt 'task 1: a lighthouse at dusk, shot 1'"), "\(command)")
                for part in ["--n 3", "--image \(CLIRunner.corpus.path)/jpeg/jpegdec_progressive3.jpg", "--image-reference subject",
                             "--image-fidelity 0.1", "--human-fidelity 0.25", "--model kling-v1-5", "--aspect-ratio 16:9",
                             "--out \(s.out.path)"] {
                    #expect(command.contains(part), "\(part) in \(command)")
                }
                try await browser.pressKeys([WebDriverSession.Key.escape])

                // The screenshot for samples/, from the top of the page with the verdicts shown.
                try await browser.click(try await browser.findElement(css: "#verdict-filter button[data-verdict=all]"))
                try await browser.executeScript("document.getElementById('text-filter').value=''; document.getElementById('text-filter').dispatchEvent(new Event('input'));")
                try await browser.executeScript("window.klingkitGallery.reveal(arguments[0]); window.scrollTo(0, 0)", [.string(g0[0])])
                try await Task.sleep(nanoseconds: 600_000_000)
                let png = try await browser.screenshotPNG()
                #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]))
                try png.write(to: s.dir.appendingPathComponent("gallery.png"))
                if ProcessInfo.processInfo.environment["KLINGKIT_WRITE_SAMPLES"] == "1" {
                    try png.write(to: TestCorpus.packageRoot.appendingPathComponent("docs/screenshots/gallery.png"))
                }

                // The regenerate line works as printed: it runs against the emulator and makes 3 images.
                let before = try FileManager.default.contentsOfDirectory(atPath: s.out.path).count
                let regenerated = try await s.runShell(command + " --poll-interval 0.2")
                #expect(regenerated.exitCode == 0, "\(regenerated.stderrText)")
                #expect(regenerated.stdoutText.split(separator: "\n").count == 3)
                #expect(try FileManager.default.contentsOfDirectory(atPath: s.out.path).count == before + 1)
            } catch {
                await browser.close()
                throw error
            }
            await browser.close()
        }
    }
}

extension GalleryBrowserTests {
    /// `count` tiny PNG results in task folders of 50 (task.json and request.json beside them).
    static func tinyResults(_ count: Int, in root: URL) throws {
        for task in 0..<(count + 49) / 50 {
            let id = String(format: "T%04d", task)
            let folder = root.appendingPathComponent(id)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let files = (0..<min(50, count - task * 50)).map { "\($0).png" }
            let taskJSON = #"{"task_id":"\#(id)","task_status":"succeed","final_unit_deduction":"\#(files.count)","created_at":1700000000000,"updated_at":1700000003000,"files":[\#(files.map { "\"\($0)\"" }.joined(separator: ","))]}"#
            try Data(taskJSON.utf8).write(to: folder.appendingPathComponent("task.json"))
            let request = #"{"prompt":"tiny result set \#(task): a small test picture","model":"kling-v3","aspect_ratio":"4:3","n":9}"#
            try Data(request.utf8).write(to: folder.appendingPathComponent("request.json"))
            for (index, name) in files.enumerated() {
                var pixels = [UInt8](repeating: 0, count: 64 * 48 * 3)
                for i in stride(from: 0, to: pixels.count, by: 3) {
                    pixels[i] = UInt8((task * 37) & 0xFF); pixels[i + 1] = UInt8((index * 5 + i / 192) & 0xFF); pixels[i + 2] = UInt8((i / 3) & 0xFF)
                }
                let image = try Image(width: 64, height: 48, format: .rgb, pixels: pixels)
                try Data(ImageCodec.encode(image, as: .png).bytes).write(to: folder.appendingPathComponent(name))
            }
        }
    }

    @Test("5,000 tiny results: the gallery builds in bounded memory, the page stays virtualised while scrolling (figures printed)")
    func fiveThousand() async throws {
        let dir = try CLIRunner.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let small = dir.appendingPathComponent("small"), large = dir.appendingPathComponent("large")
        try Self.tinyResults(500, in: small)
        try Self.tinyResults(5000, in: large)
        let started = Date()
        let (r500, peak500) = try await CLIRunner.measured(["gallery", small.path, "--out", dir.appendingPathComponent("g500").path])
        let t500 = Date().timeIntervalSince(started)
        let started5000 = Date()
        let gallery = dir.appendingPathComponent("g5000")
        let (r5000, peak5000) = try await CLIRunner.measured(["gallery", large.path, "--out", gallery.path])
        let t5000 = Date().timeIntervalSince(started5000)
        #expect(r500.exitCode == 0 && r5000.exitCode == 0, "\(r5000.stderrText)")
        #expect(r5000.stdoutText.contains("5000 results, 0 references in 100 groups"))
        print("gallery figures: 500 images \(String(format: "%.2f", t500)) s, peak RSS \(peak500 / 1024) MiB; "
              + "5000 images \(String(format: "%.2f", t5000)) s, peak RSS \(peak5000 / 1024) MiB")
        // Bounded: ten times the images costs little more than their metadata (a few MB), never their pixels.
        #expect(peak500 > 0 && peak5000 > 0)
        #expect(peak5000 < peak500 + 96 * 1024, "peak RSS 500: \(peak500) KiB, 5000: \(peak5000) KiB")
        #expect(try FileManager.default.contentsOfDirectory(atPath: gallery.appendingPathComponent("thumbs").path).count == 5000)

        let browser = try await WebDriverSession.start(width: 1280, height: 900)
        do {
            try await browser.navigate(to: gallery.appendingPathComponent("index.html").absoluteString)
            try await browser.waitFor("return !!window.klingkitGallery") { $0.boolValue == true }
            let paint = try await browser.executeScript("""
                const p = {}; for (const e of performance.getEntriesByType('paint')) p[e.name] = e.startTime;
                const n = performance.getEntriesByType('navigation')[0];
                return { fcp: p['first-contentful-paint'] || -1, load: n ? n.loadEventEnd : -1, cards: window.klingkitGallery.renderedCards,
                         height: document.getElementById('grid').offsetHeight };
                """)
            // Scroll in animation frames, recording each frame's time and the DOM's size: 60 frames over the
            // whole page (a fling: every frame shows new cards), then 120 frames of 120 px (a mouse wheel).
            var maxCards = 0
            for (label, frameCount, stepPixels) in [("fling", 60, 0), ("wheel", 120, 120)] {
                try await browser.executeScript("""
                    window.__scroll = { frames: [], cards: 0, done: false };
                    const total = document.getElementById('grid').offsetHeight, start = window.scrollY, count = arguments[0], step = arguments[1];
                    let i = 0, last = performance.now();
                    function frame(now) {
                      window.__scroll.frames.push(now - last); last = now;
                      i++; window.scrollTo(0, step > 0 ? start + step * i : total * i / count);
                      window.__scroll.cards = Math.max(window.__scroll.cards, window.klingkitGallery.renderedCards);
                      if (i < count) requestAnimationFrame(frame); else setTimeout(() => { window.__scroll.done = true; }, 300);
                    }
                    if (step > 0) window.scrollTo(0, 0);
                    requestAnimationFrame(frame);
                    """, [.int(Int64(frameCount)), .int(Int64(stepPixels))])
                let scroll = try await browser.waitFor("return window.__scroll", timeout: 90) { $0["done"]?.boolValue == true }
                let frames = (scroll["frames"]?.arrayValue ?? []).compactMap(\.numberValue).dropFirst().sorted()
                let mean = frames.reduce(0, +) / Double(max(1, frames.count))
                let p95 = frames.isEmpty ? -1 : frames[min(frames.count - 1, frames.count * 95 / 100)]
                maxCards = max(maxCards, scroll["cards"]?.intValue ?? Int.max)
                print("gallery figures: 5000 images, \(label) scroll: frame mean \(String(format: "%.1f", mean)) ms, "
                      + "p95 \(String(format: "%.1f", p95)) ms, at most \(scroll["cards"]?.intValue ?? -1) cards in the DOM")
                if label == "fling" {
                    // At the end of the page, the last group's cards are in the DOM.
                    let lastCards = try await browser.waitFor("return [...document.querySelectorAll('.card')].map(c => c.dataset.id)") {
                        ($0.arrayValue ?? []).contains { $0.stringValue == "T0099#49" }
                    }
                    #expect(lastCards.arrayValue?.contains { $0.stringValue == "T0099#49" } == true)
                }
            }
            print("gallery figures: 5000 images, first contentful paint \(paint["fcp"]?.numberValue ?? -1) ms, load \(paint["load"]?.numberValue ?? -1) ms")
            #expect((paint["height"]?.intValue ?? 0) > 100 * 330, "the whole grid is laid out")
            #expect(maxCards < 300, "virtualised while scrolling: at most \(maxCards) cards")
        } catch {
            await browser.close()
            throw error
        }
        await browser.close()
    }
}

extension GenerateCommandTests.Setup {
    /// Runs a shell command line (`klingkit …` as a user would paste it) with the built binary first on
    /// PATH and this setup's environment, on a thread outside the cooperative pool, with a deadline.
    func runShell(_ line: String, timeout: Double = 120) async throws -> ChildResult {
        var environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        environment["PATH"] = CLIRunner.binary.deletingLastPathComponent().path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
        return try await ChildProcess.run("/bin/sh", ["-c", line], environment: environment, timeout: timeout)
    }
}
