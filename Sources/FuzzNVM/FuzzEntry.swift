/// The libFuzzer entry point of the NVM discovery target. scripts/fuzz.sh
/// links it with libFuzzer (which supplies `main` and calls this).
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzNVMOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
