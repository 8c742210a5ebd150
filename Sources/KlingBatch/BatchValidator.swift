import Crypto
import Foundation
import KlingAPI
import KlingModels
import KlingSupport
import NIOPosix

/// What validating a batch found, and each distinct reference image it checked.
public struct BatchValidation: Sendable {
    /// Every problem, in line order; empty when the batch may be sent.
    public private(set) var problems: [BatchProblem]
    /// Local image path → SHA-256 (hex) of its content, for every path that could be read.
    public private(set) var digests: [String: String]
    /// Distinct image contents checked (each once, however many lines use it).
    public private(set) var distinctImages: Int
    /// Request lines checked.
    public private(set) var lines: Int

    public var isValid: Bool { problems.isEmpty }
}

/// Checks every line of a batch before anything is sent: every field rule (KlingModels' `RequestRules`,
/// on the body each line makes), `n` against the slot budget, and every reference image against the
/// upload rules — each distinct file *content* once (SHA-256), however many lines or paths name it.
///
/// Image work goes through the injected ``ReferenceImageProcessor`` (as in KlingClient) on NIO's
/// blocking pool, one file at a time: memory holds one image, not the batch.
public struct BatchValidator: Sendable {
    /// Checks (and with ``prepare`` fixes) local reference images. `nil`: image lines are refused.
    public var images: (any ReferenceImageProcessor)?
    /// Fix images that break a rule (resize, pad, re-encode) instead of refusing them.
    public var prepare: Bool
    /// The run's slot budget, if known: a line whose `n` exceeds it could never run.
    public var budget: Int?
    /// Where accepted images' upload text (base64) is kept, one `SHA256.b64` file per content, for the
    /// runner. `nil`: nothing is kept (validate only).
    public var store: ReferenceStore?

    public init(images: (any ReferenceImageProcessor)?, prepare: Bool = false, budget: Int? = nil, store: ReferenceStore? = nil) {
        self.images = images
        self.prepare = prepare
        self.budget = budget
        self.store = store
    }

    /// Validates every line of `file` (its parse problems included).
    public func validate(_ file: BatchFile) async -> BatchValidation {
        var problems = file.problems
        // Field rules first: no file is read for a line whose fields are wrong.
        var paths: [String: [(line: Int, field: String)]] = [:]
        var order: [String] = []
        for line in file.lines {
            for v in line.spec.violations() {
                problems.append(BatchProblem(file: file.path, line: line.number, field: v.field, message: v.message))
            }
            if let budget, line.spec.slots > budget {
                problems.append(BatchProblem(file: file.path, line: line.number, field: "n",
                                             message: "n = \(line.spec.slots) is more than the budget of \(budget) slots: it could never run"))
            }
            for (field, value) in line.spec.imageFields {
                if BatchSpec.isURL(value) {
                    if let v = RequestRules.checkImageString(value, field: field) {
                        problems.append(BatchProblem(file: file.path, line: line.number, field: field, message: v.message))
                    }
                    continue
                }
                if paths[value] == nil { order.append(value) }
                paths[value, default: []].append((line.number, field))
            }
        }
        // Every distinct path read once, every distinct content checked once.
        var digests: [String: String] = [:]
        var verdicts: [String: String?] = [:]   // digest -> rejection reason (nil = accepted)
        for path in order {
            let users = paths[path]!
            guard let processor = images else {
                for u in users {
                    problems.append(BatchProblem(file: file.path, line: u.line, field: u.field, message: "\(path): no image checker is configured"))
                }
                continue
            }
            let limit = processor.maxImageBytes * 20
            let read: Result<(digest: String, bytes: [UInt8]), BatchError>
            do {
                read = .success(try await NIOThreadPool.singleton.runIfActive { () -> (String, [UInt8]) in
                    let bytes = try Self.readImage(path, limit: limit)
                    return (SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined(), bytes)
                })
            } catch let e as BatchError {
                read = .failure(e)
            } catch {
                read = .failure(BatchError(.file, "\(path): \(error)"))
            }
            switch read {
            case .failure(let e):
                for u in users { problems.append(BatchProblem(file: file.path, line: u.line, field: u.field, message: e.message)) }
            case .success(let (digest, bytes)):
                digests[path] = digest
                if verdicts[digest] == nil {
                    let prepare = self.prepare, store = self.store
                    let verdict: String?
                    do {
                        verdict = try await NIOThreadPool.singleton.runIfActive { () -> String? in
                        if let store, store.has(digest) { return nil }
                        switch processor.prepareUpload(bytes, name: path, prepare: prepare) {
                        case .accepted(let base64):
                            do { try store?.put(digest, base64: base64) } catch { return "cannot keep the prepared image: \(error)" }
                            return nil
                        case .rejected(let reasons): return reasons
                        }
                        }
                    } catch {
                        verdict = "the image checker is not running: \(error)"
                    }
                    verdicts[digest] = .some(verdict)
                }
                if case .some(.some(let reasons)) = verdicts[digest] {
                    for u in users {
                        problems.append(BatchProblem(file: file.path, line: u.line, field: u.field, message: "\(path): \(reasons)"))
                    }
                }
            }
        }
        problems.sort { ($0.line, $0.field ?? "") < ($1.line, $1.field ?? "") }
        return BatchValidation(problems: problems, digests: digests, distinctImages: verdicts.count, lines: file.lines.count)
    }

    /// Reads a reference image (regular files only, at most `limit` bytes).
    static func readImage(_ path: String, limit: Int) throws(BatchError) -> [UInt8] {
        do {
            let file = try InputFile(path: path)
            guard file.size <= limit else { throw BatchError(.file, "\(path): larger than \(limit) bytes") }
            return try file.read(from: 0, count: file.size)
        } catch let e as InputFile.Failure {
            throw BatchError(.file, "\(path): cannot be read: \(e.message)")
        } catch let e as BatchError {
            throw e
        } catch {
            throw BatchError(.file, "\(path): cannot be read: \(error)")
        }
    }
}

/// A folder of prepared reference images, one `SHA256.b64` file (the upload text) per distinct
/// content, written atomically; shared by every line (and every run) that uses the same image.
public struct ReferenceStore: Sendable {
    public let directory: String

    /// Creates the folder if needed.
    /// - Throws: ``BatchError`` `.file` when it cannot be created.
    public init(directory: String) throws(BatchError) {
        self.directory = directory
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw BatchError(.file, "cannot create \(directory): \(error.localizedDescription)")
        }
    }

    func url(_ digest: String) -> String { directory + "/" + digest + ".b64" }

    /// Whether the prepared text of `digest` is kept.
    public func has(_ digest: String) -> Bool { FileManager.default.fileExists(atPath: url(digest)) }

    /// Keeps the upload text of `digest`.
    public func put(_ digest: String, base64: String) throws(FileWriteError) {
        try AtomicOutputFile.write(Array(base64.utf8), to: url(digest))
    }

    /// The upload text of `digest`.
    /// - Throws: ``BatchError`` `.file` when it is not kept.
    public func get(_ digest: String) throws(BatchError) -> String {
        guard let data = FileManager.default.contents(atPath: url(digest)) else {
            throw BatchError(.file, "the prepared image \(digest) is missing from \(directory)")
        }
        return String(decoding: data, as: UTF8.self)
    }
}
