// taec-coreml-check: compile a taec-exported .mlpackage with Core ML, run one latent through it,
// compare with a reference .npy (max |err|), and time N runs (median). NOT run by CI (needs a Mac).
//
//   swift run -c release taec-coreml-check --model out/taef2_decoder.mlpackage --function r1024 \
//       --latent latent.npy --reference image.npy --runs 20 --compute all --tolerance 0.05
//
// Video decoders (TAEHV packages): --clip LATENTS.npy instead of --latent runs a whole clip chunk by
// chunk with the states carried (VideoCheck.swift).
//
// .npy files: '<f4' or '<f2', C order. A latent or reference given in NCHW is transposed to the
// model's NHWC layout (and back) when the shapes say so, so taec's golden files work directly.
import CoreML
import Foundation

struct Options {
    var model = ""
    var function: String? = nil
    var latent = ""
    var clip = ""
    var reference: String? = nil
    var runs = 10
    var compute = "all"
    var tolerance: Float = 0.05
}

func usage() -> Never {
    print("""
    usage: taec-coreml-check --model PATH.mlpackage|.mlmodelc [--function NAME] --latent IN.npy|--clip LATENTS.npy
                             [--reference OUT.npy] [--runs N] [--compute all|cpu|gpu|ane] [--tolerance T]
    """)
    exit(2)
}

func parseOptions() -> Options {
    var o = Options()
    var args = Array(CommandLine.arguments.dropFirst())
    while !args.isEmpty {
        let key = args.removeFirst()
        guard !args.isEmpty else { usage() }
        let value = args.removeFirst()
        switch key {
        case "--model": o.model = value
        case "--function": o.function = value
        case "--latent": o.latent = value
        case "--clip": o.clip = value
        case "--reference": o.reference = value
        case "--runs": o.runs = Int(value) ?? 10
        case "--compute": o.compute = value
        case "--tolerance": o.tolerance = Float(value) ?? 0.05
        default: usage()
        }
    }
    if o.model.isEmpty || o.latent.isEmpty == o.clip.isEmpty { usage() }
    return o
}

struct Fail: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

// MARK: fp16 <-> fp32 by bits (Float16 is not available on every Mac architecture)

func halfToFloat(_ h: UInt16) -> Float {
    let sign = UInt32(h & 0x8000) << 16
    let exponent = UInt32((h >> 10) & 0x1f)
    var mantissa = UInt32(h & 0x3ff)
    if exponent == 0x1f { return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13)) }
    if exponent != 0 { return Float(bitPattern: sign | ((exponent + 112) << 23) | (mantissa << 13)) }
    if mantissa == 0 { return Float(bitPattern: sign) }
    var e: UInt32 = 113
    while mantissa & 0x400 == 0 { mantissa <<= 1; e -= 1 }
    return Float(bitPattern: sign | (e << 23) | ((mantissa & 0x3ff) << 13))
}

func floatToHalf(_ f: Float) -> UInt16 {  // round to nearest even
    let bits = f.bitPattern
    let sign = UInt16((bits >> 16) & 0x8000)
    let abs = bits & 0x7fff_ffff
    if abs >= 0x7f80_0000 { return sign | 0x7c00 | (abs > 0x7f80_0000 ? 0x200 : 0) }
    if abs >= 0x477f_f000 { return sign | 0x7c00 }
    if abs < 0x3880_0000 {
        if abs < 0x3300_0000 { return sign }
        let e = abs >> 23
        let m = (abs & 0x7f_ffff) | 0x80_0000
        let shift = 126 - e
        var half = m >> shift
        let rem = m & ((1 << shift) - 1)
        let halfway: UInt32 = 1 << (shift - 1)
        if rem > halfway || (rem == halfway && (half & 1) == 1) { half += 1 }
        return sign | UInt16(half)
    }
    var h = (abs - 0x3800_0000) >> 13
    let rem = abs & 0x1fff
    if rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1) { h += 1 }
    return sign | UInt16(h)
}

// MARK: .npy

struct Array4 {
    var shape: [Int]
    var data: [Float]
}

