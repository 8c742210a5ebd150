import ContactSheets
import Foundation
import KlingClient
import KlingModels
import KlingSupport

// What `generate` and `resume` do with a finished task: wait for it, write its manifest, make its sheet.

/// Writes `<out>/<task>/task.json` (task id, external id, prompt, files) next to the images, atomically,
/// so `klingkit sheet --captions task` can caption them and a person can tell what made them.
func writeManifest(entry: JournalEntry, task: TaskObject?, images: [DownloadedImage]) {
    guard let out = entry.outputDirectory, let id = entry.taskID else { return }
    let folder = URL(fileURLWithPath: out).appendingPathComponent(SafePath.component(forTaskID: id))
    let manifest = TaskManifest(taskID: id, externalTaskID: entry.externalTaskID, provider: entry.provider,
                                files: images.map { URL(fileURLWithPath: $0.path).lastPathComponent },
                                prompt: entry.prompt, taskStatus: task?.taskStatus?.rawValue)
    // Best effort: the images are what matter; a manifest that cannot be written is skipped.
    try? AtomicOutputFile.write(jsonBytes(manifest, sorted: true, pretty: true), to: folder.appendingPathComponent("task.json").path)
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
