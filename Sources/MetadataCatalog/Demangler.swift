import Foundation

/// Human-readable names for C++ (`__cxa_demangle` from the C++ runtime) and
/// Swift (`swift_demangle` from the Swift runtime) symbols. Both are found
/// with `dlsym` in the running process, where the Swift runtime has already
/// loaded them; a name that is not mangled, or cannot be demangled, comes back
/// unchanged. Thread-safe.
public enum Demangler {
    typealias CxaDemangle = @convention(c) (UnsafePointer<CChar>?, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int>?, UnsafeMutablePointer<Int32>?) -> UnsafeMutablePointer<CChar>?
    typealias SwiftDemangle = @convention(c) (UnsafePointer<CChar>?, Int, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int>?, UInt32) -> UnsafeMutablePointer<CChar>?

    /// Symbols of the running program and everything it loaded.
    static func find(_ name: String) -> UnsafeMutableRawPointer? { dlsym(dlopen(nil, RTLD_NOW), name) }
    static let cxa: CxaDemangle? = find("__cxa_demangle").map { unsafeBitCast($0, to: CxaDemangle.self) }
    static let swift: SwiftDemangle? = find("swift_demangle").map { unsafeBitCast($0, to: SwiftDemangle.self) }

    /// The demangled form of `name`, or `name` itself.
    public static func demangle(_ name: String) -> String {
        // Versioned names from .dynsym ("foo@@GLIBC_2.2.5") keep their suffix.
        if name.hasPrefix("_Z"), let cxa {
            var status: Int32 = 0
            guard let out = name.withCString({ cxa($0, nil, nil, &status) }) else { return name }
            defer { free(out) }
            return status == 0 ? String(cString: out) : name
        }
        if name.hasPrefix("$s") || name.hasPrefix("_$s") || name.hasPrefix("$S") || name.hasPrefix("_T0"), let swift {
            guard let out = name.withCString({ swift($0, strlen($0), nil, nil, 0) }) else { return name }
            defer { free(out) }
            return String(cString: out)
        }
        return name
    }
}
