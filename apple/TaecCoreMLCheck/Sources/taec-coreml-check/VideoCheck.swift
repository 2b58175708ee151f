// Video mode of taec-coreml-check (--clip): runs a TAEHV decoder package over a whole clip, chunk
// by chunk, carrying the MemBlock states the way an app must (docs/COREML_EXPORT.md "Video"):
// a stateful package (--state stateful) with one MLState made per clip, a tensor-style package by
// feeding each NAME_next output back as input NAME. Applies the clip's frame rule, compares the
// kept frames with a reference .npy (max |err| of the frames clamped to [0, 1]) and times every
// call (per call and per frame).
// NOT run by CI (needs a Mac with macOS 15 / iOS 18 for stateful packages); never run by taec's
// authors either, since no Mac was available: treat a failure as a harness bug as readily as a
// package bug, and report both.
//
//   swift run -c release taec-coreml-check --model out/taew2_1_decoder_stateful_512.mlpackage \
//       --clip latents.npy --reference frames.npy --compute all --tolerance 0.02
//
// latents.npy: [1, T, C, h, w] (taehv.py's NTCHW, `taec decode --layout ntchw`), '<f4' or '<f2'.
// frames.npy:  [1, F, 3, H, W], the clip's kept frames as `taec decode … --layout ntchw --npy` writes.
import CoreML
import Foundation

// Frames of a clip kept by the package's frame rule (metadata com.github.taec.frame_rule):
// `raw` is the 0-based raw frame over the whole clip, `latents` the clip's latent count.
func keepsFrame(rule: String, timeFactor t: Int, latents: Int, raw: Int) -> Bool {
    switch rule {
    case "cogvideox": return latents % 2 == 0 || raw >= t - 1
    case "h3": return raw % 20 >= 3  // and the last 12 of the clip padded to groups of 20: applied below
    default: return raw >= t - 1      // "standard"
    }
}

struct VideoRunStats {
    var callSeconds: [Double] = []
    var keptFrames: [[Float]] = []  // each [3, H, W]
    var lastRaw: [Float] = []       // the clip's last raw frame (H3 pads with copies of it)
}

// The latents of one call, [1, K, ...] in the model's layout, from the clip [1, T, C, h, w]; past
// the clip's end the last latent is repeated (the frames it makes are dropped).
func chunkInput(_ clip: Array4, first: Int, shape: [Int], nhwc: Bool) -> Array4 {
    let (t, c, h, w) = (clip.shape[1], clip.shape[2], clip.shape[3], clip.shape[4])
    let k = shape[1]
    var data = [Float](repeating: 0, count: k * c * h * w)
    for j in 0..<k {
        let l = min(first + j, t - 1)
        for ch in 0..<c {
            for i in 0..<(h * w) {
                let v = clip.data[((l * c) + ch) * h * w + i]
                data[nhwc ? (j * h * w + i) * c + ch : (j * c + ch) * h * w + i] = v
            }
        }
    }
    return Array4(shape: shape, data: data)
}

// One raw frame [3, H, W] of a call's `frames` output ([1, F, H, W, 3] or [1, F, 3, H, W]).
func rawFrame(_ frames: Array4, index f: Int, nhwc: Bool) -> [Float] {
    let (h, w) = nhwc ? (frames.shape[2], frames.shape[3]) : (frames.shape[3], frames.shape[4])
    var out = [Float](repeating: 0, count: 3 * h * w)
    for ch in 0..<3 {
        for i in 0..<(h * w) {
            out[ch * h * w + i] = nhwc ? frames.data[(f * h * w + i) * 3 + ch] : frames.data[(f * 3 + ch) * h * w + i]
        }
    }
    return out
}

