/// libFuzzer's driver, entered from each target's entry point (SwiftPM
/// names an executable's `main` `<Target>_main`; libFuzzer's own `main` is
/// then not linked, and this runs it).
@_silgen_name("LLVMFuzzerRunDriver")
func libFuzzerRunDriver(
  _ argc: UnsafeMutablePointer<CInt>,
  _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
  _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt

/// Runs libFuzzer with the process's arguments and `callback` for each input.
public func runFuzzer(
  _ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?,
  _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt
) -> CInt {
  var count = argc
  var arguments = argv
  return libFuzzerRunDriver(&count, &arguments, callback)
}
