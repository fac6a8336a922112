#if !hasFeature(Embedded)
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
#endif

// The text behind pmt_last_error(). Hosted builds keep it per thread; the
// bare-metal build has one buffer (a VMM calls the writer from one context
// per store, and the text is advisory).

#if hasFeature(Embedded)
nonisolated(unsafe) private var lastErrorBuffer: UnsafeMutablePointer<CChar> = {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: 256)
    p.initialize(to: 0)
    return p
}()

func setLastError(_ message: String) {
    var n = 0
    for byte in message.utf8 where n < 255 {
        lastErrorBuffer[n] = CChar(bitPattern: byte)
        n += 1
    }
    lastErrorBuffer[n] = 0
}

func lastError() -> UnsafePointer<CChar> { UnsafePointer(lastErrorBuffer) }
#else
private let errorKey: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { free($0) }
    return key
}()

/// Longest text kept, in bytes: a message quoting a caller's argument (a
/// volume name of a megabyte) is cut there and ends with "…".
let lastErrorLimit = 1024

func setLastError(_ message: String) {
    var text = message
    if message.utf8.count > lastErrorLimit {
        var bytes = Array(message.utf8.prefix(lastErrorLimit))
        // A character cut in half goes whole: back to its lead byte.
        if let lead = bytes.lastIndex(where: { $0 & 0xC0 != 0x80 }) {
            let b = bytes[lead]
            let length = b < 0x80 ? 1 : b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2
            if bytes.count - lead < length { bytes.removeSubrange(lead...) }
        }
        text = String(decoding: bytes, as: UTF8.self) + "…"
    }
    free(pthread_getspecific(errorKey))
    pthread_setspecific(errorKey, strdup(text))
}

func lastError() -> UnsafePointer<CChar> {
    if let p = pthread_getspecific(errorKey) { return UnsafePointer(p.assumingMemoryBound(to: CChar.self)) }
    let empty: StaticString = ""
    return UnsafeRawPointer(empty.utf8Start).assumingMemoryBound(to: CChar.self)
}
#endif
