#!/usr/bin/env bash
# Builds the QEMU program for one core and runs it on QEMU's emulated machine:
#   bash run.sh cortex-m0    microbit (nRF51, Cortex-M0), thumbv6m-none-eabi
#   bash run.sh cortex-m4    mps2-an386 (Cortex-M4F), thumbv7em-none-eabihf
# The program prints through semihosting and exits QEMU with its own verdict (0: every send
# conformed). Under -icount QEMU's clock counts instructions (2^shift ns each) and, with
# sleep=off, jumps over idle time, so the emulated time and every instant are the same on
# every run and on any host. The run is bounded by a timeout.
set -euo pipefail
cd "$(dirname "$0")"

case "${1:-}" in
cortex-m0) target=thumbv6m-none-eabi machine=microbit shift=6 ;;   # 64 ns per instruction
cortex-m4) target=thumbv7em-none-eabihf machine=mps2-an386 shift=5 ;; # 32 ns per instruction
*)
    echo "usage: bash run.sh cortex-m0 | cortex-m4" >&2
    exit 2
    ;;
esac

command -v qemu-system-arm >/dev/null || {
    echo "qemu-system-arm is missing (Debian: apt-get install qemu-system-arm)" >&2
    exit 1
}
rustup target list --installed 2>/dev/null | grep -qx "$target" || rustup target add "$target"

cargo build --release --target "$target"
elf="${CARGO_TARGET_DIR:-target}/$target/release/pacer-embassy-qemu"

timeout "${QEMU_TIMEOUT:-120}" qemu-system-arm \
    -machine "$machine" -cpu "$1" \
    -nographic -monitor none -serial none \
    -semihosting-config enable=on,target=native \
    -icount "shift=$shift,align=off,sleep=off" \
    -kernel "$elf"
