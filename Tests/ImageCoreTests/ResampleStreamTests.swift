import ImageCore
import Testing

@Suite("Streaming resampler")
struct ResampleStreamTests {
    static let cases: [(Int, Int, Int, Int)] = [
        (2500, 1875, 2048, 1536), (640, 480, 200, 150), (300, 200, 900, 601), (97, 61, 96, 60),
        (1000, 10, 333, 3), (10, 1000, 3, 333), (64, 64, 32, 32), (5, 5, 1, 1),
    ]

    @Test("rows are identical to Image.resized, for every format and filter", arguments: cases)
    func matchesWholeImage(size: (Int, Int, Int, Int)) throws {
        for format in [PixelFormat.gray, .grayAlpha, .rgb, .rgba] {
            let image = noiseImage(width: size.0, height: size.1, format: format)
            for filter in ResampleFilter.allCases {
                let target = Size(width: size.2, height: size.3)
                let expected = image.resized(to: target, filter: filter, threads: 1)
                let resampler = RowStreamResampler(from: image.size, to: target, format: format, filter: filter)
                let ch = format.channels
                var next = 0
                var got: [UInt8] = []
                got.reserveCapacity(expected.pixels.count)
                image.pixels.withUnsafeBufferPointer { src in
                    resampler.run(read: { row in
                        row.update(from: src.baseAddress! + next * size.0 * ch, count: size.0 * ch)
                        next += 1
                    }, write: { row in
                        got.append(contentsOf: UnsafeBufferPointer(start: row, count: size.2 * ch))
                    })
                }
                #expect(got == expected.pixels, "\(format) \(filter) \(size)")
                #expect(next == resampler.rowsNeeded && next <= size.1)
            }
        }
    }

    struct Stop: Error {}

    @Test("an error from the source stops the run at once")
    func errorsPropagate() throws {
        let resampler = RowStreamResampler(from: Size(width: 100, height: 100), to: Size(width: 50, height: 50), format: .rgb)
        var reads = 0, writes = 0
        #expect(throws: Stop.self) {
            try resampler.run(read: { _ in reads += 1; if reads == 20 { throw Stop() } }, write: { _ in writes += 1 })
        }
        #expect(reads == 20 && writes < 10)
    }
}
