import NIOCore
import ReferenceImages

/// What one request may cost the service; every limit is answered with a ``ServiceRefusal``.
///
/// Defaults suit a service in front of Kling's API: bodies up to 25 MiB (the API takes 10 MiB
/// images; larger uploads are what `prepare` shrinks), at most 100,000,000 pixels declared by a
/// header (refused before any decode), one decode slot per core with a short queue behind them,
/// and a 30 s deadline per request.
public struct ReferenceImageServiceLimits: Sendable, Equatable {
    /// Largest request body, in bytes (default 25 MiB). A `Content-Length` over it is refused before
    /// anything is read; a chunked body is counted while it streams and refused when it passes it. 413.
    public var maxBodyBytes: Int
    /// Most image parts in one `multipart/form-data` body of `/v1/check` (default 10). 413.
    public var maxFiles: Int
    /// Most pixels (width × height) an image header may declare (default 100,000,000); a larger image
    /// is refused from its header, never decoded. 422 with rule `too-many-pixels`.
    public var maxPixels: Int
    /// Decodes and encodes running at once (default: the number of cores).
    public var maxConcurrentDecodes: Int
    /// Requests waiting for a decode slot (default 2 × ``maxConcurrentDecodes``); one more is
    /// answered 503 with `Retry-After`.
    public var maxQueuedDecodes: Int
    /// Most request-body bytes held in memory at once, by every request together (default: room for a
    /// full body in every decode slot and queue place and two more arriving, that is
    /// (``maxConcurrentDecodes`` + ``maxQueuedDecodes`` + 2) × ``maxBodyBytes``: 200 MiB on two cores).
    /// A body that would pass it is refused with 503 and rule `buffered-bytes` (from its
    /// `Content-Length` before anything is read, else the moment it arrives), so memory is bounded by
    /// this, not by the number of connections.
    public var maxBufferedBodyBytes: Int
    /// The `Retry-After` of a 503, in seconds (default 1).
    public var retryAfterSeconds: Int
    /// Longest time from the request head to the answer, reading the body and waiting for a decode slot
    /// included (default 30 s). 503 with rule `request-deadline`. A decode that has begun is bounded by
    /// ``maxPixels`` and finishes.
    public var requestDeadline: Duration
    /// The upload rules `/v1/check` reports against (the API's: 10 MiB, 300 px, 1:2.5…2.5:1).
    public var rules: UploadRules

    public init(maxBodyBytes: Int = 25 << 20, maxFiles: Int = 10, maxPixels: Int = UploadRules().maxPixels,
                maxConcurrentDecodes: Int = System.coreCount, maxQueuedDecodes: Int? = nil, maxBufferedBodyBytes: Int? = nil,
                retryAfterSeconds: Int = 1, requestDeadline: Duration = .seconds(30), rules: UploadRules = .init()) {
        self.maxBodyBytes = maxBodyBytes
        self.maxFiles = maxFiles
        self.maxPixels = maxPixels
        self.maxConcurrentDecodes = maxConcurrentDecodes
        self.maxQueuedDecodes = maxQueuedDecodes ?? 2 * maxConcurrentDecodes
        let admitted = max(1, self.maxConcurrentDecodes) + max(0, self.maxQueuedDecodes) + 2
        self.maxBufferedBodyBytes = maxBufferedBodyBytes
            ?? (admitted.multipliedReportingOverflow(by: max(1, maxBodyBytes)).overflow ? Int.max : admitted * max(1, maxBodyBytes))
        self.retryAfterSeconds = retryAfterSeconds
        self.requestDeadline = requestDeadline
        self.rules = rules
    }

    /// The first limit that makes no sense, as a message naming it; `nil` when all are usable.
    public var problem: String? {
        if maxBodyBytes < 1 { return "max-body-bytes must be at least 1" }
        if maxFiles < 1 { return "max-files must be at least 1" }
        if maxPixels < 1 { return "max-pixels must be at least 1" }
        if maxConcurrentDecodes < 1 { return "max-decodes must be at least 1" }
        if maxQueuedDecodes < 0 { return "max-queue must be at least 0" }
        if maxBufferedBodyBytes < maxBodyBytes { return "max-buffered-bytes must be at least max-body-bytes (\(maxBodyBytes))" }
        if retryAfterSeconds < 0 { return "retry-after must be at least 0" }
        if requestDeadline <= .zero { return "deadline must be more than 0 seconds" }
        return nil
    }
}
