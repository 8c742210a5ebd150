import AsyncHTTPClient
import Foundation
import KlingModels
import NIOCore

/// One image written by ``KlingClient/download(_:to:includeWatermarked:)``.
public struct DownloadedImage: Sendable, Equatable {
    /// The result's `index`.
    public var index: Int
    /// Whether this is the watermarked copy (`watermark_url`).
    public var watermarked: Bool
    /// Where it was written: `<out>/<task_id>/<index>.<ext>` (`<index>-watermark.<ext>` for watermarked).
    public var path: String
    public var format: ResultImageFormat
    public var width: Int
    public var height: Int
    public var bytes: Int
}

extension KlingClient {
    /// Fetches every result image of a succeeded task, concurrently, and writes them atomically.
    ///
    /// Each image is fetched with the download timeout and a size cap (``ClientConfiguration/maxImageBytes``,
    /// checked against `Content-Length` first and while receiving), must decode completely with the
    /// project's codecs (a truncated or corrupt image is refused), gets its extension from its content
    /// (`.jpg` or `.png`), and is written through a temporary file and a rename, so a file that exists
    /// is always whole. The task id is never used as a path as is: see ``SafePath/component(forTaskID:)``.
    /// - Parameters:
    ///   - task: a task in state `succeed`.
    ///   - directory: the output root; `<directory>/<task folder>/` is created.
    ///   - includeWatermarked: also fetch `watermark_url` of each image.
    /// - Returns: the written images, by index (watermarked copies after their plain one).
    /// - Throws: ``ClientError`` (`download`) naming the image and the reason; files already written stay.
    public func download(_ task: TaskObject, to directory: URL, includeWatermarked: Bool = false) async throws -> [DownloadedImage] {
        let taskID = task.taskID ?? ""
        guard task.taskStatus == .succeed else {
            throw ClientError(.download, "task is \(task.taskStatus.map { "\($0)" } ?? "of unknown status"), not succeed: nothing to download",
                              taskID: taskID)
        }
        let images = task.taskResult?.images ?? []
        guard !images.isEmpty else {
            throw ClientError(.download, "task succeeded but lists no result images", taskID: taskID)
        }
        let folder = directory.appendingPathComponent(SafePath.component(forTaskID: taskID), isDirectory: true)
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            throw ClientError(.download, "cannot create \(folder.path): \(error.localizedDescription)", taskID: taskID)
        }
        // (index, watermarked, url): indices from the server are only trusted as small non-negative integers.
        var jobs: [(Int, Bool, String)] = []
        var seen = Set<Int>()
        for (position, image) in images.enumerated() {
            var index = image.index ?? position
            if index < 0 || index > 999 || seen.contains(index) { index = position }
            seen.insert(index)
            guard let url = image.url, !url.isEmpty else {
                throw ClientError(.download, "result image \(index) has no url", taskID: taskID)
            }
            jobs.append((index, false, url))
            if includeWatermarked {
                guard let wurl = image.watermarkURL, !wurl.isEmpty else {
                    throw ClientError(.download, "result image \(index) has no watermark_url (was watermark requested?)", taskID: taskID)
                }
                jobs.append((index, true, wurl))
            }
        }
        let limit = max(1, configuration.downloadConcurrency)
        return try await withThrowingTaskGroup(of: DownloadedImage.self) { group in
            var results: [DownloadedImage] = []
            var next = 0
            func add() {
                let (index, watermarked, url) = jobs[next]
                next += 1
                group.addTask {
                    try await self.fetchImage(url: url, index: index, watermarked: watermarked, folder: folder, taskID: taskID)
                }
            }
            while next < min(limit, jobs.count) { add() }
            while let done = try await group.next() {
                results.append(done)
                if next < jobs.count { add() }
            }
            return results.sorted { ($0.index, $0.watermarked ? 1 : 0) < ($1.index, $1.watermarked ? 1 : 0) }
        }
    }

    /// Fetches one result image, retrying per ``ClientConfiguration/retry`` what may succeed on a second
    /// try (a missed deadline, a too-slow body, a dropped connection, HTTP 5xx/429).
    func fetchImage(url: String, index: Int, watermarked: Bool, folder: URL, taskID: String) async throws -> DownloadedImage {
        var delays = configuration.retry.delays(jitter: configuration.jitter)
        var attempts = 0
        while true {
            attempts += 1
            do {
                return try await fetchImageOnce(url: url, index: index, watermarked: watermarked, folder: folder, taskID: taskID)
            } catch var error as ClientError where error.isRetryable {
                guard let delay = delays.next() else {
                    if attempts > 1 { error.message += " (gave up after \(attempts) attempts)" }
                    throw error
                }
                configuration.logger.debug("download of \(url) failed (\(error.message)); retrying in \(delay)")
                try await configuration.clock.sleep(for: delay)
            }
        }
    }

    private func fetchImageOnce(url: String, index: Int, watermarked: Bool, folder: URL, taskID: String) async throws -> DownloadedImage {
        let label = watermarked ? "watermarked image \(index)" : "image \(index)"
        let cap = configuration.maxImageBytes
        let guardrail = DownloadGuard(baseURL: configuration.baseURL, allowPrivate: configuration.allowPrivateDownloads)
        if let problem = guardrail.problem(url) {
            throw ClientError(.download, "\(label): not fetched: \(problem)", taskID: taskID)
        }
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        let bytes: [UInt8]
        let start = ContinuousClock.now
        let reader = DownloadBodyReader(cap: cap, deadline: start + configuration.downloadTimeout,
                                        minimumRate: configuration.minimumDownloadRate, window: configuration.downloadRateWindow,
                                        start: start)
        do {
            let response = try await http.execute(request, timeout: timeAmount(configuration.downloadTimeout), logger: configuration.logger)
            guard response.status.code == 200 else {
                throw ClientError(.download, "\(label): HTTP \(response.status.code) from the image URL (expired link?)",
                                  httpStatus: Int(response.status.code), taskID: taskID,
                                  isRetryable: ClientError.isRetryable(httpStatus: Int(response.status.code)))
            }
            if let declared = response.headers.first(name: "Content-Length").flatMap(Int.init), declared > cap {
                throw ClientError(.download, "\(label) is \(declared) bytes, over the \(cap)-byte cap", taskID: taskID)
            }
            bytes = try await reader.read(response.body)
        } catch let error as ClientError {
            throw error
        } catch DownloadBodyReader.Failure.tooLarge {
            throw ClientError(.download, "\(label) is over the \(cap)-byte cap", taskID: taskID)
        } catch DownloadBodyReader.Failure.deadline(let received) {
            throw ClientError(.download, "\(label) did not arrive within the download deadline of \(configuration.downloadTimeout) "
                              + "(\(received) bytes received)", taskID: taskID, isRetryable: true)
        } catch DownloadBodyReader.Failure.tooSlow(let received, let moved) {
            throw ClientError(.download, "\(label) arrived slower than \(configuration.minimumDownloadRate) bytes/s "
                              + "(\(moved) bytes in the last \(configuration.downloadRateWindow), \(received) in all); abandoned",
                              taskID: taskID, isRetryable: true)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            // No answer head within the download's own deadline (not the API call's --timeout).
            throw ClientError(.download, "\(label) did not arrive within the download deadline of \(configuration.downloadTimeout) "
                              + "(no answer)", taskID: taskID, isRetryable: true)
        } catch {
            var e = transportError(error, what: "downloading \(label)")
            e.code = .download
            e.taskID = taskID
            if error as? HTTPClientError == .remoteConnectionClosed {
                e.message = "\(label) was truncated: the connection closed before the whole body arrived"
            }
            throw e
        }
        guard let processor = configuration.images else {
            throw ClientError(.configuration, "\(label): verifying downloads needs ClientConfiguration.images (a ReferenceImageProcessor); none is set",
                              taskID: taskID)
        }
        let header: ResultImageFacts
        switch try await onImagePool({ processor.inspectResult(bytes) }) {
        case .success(let facts): header = facts
        case .failure(let problem):
            throw ClientError(.download, "\(label) (\(bytes.count) bytes) does not decode: \(problem)", taskID: taskID)
        }
        let ext = header.format.fileExtension
        let name = watermarked ? "\(index)-watermark.\(ext)" : "\(index).\(ext)"
        let target = folder.appendingPathComponent(name)
        try AtomicFile.write(bytes, to: target, errorCode: .download)
        return DownloadedImage(index: index, watermarked: watermarked, path: target.path, format: header.format,
                               width: header.width, height: header.height, bytes: bytes.count)
    }
}
