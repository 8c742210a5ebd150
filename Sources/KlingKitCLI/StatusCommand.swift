import ArgumentParser
import Foundation
import KlingAPI
import KlingModels

/// `klingkit status ID [--external]`.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show one task: by task id, or by your external id with --external.",
        discussion: "Prints `<task_id> <status>` (and the failure reason or image URLs), or JSON with --json. Exit 1 when the task does not exist.")

    @OptionGroup var connection: APIConnectionOptions

    @Argument(help: ArgumentHelp("A task id (or, with --external, an external task id).", valueName: "ID"))
    var id: String

    @Flag(name: .long, help: "ID is the external_task_id given at submission.")
    var external = false

    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func run() async throws {
        let config = try connection.configuration(withJournal: false)
        do {
            let task: TaskObject = try await KlingClient.withClient(config) { client in
                if external {
                    do { return try await client.task(externalID: id, kind: .generation) } catch let e as ClientError where e.code == .notFound {
                        return try await client.task(externalID: id, kind: .multiImage)
                    }
                }
                return try await client.task(anyKindID: id).0
            }
            if json {
                printJSON(TaskSummary(task))
            } else {
                var line = "\(task.taskID ?? id) \(task.taskStatus?.rawValue ?? "unknown")"
                if let m = task.taskStatusMessage, !m.isEmpty { line += " \(m)" }
                output(line)
                for img in task.images { output("  #\(img.index ?? 0) \(img.url ?? "")") }
            }
        } catch let e as ClientError {
            throw failure(e)
        }
    }
}
