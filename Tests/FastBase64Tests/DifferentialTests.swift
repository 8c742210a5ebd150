import KlingSupport
import Foundation
import Testing
@testable import FastBase64

@Suite("Differential against Foundation, every kernel")
struct DifferentialTests {
    @Test("this x86-64 machine exposes the SIMD kernels it advertises")
    func kernelsDetected() {
        #expect(kernels.first == .scalar)
        #if arch(x86_64)
        // CPUID says what the CPU has; the list must agree with /proc/cpuinfo on Linux.
        if let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) {
            let flags = Set(cpuinfo.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }).map(String.init))
            #expect(kernels.contains(.ssse3) == flags.contains("ssse3"))
            #expect(kernels.contains(.avx2) == flags.contains("avx2"))
            #expect(kernels.contains(.avx512vbmi) == (flags.contains("avx512vbmi") && flags.contains("avx512bw")))
        }
        #endif
        #expect(kernels.contains(Base64.activeKernel))
    }

    @Test("every length 0...1024: encode equals Foundation, decode inverts it", arguments: kernels)
    func everyLength(kernel: Base64.Kernel) throws {
        var rng = SeededGenerator(seed: 0xB64 &+ UInt64(kernel.rawValue.count))
        let source = rng.bytes(1024)
        for length in 0...1024 {
            let input = Array(source[0..<length])
            for options in optionSets {
                let expected = foundationEncode(input, options: options)
                let encoded = Base64.encode(input, options: options, kernel: kernel)
                #expect(encoded == expected, "kernel \(kernel), length \(length), options \(options.rawValue)")
                let decoded = try Base64.decode(encoded, options: options, kernel: kernel)
                #expect(decoded == input, "kernel \(kernel), length \(length), options \(options.rawValue)")
            }
            // Foundation decodes what we encode and vice versa (standard alphabet, padded).
            let text = Base64.encode(input, kernel: kernel)
            #expect(Data(base64Encoded: Data(text)).map(Array.init) == input)
        }
    }

    @Test("seeded random buffers up to several MiB", arguments: kernels)
    func largeBuffers(kernel: Base64.Kernel) throws {
        var rng = SeededGenerator(seed: 42)
        for length in [4095, 65_537, 1 << 20, 3 * (1 << 20) + 1, 5 * (1 << 20) + 2] {
            let input = rng.bytes(length)
            let expected = Array(Data(input).base64EncodedData())
            let encoded = Base64.encode(input, kernel: kernel)
            #expect(encoded == expected, "kernel \(kernel), length \(length)")
            let decoded = try Base64.decode(expected, kernel: kernel)
            #expect(decoded == input, "kernel \(kernel), length \(length)")
            #expect(Base64.encodeToString(input, kernel: kernel) == Data(input).base64EncodedString())
        }
    }

    @Test("inputs of 16 MiB and more: streaming stores into resident buffers, any alignment, equal Foundation", arguments: kernels)
    func streamingEncode(kernel: Base64.Kernel) throws {
        // The AVX-512 encoder switches to non-temporal stores from 16 MiB of input when the output is
        // 64-byte alignable and already resident; the allocating API gets fresh memory and does not.
        var rng = SeededGenerator(seed: 16)
        let input = rng.bytes((16 << 20) + 2)
        let expected = Array(Data(input).base64EncodedData())
        let allocated = Base64.encode(input, kernel: kernel) == expected  // a Bool: no 22 MiB diff on failure
        #expect(allocated, "kernel \(kernel), allocating")
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: expected.count + 128, alignment: 64)
        defer { output.deallocate() }
        for shift in [0, 4, 1, 60] {
            output.initializeMemory(as: UInt8.self, repeating: 0)  // resident before the encode
            let written = input.withUnsafeBytes {
                Base64.encode($0, into: UnsafeMutableRawBufferPointer(rebasing: output[shift...]), kernel: kernel)
            }
            #expect(written == expected.count, "kernel \(kernel), shift \(shift)")
            // memcmp: element-wise comparison of 22 MiB takes seconds in a debug build.
            let same = expected.withUnsafeBytes { memcmp(output.baseAddress! + shift, $0.baseAddress!, expected.count) == 0 }
            #expect(same, "kernel \(kernel), shift \(shift)")
            #expect(output[(shift + expected.count)...].allSatisfy { $0 == 0 }, "kernel \(kernel), shift \(shift): wrote past the end")
        }
    }

    @Test("every byte value at every position of a block decodes like the scalar reference", arguments: kernels)
    func everyByteEveryPosition(kernel: Base64.Kernel) throws {
        var rng = SeededGenerator(seed: 7)
        for options in [Base64Options(), .urlSafe, .ignoreWhitespace] {
            let text = Base64.encode(rng.bytes(192), options: options)  // 256 characters: several blocks of every kernel
            for position in [0, 1, 15, 16, 31, 32, 63, 64, 100, 127, 128, 191, 200, 250, 255] {
                for value in 0...255 {
                    var mutated = text
                    mutated[position] = UInt8(value)
                    let reference = Result { try Base64.decode(mutated, options: options, kernel: .scalar) }
                    let result = Result { try Base64.decode(mutated, options: options, kernel: kernel) }
                    switch (reference, result) {
                    case (.success(let a), .success(let b)):
                        #expect(a == b, "kernel \(kernel) position \(position) byte \(value)")
                    case (.failure(let a), .failure(let b)):
                        #expect(a as? Base64Error == b as? Base64Error, "kernel \(kernel) position \(position) byte \(value)")
                    default:
                        Issue.record("kernel \(kernel) disagrees with scalar at position \(position), byte \(value)")
                    }
                }
            }
        }
    }

    @Test("every input and output alignment, errors anywhere in long inputs, agree with scalar", arguments: kernels)
    func alignmentsAndDeepErrors(kernel: Base64.Kernel) throws {
        var rng = SeededGenerator(seed: 1234)
        let raw = rng.bytes(3000)
        let text = Base64.encode(raw)  // 4000 characters: alignment prologue, unrolled and single-block loops, tail
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 8192, alignment: 64)
        defer { storage.deallocate() }
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: 8192, alignment: 64)
        defer { output.deallocate() }
        for shift in 0..<64 {
            // Decode from every source alignment.
            let source = UnsafeMutableRawBufferPointer(rebasing: storage[shift..<(shift + text.count)])
            source.copyBytes(from: text)
            let n = try Base64.decode(UnsafeRawBufferPointer(source), into: UnsafeMutableRawBufferPointer(rebasing: output[shift...]), kernel: kernel)
            #expect(n == raw.count && Array(output[shift..<(shift + n)]) == raw, "decode shift \(shift)")
            // Encode to every destination alignment.
            let written = raw.withUnsafeBytes { Base64.encode($0, into: UnsafeMutableRawBufferPointer(rebasing: output[shift...]), kernel: kernel) }
            #expect(written == text.count && Array(output[shift..<(shift + written)]) == text, "encode shift \(shift)")
        }
        // A bad byte at many positions, from a few alignments: same error as the scalar reference.
        for shift in [0, 4, 16, 32, 60] {
            for position in stride(from: 0, to: text.count, by: 37) + [3999, 3996, 3968, 3840, 3712, 3584] {
                for bad: UInt8 in [UInt8(ascii: "="), 0x80, UInt8(ascii: "\n"), UInt8(ascii: "*")] {
                    var mutated = text
                    mutated[position] = bad
                    let source = UnsafeMutableRawBufferPointer(rebasing: storage[shift..<(shift + text.count)])
                    source.copyBytes(from: mutated)
                    let reference = Result { try Base64.decode(mutated, kernel: .scalar) }
                    let result = Result { try Base64.decode(UnsafeRawBufferPointer(source), kernel: kernel) }
                    switch (reference, result) {
                    case (.failure(let a), .failure(let b)):
                        #expect(a as? Base64Error == b as? Base64Error, "shift \(shift) position \(position)")
                    case (.success(let a), .success(let b)):
                        #expect(a == b, "shift \(shift) position \(position)")
                    default:
                        Issue.record("kernel \(kernel) disagrees with scalar at shift \(shift) position \(position) byte \(bad)")
                    }
                }
            }
        }
    }

    @Test("the scalar decoder accepts exactly the alphabet")
    func scalarAlphabet() throws {
        let standard = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        let url = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
        for value in 0...255 {
            let byte = UInt8(value)
            let quantum: [UInt8] = [byte, UInt8(ascii: "A"), UInt8(ascii: "A"), UInt8(ascii: "A")]
            #expect(((try? Base64.decode(quantum, kernel: .scalar)) != nil) == standard.contains(byte))
            #expect(((try? Base64.decode(quantum, options: .urlSafe, kernel: .scalar)) != nil) == url.contains(byte))
        }
    }
}
