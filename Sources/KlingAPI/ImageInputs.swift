import AsyncHTTPClient
import Foundation
import KlingModels
import NIOCore

extension KlingClient {
    /// Submits a text→image or image→image request: images are read, checked (and fixed on request),
    /// encoded, the body validated against every API rule, and only then sent — exactly once.
    ///
    /// - Returns: the accepted task, after its journal entry (if a journal is configured) is on disk.
    /// - Throws: ``ClientError`` `invalidRequest`/`invalidImage` before anything is sent; API failures after.
    public func submit(_ request: GenerationRequest, options: SubmitOptions = .init()) async throws -> SubmittedTask {
        try await submit(wire: try await wireRequest(request, images: options.images), options: options)
    }

    /// Submits a multi-image request (see ``submit(_:options:)-GenerationRequest``).
    public func submit(_ request: MultiImageGenerationRequest, options: SubmitOptions = .init()) async throws -> SubmittedTask {
        try await submit(wire: try await wireRequest(request, images: options.images), options: options)
    }

    /// The wire body for a request, images resolved. Does not validate (``submit(wire:options:)`` does).
    public func wireRequest(_ r: GenerationRequest, images: ImageHandling = .init()) async throws -> ImageGenerationRequest {
        var wire = ImageGenerationRequest(
            modelName: r.model, prompt: r.prompt, negativePrompt: r.negativePrompt, image: nil,
            imageReference: r.imageReference, imageFidelity: r.imageFidelity, humanFidelity: r.humanFidelity,
            elementList: r.elementIDs.isEmpty ? nil : r.elementIDs.map { ElementReference(elementID: $0) },
            resolution: r.resolution, n: r.n, aspectRatio: r.aspectRatio,
            watermarkInfo: r.watermark.map { WatermarkInfo(enabled: $0) }, callbackURL: r.callbackURL,
            externalTaskID: r.externalTaskID)
        // Rules that need no image are checked first, so a bad field is reported before any file is read.
        var probe = wire
        if r.image != nil { probe.image = "https://example.invalid/placeholder.jpg" }
        try Self.check(RequestRules.validate(probe))
        if let image = r.image { wire.image = try await resolve(image, field: "image", handling: images) }
        return wire
    }

    /// The wire body for a multi-image request, images resolved.
    public func wireRequest(_ r: MultiImageGenerationRequest, images: ImageHandling = .init()) async throws -> MultiImageRequest {
        let placeholder = "https://example.invalid/placeholder.jpg"
        var wire = MultiImageRequest(
            modelName: r.model, prompt: r.prompt,
            subjectImageList: r.subjects.map { _ in SubjectImage(subjectImage: placeholder) },
            sceneImage: r.scene.map { _ in placeholder }, styleImage: r.style.map { _ in placeholder },
            n: r.n, aspectRatio: r.aspectRatio, watermarkInfo: r.watermark.map { WatermarkInfo(enabled: $0) },
            callbackURL: r.callbackURL, externalTaskID: r.externalTaskID)
        try Self.check(RequestRules.validate(wire))
        var subjects: [SubjectImage] = []
        for (i, s) in r.subjects.enumerated() {
            subjects.append(SubjectImage(subjectImage: try await resolve(s, field: "subject_image_list[\(i)].subject_image", handling: images)))
        }
        wire.subjectImageList = subjects
        if let scene = r.scene { wire.sceneImage = try await resolve(scene, field: "scene_image", handling: images) }
        if let style = r.style { wire.styleImage = try await resolve(style, field: "style_image", handling: images) }
        return wire
    }

    /// Turns an image input into the string the API takes: a URL as is, or prefix-free base64 of bytes
    /// that pass the upload rules (after the fix-up pipeline when `handling.prepare`), through the
    /// configured ``ReferenceImageProcessor`` on the image thread pool.
    func resolve(_ input: ImageInput, field: String, handling: ImageHandling) async throws -> String {
        switch input {
        case .url(let url):
            guard let parsed = URL(string: url), let scheme = parsed.scheme?.lowercased(),
                  scheme == "http" || scheme == "https", parsed.host != nil else {
                throw ClientError(.invalidRequest, "\(field): \(url) is not an http(s) URL with a host", field: field)
            }
            if handling.checkURLs {
                let processor = try imageProcessor(for: url, field: field)
                let bytes = try await fetchReference(url, field: field, limit: processor.maxImageBytes)
                if let reasons = try await onImagePool({ processor.checkRemote(bytes, name: url) }) {
                    throw ClientError(.invalidImage, "\(url): \(reasons)", field: field)
                }
            }
            return url
        case .file(let path):
            let processor = try imageProcessor(for: path, field: field)
            let bytes = try readLocal(path, field: field, limit: processor.maxImageBytes * 20)
            return try await upload(bytes, name: path, field: field, prepare: handling.prepare, processor: processor)
        case .bytes(let bytes, let name):
            let processor = try imageProcessor(for: name, field: field)
            return try await upload(bytes, name: name, field: field, prepare: handling.prepare, processor: processor)
        }
    }

    private func imageProcessor(for name: String, field: String) throws -> any ReferenceImageProcessor {
        guard let processor = configuration.images else {
            throw ClientError(.configuration, "\(name): checking reference images needs ClientConfiguration.images (a ReferenceImageProcessor); none is set",
                              field: field)
        }
        return processor
    }

    private func upload(_ bytes: [UInt8], name: String, field: String, prepare: Bool,
                        processor: any ReferenceImageProcessor) async throws -> String {
        switch try await onImagePool({ processor.prepareUpload(bytes, name: name, prepare: prepare) }) {
        case .accepted(let base64): return base64
        case .rejected(let reasons): throw ClientError(.invalidImage, "\(name): \(reasons)", field: field)
        }
    }

    private func readLocal(_ path: String, field: String, limit: Int) throws -> [UInt8] {
        let url = URL(fileURLWithPath: path)
        guard let handle = try? FileHandle(forReadingFrom: url) else {
            throw ClientError(.invalidImage, "\(path): cannot be read (missing or not permitted)", field: field)
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: limit + 1)) ?? Data()
        guard data.count <= limit else {
            throw ClientError(.invalidImage, "\(path): larger than \(limit) bytes", field: field)
        }
        return Array(data)
    }

    private func fetchReference(_ url: String, field: String, limit: Int) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: configuration.userAgent)
        do {
            let response = try await http.execute(request, timeout: timeAmount(configuration.downloadTimeout), logger: configuration.logger)
            guard response.status.code == 200 else {
                throw ClientError(.invalidImage, "\(url): HTTP \(response.status.code)", httpStatus: Int(response.status.code), field: field)
            }
            var buffer = try await response.body.collect(upTo: limit + 1)
            return buffer.readBytes(length: buffer.readableBytes) ?? []
        } catch let error as ClientError {
            throw error
        } catch is NIOTooManyBytesError {
            throw ClientError(.invalidImage, "\(url): file-size: larger than \(limit) bytes", field: field)
        } catch {
            throw ClientError(.invalidImage, "\(url): cannot be fetched: \(error)", field: field)
        }
    }
}
