// swift-tools-version: 6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "PMTrace",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "TraceFormat", targets: ["TraceFormat"]),
        .library(name: "TraceVolume", targets: ["TraceVolume"]),
        .library(name: "PMemBackend", targets: ["PMemBackend"]),
        .library(name: "PMTrace", targets: ["PMTrace"]),
        .library(name: "MetadataCatalog", targets: ["MetadataCatalog"]),
        .executable(name: "pmtrace", targets: ["pmtrace"]),
        .executable(name: "Benchmarks", targets: ["Benchmarks"]),
        .library(name: "PMTraceFuzzTarget", type: .dynamic, targets: ["FuzzTarget"]),
        // The C interface (include/pmtrace.h) for hosted writers in C: libPMTraceC.so.
        .library(name: "PMTraceC", type: .dynamic, targets: ["PMTraceC"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // libpmem2 through pkg-config; `apt-get install libpmem2-dev` provides it.
        .systemLibrary(
            name: "CPMem2",
            pkgConfig: "libpmem2",
            providers: [.apt(["libpmem2-dev"])]
        ),
        // Hardware CRC32C (SSE4.2) with a portable fallback; hosted builds only.
        .target(name: "CCRC32C"),
        // On-media layout: no I/O, no Foundation; compiles under Embedded Swift.
        .target(name: "TraceFormat", swiftSettings: strict),
        // The store. Depends only on TraceFormat: the region comes in as a base
        // pointer, a size and persistence functions.
        .target(name: "TraceVolume", dependencies: ["TraceFormat"], swiftSettings: strict),
        // Maps files and devices through libpmem2.
        // SIGBUS on a mapped file (truncated underneath, or a hole on a full file system)
        // becomes a recorded fault and a typed error instead of a dead process.
        .target(name: "CFaultGuard"),
        .target(name: "PMemBackend", dependencies: ["CPMem2", "CFaultGuard"], swiftSettings: strict),
        // Hosted facade: a pool file = libpmem2 mapping + store + hardware CRC.
        .target(
            name: "PMTrace",
            dependencies: ["TraceVolume", "PMemBackend", "CCRC32C"],
            swiftSettings: strict
        ),
        // Per-application symbol tables and process maps, stored as volumes.
        .target(name: "MetadataCatalog", dependencies: ["TraceVolume"], swiftSettings: strict),
        .target(name: "PMTraceC", dependencies: ["PMTrace"], swiftSettings: strict),
        .executableTarget(
            name: "pmtrace",
            dependencies: [
                "PMTrace", "MetadataCatalog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // The peers the benchmarks compare against (libpmemobj, libpmemlog, an NT copy loop).
        .target(
            name: "CBenchPeers",
            linkerSettings: [.linkedLibrary("pmemobj"), .linkedLibrary("pmemlog")]
        ),
        .executableTarget(
            name: "Benchmarks",
            dependencies: [
                "PMTrace", "CBenchPeers", "MetadataCatalog",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "TraceFormatTests", dependencies: ["TraceFormat", "CCRC32C"], swiftSettings: strict),
        .testTarget(name: "TraceVolumeTests", dependencies: ["TraceVolume", "PMemBackend", "PMTrace"], swiftSettings: strict),
        // The fuzz body and libFuzzer entry point over mount + read + fsck; scripts/fuzz.sh
        // builds it as a shared library with -sanitize=fuzzer,address and links libFuzzer's main.
        .target(name: "FuzzTarget", dependencies: ["PMTrace"], swiftSettings: strict),
        // Replays a corpus or a crash reproducer through the same body.
        .executableTarget(name: "FuzzMount", dependencies: ["FuzzTarget"], swiftSettings: strict),
        .testTarget(
            name: "CrashTests",
            dependencies: ["TraceVolume", "PMTrace", "PMemBackend", "MetadataCatalog"],
            swiftSettings: strict
        ),
        .testTarget(name: "MetadataCatalogTests", dependencies: ["MetadataCatalog", "PMTrace"], swiftSettings: strict),
        .testTarget(name: "PMTraceTests", dependencies: ["PMTrace", "pmtrace", "Benchmarks"], swiftSettings: strict),
    ]
)
