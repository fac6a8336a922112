/// The libFuzzer entry point. In a normal build nothing calls it; scripts/fuzz.sh
/// links the target with libFuzzer (which supplies `main` and calls this).
@_cdecl("LLVMFuzzerTestOneInput")
public func LLVMFuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzOne(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
