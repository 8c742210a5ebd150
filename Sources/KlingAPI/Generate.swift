import Foundation
import KlingModels

extension KlingClient {
    /// Submits, waits and downloads in one call: the whole job for a text→image or image→image request.
    ///
    /// ```swift
    /// var config = try ClientConfiguration.fromEnvironment(provider: "kling")   // KLING_ACCESS_KEY, KLING_SECRET_KEY
    /// config.journal = try TaskJournal(directory: TaskJournal.defaultDirectory())
    /// let images = try await KlingClient.withClient(config) { client in
    ///     try await client.generate(GenerationRequest(prompt: "a lighthouse at dusk", n: 2), to: URL(fileURLWithPath: "out"))
    /// }
    /// ```
    /// With a journal configured, the task is recorded before it is waited on, and an interrupted call
    /// can be finished later with ``settle(_:queryFirst:progress:)`` (what `klingkit resume` does).
    /// - Returns: the written images, by index.
    /// - Throws: ``ClientError``: `invalidRequest`/`invalidImage` before sending, `taskFailed` with the
    ///   service's reason, `deadlineExceeded` when waiting ran out (the task may still finish), or the API
    ///   failure after retries.
    public func generate(_ request: GenerationRequest, to directory: URL, includeWatermarked: Bool = false,
                         images: ImageHandling = .init(),
                         progress: (@Sendable (TaskObject) -> Void)? = nil) async throws -> [DownloadedImage] {
        try await complete(directory: directory, includeWatermarked: includeWatermarked, images: images,
                           progress: progress) { try await submit(request, options: $0) }
    }

    /// ``generate(_:to:includeWatermarked:images:progress:)`` for a multi-image request.
    public func generate(_ request: MultiImageGenerationRequest, to directory: URL, includeWatermarked: Bool = false,
                         images: ImageHandling = .init(),
                         progress: (@Sendable (TaskObject) -> Void)? = nil) async throws -> [DownloadedImage] {
        try await complete(directory: directory, includeWatermarked: includeWatermarked, images: images,
                           progress: progress) { try await submit(request, options: $0) }
    }

    /// Submits through `submit` (either request kind) with the options `generate` implies, then finishes
    /// the task.
    private func complete(directory: URL, includeWatermarked: Bool, images: ImageHandling,
                          progress: (@Sendable (TaskObject) -> Void)?,
                          submit: (SubmitOptions) async throws -> SubmittedTask) async throws -> [DownloadedImage] {
        let options = SubmitOptions(images: images, outputDirectory: directory.standardizedFileURL.path,
                                    includeWatermarked: includeWatermarked)
        let submitted = try await submit(options)
        if let journal = configuration.journal, let entry = try journal.entry(externalTaskID: submitted.externalTaskID) {
            let settled = await settle(entry, queryFirst: submitted.task.taskStatus?.isTerminal == true, progress: progress)
            if let error = settled.error { throw error }
            return settled.images
        }
        let task = try await waitForCompletion(taskID: submitted.taskID, kind: submitted.kind,
                                               queryFirst: submitted.task.taskStatus?.isTerminal == true, progress: progress)
        return try await download(task, to: directory, includeWatermarked: includeWatermarked)
    }
}