func loadNpy(_ path: String) throws -> Array4 {
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    guard bytes.count > 10, bytes[0] == 0x93, String(bytes: bytes[1..<6], encoding: .ascii) == "NUMPY" else {
        throw Fail("\(path): not a .npy file")
    }
    let major = bytes[6]
    let headerLen = major == 1 ? Int(bytes[8]) | Int(bytes[9]) << 8
                               : Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
    let start = major == 1 ? 10 : 12
    guard start + headerLen <= bytes.count,
          let header = String(bytes: bytes[start..<start + headerLen], encoding: .ascii) else {
        throw Fail("\(path): bad header")
    }
    let fp16 = header.contains("'<f2'")
    guard fp16 || header.contains("'<f4'"), !header.contains("'fortran_order': True") else {
        throw Fail("\(path): need '<f4' or '<f2' in C order")
    }
    guard let open = header.firstIndex(of: "("), let close = header.firstIndex(of: ")") else {
        throw Fail("\(path): no shape")
    }
    let shape = header[header.index(after: open)..<close].split(separator: ",")
        .compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    let count = shape.reduce(1, *)
    let body = start + headerLen
    let width = fp16 ? 2 : 4
    guard bytes.count - body == count * width else { throw Fail("\(path): data size does not match the shape") }
    var data = [Float](repeating: 0, count: count)
    for i in 0..<count {
        let p = body + i * width
        if fp16 {
            data[i] = halfToFloat(UInt16(bytes[p]) | UInt16(bytes[p + 1]) << 8)
        } else {
            data[i] = Float(bitPattern: UInt32(bytes[p]) | UInt32(bytes[p + 1]) << 8 |
                                        UInt32(bytes[p + 2]) << 16 | UInt32(bytes[p + 3]) << 24)
        }
    }
    return Array4(shape: shape, data: data)
}

// [1,C,H,W] -> [1,H,W,C]
func nchwToNhwc(_ a: Array4) -> Array4 {
    let (c, h, w) = (a.shape[1], a.shape[2], a.shape[3])
    var out = [Float](repeating: 0, count: a.data.count)
    for ch in 0..<c { for i in 0..<(h * w) { out[i * c + ch] = a.data[ch * h * w + i] } }
    return Array4(shape: [1, h, w, c], data: out)
}

// Brings `a` to `shape`, transposing NCHW -> NHWC when that is what makes the shapes agree.
func conform(_ a: Array4, to shape: [Int], what: String) throws -> Array4 {
    if a.shape == shape { return a }
    if a.shape.count == 4, shape.count == 4, a.shape[0] == 1 {
        let t = nchwToNhwc(a)
        if t.shape == shape { return t }
    }
    throw Fail("\(what) has shape \(a.shape), the model wants \(shape)")
}

// MARK: MLMultiArray <-> [Float], honouring strides (Core ML outputs may be padded)

func makeInput(_ a: Array4, dataType: MLMultiArrayDataType) throws -> MLMultiArray {
    let array = try MLMultiArray(shape: a.shape.map { NSNumber(value: $0) }, dataType: dataType)
    let strides = array.strides.map { $0.intValue }
    forEachIndex(a.shape) { linear, index in
        let offset = zip(index, strides).map(*).reduce(0, +)
        if dataType == .float16 {
            array.dataPointer.assumingMemoryBound(to: UInt16.self)[offset] = floatToHalf(a.data[linear])
        } else {
            array.dataPointer.assumingMemoryBound(to: Float.self)[offset] = a.data[linear]
        }
    }
    return array
}

func readOutput(_ array: MLMultiArray) -> Array4 {
    let shape = array.shape.map { $0.intValue }
    let strides = array.strides.map { $0.intValue }
    var data = [Float](repeating: 0, count: shape.reduce(1, *))
    forEachIndex(shape) { linear, index in
        let offset = zip(index, strides).map(*).reduce(0, +)
        switch array.dataType {
        case .float16: data[linear] = halfToFloat(array.dataPointer.assumingMemoryBound(to: UInt16.self)[offset])
        case .float32: data[linear] = array.dataPointer.assumingMemoryBound(to: Float.self)[offset]
        default: data[linear] = array[linear].floatValue
        }
    }
    return Array4(shape: shape, data: data)
}

