import ArgumentParser
import Foundation
import KlingAPI
import KlingModels

/// `klingkit list [--page N --page-size N]`.
struct ListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list",
        abstract: "List recent tasks (native list route), one per line: task id, status, created, images, external id.")

    @OptionGroup var connection: APIConnectionOptions

    @Option(name: .long, help: ArgumentHelp("Page number, 1...1000.", valueName: "N"))
    var page: Int = 1

    @Option(name: .customLong("page-size"), help: ArgumentHelp("Tasks per page, 1...500.", valueName: "N"))
    var pageSize: Int = 30

    @Flag(name: .customLong("multi-image"), help: "List multi-image tasks instead of generations.")
    var multiImage = false

    @Flag(name: .long, help: "Print a JSON array.")
    var json = false

    func validate() throws {
        guard (1...1000).contains(page) else { throw ValidationError("--page must be 1...1000, not \(page)") }
        guard (1...500).contains(pageSize) else { throw ValidationError("--page-size must be 1...500, not \(pageSize)") }
    }

    func run() async throws {
        let config = try connection.configuration(withJournal: false)
        do {
            let tasks = try await KlingClient.withClient(config) { client in
                try await client.list(page: page, pageSize: pageSize, kind: multiImage ? .multiImage : .generation)
            }
            if json {
                printJSON(tasks.map(TaskSummary.init))
                return
            }
            let formatter = ISO8601DateFormatter()
            for t in tasks {
                let created = t.createdAt.map { formatter.string(from: Date(timeIntervalSince1970: Double($0) / 1000)) } ?? "-"
                output([t.taskID ?? "-", t.taskStatus?.rawValue ?? "-", created, "\(t.images.count)", t.externalTaskID ?? "-"]
                    .joined(separator: "\t"))
            }
        } catch let e as ClientError {
            throw failure(e)
        }
    }
}
