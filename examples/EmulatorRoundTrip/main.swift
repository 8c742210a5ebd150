// Runs the client against an in-process emulator of the API: no key, no network. The pattern tests
// and demos use: start the emulator on a free loopback port, point a client at it, submit a
// text-to-image task, wait, download.
//
//   swift run EmulatorRoundTrip OUT
import Foundation
import KlingEmulator
import KlingKit

let out = URL(fileURLWithPath: CommandLine.arguments.dropFirst().first ?? "emulator-results")
do {
    let downloads = try await withEmulator(EmulatorConfiguration(taskSeconds: 0.5)) { emulator in
        var configuration = ClientConfiguration(
            provider: .kling(accessKey: emulator.configuration.accessKey, secretKey: emulator.configuration.secretKey),
            baseURL: emulator.baseURL)
        configuration.images = ReferenceImageChecks()   // verifies each download decodes
        configuration.polling = PollingPolicy(initialDelay: .milliseconds(200), interval: .milliseconds(200),
                                              jitter: 0.1, timeout: .seconds(60))
        return try await KlingClient.withClient(configuration) { client in
            let submitted = try await client.submit(GenerationRequest(prompt: "a lighthouse at dusk", n: 2, aspectRatio: "1:1"))
            print("submitted \(submitted.taskID) to \(emulator.baseURL)")
            let task = try await client.waitForCompletion(taskID: submitted.taskID)
            return try await client.download(task, to: out)
        }
    }   // the emulator is stopped here, even when the body throws
    for image in downloads { print("result \(image.index): \(image.width)x\(image.height) \(image.path)") }
} catch {
    FileHandle.standardError.write(Data("EmulatorRoundTrip: \(error)\n".utf8))
    exit(1)
}
