/// A linear-time upper estimate of how long a demangler's output for a
/// mangled name can get, computed from the name alone.
///
/// Demanglers print a back-reference (`S_`, `S<n>_`, `T_`, `T<n>_` in
/// Itanium C++; `A…` substitutions in Swift) by printing again what it
/// refers to, and a pack expansion (`Dp`, `sp`) by printing its pattern once
/// per pack element, so nested references double the output per level: a
/// few hundred bytes can demand gigabytes. The estimate charges every byte
/// its largest printed form (a byte of a length-prefixed identifier 1, any
/// other byte `structureCost`, a standard abbreviation `St`… its full
/// expansion, a Swift repeated standard type `S<count><kind>` `count` of
/// them) and lets every reference double everything before it (what a
/// reference names lies before it, so it prints at most that much).
///
/// Known looseness, polynomial rather than exponential: a pack expansion
/// prints its pattern once per element, which the doubling covers for the
/// pack's elements but not for the pattern's own bytes (at most the input
/// length × the pattern's length); a Swift word reference (a letter after
/// `0`) prints a word of an earlier identifier, charged `structureCost`
/// although a word can be longer.
///
/// Known gap (Swift only): an `A` substitution inside what looks like a
/// length-prefixed identifier is not counted (counting them refuses a quarter
/// of real Swift names), so Swift digits that are not a length (an index, an
/// integer) can hide substitutions from the estimate. The input bound
/// (`Demangler.maxInputBytes`) still holds; the demangle fuzz target checks
/// the estimate against the real output.
enum DemangleBudget {
    /// Largest printed form of one mangling byte outside identifiers
    /// ("unsigned long long" for `y`, "non-virtual thunk to " for `Th`, …).
    static let structureCost = 24
    /// Largest printed form of a standard abbreviation (`Ss` before a
    /// constructor prints "std::basic_string<char, std::char_traits<char>, std::allocator<char> >").
    static let abbreviationCost = 72
    /// What one back-reference adds besides the copy.
    static let referenceCost = 16

    enum Language { case itanium, swift }

    /// The estimate for `name`, or nil as soon as it passes `limit`.
    static func bound(_ name: UnsafeBufferPointer<UInt8>, language: Language, limit: Int) -> Int? {
        var total = 0
        var identifierLeft = 0  // bytes of a length-prefixed identifier still to come
        var i = 0
        var references = 1  // doublings the last reference found is worth
        let n = name.count
        func at(_ k: Int) -> UInt8 { k < n ? name[k] : 0 }
        func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        func isUpper(_ c: UInt8) -> Bool { c >= 0x41 && c <= 0x5A }
        // Length of a reference starting at i (0 if none). Looked for inside
        // identifiers too: a literal's digits can pose as a length and hide one.
        func reference(_ i: Int) -> Int {
            let c = at(i), d = at(i + 1)
            switch language {
            case .itanium:
                references = 1
                if (c == 0x53 || c == 0x54) && d == 0x5F { return 2 }  // S_ T_
                if (d == 0x70 && (c == 0x44 || c == 0x73)) { return 2 }  // Dp sp
                if c == 0x53 || c == 0x54 {  // S<seq-id>_ (base 36), T<n>_
                    var k = i + 1
                    while isDigit(at(k)) || (c == 0x53 && isUpper(at(k))) { k += 1 }
                    if k > i + 1 && at(k) == 0x5F { return k + 1 - i }
                }
                return 0
            case .swift:
                // Outside identifiers (Swift manglings have no digit literals to pose as lengths):
                // `A <n> _` names one substitution; `A [a-z]* [A-Z]` names one per letter, each
                // optionally repeated (`A <count> <letter>`). Returns the length; `references`
                // says how many doublings it is worth. Only outside identifiers: counting the `A`s
                // of identifiers (hex discriminators, `Array`) refused a quarter of real names. So
                // digits that are no length but pose as one can hide substitutions (see above).
                guard c == 0x41, identifierLeft == 0 else { return 0 }
                var k = i + 1
                references = 0
                while true {
                    var repeats = 0
                    while isDigit(at(k)) { repeats = min(repeats * 10 + Int(at(k) - 0x30), n); k += 1 }
                    let l = at(k)
                    if l == 0x5F { references += 1; return k + 1 - i }  // A<index>_
                    guard isUpper(l) || (l >= 0x61 && l <= 0x7A) else { references += max(repeats, 1); return k - i }
                    references += max(repeats, 1)
                    k += 1
                    if isUpper(l) { return k - i }
                }
            }
        }
        if language == .swift {
            // The prefix (`$s`, `$S`, `_$s`, `_T0`): its `0` is not a word-identifier start.
            if at(0) == 0x5F && (at(1) == 0x54 || at(1) == 0x24) { i = 3 } else if at(0) == 0x24 { i = 2 }
            total = min(i, n) * structureCost
            i = min(i, n)
        }
        while i < n {
            let r = reference(i)
            if r > 0 {
                // Saturating: `total` never passes `limit` (checked below), so 2 × limit + cost fits Int.
                for _ in 0..<references where total <= limit { total = 2 * total + referenceCost }
                identifierLeft = max(identifierLeft - r, 0)
                i += r
            } else if language == .swift && at(i) == 0x53 && isDigit(at(i + 1)) {
                // `S <count> <kind>`: a standard type (`Swift.Float80`, …) repeated `count` times.
                // Looked for inside identifiers too, like references.
                var count = 0, k = i + 1
                while isDigit(at(k)) && count <= limit { count = count * 10 + Int(at(k) - 0x30); k += 1 }
                total += min(count, limit + 1) * abbreviationCost
                identifierLeft = max(identifierLeft - (k + 1 - i), 0)
                i = k + 1
            } else if language == .swift && at(i) == 0x24 && isDigit(at(i + 1)) {
                // `$ <number>`: an integer (printed in up to 20 digits), not an identifier length.
                var k = i + 1
                while isDigit(at(k)) { k += 1 }
                total += structureCost
                identifierLeft = max(identifierLeft - (k - i), 0)
                i = k
            } else if identifierLeft > 0 {
                total += 1
                identifierLeft -= 1
                i += 1
            } else if isDigit(at(i)) && at(i) != 0x30 {
                var length = 0, k = i
                while isDigit(at(k)) && length <= n { length = length * 10 + Int(at(k) - 0x30); k += 1 }
                total += 2 * (k - i) + 2  // the digits, in case they are a literal, and a "::"
                // A length past the end is no identifier's: what follows is scanned as structure.
                identifierLeft = length <= n - k ? length : 0
                i = k
            } else if language == .swift && at(i) == 0x30 {
                // `0` starts an identifier made of words of earlier identifiers: `[a-z]* [A-Z]`
                // word indexes (a word prints at most an earlier identifier's length). Not
                // substitutions; `S <digit>` is left to the repeat branch.
                total += structureCost
                i += 1
                while i < n && at(i) >= 0x61 && at(i) <= 0x7A { total += structureCost; i += 1 }
                if isUpper(at(i)) && !(at(i) == 0x53 && isDigit(at(i + 1))) { total += structureCost; i += 1 }
            } else if language == .itanium && at(i) == 0x53 && [0x74, 0x61, 0x62, 0x73, 0x69, 0x6F, 0x64].contains(at(i + 1)) {
                total += abbreviationCost  // St Sa Sb Ss Si So Sd
                i += 2
            } else {
                total += structureCost
                i += 1
            }
            if total > limit { return nil }
        }
        return total
    }
}
