#!/usr/bin/env bash
# pacer on microcontrollers, measured and run (issue 12):
#   1. the firmware example builds for a Cortex-M4F (thumbv7em) and a Cortex-M0 (thumbv6m), and
#      on both it keeps the embedded budgets of docs/contract.md: the acquisition's code (its
#      poll, its drop, and every function that only they call) within 2 KiB on thumbv7em and 3 KiB on
#      thumbv6m, at most 32 bytes of RAM for the limiter, and no global lock table;
#   2. the QEMU program runs on an emulated Cortex-M0 (microbit) and Cortex-M4 (mps2-an386),
#      checks its own sends against the conformance rule, and exits non-zero on a violation.
# Every figure is printed; a budget exceeded fails the script.
#
# Usage: .ci/firmware.sh            everything (installs qemu-system-arm and llvm-tools)
#        .ci/firmware.sh budgets    only build and measure the firmware example
#        .ci/firmware.sh size ELF CODE_BUDGET LIMITER_SYMBOL
#                                   measure one ELF file
set -euo pipefail
cd "$(dirname "$0")/.."

# The design's budgets, in bytes.
CODE_BUDGET_M4=2048
CODE_BUDGET_M0=3072
LIMITER_RAM_BUDGET=32

# A hexadecimal field as a number, in any awk (mawk has no strtonum).
HEX='function hex(s,   i, n) {
    n = 0; s = tolower(s)
    for (i = 1; i <= length(s); i++) n = n * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1
    return n
}'

llvm_bin() {
    local bin
    bin="$(rustc --print sysroot)/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin"
    if [[ ! -x "$bin/llvm-nm" ]]; then
        rustup component add llvm-tools >&2
    fi
    echo "$bin"
}

# The acquisition's code in an ELF file: the roots (every `Acquire::poll` and every
# `drop_in_place::<Acquire<..>>`), then, until nothing changes, every function whose callers
# (direct calls and tail branches, read from the disassembly) are all already counted. Prints
# one line per function, "size name" (demangled), and a last line "total N". Functions reached
# only through a pointer (a vtable) are not followed, so the count can only err low by them;
# pacer's acquisition calls none that way.
acquire_code() {
    local elf=$1 bin
    bin=$(llvm_bin)
    awk "$HEX"'
        FILENAME == ARGV[1] {             # llvm-nm --print-size: addr size type name
            if (NF >= 4) { size[$4] = hex($2); address[$4] = $1 }
            next
        }
        FILENAME == ARGV[2] {             # the same, demangled: names may hold spaces
            if (NF >= 4) {
                line = $0
                for (i = 1; i <= 3; i++) sub(/^[^ ]+ +/, "", line)
                readable[$1] = line
            }
            next
        }
        /^[0-9a-f]+ <.*>:$/ {            # a function starts
            current = $2
            sub(/^</, "", current); sub(/>:$/, "", current)
            next
        }
        # A call or tail branch lands on the first instruction of a function (a target with
        # no "+0x" offset); a branch into the middle of one is the disassembly of data.
        current != "" && match($0, /<[^>+]+>/) {
            callee = substr($0, RSTART + 1, RLENGTH - 2)
            if (callee != current && !((current, callee) in edge)) {
                edge[current, callee] = 1
                callers[callee] = callers[callee] " " current
            }
        }
        END {
            for (f in size) {
                if (f ~ /Acquire.*Future.*4poll/ || f ~ /drop_in_place.*Acquire/) counted[f] = 1
            }
            changed = 1
            while (changed) {
                changed = 0
                for (f in callers) {
                    if (f in counted) continue
                    n = split(callers[f], list, " ")
                    all = n > 0
                    for (i = 1; i <= n; i++) if (!(list[i] in counted)) { all = 0; break }
                    if (all) { counted[f] = 1; changed = 1 }
                }
            }
            total = 0
            for (f in counted) {
                name = (address[f] in readable) ? readable[address[f]] : f
                printf "%6d %s\n", size[f], name
                total += size[f]
            }
            print "total " total
        }
    ' <("$bin/llvm-nm" --print-size "$elf") <("$bin/llvm-nm" --print-size --demangle "$elf") \
        <("$bin/llvm-objdump" -d --no-show-raw-insn "$elf")
}

