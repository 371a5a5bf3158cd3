#!/usr/bin/env bash
# Packaging: every library crate packages, and builds from its own packaged files alone
# (cargo package's verification unpacks each .crate and builds it, with the workspace's other
# crates taken from their packages, not from their directories). Each package carries the
# README its manifest names, and both license texts its `MIT OR Apache-2.0` names.
set -euo pipefail
cd "$(dirname "$0")/.."

# Verification unpacks each .crate from a local registry into $CARGO_HOME/registry/src/-<hash>/
# (one directory per registry path) and skips the unpacking when that directory already holds
# the same name and version: a copy left by an earlier run, of older code, would be built
# instead of this checkout's (it failed the gate once, on a machine that had packaged before).
# Every version here is unpublished, so those copies are removed first; crates.io's unpacked
# sources (registry/src/index.crates.io-*) are not touched.
# (Every crate of this workspace is named pacer-*.)
rm -rf "${CARGO_HOME:-$HOME/.cargo}"/registry/src/-*/pacer-*

# --allow-dirty: the gate checks what a checkout holds, committed or not.
cargo package --workspace --allow-dirty \
    --exclude pacer-examples --exclude pacer-examples-runtimes --exclude pacer-examples-redis --exclude pacer-examples-http --exclude pacer-tests --exclude pacer-adapter-exports --exclude pacer-benches

packages="${CARGO_TARGET_DIR:-target}/package"
status=0
for crate in "$packages"/*.crate; do
    name=$(basename "$crate" .crate)
    readme=$(tar -xzf "$crate" -O "$name/Cargo.toml" | sed -n 's/^readme = "\(.*\)"$/\1/p')
    if [[ -z "$readme" ]]; then
        echo "$name: no readme in its packaged manifest" >&2
        status=1
    elif ! tar -tzf "$crate" "$name/$readme" >/dev/null 2>&1; then
        echo "$name: its manifest names $readme, which the package does not hold" >&2
        status=1
    fi
    for license in LICENSE-MIT LICENSE-APACHE; do
        if ! tar -tzf "$crate" "$name/$license" >/dev/null 2>&1; then
            echo "$name: the package does not hold $license (link the root's into the crate's directory)" >&2
            status=1
        fi
    done
done
exit "$status"
