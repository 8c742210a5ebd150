import Foundation
import Testing

#if os(Linux)
/// Which shared libraries a run of the built binary initialises, read from glibc's dynamic-loader trace
/// (`LD_DEBUG=libs` prints one "calling init: PATH" line per library). dlib is linked statically with
/// BLAS and LAPACK turned off (face_detect.cpp), so no run loads libdlib.so or the LAPACK/BLAS/gfortran
/// chain it would bring (~2.5 MiB of resident memory at every start), even one that counts faces.
@Suite("klingkit loads no dlib, LAPACK or BLAS library, even to count faces")
struct LibraryLoadingTests {
    static let absent = ["libdlib", "liblapack", "libblas", "libgfortran", "libquadmath"]

    /// The file names of the libraries the loader initialised, in order.
    static func initialised(_ stderr: String) -> [String] {
        stderr.split(separator: "\n").compactMap { line in
            guard let range = line.range(of: "calling init: ") else { return nil }
            return URL(fileURLWithPath: String(line[range.upperBound...])).lastPathComponent
        }
    }

    @Test("check --face on a photo with a face: the detector runs, and none of those libraries is loaded")
    func faceCheck() async throws {
        let photo = CLIRunner.corpus.appendingPathComponent("png/pillow_hopper_bw_500.png").path
        let result = try await CLIRunner.run(["check", "--face", photo], environment: ["LD_DEBUG": "libs"])
        #expect(result.exitCode == 0, "\(result.stdout)")
        #expect(result.stdout.contains("faces: 1 ["), "\(result.stdout)")  // the detector did run
        let loaded = Self.initialised(result.stderr)
        #expect(loaded.contains { $0.hasPrefix("libpng") }, "\(loaded)")  // the trace is being read
        for name in Self.absent {
            #expect(!loaded.contains { $0.hasPrefix(name) }, "\(name) was loaded: \(loaded)")
        }
    }
}
#endif
