import ArgumentParser
import Foundation
import KlingAPI
import KlingModels

/// `klingkit resume`: finish every journaled task that is not finished, without submitting anything.
struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Finish every interrupted task from the journal: poll and download, never submit again.",
        discussion: """
            For each journal entry still `submitting` or `submitted`, finds the task (by task id, or by external \
            id when the interruption came before the id was known), waits for it, downloads its images to the \
            folder given at submission and writes its contact sheet if one was asked for. A request whose create \
            never reached the service is reported and marked, not re-sent. Each entry uses the provider and base \
            URL it was submitted with (credentials from the environment). Prints one line per entry. Exit 0 when \
            every entry completed, 1 otherwise.
            """)

    @OptionGroup var connection: APIConnectionOptions

    @Flag(name: .long, help: "Print one JSON object per entry (JSON lines).")
    var json = false

    @OptionGroup var display: DisplayOptions

    func run() async throws {
        display.apply()
        let journal = try connection.openJournal()
        let scanned: [JournalEntry]
        let unreadable: [TaskJournal.UnreadableEntry]
        do { (scanned, unreadable) = try journal.scan() } catch let e as ClientError { throw failure(e) }
        // Said first, and counted in the exit status at the end: the readable entries still resume.
        for bad in unreadable { note(bad.description) }
        let unfinished = scanned.filter(\.isUnfinished)
        if unfinished.isEmpty {
            if !json && unreadable.isEmpty { note("nothing to resume in \(journal.directory.path)") }
            if !unreadable.isEmpty { throw CommandFailure("\(unreadable.count) unreadable journal entr\(unreadable.count == 1 ? "y" : "ies") set aside") }
            return
        }
        let entries = unfinished
        var clients: [String: KlingClient] = [:]
        var failures = 0
        do {
            for entry in entries {
                let key = entry.provider + " " + entry.baseURL
                if clients[key] == nil {
                    var config = try connection.configuration(provider: entry.provider, baseURL: entry.baseURL, withJournal: false)
                    config.journal = journal
                    clients[key] = KlingClient(configuration: config)
                }
                if try await settleOne(entry, client: clients[key]!) == false { failures += 1 }
            }
        } catch {
            for c in clients.values { try? await c.shutdown() }
            throw error
        }
        for c in clients.values { try? await c.shutdown() }
        if failures > 0 || !unreadable.isEmpty {
            var parts: [String] = []
            if failures > 0 { parts.append("\(failures) of \(entries.count) journaled task(s) did not complete") }
            if !unreadable.isEmpty { parts.append("\(unreadable.count) unreadable journal entr\(unreadable.count == 1 ? "y" : "ies") set aside") }
            throw CommandFailure(parts.joined(separator: "; "))
        }
    }

    /// Settles one entry and prints its line; returns whether it completed.
    private func settleOne(_ entry: JournalEntry, client: KlingClient) async throws -> Bool {
        let settled = await finish(entry, client: client, queryFirst: true, showProgress: !json)
        var sheetError: String?
        if settled.error == nil, let sheetPath = entry.sheetPath {
            do { try makeSheet(settled.images, prompt: entry.prompt, taskID: settled.entry.taskID ?? "", to: sheetPath) } catch {
                sheetError = "\(error)"
            }
        }
        if json {
            printJSON(ResumeLine(externalTaskID: entry.externalTaskID, state: settled.entry.state.rawValue,
                                 files: settled.images.map(\.path), taskID: settled.entry.taskID,
                                 error: settled.error?.description, sheetError: sheetError))
        } else {
            let id = settled.entry.taskID ?? "(external \(entry.externalTaskID))"
            if let e = settled.error {
                output("\(id) \(settled.entry.state.rawValue): \(e.description)")
            } else if let sheetError {
                output("\(id) completed, but the sheet failed: \(sheetError)")
            } else {
                output("\(id) completed: \(settled.images.count) image(s) in \(entry.outputDirectory ?? "-")")
                for image in settled.images { output("  \(image.path)") }
            }
        }
        return settled.error == nil && sheetError == nil
    }
}
