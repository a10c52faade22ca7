//! Bundles the generic plugins (openapi, mcp) into the binary: their components, as built for
//! `wasm32-wasip2` in this workspace's `target/` (`make build` builds them before the host), are
//! copied to `OUT_DIR` for `include_bytes!`. One not built yet is bundled empty: this smoke then
//! says it lacks that plugin, and the build reruns when it appears.

use std::path::PathBuf;

/// The plugins bundled by name (`--plugin openapi`).
const BUNDLED: &[&str] = &["openapi", "mcp"];

fn main() {
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest =
        PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| manifest.join("../target"), PathBuf::from);
    for name in BUNDLED {
        let built = target.join("wasm32-wasip2/release").join(format!("{name}.wasm"));
        println!("cargo:rerun-if-changed={}", built.display());
        let bytes = std::fs::read(&built).unwrap_or_default();
        std::fs::write(out.join(format!("{name}.wasm")), bytes).expect("OUT_DIR is writable");
    }
}
