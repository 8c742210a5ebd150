import Foundation
import KlingModels

extension BatchRunner {
    // MARK: - Bodies

    enum Body: Sendable {
        case generation(ImageGenerationRequest)
        case multi(MultiImageRequest)
    }

    /// The line's wire body, its local images replaced by their prepared upload text (read when sent,
    /// so memory holds only the bodies in flight).
    func wireBody(_ line: BatchLine, externalID: String) -> @Sendable () throws -> Body {
        let spec = line.spec, digests = self.digests, store = self.store, callback = options.callbackURL
        return {
            let image: (String, String) throws -> String = { field, value in
                if BatchSpec.isURL(value) { return value }
                guard let digest = digests[value] else { throw BatchError(.file, "\(value): not validated in this run") }
                return try store.get(digest)
            }
            if spec.isMulti {
                return .multi(try spec.wire(externalTaskID: externalID, callbackURL: callback, images: image))
            }
            return .generation(try spec.wire(externalTaskID: externalID, callbackURL: callback, images: image))
        }
    }
}
