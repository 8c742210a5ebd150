// Prepares a reference image (orientation, ratio, size, bytes), submits an image-to-image task, waits
// for it and downloads the results.
//
//   KLING_ACCESS_KEY=… KLING_SECRET_KEY=… swift run PrepareAndSubmit samples/panorama-wide.jpg OUT
//
// The service is the one the environment names (KLING_BASE_URL, default the public endpoint): point
// it at `klingkit emulator` to try it offline. Writes OUT/prepared.<ext> and OUT/results/<task>/<n>.<ext>.
import Foundation
import KlingKit

let arguments = Array(CommandLine.arguments.dropFirst())
guard arguments.count == 2 else {
    FileHandle.standardError.write(Data("usage: PrepareAndSubmit IMAGE OUT_DIR\n".utf8))
    exit(2)
}
let (input, out) = (arguments[0], URL(fileURLWithPath: arguments[1]))

do {
    // Credentials first: a missing key is said before any work is done.
    var configuration = try ClientConfiguration.fromEnvironment(provider: "kling")
    configuration.images = ReferenceImageChecks()   // checks the upload again and verifies each download

    // 1. Fix what the upload rules refuse, and say what was done.
    let prepared = try ReferenceImagePreparer().prepare(fileAt: input)
    try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    let preparedURL = out.appendingPathComponent("prepared.\(prepared.encoded.format.rawValue)")
    try Data(prepared.encoded.bytes).write(to: preparedURL, options: .atomic)
    print("prepared \(input) -> \(preparedURL.path) \(prepared.width)x\(prepared.height): "
          + prepared.actions.map(\.description).joined(separator: ", "))

    // 2. Submit it, wait, download.
    let downloads = try await KlingClient.withClient(configuration) { client in
        let submitted = try await client.submit(GenerationRequest(
            prompt: "the same scene as a watercolour", image: .file(preparedURL.path), n: 1))
        print("submitted \(submitted.taskID)")
        let task = try await client.waitForCompletion(taskID: submitted.taskID)
        return try await client.download(task, to: out.appendingPathComponent("results"))
    }
    for image in downloads { print("result \(image.index): \(image.width)x\(image.height) \(image.path)") }
} catch {
    // Every error of the library is one readable line that names the file or the call.
    FileHandle.standardError.write(Data("PrepareAndSubmit: \(error)\n".utf8))
    exit(1)
}
