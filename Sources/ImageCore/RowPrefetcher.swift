import Dispatch
import Foundation
import NIOConcurrencyHelpers

/// Runs a row producer (a decoder) on a thread of its own, a few bands ahead of the consumer (a resampler
/// and encoder), so on two or more cores decoding overlaps everything after it.
///
/// The producer fills bands of rows in order into a small ring; ``next(into:)`` hands them out row by row.
/// When every row was produced, or the consumer called ``finish()`` early, the producer runs its
/// `completion` (for a decoder: read through the end of the stream), and ``finish()`` returns or throws
/// what it threw. Memory: `bands × bandRows × rowBytes` bytes (4 × 16 rows of a 2500 px RGB row ≈ 480 KB).
///
/// A producer error is thrown by the ``next(into:)`` that reaches the failed band, or by ``finish()``;
/// nothing after a failure is handed out.
///
/// ```swift
/// let prefetch = RowPrefetcher(rowBytes: width * 3, rows: height,
///                              produce: { rows, stride, count in try reader.read(into: rows, stride: stride, count: count) },
///                              completion: { try reader.finish() })
/// try resampler.run(read: { try prefetch.next(into: $0) }, write: { try writer.write(rows: $0, stride: outStride) })
/// try prefetch.finish()
/// ```
/// - Important: one consumer thread; call ``finish()`` exactly once, even after an error, so the producer
///   thread is joined before whatever it reads from is released.
// Unchecked: the ring `storage` is raw memory that the two semaphores hand over band by band (a band
// is written only between `freeBands.wait()` and `filledBands.signal()`, read only after
// `filledBands.wait()`), and the consumer-side counters are touched by the consumer alone. The state
// both threads share lives in `shared`, a NIOLockedValueBox.
public final class RowPrefetcher: @unchecked Sendable {
    /// Fills `count` rows, `stride` bytes apart, with the next rows in order.
    public typealias Produce = (_ rows: UnsafeMutablePointer<UInt8>, _ stride: Int, _ count: Int) throws -> Void

    public let rowBytes: Int
    public let rows: Int
    /// Cores this process may use: when 1, a prefetcher only adds hand-over costs.
    public static var processorCount: Int { ProcessInfo.processInfo.activeProcessorCount }
    private let bandRows: Int
    private let bandCount: Int
    private let storage: UnsafeMutablePointer<UInt8>
    private let freeBands: DispatchSemaphore
    private let filledBands: DispatchSemaphore
    private let done = DispatchSemaphore(value: 0)
    /// What the producer and the consumer both read and write.
    private struct Shared {
        var cancelled = false
        var producerError: Error?
        var failedBand = Int.max
    }
    private let shared = NIOLockedValueBox(Shared())
    // Consumer-side state.
    private var consumedRows = 0
    private var finished = false

    /// Starts the producer thread at once.
    /// - Parameters:
    ///   - rowBytes: bytes per row (≥ 1); `rows`: how many rows the producer makes in all (≥ 0).
    ///   - bandRows: rows per band handed over at once (default 16); `bands`: ring depth (default 4).
    ///   - produce: called on the producer thread for rows 0, 1, 2, … in order.
    ///   - completion: called on the producer thread after the last band, or after ``finish()`` stopped it
    ///     early; not called after `produce` threw.
    public init(rowBytes: Int, rows: Int, bandRows: Int = 16, bands: Int = 4,
                produce: @escaping Produce, completion: @escaping () throws -> Void = {}) {
        precondition(rowBytes > 0 && rows >= 0 && bandRows > 0 && bands > 1, "bad prefetch geometry")
        self.rowBytes = rowBytes
        self.rows = rows
        self.bandRows = bandRows
        self.bandCount = bands
        storage = .allocate(capacity: rowBytes * bandRows * bands)
        // Created at zero and raised: libdispatch traps when a semaphore is released below its initial value.
        freeBands = DispatchSemaphore(value: 0)
        for _ in 0..<bands { freeBands.signal() }
        filledBands = DispatchSemaphore(value: 0)
        let job = UncheckedBox((produce, completion))
        let thread = Thread { [self] in run(produce: job.value.0, completion: job.value.1) }
        thread.name = "klingkit.prefetch"
        thread.start()
    }

    deinit { storage.deallocate() }

    private func run(produce: Produce, completion: () throws -> Void) {
        var band = 0
        var row = 0
        while row < rows {
            freeBands.wait()
            if isCancelled { break }
            let count = min(bandRows, rows - row)
            do {
                try produce(storage + (band % bandCount) * bandRows * rowBytes, rowBytes, count)
            } catch {
                shared.withLockedValue { $0.producerError = error; $0.failedBand = band }
                filledBands.signal()
                done.signal()
                return
            }
            row += count
            band += 1
            filledBands.signal()
        }
        do { try completion() } catch { shared.withLockedValue { if $0.producerError == nil { $0.producerError = error } } }
        done.signal()
    }

    private var isCancelled: Bool { shared.withLockedValue { $0.cancelled } }

    /// Copies the next row into `row` (`rowBytes` bytes), waiting for the producer if it is behind.
    /// - Throws: the producer's error when this row's band failed; a `precondition` guards reading
    ///   past `rows`.
    public func next(into row: UnsafeMutablePointer<UInt8>) throws {
        precondition(consumedRows < rows && !finished, "read past the last prefetched row")
        let band = consumedRows / bandRows
        let offset = consumedRows % bandRows
        if offset == 0 {
            if band > 0 { freeBands.signal() }  // the previous band is fully copied out
            filledBands.wait()
            let failure: Error? = shared.withLockedValue { band >= $0.failedBand ? $0.producerError : nil }
            if let failure { throw failure }
        }
        row.update(from: storage + ((band % bandCount) * bandRows + offset) * rowBytes, count: rowBytes)
        consumedRows += 1
    }

    /// Stops handing out rows, lets the producer run its completion, joins it, and throws the first
    /// error the producer met (a failed band or the completion).
    public func finish() throws {
        precondition(!finished, "finish() called twice")
        finished = true
        shared.withLockedValue { $0.cancelled = true }
        // Unblock a producer waiting for a free band; surplus signals are harmless, the thread is ending.
        for _ in 0..<bandCount { freeBands.signal() }
        done.wait()
        if let error = shared.withLockedValue({ $0.producerError }) { throw error }
    }
}

/// Carries a non-Sendable value into the producer thread, which alone uses it from then on.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
