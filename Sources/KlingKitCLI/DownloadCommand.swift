import ArgumentParser
import Foundation
import KlingAPI
import KlingModels

/// `klingkit download ID --out DIR`.
struct DownloadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download every image of a finished task to <out>/<task_id>/<index>.<ext>.",
        discussion: "Each image is size-capped, verified to decode and written atomically. Prints the written paths. Exit 3 if the task failed, 4 if it has not finished yet, 1 if an image fails.")

    @OptionGroup var connection: APIConnectionOptions

    @Argument(help: ArgumentHelp("The task id.", valueName: "ID"))
    var id: String

    @Option(name: .long, help: ArgumentHelp("Output folder.", valueName: "DIR"), completion: .directory)
    var out: String

    @Flag(name: .long, help: "Also download the watermarked copies.")
    var watermarked = false

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    @OptionGroup var display: DisplayOptions

    func run() async throws {
        display.apply()
        let config = try connection.configuration(withJournal: false)
        do {
            let images = try await KlingClient.withClient(config) { client in
                let (task, _) = try await client.task(anyKindID: id)
                if task.taskStatus == .failed {
                    throw ClientError(.taskFailed, task.taskStatusMessage ?? "the service gave no reason", taskID: id)
                }
                if let status = task.taskStatus, !status.isTerminal {
                    // Not finished yet: the same exit as generate's unfinished wait (4), not a failure.
                    throw ClientError(.deadlineExceeded, "task \(id) is still \(status), nothing to download yet; "
                                      + "`klingkit resume` waits for it and downloads, or run download again later", taskID: id)
                }
                return try await client.download(task, to: URL(fileURLWithPath: out), includeWatermarked: watermarked)
            }
            if json {
                printJSON(DownloadSummary(taskID: id, files: images.map(\.path)))
            } else {
                for image in images { output(image.path) }
            }
        } catch let e as ClientError {
            throw failure(e)
        }
    }
}
