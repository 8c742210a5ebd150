import ImageCore

extension ReferenceImagePreparer {
    /// The in-memory geometry every decoded route shares: cut to `region` when it is not the whole
    /// image, resample to ``PreparePlan/content``, then pad to ``PreparePlan/canvas`` when the plan pads.
    /// Each step that changes the pixels appends its action.
    /// - Parameter region: the part of `image` to keep, in `image`'s pixels; `nil` keeps all of it.
    func applyGeometry(_ image: inout Image, region: Rect?, plan: PreparePlan, actions: inout [PrepareAction]) {
        if let region, region != Rect(x: 0, y: 0, width: image.width, height: image.height) {
            let before = image.size
            image = image.cropped(to: region)
            actions.append(.cropped(from: before, to: image.size))
        }
        if image.size != plan.content {
            let before = image.size
            image = image.resized(to: plan.content, filter: options.filter, threads: options.threads)
            actions.append(.resized(from: before, to: plan.content, filter: options.filter))
        }
        pad(&image, plan: plan, actions: &actions)
    }

    /// Places `image` (already ``PreparePlan/content``-sized) on the plan's canvas when the plan pads.
    func pad(_ image: inout Image, plan: PreparePlan, actions: inout [PrepareAction]) {
        guard plan.isPadded else { return }
        let fill: PadFill = switch options.padStyle {
        case .color: .color(options.background)
        case .edge: .edge
        case .blur: .blur
        }
        let before = image.size
        image = image.padded(to: plan.canvas, at: (plan.originX, plan.originY), fill: fill)
        actions.append(.padded(from: before, to: plan.canvas, style: options.padStyle))
    }
}
