// Base64Bench: GB/s of input for encode and decode, FastBase64 next to Foundation, swift-extras-base64
// and memcpy, on the same seeded buffers. Prints a readable summary to stderr and, on stdout (or to
// --tsv FILE), one TSV line per result: operation, bytes, implementation, GB/s.
//
// Usage: Base64Bench [--sizes 10,100] [--runs 5] [--seconds 1] [--tsv FILE] [--kernels]
// Each figure is the best of at least --runs timed runs lasting at least --seconds in total.
import ExtrasBase64
import FastBase64
import Foundation

struct Options {
    var sizes = [10, 100]
    var runs = 5
    var seconds = 1.0
    var tsv: String?
    var perKernel = false
}

nonisolated(unsafe) var options = Options()
var arguments = CommandLine.arguments.dropFirst().makeIterator()
while let argument = arguments.next() {
    switch argument {
    case "--sizes": options.sizes = (arguments.next() ?? "").split(separator: ",").compactMap { Int($0) }
    case "--runs": options.runs = Int(arguments.next() ?? "") ?? options.runs
    case "--seconds": options.seconds = Double(arguments.next() ?? "") ?? options.seconds
    case "--tsv": options.tsv = arguments.next()
    case "--kernels": options.perKernel = true
    default:
        FileHandle.standardError.write(Data("usage: Base64Bench [--sizes 10,100] [--runs N] [--seconds S] [--tsv FILE] [--kernels]\n".utf8))
        exit(2)
    }
}

/// Keeps results observable so the optimizer cannot drop the work.
nonisolated(unsafe) var sink = 0

func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

/// Best rate in GB/s (10^9 bytes per second) of `body` processing `bytes` input bytes.
func measure(_ bytes: Int, _ body: () -> Int) -> Double {
    var best = UInt64.max
    var runs = 0
    let start = now()
    while runs < options.runs || Double(now() - start) / 1e9 < options.seconds {
        let t0 = now()
        sink &+= body()
        let elapsed = now() - t0
        best = min(best, max(elapsed, 1))
        runs += 1
    }
    return Double(bytes) / Double(best)
}

struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

nonisolated(unsafe) var lines: [String] = []
func record(_ operation: String, _ size: Int, _ name: String, _ rate: Double) {
    lines.append("\(operation)\t\(size)\t\(name)\t\(String(format: "%.3f", rate))")
    FileHandle.standardError.write(Data(String(format: "  %@ %4d MiB %-22@ %7.2f GB/s\n", operation, size >> 20, name, rate).utf8))
}

FileHandle.standardError.write(Data("FastBase64 kernel: \(Base64.activeKernel) (supported: \(Base64.supportedKernels.map(\.rawValue).joined(separator: ", ")))\n".utf8))

for mib in options.sizes {
    let size = mib << 20
    var rng = SplitMix64(state: UInt64(size))
    let raw = [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
        for i in 0..<size { buffer[i] = UInt8(truncatingIfNeeded: rng.next() >> 32) }
        count = size
    }
    let text = Base64.encode(raw)
    let rawData = Data(raw)
    let textData = Data(text)

    // Cross-check every implementation once before timing it.
    precondition(Array(rawData.base64EncodedData()) == text, "Foundation disagrees")
    precondition(ExtrasBase64.Base64.encodeToBytes(bytes: raw) == text, "swift-extras-base64 disagrees")
    precondition(try! Base64.decode(text) == raw, "FastBase64 decode disagrees")
    precondition(try! ExtrasBase64.Base64.decode(bytes: text) == raw, "swift-extras-base64 decode disagrees")

    // Output buffers for the no-allocation variants, touched once so page faults are not timed.
    let encodedOut = UnsafeMutableRawBufferPointer.allocate(byteCount: text.count, alignment: 64)
    let decodedOut = UnsafeMutableRawBufferPointer.allocate(byteCount: Base64.maxDecodedLength(of: text.count), alignment: 64)
    let copyOut = UnsafeMutableRawBufferPointer.allocate(byteCount: text.count, alignment: 64)
    defer { encodedOut.deallocate(); decodedOut.deallocate(); copyOut.deallocate() }
    memset(encodedOut.baseAddress!, 1, encodedOut.count)
    memset(decodedOut.baseAddress!, 1, decodedOut.count)
    memset(copyOut.baseAddress!, 1, copyOut.count)

    raw.withUnsafeBytes { rawBuffer in
        text.withUnsafeBytes { textBuffer in
            // encode
            record("encode", size, "memcpy", measure(size) {
                memcpy(copyOut.baseAddress!, rawBuffer.baseAddress!, size)
                return Int(copyOut[size - 1])
            })
            record("encode", size, "FastBase64 (into)", measure(size) {
                Base64.encode(rawBuffer, into: encodedOut)
            })
            record("encode", size, "FastBase64", measure(size) { Base64.encode(raw).count })
            if options.perKernel {
                for kernel in Base64.supportedKernels {
                    record("encode", size, "FastBase64 \(kernel) (into)", measure(size) {
                        Base64.encode(rawBuffer, into: encodedOut, kernel: kernel)
                    })
                }
            }
            record("encode", size, "Foundation", measure(size) { rawData.base64EncodedData().count })
            record("encode", size, "swift-extras-base64", measure(size) { ExtrasBase64.Base64.encodeToBytes(bytes: raw).count })

            // decode (rates count base64 characters read)
            let n = text.count
            record("decode", size, "memcpy", measure(n) {
                memcpy(copyOut.baseAddress!, textBuffer.baseAddress!, n)
                return Int(copyOut[n - 1])
            })
            record("decode", size, "FastBase64 (into)", measure(n) {
                try! Base64.decode(textBuffer, into: decodedOut)
            })
            record("decode", size, "FastBase64", measure(n) { try! Base64.decode(text).count })
            if options.perKernel {
                for kernel in Base64.supportedKernels {
                    record("decode", size, "FastBase64 \(kernel) (into)", measure(n) {
                        try! Base64.decode(textBuffer, into: decodedOut, kernel: kernel)
                    })
                }
            }
            record("decode", size, "Foundation", measure(n) { Data(base64Encoded: textData)?.count ?? 0 })
            record("decode", size, "swift-extras-base64", measure(n) { (try? ExtrasBase64.Base64.decode(bytes: text))?.count ?? 0 })
        }
    }
}

let output = lines.joined(separator: "\n") + "\n"
if let path = options.tsv {
    try output.write(toFile: path, atomically: true, encoding: .utf8)
} else {
    print(output, terminator: "")
}
if sink == 42 { print("") }