@available(macOS 15.0, iOS 18.0, *)
func runVideo(_ o: Options, model: MLModel) async throws {
    let description = model.modelDescription
    guard let latentsConstraint = description.inputDescriptionsByName["latents"]?.multiArrayConstraint else {
        throw Fail("the model has no multi-array input `latents` (not a taec video decoder package)")
    }
    let meta = description.metadata[MLModelMetadataKey.creatorDefinedKey] as? [String: String] ?? [:]
    let timeFactor = Int(meta["com.github.taec.time_factor"] ?? "") ?? 4
    let rule = meta["com.github.taec.frame_rule"] ?? "standard"
    let stateful = !description.stateDescriptionsByName.isEmpty
    print("video decoder: frame rule \(rule), time factor \(timeFactor), " +
          (stateful ? "\(description.stateDescriptionsByName.count) iOS 18 states" : "states as tensors"))

    let clip = try loadNpy(o.clip)
    guard clip.shape.count == 5, clip.shape[0] == 1 else { throw Fail("\(o.clip): want [1, T, C, h, w], got \(clip.shape)") }
    let inputShape = latentsConstraint.shape.map { $0.intValue }
    let (c, h, w) = (clip.shape[2], clip.shape[3], clip.shape[4])
    let nhwc = inputShape == [1, inputShape[1], h, w, c]
    guard nhwc || inputShape == [1, inputShape[1], c, h, w] else {
        throw Fail("\(o.clip): latents [C, h, w] = \([c, h, w]) do not fit the model's input \(inputShape)")
    }
    let chunk = inputShape[1]
    let latents = clip.shape[1]

    // The clip's first call starts from zero states: a fresh MLState is zero-filled (makeState),
    // tensor states start as zero arrays.
    let state = stateful ? model.makeState() : nil
    var stateInputs: [String: MLMultiArray] = [:]
    if !stateful {
        for (name, d) in description.inputDescriptionsByName where name != "latents" {
            guard let cst = d.multiArrayConstraint else { throw Fail("state input \(name) is not a multi-array") }
            let zero = try MLMultiArray(shape: cst.shape, dataType: cst.dataType)
            memset(zero.dataPointer, 0, zero.count * (cst.dataType == .float16 ? 2 : 4))
            stateInputs[name] = zero
        }
    }

    var stats = VideoRunStats()
    var raw = 0
    var first = 0
    while first < latents {
        let input = try makeInput(chunkInput(clip, first: first, shape: inputShape, nhwc: nhwc),
                                  dataType: latentsConstraint.dataType)
        var dict: [String: MLFeatureValue] = ["latents": MLFeatureValue(multiArray: input)]
        for (name, array) in stateInputs { dict[name] = MLFeatureValue(multiArray: array) }
        let features = try MLDictionaryFeatureProvider(dictionary: dict)
        let start = Date()
        let result: MLFeatureProvider
        if let state {
            result = try await model.prediction(from: features, using: state)
        } else {
            result = try await model.prediction(from: features)
        }
        stats.callSeconds.append(Date().timeIntervalSince(start))
        for name in Array(stateInputs.keys) {  // fed back, as the app does
            guard let next = result.featureValue(for: name + "_next")?.multiArrayValue else {
                throw Fail("the model produced no `\(name)_next` for state input `\(name)`")
            }
            stateInputs[name] = next
        }
        guard let framesArray = result.featureValue(for: "frames")?.multiArrayValue else {
            throw Fail("the model produced no multi-array `frames`")
        }
        let frames = readOutput(framesArray)
        for f in 0..<frames.shape[1] {
            defer { raw += 1 }
            if raw >= latents * timeFactor { break }  // made from the repeated last latent
            if raw == latents * timeFactor - 1 { stats.lastRaw = rawFrame(frames, index: f, nhwc: nhwc) }
            if keepsFrame(rule: rule, timeFactor: timeFactor, latents: latents, raw: raw) {
                stats.keptFrames.append(rawFrame(frames, index: f, nhwc: nhwc))
            }
        }
        first += chunk
    }
    if rule == "h3" {  // raw frames padded to groups of 20 with the last one; the last 12 kept ones dropped
        let padded = (latents * timeFactor + 19) / 20 * 20
        for r in (latents * timeFactor)..<padded where r % 20 >= 3 { stats.keptFrames.append(stats.lastRaw) }
        let keep = max(0, padded / 20 * 17 - 12)
        if stats.keptFrames.count > keep { stats.keptFrames.removeLast(stats.keptFrames.count - keep) }
    }

    let calls = stats.callSeconds.count
    let sorted = stats.callSeconds.sorted()
    let total = stats.callSeconds.reduce(0, +)
    print("\(latents) latents in \(calls) calls of \(chunk): \(stats.keptFrames.count) frames kept")
    print(String(format: "first call %.2f ms (includes warm-up); later calls median %.2f ms, min %.2f ms",
                 stats.callSeconds[0] * 1e3, (calls > 1 ? sorted[calls / 2] : sorted[0]) * 1e3, sorted[0] * 1e3))
    print(String(format: "per kept frame: %.2f ms over the clip (%.1f frames/s)", total * 1e3 / Double(max(1, stats.keptFrames.count)),
                 Double(stats.keptFrames.count) / total))

    if let refPath = o.reference {
        let reference = try loadNpy(refPath)
        guard reference.shape.count == 5, reference.shape[2] == 3 else {
            throw Fail("\(refPath): want [1, F, 3, H, W], got \(reference.shape)")
        }
        let frameElems = reference.shape[2] * reference.shape[3] * reference.shape[4]
        guard stats.keptFrames.first?.count == frameElems else { throw Fail("\(refPath): frame size differs from the model's") }
        if reference.shape[1] != stats.keptFrames.count {
            print("note: the reference has \(reference.shape[1]) frames, the run kept \(stats.keptFrames.count); comparing the common ones")
        }
        var worst: Float = 0
        var worstFrame = 0
        for f in 0..<min(reference.shape[1], stats.keptFrames.count) {
            for i in 0..<frameElems {
                // as displayed: both clamped to [0, 1] (the package's frames are unclamped); NaN kept
                let (a, r) = (stats.keptFrames[f][i], reference.data[f * frameElems + i])
                let d = a.isNaN || r.isNaN ? Float.nan : abs(min(max(a, 0), 1) - min(max(r, 0), 1))
                if !(d <= worst) { worst = d; worstFrame = f }  // also catches NaN
            }
        }
        let ok = worst <= o.tolerance
        print("max |err| vs \(refPath): " + String(format: "%.4f at frame %d (tolerance %.3f) ", worst, worstFrame, o.tolerance) +
              (ok ? "OK" : "FAIL"))
        if !ok { exit(1) }
    }
}
