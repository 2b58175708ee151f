// swift-tools-version:5.9
// Validation and benchmark harness for the .mlpackage files `taec export coreml` writes.
// Needs a Mac (macOS 15 for multifunction packages); NOT built or run by taec's CI. See README.md.
import PackageDescription

let package = Package(
    name: "TaecCoreMLCheck",
    platforms: [.macOS(.v14)],
    targets: [
        .executableTarget(name: "taec-coreml-check", path: "Sources/taec-coreml-check"),
    ]
)
