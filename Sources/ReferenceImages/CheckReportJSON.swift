import KlingSupport

extension ValidationReport {
    /// The report as one `check --json` object, in its documented order and spacing: `path, valid,
    /// format, width, height, bytes, orientation`, then for a format `prepare` converts `convertible,
    /// source_format`, with faces `faces, face_boxes[{x, y, width, height, score}]` (and `face_error`),
    /// any `notes`, and last `violations[{rule, message}]`; unknown values as `null`.
    ///
    /// The one encoding of a check report: `klingkit check --json` prints it, `klingkit serve`'s
    /// `/v1/check` answers it, so a script reading either reads the same object.
    /// - Parameters:
    ///   - faces: the face count when it was asked for (`--face`, `?face=1`).
    ///   - strictFace: a count other than 1 makes `valid` false.
    public func checkJSON(faces: FaceCount? = nil, strictFace: Bool = false) -> FixedOrderJSON {
        var line = FixedOrderJSON(spacing: .spaced)
        let faceFails = strictFace && faces.map { !$0.isSingle } == true
        // Strings, integers, booleans and finite doubles always encode.
        try? line.add("path", name)
        try? line.add("valid", isValid && !faceFails)
        try? line.add("format", format?.rawValue)
        try? line.add("width", width)
        try? line.add("height", height)
        try? line.add("bytes", bytes)
        // EXIF orientation 1...8 (1 = as stored; 5...8 swap width and height on display), null when unread.
        try? line.add("orientation", convertible?.orientation ?? (width == nil ? nil : orientation))
        if let convertible {
            try? line.add("convertible", true)
            try? line.add("source_format", convertible.format.rawValue)
        }
        if let faces {
            try? line.add("faces", faces.error == nil ? faces.faces.count : nil)
            try? line.add("face_boxes", objects: faces.faces.map { box in
                var entry = FixedOrderJSON(spacing: .spaced)
                try? entry.add("x", box.x)
                try? entry.add("y", box.y)
                try? entry.add("width", box.width)
                try? entry.add("height", box.height)
                try? entry.add("score", (Double(box.score) * 1000).rounded() / 1000)
                return entry
            })
            if let error = faces.error { try? line.add("face_error", error) }
        }
        if !notes.isEmpty { try? line.add("notes", notes) }
        try? line.add("violations", objects: violations.map { violation in
            var entry = FixedOrderJSON(spacing: .spaced)
            try? entry.add("rule", violation.rule.rawValue)
            try? entry.add("message", violation.message)
            return entry
        })
        return line
    }
}
