#!/usr/bin/env bash
# Installs what PMTrace needs on Debian/Ubuntu when it is missing:
# libpmem2/libpmemobj/libpmemlog headers (PMDK), pkg-config, valgrind (lackey traces),
# binutils (nm and readelf: ground truth for the symbol tests), time (peak-memory checks
# of child processes), python3 with venv and pip (a catalog test's cross-check; the Python
# bridge's venv, scripts/python-env.sh),
# QEMU system and user mode, busybox-static and a C compiler (the QEMU plugin, the test
# guest of scripts/guest.sh, `pmtrace record-vm` and `pmtrace record`), acpica-tools (iasl: the
# SRAT/NFIT test tables of NVM discovery), util-linux (fallocate --dig-holes: a full-file-system test).
set -euo pipefail
need=()
for pkg in libpmem2-dev libpmemobj-dev libpmemlog-dev pkg-config valgrind binutils time python3 python3-venv python3-pip \
           qemu-system-x86 qemu-user busybox-static gcc libsqlite3-dev sqlite3 acpica-tools util-linux; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing ${need[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
command -v swift >/dev/null || { echo "setup: swift is not on PATH (install Swift 6 from swift.org)" >&2; exit 1; }
