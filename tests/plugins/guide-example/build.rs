//! Compiles the first ```rust block of docs/plugin-guide.md verbatim, so the guide's minimal
//! plugin is exactly what the test suite builds and runs.

use std::path::PathBuf;

fn main() {
    let guide = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../docs/plugin-guide.md");
    println!("cargo:rerun-if-changed={}", guide.display());
    let text =
        std::fs::read_to_string(&guide).unwrap_or_else(|e| panic!("cannot read {}: {e}", guide.display()));
    let start = text.find("```rust\n").unwrap_or_else(|| panic!("{} has no ```rust block", guide.display()))
        + "```rust\n".len();
    let len = text[start..]
        .find("```")
        .unwrap_or_else(|| panic!("{}: the ```rust block is not closed", guide.display()));
    let code = &text[start..start + len];
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("plugin.rs");
    std::fs::write(&out, code).unwrap_or_else(|e| panic!("cannot write {}: {e}", out.display()));
}
