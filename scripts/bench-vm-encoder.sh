#!/usr/bin/env bash
# The QEMU plugin's encoder thread without booting (plugins/qemu/encoder_bench.c):
# replays slot entries captured from a real boot through the plugin's code and
# prints its CPU time per access.
#
# Usage: scripts/bench-vm-encoder.sh <capture file> [entries] [passes]
#        scripts/bench-vm-encoder.sh --check [accesses] [pc limit] [distinct PCs]
# --check writes a synthetic stream both ways (16-byte entries as the vCPU
# wrote them before, 8-byte slot words as it does now) into volumes "entries"
# and "words" of the region, which is kept (EncoderEquivalenceTests compares
# their records); it exits 1 unless the words expand to the entries.
# A capture: PMTRACE_PLUGIN_CAPTURE=<file>:<skip>:<max> pmtrace record-vm … (the
# entries vCPU 0 hands to the encoder thread, after <skip>, at most <max>; 16
# bytes each). The region file is $PMTRACE_BENCH_REGION (default
# /dev/shm/pmtrace-encoder-bench), removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${PMTRACE_PLUGIN_OUT:-$PWD/.build-plugin}
archive=$(PMTRACE_VMM_OUT=$out PMTRACE_VMM_OPT=-O scripts/build-vmm.sh | tail -1)
bin=$out/encoder_bench
if [[ ! -x $bin || $archive -nt $bin || -n $(find plugins/qemu include "$0" -newer "$bin" 2>/dev/null) ]]; then
    ${CC:-cc} -std=gnu11 -O2 -g -Wall -Wextra -Werror -msse4.2 -Iinclude -Iplugins/qemu plugins/qemu/encoder_bench.c \
        "$archive" -Wl,--gc-sections -lpthread -o "$bin"
fi
"$bin" "${PMTRACE_BENCH_REGION:-/dev/shm/pmtrace-encoder-bench}" "$@"
