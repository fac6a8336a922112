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

func setLastError(_ message: String) {
    free(pthread_getspecific(errorKey))
    pthread_setspecific(errorKey, strdup(message))
}

func lastError() -> UnsafePointer<CChar> {
    if let p = pthread_getspecific(errorKey) { return UnsafePointer(p.assumingMemoryBound(to: CChar.self)) }
    let empty: StaticString = ""
    return UnsafeRawPointer(empty.utf8Start).assumingMemoryBound(to: CChar.self)
}
#endif
