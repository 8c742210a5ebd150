import NIOPosix

/// The image work the client needs but does not do itself: checking (and on request fixing) local
/// reference images against the upload rules (kling-api.md §4), checking fetched URL images, and
/// verifying that a downloaded result is a whole image. The client has no image code: an application
/// injects an implementation through ``ClientConfiguration/images`` (the `klingkit` commands wire
/// ReferenceImages' validator and preparer in).
///
/// Every method is synchronous CPU work. The client calls them on its own thread pool (never on the
/// cooperative pool), so an HTTP answer is never held behind a decode.
public protocol ReferenceImageProcessor: Sendable {
    /// The largest image file the service accepts, in bytes (the vendor's 10 MiB = 10,485,760 by default).
    /// Local files up to 20× this are read (preparing may shrink them); URL images over it are refused.
    var maxImageBytes: Int { get }

    /// Checks a local image and returns the text to send: prefix-free standard base64.
    /// - Parameters:
    ///   - name: the file name or label, for messages.
    ///   - prepare: fix an image that breaks a rule (resize, pad, re-encode) instead of refusing it.
    /// - Returns: ``ReferenceImageVerdict/accepted(base64:)``, or the rules it breaks, one line.
    func prepareUpload(_ bytes: [UInt8], name: String, prepare: Bool) -> ReferenceImageVerdict

    /// Checks an image fetched from a URL (it is still sent as the URL).
    /// - Returns: `nil` when it passes, else the rules it breaks, one line.
    func checkRemote(_ bytes: [UInt8], name: String) -> String?

    /// Verifies that downloaded bytes are one complete JPEG or PNG (every byte decodes).
    /// - Returns: what it is, or why it is not an image.
    func inspectResult(_ bytes: [UInt8]) -> Result<ResultImageFacts, ResultImageProblem>
}

/// What ``ReferenceImageProcessor/prepareUpload(_:name:prepare:)`` decided.
public enum ReferenceImageVerdict: Sendable, Equatable {
    /// The image passes (as it is, or after preparing): send this base64 text.
    case accepted(base64: String)
    /// The image breaks a rule and was not fixed: why, one line (`rule: message; …`).
    case rejected(String)
}

/// The container format of a downloaded result.
public enum ResultImageFormat: String, Sendable, Equatable {
    case jpeg, png
    /// The file extension written: `jpg` or `png`.
    public var fileExtension: String { self == .jpeg ? "jpg" : "png" }
}

/// A verified result image: its format and stored size in pixels.
public struct ResultImageFacts: Sendable, Equatable {
    public var format: ResultImageFormat
    public var width: Int
    public var height: Int
    public init(format: ResultImageFormat, width: Int, height: Int) {
        self.format = format
        self.width = width
        self.height = height
    }
}

/// Why downloaded bytes are not an image (the decoder's own words).
public struct ResultImageProblem: Error, Sendable, Equatable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Runs the injected image work on NIO's blocking-work pool, off the cooperative pool.
func onImagePool<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
    try await NIOThreadPool.singleton.runIfActive(work)
}