# Checks one ELF file against the budgets; returns non-zero when one is exceeded.
size_report() {
    local elf=$1 code_budget=$2 limiter=$3 bin code ram locks status=0
    bin=$(llvm_bin)
    echo "--- $elf"
    "$bin/llvm-size" -A "$elf" | awk '$1 ~ /^\.(vector_table|text|rodata|data|bss|uninit)$/ { printf "  %-14s %7d\n", $1, $2 }'
    echo "  the acquisition's code (largest first; demangled):"
    acquire_code "$elf" | grep -v '^total' | sort -rn | sed -e 's/^/    /' -e 's/\$LT\$/</g' \
        -e 's/\$GT\$/>/g' -e 's/\$u20\$/ /g' -e 's/\$C\$/, /g' -e 's/\$RF\$/\&/g' \
        -e 's/\.\./::/g' -e 's/^\(.*\)::h[0-9a-f]\{16\}/\1/' -e 's/ _</ </' 
    code=$(acquire_code "$elf" | awk '/^total/ { print $2 }')
    ram=$("$bin/llvm-nm" --print-size --demangle "$elf" |
        awk -v name="$limiter" "$HEX"'$4 ~ name { total += hex($2) } END { print total + 0 }')
    locks=$("$bin/llvm-nm" --print-size --demangle "$elf" |
        awk "$HEX"'/portable_atomic.*LOCKS/ { total += hex($2) } END { print total + 0 }')
    printf '  acquisition code: %d bytes (budget %d)\n' "$code" "$code_budget"
    printf '  limiter RAM (%s): %d bytes (budget %d)\n' "$limiter" "$ram" "$LIMITER_RAM_BUDGET"
    printf '  global lock table: %d bytes (budget 0)\n' "$locks"
    if ((code == 0)); then
        echo "  FAILED: no Acquire::poll found in $elf" >&2
        status=1
    fi
    if ((code > code_budget)); then
        echo "  FAILED: the acquisition's code is over its budget" >&2
        status=1
    fi
    if ((ram == 0 || ram > LIMITER_RAM_BUDGET)); then
        echo "  FAILED: the limiter's RAM is missing or over its budget" >&2
        status=1
    fi
    if ((locks > 0)); then
        echo "  FAILED: portable-atomic's global lock table is linked" >&2
        status=1
    fi
    return "$status"
}

budgets() {
    local status=0 dir=${CARGO_TARGET_DIR:-examples/embassy-firmware/target} target
    for target in thumbv7em-none-eabihf thumbv6m-none-eabi; do
        (cd examples/embassy-firmware && cargo build --release --target "$target")
    done
    size_report "$dir/thumbv7em-none-eabihf/release/pacer-embassy-firmware" \
        "$CODE_BUDGET_M4" 'pacer_embassy_firmware::RADIO' || status=1
    size_report "$dir/thumbv6m-none-eabi/release/pacer-embassy-firmware" \
        "$CODE_BUDGET_M0" 'pacer_embassy_firmware::RADIO' || status=1
    # For comparison, not a gate: the limiter holding a reference to its quota, so its code
    # is generic over every quota (README: "what runs where").
    echo
    echo "for comparison, the quota by reference (generic code; not held to the code budget):"
    for target in thumbv7em-none-eabihf thumbv6m-none-eabi; do
        (cd examples/embassy-firmware &&
            cargo build --release --target "$target" --features quota-by-reference \
                --target-dir "$(pwd)/target/by-reference")
        size_report "examples/embassy-firmware/target/by-reference/$target/release/pacer-embassy-firmware" \
            999999 'pacer_embassy_firmware::RADIO' || status=1
    done
    return "$status"
}

install_qemu() {
    command -v qemu-system-arm >/dev/null && return 0
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq qemu-system-arm
}

qemu_runs() {
    local status=0 dir=${CARGO_TARGET_DIR:-examples/embassy-qemu/target}
    bash examples/embassy-qemu/run.sh cortex-m0 || status=1
    bash examples/embassy-qemu/run.sh cortex-m4 || status=1
    size_report "$dir/thumbv6m-none-eabi/release/pacer-embassy-qemu" \
        "$CODE_BUDGET_M0" 'pacer_embassy_qemu::RADIO' || status=1
    size_report "$dir/thumbv7em-none-eabihf/release/pacer-embassy-qemu" \
        "$CODE_BUDGET_M4" 'pacer_embassy_qemu::RADIO' || status=1
    return "$status"
}

case "${1:-all}" in
all)
    llvm_bin >/dev/null
    install_qemu
    status=0
    budgets || status=1
    qemu_runs || status=1
    exit "$status"
    ;;
budgets) budgets ;;
size) size_report "$2" "$3" "$4" ;;
*)
    echo "usage: $0 [all | budgets | size ELF CODE_BUDGET LIMITER_SYMBOL]" >&2
    exit 2
    ;;
esac
