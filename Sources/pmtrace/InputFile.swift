import Foundation

/// Why `path` cannot be read as an input file ("no such file or directory",
/// "a directory, not a file", "permission denied"), or nil when it opens.
func inputFileProblem(_ path: String) -> String? {
    var st = stat()
    guard stat(path, &st) == 0 else { return String(cString: strerror(errno)).lowercased() }
    if st.st_mode & S_IFMT == S_IFDIR { return "a directory, not a file" }
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return String(cString: strerror(errno)).lowercased() }
    close(fd)
    return nil
}

/// A piece of input quoted in a message: escaped, and at most `limit` bytes of
/// it (a 3 MB bad line is named by its start and its length).
func quoted(_ text: some StringProtocol, limit: Int = 200) -> String {
    let bytes = Array(text.utf8)
    guard bytes.count > limit else { return TerminalText.escape(String(text)) }
    return TerminalText.escape(bytes: Array(bytes.prefix(limit))) + "… (\(bytes.count) bytes)"
}
