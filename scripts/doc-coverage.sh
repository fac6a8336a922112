#!/usr/bin/env bash
# Documentation coverage of the library modules' public API, as DocC measures it
# (`--experimental-documentation-coverage`): the share of public types, members
# and globals that have a doc comment (an abstract).
#
#   scripts/doc-coverage.sh                 # table per module, then the total
#   scripts/doc-coverage.sh --detailed      # also every public symbol without an abstract
#   scripts/doc-coverage.sh --check         # exit 1 unless every module is at 100 %
#   scripts/doc-coverage.sh TraceVolume …   # only these modules
#
# Synthesized members (Equatable's ==, Hashable's hashValue, …) are left out with
# --experimental-skip-synthesized-symbols: they are the compiler's, not ours, and
# cannot carry a comment. PMTRACE_DOCC_ALL=1 counts them too.
set -euo pipefail
cd "$(dirname "$0")/.."
detailed=0 check=0 targets=()
for a in "$@"; do
    case "$a" in
        --detailed) detailed=1 ;;
        --check) check=1 ;;
        -*) echo "usage: $0 [--detailed] [--check] [module...]" >&2; exit 2 ;;
        *) targets+=("$a") ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(TraceFormat TracePayloads TraceVolume PMemBackend PMTrace PMTraceFoundation TraceAnalysis MetadataCatalog PMTraceTesting GuestRecording NVMDiscovery)
skip=(--experimental-skip-synthesized-symbols)
[ "${PMTRACE_DOCC_ALL:-0}" = 1 ] && skip=()
level=brief
[ $detailed = 1 ] && level=detailed
log=$(mktemp)
trap 'rm -f "$log"' EXIT
documented=0 total=0 failed=0
printf '%-18s %-16s %-16s %-16s\n' module types members globals
for t in "${targets[@]}"; do
    swift package generate-documentation --target "$t" "${skip[@]}" \
        --experimental-documentation-coverage --coverage-summary-level "$level" >"$log" 2>&1 || { cat "$log" >&2; exit 2; }
    row() { grep -E "^$1 +\|" "$log" | head -1 | awk -F'|' '{gsub(/^ +| +$/, "", $2); print $2}'; }
    types=$(row Types) members=$(row Members) globals=$(row Globals)
    printf '%-18s %-16s %-16s %-16s\n' "$t" "${types:-none}" "${members:-none}" "${globals:-none}"
    for cell in "$types" "$members" "$globals"; do
        [[ "$cell" =~ \(([0-9]+)/([0-9]+)\) ]] || continue
        documented=$((documented + BASH_REMATCH[1])); total=$((total + BASH_REMATCH[2]))
        [ "${BASH_REMATCH[1]}" = "${BASH_REMATCH[2]}" ] || failed=1
    done
    if [ $detailed = 1 ]; then
        # Rows of the symbol table whose "Abstract?" column is false.
        awk -F'|' '/^Symbol Name/ { on = 1; next } on && NF > 3 && $3 ~ /false/ { gsub(/ +$/, "", $1); gsub(/^ +| +$/, "", $2); gsub(/^ +| +$/, "", $8); print "    undocumented: " $8 " (" $2 ")" }' "$log"
    fi
done
pct=$(awk -v d=$documented -v t=$total 'BEGIN { printf "%.1f", t ? 100 * d / t : 100 }')
echo "doc coverage: $documented of $total public symbols documented ($pct %)"
[ $check = 0 ] || [ $failed = 0 ] || { echo "doc coverage: below 100 % (scripts/doc-coverage.sh --detailed lists what is missing)" >&2; exit 1; }
