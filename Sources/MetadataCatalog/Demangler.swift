import Foundation

/// Human-readable names for C++ (`__cxa_demangle` from the C++ runtime) and
/// Swift (`swift_demangle` from the Swift runtime) symbols. Both are found
/// with `dlsym` in the running process, where the Swift runtime has already
/// loaded them; a name that is not mangled, or cannot be demangled, comes back
/// unchanged. Thread-safe.
///
/// Bounded: names come from files and media, and nested back-references make
/// a runtime demangler's output (and its time and memory) double per nesting
/// level. A name longer than `maxInputBytes`, or whose output
/// `DemangleBudget` cannot bound by `maxOutputBytes`, is not handed to the
/// runtime and comes back unchanged. So one call takes O(`maxOutputBytes`)
/// memory and time at most (the runtime demanglers parse in linear time and
/// print each output byte once), and the result is at most
/// `max(name length, maxOutputBytes)` bytes long.
public enum Demangler {
    typealias CxaDemangle = @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int32>?) -> UnsafeMutablePointer<CChar>?
    typealias SwiftDemangle = @convention(c) (UnsafePointer<CChar>?, Int, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int>?, UInt32) -> UnsafeMutablePointer<CChar>?

    /// Longest name demangled. The C++ runtime's demangler keeps 2 × 32 bytes
    /// per input byte on the stack (about 150 KiB at this length).
    public static let maxInputBytes = 2048
    /// Longest output the estimate must guarantee before a name is demangled.
    public static let maxOutputBytes = 4 << 20

    /// Symbols of the running program and everything it loaded.
    static func find(_ name: String) -> UnsafeMutableRawPointer? { dlsym(dlopen(nil, RTLD_NOW), name) }
    static let cxa: CxaDemangle? = find("__cxa_demangle").map { unsafeBitCast($0, to: CxaDemangle.self) }
    static let swift: SwiftDemangle? = find("swift_demangle").map { unsafeBitCast($0, to: SwiftDemangle.self) }

    /// Whether `name` is short enough, and its output provably small enough,
    /// to hand to a runtime demangler.
    static func withinBudget(_ name: String, _ language: DemangleBudget.Language) -> Bool {
        outputBound(name, language) != nil
    }

    static func outputBound(_ name: String, _ language: DemangleBudget.Language) -> Int? {
        var name = name
        return name.withUTF8 { u in
            u.count <= maxInputBytes ? DemangleBudget.bound(u, language: language, limit: maxOutputBytes) : nil
        }
    }

    /// The most bytes `demangle(name)` can return when it demangles `name`
    /// (when it does not, it returns `name`): nil for a name it returns
    /// unchanged because it is not a C++ or Swift mangled name, or is beyond
    /// the bounds. For tests and fuzzing of the estimate.
    public static func outputBound(_ name: String) -> Int? {
        if name.hasPrefix("_Z") { return outputBound(name, .itanium) }
        if name.hasPrefix("$s") || name.hasPrefix("_$s") || name.hasPrefix("$S") || name.hasPrefix("_T0") { return outputBound(name, .swift) }
        return nil
    }

    /// The demangled form of `name`, or `name` itself (not mangled, not
    /// demangleable, or beyond the bounds above).
    public static func demangle(_ name: String) -> String {
        // A runtime demangler would see only the part before a NUL (no mangled name has one).
        guard !name.utf8.contains(0) else { return name }
        // Versioned names from .dynsym ("foo@@GLIBC_2.2.5") keep their suffix.
        if name.hasPrefix("_Z"), let cxa {
            guard withinBudget(name, .itanium) else { return name }
            var status: Int32 = 0
            guard let out = name.withCString({ cxa($0, nil, nil, &status) }) else { return name }
            defer { free(out) }
            return status == 0 ? String(cString: out) : name
        }
        if name.hasPrefix("$s") || name.hasPrefix("_$s") || name.hasPrefix("$S") || name.hasPrefix("_T0"), let swift {
            guard withinBudget(name, .swift) else { return name }
            guard let out = name.withCString({ swift($0, strlen($0), nil, nil, 0) }) else { return name }
            defer { free(out) }
            return String(cString: out)
        }
        return name
    }
}
