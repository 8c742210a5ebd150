import Foundation
import KlingSupport
@testable import FastBase64

/// The project's seeded generator, so every failure reproduces.
typealias SeededGenerator = SplitMix64

extension SplitMix64 {
    mutating func bytes(_ count: Int) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        result.withUnsafeMutableBytes { raw in
            var i = 0
            while i + 8 <= count {
                raw.storeBytes(of: next(), toByteOffset: i, as: UInt64.self)
                i += 8
            }
            while i < count {
                raw[i] = UInt8(truncatingIfNeeded: next())
                i += 1
            }
        }
        return result
    }
}

/// Foundation's encoding, the reference, adapted to an option set.
func foundationEncode(_ bytes: [UInt8], options: Base64Options = []) -> [UInt8] {
    var text = Array(Data(bytes).base64EncodedData())
    if options.contains(.urlSafe) {
        for i in text.indices {
            if text[i] == UInt8(ascii: "+") { text[i] = UInt8(ascii: "-") } else if text[i] == UInt8(ascii: "/") { text[i] = UInt8(ascii: "_") }
        }
    }
    if options.contains(.omitPadding) {
        while text.last == UInt8(ascii: "=") { text.removeLast() }
    }
    return text
}

/// Every kernel this machine can run; the tests run each of them.
let kernels = Base64.supportedKernels

let optionSets: [Base64Options] = [[], [.urlSafe], [.omitPadding], [.urlSafe, .omitPadding]]

extension Array where Element == UInt8 {
    var ascii: String { String(decoding: self, as: UTF8.self) }
}

/// A fresh empty directory under the system temporary directory.
func makeTemporaryDirectory() throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("fastbase64-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}
