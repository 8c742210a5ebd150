import Foundation
import ImageCore
import Synchronization
import Testing

@Suite("Row prefetcher (decoder on a thread of its own)")
struct RowPrefetcherTests {
    struct Broken: Error, Equatable { let row: Int }

    /// Row `r` holds bytes `r, r+1, r+2, …` (mod 256), so order and completeness show in the data.
    static func fill(_ rows: UnsafeMutablePointer<UInt8>, stride: Int, first: Int, count: Int) {
        for r in 0..<count {
            for x in 0..<stride { rows[r * stride + x] = UInt8(truncatingIfNeeded: first + r + x) }
        }
    }

    @Test("every row arrives once, in order, whatever the band and ring sizes",
          arguments: [(1, 2), (3, 2), (16, 4), (64, 3)])
    func orderAndContent(geometry: (Int, Int)) throws {
        let (bandRows, bands) = geometry
        let rows = 157, rowBytes = 33
        let produced = Mutex(0)
        let completed = Mutex(false)
        let prefetch = RowPrefetcher(rowBytes: rowBytes, rows: rows, bandRows: bandRows, bands: bands,
                                     produce: { buffer, stride, count in
                                         let first = produced.withLock { n in defer { n += count }; return n }
                                         Self.fill(buffer, stride: stride, first: first, count: count)
                                     },
                                     completion: { completed.withLock { $0 = true } })
        var row = [UInt8](repeating: 0, count: rowBytes)
        for r in 0..<rows {
            try row.withUnsafeMutableBufferPointer { try prefetch.next(into: $0.baseAddress!) }
            #expect(row == (0..<rowBytes).map { UInt8(truncatingIfNeeded: r + $0) }, "row \(r)")
        }
        try prefetch.finish()
        #expect(produced.withLock { $0 } == rows)
        #expect(completed.withLock { $0 })
    }

    @Test("stopping early still runs the completion (a decoder reads through EOI) and joins the thread")
    func earlyFinish() throws {
        let completed = Mutex(false)
        let prefetch = RowPrefetcher(rowBytes: 8, rows: 1000, bandRows: 4, bands: 2,
                                     produce: { buffer, stride, count in Self.fill(buffer, stride: stride, first: 0, count: count) },
                                     completion: { completed.withLock { $0 = true } })
        var row = [UInt8](repeating: 0, count: 8)
        for _ in 0..<10 { try row.withUnsafeMutableBufferPointer { try prefetch.next(into: $0.baseAddress!) } }
        try prefetch.finish()
        #expect(completed.withLock { $0 })
    }

    @Test("a producer error reaches the consumer at the failed band, and again from finish()")
    func producerError() throws {
        let produced = Mutex(0)
        let prefetch = RowPrefetcher(rowBytes: 4, rows: 100, bandRows: 10, bands: 3,
                                     produce: { buffer, stride, count in
                                         let first = produced.withLock { n in defer { n += count }; return n }
                                         if first == 50 { throw Broken(row: first) }
                                         Self.fill(buffer, stride: stride, first: first, count: count)
                                     },
                                     completion: { Issue.record("completion must not run after a failure") })
        var row = [UInt8](repeating: 0, count: 4)
        var delivered = 0
        #expect(throws: Broken(row: 50)) {
            while true {
                try row.withUnsafeMutableBufferPointer { try prefetch.next(into: $0.baseAddress!) }
                delivered += 1
            }
        }
        #expect(delivered == 50)
        #expect(throws: Broken(row: 50)) { try prefetch.finish() }
    }

    @Test("a completion error comes out of finish()")
    func completionError() {
        let prefetch = RowPrefetcher(rowBytes: 4, rows: 0, produce: { _, _, _ in }, completion: { throw Broken(row: -1) })
        #expect(throws: Broken(row: -1)) { try prefetch.finish() }
    }
}

@Suite("Push resampler")
struct RowFeedResamplerTests {
    @Test("rows pushed one at a time give RowStreamResampler's output, and extra rows are ignored")
    func matchesRun() {
        for (w, h, ow, oh) in [(400, 300, 123, 77), (123, 77, 400, 300), (50, 50, 50, 50)] {
            let image = noiseImage(width: w, height: h, format: .gray)
            let expected = image.resized(to: Size(width: ow, height: oh), threads: 1)
            let feed = RowFeedResampler(from: image.size, to: expected.size, format: .gray)
            var got: [UInt8] = []
            image.pixels.withUnsafeBufferPointer { src in
                for y in 0..<h {
                    feed.push(src.baseAddress! + y * w) { got.append(contentsOf: UnsafeBufferPointer(start: $0, count: ow)) }
                }
            }
            #expect(got == expected.pixels, "\(w)x\(h) -> \(ow)x\(oh)")
            #expect(feed.rowsOut == oh && feed.rowsIn == h)
        }
    }

    @Test("an explicit scale sets the sampling grid instead of source / target")
    func explicitScale() {
        // A ramp resampled at 1.9 source pixels per output pixel instead of 1001/500 ≈ 2.0: output x
        // samples the ramp near 1.9 · (x + 0.5), so the last output lands about 50 px left of the end.
        let w = 1001
        let ramp = try! Image(width: w, height: 1, format: .gray, pixels: (0..<w).map { UInt8($0 * 255 / (w - 1)) })
        let target = Size(width: 500, height: 1)
        let plain = ramp.resized(to: target, threads: 1).pixels
        var scaled: [UInt8] = []
        let feed = RowFeedResampler(from: ramp.size, to: target, format: .gray, scaleX: 1.9)
        ramp.pixels.withUnsafeBufferPointer { feed.push($0.baseAddress!) { scaled = Array(UnsafeBufferPointer(start: $0, count: 500)) } }
        #expect(abs(Int(scaled[0]) - Int(plain[0])) <= 1)
        #expect(abs(Int(scaled[499]) - Int(UInt8(1.9 * 499.5 * 255 / 1000))) <= 1)
        #expect(plain[499] >= 254)
    }
}
