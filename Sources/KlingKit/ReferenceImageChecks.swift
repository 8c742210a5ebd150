import FastBase64
import ImageCodecs
import KlingAPI
import ReferenceImages

/// The client's ``ReferenceImageProcessor`` made of the project's image modules: ReferenceImages'
/// validator and preparer for uploads, ImageCodecs' full decode for downloads, FastBase64 for the
/// base64 text. Every command that talks to the API sets it as ``ClientConfiguration/images``.
public struct ReferenceImageChecks: ReferenceImageProcessor {
    /// The upload rules (default: the vendor's).
    public var rules: UploadRules

    public init(rules: UploadRules = UploadRules()) { self.rules = rules }

    public var maxImageBytes: Int { rules.maxBytes }

    public func prepareUpload(_ bytes: [UInt8], name: String, prepare: Bool) -> ReferenceImageVerdict {
        let validator = ReferenceImageValidator(rules: rules)
        let report = validator.validate(bytes: bytes, name: name)
        if report.isValid { return .accepted(base64: Base64.encodeToString(bytes)) }
        guard prepare else { return .rejected(Self.reasons(report)) }
        do {
            var options = PrepareOptions()
            options.rules = rules
            let prepared = try ReferenceImagePreparer(options: options).prepare(bytes: bytes, name: name)
            let again = validator.validate(bytes: prepared.encoded.bytes, name: name)
            guard again.isValid else { return .rejected("still invalid after preparing: \(Self.reasons(again))") }
            return .accepted(base64: Base64.encodeToString(prepared.encoded.bytes))
        } catch {
            return .rejected("cannot be fixed: \(error)")
        }
    }

    public func checkRemote(_ bytes: [UInt8], name: String) -> String? {
        let report = ReferenceImageValidator(rules: rules).validate(bytes: bytes, name: name)
        return report.isValid ? nil : Self.reasons(report)
    }

    public func inspectResult(_ bytes: [UInt8]) -> Result<ResultImageFacts, ResultImageProblem> {
        do {
            let header = try ImageCodec.verify(bytes)
            return .success(ResultImageFacts(format: header.format == .png ? .png : .jpeg, width: header.width, height: header.height))
        } catch {
            return .failure(ResultImageProblem("\(error)"))
        }
    }

    private static func reasons(_ report: ValidationReport) -> String {
        report.violations.map { "\($0.rule.rawValue): \($0.message)" }.joined(separator: "; ")
    }
}
