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
        .library(name: "TracePayloads", targets: ["TracePayloads"]),
        .library(name: "TraceVolume", targets: ["TraceVolume"]),
        .library(name: "PMemBackend", targets: ["PMemBackend"]),
        .library(name: "PMTrace", targets: ["PMTrace"]),
        .library(name: "MetadataCatalog", targets: ["MetadataCatalog"]),
        .library(name: "TraceAnalysis", targets: ["TraceAnalysis"]),
        .library(name: "GuestRecording", targets: ["GuestRecording"]),
        .library(name: "PMTraceTesting", targets: ["PMTraceTesting"]),
        .executable(name: "pmtrace", targets: ["pmtrace"]),
        .executable(name: "Benchmarks", targets: ["Benchmarks"]),
        .library(name: "PMTraceFuzzTarget", type: .dynamic, targets: ["FuzzTarget"]),
        .library(name: "PMTraceFuzzSymbols", type: .dynamic, targets: ["FuzzSymbols"]),
        .library(name: "PMTraceFuzzDemangle", type: .dynamic, targets: ["FuzzDemangle"]),
        // The C interface (include/pmtrace.h) for hosted writers in C: libPMTraceC.so.
        .library(name: "PMTraceC", type: .dynamic, targets: ["PMTraceC"]),
        .library(name: "PMTraceFoundation", targets: ["PMTraceFoundation"]),
        .library(name: "NVMDiscovery", targets: ["NVMDiscovery"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation` (DocC catalogs in Sources/*/Documentation.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    // Every target lists every module it imports, transitive ones included:
    // SwiftPM rebuilds a module only when a module it declares changes, so a
    // module that imported TraceVolume through PMTrace kept TraceVolume's old
    // inlined code after an incremental build (a guest's pmtrace wrote wrong
    // records). `PackageManifestTests` checks this.
    targets: [
        // libpmem2 through pkg-config; `apt-get install libpmem2-dev` provides it.
        .systemLibrary(
            name: "CPMem2",
            pkgConfig: "libpmem2",
            providers: [.apt(["libpmem2-dev"])]
        ),
        // include/pmtrace_region.h: the region descriptor and the shared C types
        // (granularity, record kinds, version macros). Header only.
        .systemLibrary(name: "CPMTrace", path: "include"),
        // Hardware CRC32C (SSE4.2) with a portable fallback; hosted builds only.
        .target(name: "CCRC32C"),
        // On-media layout: no I/O, no Foundation; compiles under Embedded Swift.
        .target(name: "TraceFormat", swiftSettings: strict),
        // Payload encodings (memory-access and PML batches, page images, process
        // maps, symbol tables), apart from the store's own structures;
        // Embedded-clean too (the bare-metal writer encodes access batches).
        .target(name: "TracePayloads", dependencies: ["TraceFormat"], swiftSettings: strict),
        // The store. Depends only on TraceFormat: the region comes in as a base
        // pointer, a size and persistence functions.
        .target(
            // Debug builds (the tests) run the expensive invariant checks (`_checkInvariants()`).
            name: "TraceVolume", dependencies: ["TraceFormat", "CPMTrace"],
            swiftSettings: strict + [.define("PMTRACE_INTERNAL_CHECKS", .when(configuration: .debug))]
        ),
        // Maps files and devices through libpmem2.
        // SIGBUS on a mapped file (truncated underneath, or a hole on a full file system)
        // becomes a recorded fault and a typed error instead of a dead process.
        .target(name: "CFaultGuard"),
        .target(name: "PMemBackend", dependencies: ["CPMem2", "CPMTrace", "CFaultGuard"], swiftSettings: strict),
        // Hosted facade: a pool file = libpmem2 mapping + store + hardware CRC.
        .target(
            name: "PMTrace",
            dependencies: ["TraceFormat", "TraceVolume", "PMemBackend", "CCRC32C"],
            swiftSettings: strict
        ),
        // In-memory regions, the persistence simulator and reproducible
        // workloads: what tests, the fuzzer and image analysis use. No libpmem2.
        .target(name: "PMTraceTesting", dependencies: ["TraceFormat", "TraceVolume", "CCRC32C"], swiftSettings: strict),
        // Importers (valgrind lackey) and statistics over volumes.
        .target(name: "TraceAnalysis", dependencies: ["TraceFormat", "TracePayloads", "TraceVolume", "MetadataCatalog"], swiftSettings: strict),
        // Per-application symbol tables and process maps, stored as volumes.
        .target(name: "GuestRecording", dependencies: ["TraceFormat", "TracePayloads", "TraceVolume"], swiftSettings: strict),
        .target(name: "MetadataCatalog", dependencies: ["TraceFormat", "TracePayloads", "TraceVolume"], swiftSettings: strict),
        // The entry points of include/pmtrace.h over TraceVolume; Embedded-clean,
        // shared by libPMTraceC.so and the bare-metal archive.
        .target(name: "PMTraceABI", dependencies: ["TraceFormat", "TracePayloads", "TraceVolume", "CPMTrace"], swiftSettings: strict),
        // Hosted additions (pmt_open over libpmem2) + the shared entry points.
        .target(name: "PMTraceC", dependencies: ["PMTrace", "PMTraceABI", "TraceVolume", "CPMTrace"], swiftSettings: strict),
        .executableTarget(
            name: "pmtrace",
            dependencies: [
                "PMTrace", "MetadataCatalog", "TraceAnalysis", "TracePayloads", "PMTraceTesting", "GuestRecording", "CSQLite",
                "NVMDiscovery", "TraceFormat", "TraceVolume", "PMemBackend",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        // libsqlite3 for `pmtrace export --format sqlite`; `apt-get install libsqlite3-dev` provides it.
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // The peers the benchmarks compare against (libpmemobj, libpmemlog, an NT copy loop).
        .target(
            name: "CBenchPeers",
            linkerSettings: [.linkedLibrary("pmemobj"), .linkedLibrary("pmemlog")]
        ),
        .executableTarget(
            name: "Benchmarks",
            dependencies: [
                "PMTrace", "CBenchPeers", "MetadataCatalog", "TraceAnalysis", "TracePayloads", "PMTraceTesting", "GuestRecording",
                "TraceFormat", "TraceVolume", "PMemBackend", "CCRC32C",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strict
        ),
        .testTarget(name: "TraceFormatTests", dependencies: ["TracePayloads", "TraceFormat", "CCRC32C"], swiftSettings: strict),
        .testTarget(name: "PoolTests", dependencies: ["PMTrace", "PMTraceTesting", "PMTraceFoundation", "TraceFormat", "TraceVolume", "PMemBackend"], swiftSettings: strict),
        .testTarget(name: "TraceVolumeTests", dependencies: ["TraceFormat", "TraceVolume", "PMTraceTesting"], swiftSettings: strict),
        // The fuzz body and libFuzzer entry point over mount + read + fsck; scripts/fuzz.sh
        // builds it as a shared library with -sanitize=fuzzer,address and links libFuzzer's main.
        .target(name: "FuzzTarget", dependencies: ["TraceFormat", "TracePayloads", "TraceVolume", "PMTraceTesting"], swiftSettings: strict),
        // Symbol-table lookups from arbitrary chunk bytes, and the demangler on arbitrary
        // names; built and run the same way (scripts/fuzz.sh symbols|demangle).
        .target(name: "FuzzSymbols", dependencies: ["TraceFormat", "TracePayloads", "TraceVolume", "MetadataCatalog", "PMTraceTesting"], swiftSettings: strict),
        .target(name: "FuzzDemangle", dependencies: ["MetadataCatalog"], swiftSettings: strict),
        // Replays a corpus or a crash reproducer through the same body.
        .executableTarget(name: "FuzzMount", dependencies: ["FuzzTarget"], swiftSettings: strict),
        .testTarget(
            name: "CrashTests",
            dependencies: ["TraceFormat", "TracePayloads", "TraceVolume", "PMTrace", "PMTraceTesting", "MetadataCatalog"],
            swiftSettings: strict
        ),
        .testTarget(name: "MetadataCatalogTests", dependencies: ["TraceFormat", "TraceVolume", "TracePayloads", "MetadataCatalog", "PMTrace", "PMTraceTesting"], swiftSettings: strict),
        .testTarget(name: "PMTraceTests", dependencies: [
            "TracePayloads", "PMTrace", "pmtrace", "Benchmarks", "TraceAnalysis", "PMTraceTesting", "PMTraceABI", "GuestRecording", "CSQLite",
            "MetadataCatalog", "PMemBackend", "TraceFormat", "TraceVolume",
        ], swiftSettings: strict),
    ]
)

// `Data` in and out of writers and records, apart from PMTrace so that the C
// library (libPMTraceC.so, which links PMTrace) carries no Foundation.
package.targets.append(
    .target(name: "PMTraceFoundation", dependencies: ["TraceFormat", "TraceVolume"], swiftSettings: strict)
)

// NVM discovery (ACPI SRAT/NFIT, the Linux namespace info block) from untrusted
// bytes; Embedded-clean and part of the bare-metal archive (include/pmtrace_nvm.h).
package.targets.append(contentsOf: [
    .target(name: "NVMDiscovery", swiftSettings: strict),
    .testTarget(name: "NVMDiscoveryTests", dependencies: ["NVMDiscovery"], exclude: ["Fixtures"], swiftSettings: strict),
    // SRAT/NFIT/info-block parsing from arbitrary bytes (scripts/fuzz.sh nvm).
    .target(name: "FuzzNVM", dependencies: ["NVMDiscovery"], swiftSettings: strict),
])
package.products.append(.library(name: "PMTraceFuzzNVM", type: .dynamic, targets: ["FuzzNVM"]))
