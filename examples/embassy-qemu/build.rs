//! Picks the machine from the target: its memory map for the linker, and `cfg(machine = ..)`
//! for the code (the core clock, the name printed).

use std::path::PathBuf;
use std::{env, fs};

fn main() {
    let target = env::var("TARGET").expect("TARGET");
    let machine = match target.as_str() {
        "thumbv6m-none-eabi" => "microbit",
        "thumbv7em-none-eabihf" => "mps2-an386",
        other => panic!("no QEMU machine for target {other}: use run.sh cortex-m0 or cortex-m4"),
    };
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::copy(format!("memory/{machine}.x"), out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo::rustc-check-cfg=cfg(machine, values(\"microbit\", \"mps2-an386\"))");
    println!("cargo::rustc-cfg=machine=\"{machine}\"");
    println!("cargo:rerun-if-changed=memory");
    println!("cargo:rerun-if-changed=build.rs");
}
