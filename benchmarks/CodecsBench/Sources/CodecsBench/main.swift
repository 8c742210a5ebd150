import Foundation
import ImageCodecs

// Usage: CodecsBench decode|verify|probe [--runs N] FILE...
// Reads every FILE into memory, then times RUNS passes of the operation over all of them and prints
// "median_seconds_per_pass<TAB>files<TAB>megapixels_per_pass". Files that fail are counted, not timed out.

var arguments = Array(CommandLine.arguments.dropFirst())
guard let mode = arguments.first, ["decode", "verify", "probe"].contains(mode) else {
    FileHandle.standardError.write(Data("usage: CodecsBench decode|verify|probe [--runs N] FILE...\n".utf8))
    exit(2)
}
arguments.removeFirst()
var runs = 5
if let i = arguments.firstIndex(of: "--runs"), i + 1 < arguments.count, let n = Int(arguments[i + 1]) {
    runs = n
    arguments.removeSubrange(i...(i + 1))
}
let inputs: [[UInt8]] = arguments.map { path in
    guard let data = FileManager.default.contents(atPath: path) else {
        FileHandle.standardError.write(Data("cannot read \(path)\n".utf8))
        exit(1)
    }
    return [UInt8](data)
}
var megapixels = 0.0
for bytes in inputs {
    if let header = try? ImageCodec.probe(bytes) { megapixels += Double(header.width * header.height) / 1e6 }
}

func pass() -> Int {
    var sink = 0
    for bytes in inputs {
        switch mode {
        case "decode": sink &+= (try? ImageCodec.decode(bytes))?.image.pixels.count ?? 0
        case "verify": sink &+= (try? ImageCodec.verify(bytes))?.width ?? 0
        default: sink &+= (try? ImageCodec.probe(bytes))?.width ?? 0
        }
    }
    return sink
}

_ = pass()   // warm-up
var times: [Double] = []
var sink = 0
for _ in 0..<runs {
    let start = DispatchTime.now().uptimeNanoseconds
    sink &+= pass()
    times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
}
times.sort()
print("\(times[times.count / 2])\t\(inputs.count)\t\(megapixels)\t\(sink & 1)")
