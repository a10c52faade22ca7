//! The minimal plugin from docs/plugin-guide.md, compiled verbatim (see build.rs).
include!(concat!(env!("OUT_DIR"), "/plugin.rs"));
