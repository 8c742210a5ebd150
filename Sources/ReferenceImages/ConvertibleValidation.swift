import ImageCodecs
import ImageCore

extension ReferenceImageValidator {
    /// The report for a HEIF/HEIC, AVIF or WebP file: `unsupported-format` naming the format, its size
    /// and orientation and saying that `prepare` converts it, then the size rules measured on the upright
    /// image as prepare would see it, then decodability (one full decode: these formats have no cheap
    /// verification pass).
    func convertibleReport(_ start: ValidationReport, bytes: [UInt8], format: ConvertibleFormat,
                           complete: Bool) -> ValidationReport {
        var report = start
        let header: ConvertibleHeader
        do {
            header = try ImageCodec.probeConvertible(bytes, options: DecodeOptions(maxPixels: rules.maxPixels))
        } catch let error as CodecError {
            let rule: ValidationRule = error.code == .tooManyPixels || error.code == .resourceLimit ? .tooManyPixels : .corrupt
            report.violations.insert(Violation(rule: .unsupportedFormat, message:
                "\(format.rawValue) image: not accepted by the API"), at: 0)
            report.violations.append(Violation(rule: rule, message: "unreadable \(format.rawValue) header: \(error.message)"))
            return report
        } catch {
            report.violations.append(Violation(rule: .corrupt, message: "\(error)"))
            return report
        }
        report.convertible = header
        report.width = header.width
        report.height = header.height
        report.orientation = header.orientation
        var facts = ["\(header.width)x\(header.height)"]
        facts.append(header.orientation == 1 ? "orientation 1" : "EXIF orientation \(header.orientation), upright \(header.orientedWidth)x\(header.orientedHeight)")
        facts += header.notes
        report.violations.insert(Violation(rule: .unsupportedFormat, message:
            "\(format.rawValue) image (\(facts.joined(separator: ", "))): not accepted by the API; prepare converts it"), at: 0)
        let w = header.orientedWidth, h = header.orientedHeight
        if w < rules.minSide {
            report.violations.append(Violation(rule: .minDimension, message: "width \(w) px is below the minimum of \(rules.minSide) px"))
        }
        if h < rules.minSide {
            report.violations.append(Violation(rule: .minDimension, message: "height \(h) px is below the minimum of \(rules.minSide) px"))
        }
        if !rules.aspectRatioAllowed(width: w, height: h) {
            report.violations.append(Violation(rule: .aspectRatio, message:
                "aspect ratio \(w)x\(h) is outside \(rules.aspectBand)"))
        }
        guard complete else { return report }
        do {
            _ = try ImageCodec.decodeConvertible(bytes, options: DecodeOptions(maxPixels: rules.maxPixels))
        } catch let error as CodecError {
            report.violations.append(Violation(rule: .corrupt, message: "does not decode: \(error.message)"))
        } catch {
            report.violations.append(Violation(rule: .corrupt, message: "does not decode: \(error)"))
        }
        return report
    }
}
