import ContactSheets
import Foundation
import KlingAPI
import KlingModels
import KlingSupport
import ResultGallery

// What `generate` and `resume` do with a finished task: wait for it, write its manifest, make its sheet.

/// Writes `<out>/<task>/task.json` (task id, external id, prompt, files) next to the images, atomically,
/// so `klingkit sheet --captions task` can caption them and a person can tell what made them.
func writeManifest(entry: JournalEntry, task: TaskObject?, images: [DownloadedImage]) {
    guard let out = entry.outputDirectory, let id = entry.taskID else { return }
    let folder = URL(fileURLWithPath: out).appendingPathComponent(SafePath.component(forTaskID: id))
    let manifest = TaskRecord(taskID: id, externalTaskID: entry.externalTaskID, provider: entry.provider,
                                files: images.map { URL(fileURLWithPath: $0.path).lastPathComponent },
                                prompt: entry.prompt, taskStatus: task?.taskStatus?.rawValue,
                                taskStatusMessage: task?.taskStatusMessage, finalUnitDeduction: task?.finalUnitDeduction,
                                createdAt: task?.createdAt, updatedAt: task?.updatedAt)
    // Best effort: the images are what matter; a manifest that cannot be written is skipped.
    try? AtomicOutputFile.write(jsonBytes(manifest, sorted: true, pretty: true), to: folder.appendingPathComponent("task.json").path)
}

/// Writes `<out>/<task>/request.json` (a ``RequestRecord``: prompt, model, settings, references as
/// absolute paths or URLs) as soon as the task is accepted, so `klingkit gallery` can show how each
/// result was made and regenerate it, whether `generate` or a later `resume` downloads the images.
/// Best effort, like the manifest.
func writeRequestRecord(_ record: RequestRecord, taskID: String, outputDirectory: String) {
    let folder = URL(fileURLWithPath: outputDirectory).appendingPathComponent(SafePath.component(forTaskID: taskID))
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    try? AtomicOutputFile.write(jsonBytes(record, sorted: true, pretty: true), to: folder.appendingPathComponent("request.json").path)
}

/// A reference as recorded: a URL as given, a local file as its absolute path.
func recordedLocation(_ location: String) -> String {
    let lower = location.lowercased()
    if lower.hasPrefix("http://") || lower.hasPrefix("https://") { return location }
    return URL(fileURLWithPath: location).standardizedFileURL.path
}

/// Makes the contact sheet of downloaded images (format from the file's extension).
func makeSheet(_ images: [DownloadedImage], prompt: String?, taskID: String, to path: String) throws {
    let items = images.filter { !$0.watermarked }.map {
        SheetItem(source: .file($0.path), caption: "#\($0.index)")
    }
    var options = SheetOptions(captions: .task, title: prompt.map { "\($0) (task \(taskID))" } ?? "task \(taskID)")
    let lower = path.lowercased()
    options.format = lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") ? .jpeg : .png
    do {
        let result = try ContactSheet.write(items, options: options, to: path)
        for f in result.failures { note("klingkit: warning: sheet tile \(f.name): \(f.message)") }
    } catch {
        throw CommandFailure("cannot write the contact sheet \(path): \(error)")
    }
}

/// Waits for a journaled task, downloads it, writes its manifest; shared by generate and resume.
func finish(_ entry: JournalEntry, client: KlingClient, queryFirst: Bool, showProgress: Bool) async -> SettledTask {
    let progress = ProgressLine.spinner(label: "task \(entry.taskID ?? entry.externalTaskID)", enabled: showProgress)
    let settled = await client.settle(entry, queryFirst: queryFirst, progress: { progress.setStatus($0.taskStatus?.rawValue ?? "unknown") })
    progress.finish()
    if settled.error == nil {
        writeManifest(entry: settled.entry, task: settled.task, images: settled.images)
    }
    return settled
}