func forEachIndex(_ shape: [Int], _ body: (Int, [Int]) -> Void) {
    let count = shape.reduce(1, *)
    var index = [Int](repeating: 0, count: shape.count)
    for linear in 0..<count {
        body(linear, index)
        var d = shape.count - 1
        while d >= 0 {
            index[d] += 1
            if index[d] < shape[d] { break }
            index[d] = 0
            d -= 1
        }
    }
}

// MARK: main

func computeUnits(_ name: String) throws -> MLComputeUnits {
    switch name {
    case "all": return .all
    case "cpu": return .cpuOnly
    case "gpu": return .cpuAndGPU
    case "ane": return .cpuAndNeuralEngine
    default: throw Fail("--compute: all, cpu, gpu or ane")
    }
}

func run(_ o: Options) async throws {
    var url = URL(fileURLWithPath: o.model)
    if url.pathExtension == "mlpackage" {
        let t0 = Date()
        url = try await MLModel.compileModel(at: url)  // a temporary .mlmodelc; apps move it somewhere permanent
        print(String(format: "compiled in %.2f s: ", Date().timeIntervalSince(t0)) + url.path)
    }
    let config = MLModelConfiguration()
    config.computeUnits = try computeUnits(o.compute)
    if let function = o.function {
        if #available(macOS 15.0, *) { config.functionName = function } else { throw Fail("--function needs macOS 15") }
    }
    let t0 = Date()
    let model = try await MLModel.load(contentsOf: url, configuration: config)
    print(String(format: "loaded in %.2f s", Date().timeIntervalSince(t0)))
    if !o.clip.isEmpty {
        guard #available(macOS 15.0, *) else { throw Fail("--clip needs macOS 15 (iOS 18 states, multifunction)") }
        try await runVideo(o, model: model)
        return
    }

    guard let inputDescription = model.modelDescription.inputDescriptionsByName["latent"],
          let constraint = inputDescription.multiArrayConstraint else { throw Fail("the model has no multi-array input `latent`") }
    var latent = try loadNpy(o.latent)
    var inputShape = constraint.shape.map { $0.intValue }
    if constraint.shapeConstraint.type == .enumerated {  // pick the enumerated shape the latent fits
        let shapes = constraint.shapeConstraint.enumeratedShapes.map { $0.map { $0.intValue } }
        inputShape = shapes.first { $0 == latent.shape || (latent.shape.count == 4 && $0 == nchwToNhwc(latent).shape) }
            ?? inputShape
    }
    latent = try conform(latent, to: inputShape, what: o.latent)
    let input = try makeInput(latent, dataType: constraint.dataType)
    let features = try MLDictionaryFeatureProvider(dictionary: ["latent": MLFeatureValue(multiArray: input)])

    var output: MLMultiArray? = nil
    var times: [Double] = []
    for _ in 0..<max(1, o.runs + 1) {  // the first run warms up and is not timed
        let start = Date()
        let result = try await model.prediction(from: features)
        let elapsed = Date().timeIntervalSince(start)
        if output == nil {
            output = result.featureValue(for: "image")?.multiArrayValue
        } else {
            times.append(elapsed)
        }
    }
    guard let out = output else { throw Fail("the model produced no multi-array `image`") }
    let image = readOutput(out)
    print("output `image` \(image.shape)")
    if !times.isEmpty {
        times.sort()
        print(String(format: "%d runs: median %.2f ms, min %.2f ms", times.count, times[times.count / 2] * 1e3,
                     times[0] * 1e3))
    }
    if let refPath = o.reference {
        let reference = try conform(try loadNpy(refPath), to: image.shape, what: refPath)
        var worst: Float = 0
        for i in 0..<image.data.count {
            let d = abs(image.data[i] - reference.data[i])
            if !(d <= worst) { worst = d }  // also catches NaN
        }
        let ok = worst <= o.tolerance
        print("max |err| vs \(refPath): " + String(format: "%.4f (tolerance %.3f) ", worst, o.tolerance) + (ok ? "OK" : "FAIL"))
        if !ok { exit(1) }
    }
}

let options = parseOptions()
do {
    try await run(options)
} catch {
    FileHandle.standardError.write("taec-coreml-check: error: \(error)\n".data(using: .utf8)!)
    exit(1)
}
