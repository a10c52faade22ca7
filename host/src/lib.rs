//! smoke: smoke-test HTTP APIs with domain plugins compiled to WebAssembly components.
//!
//! The modules follow one run, in order: [`config`], [`plugin`], [`plan`], [`service`] (the
//! target: start, health, stop), [`seed`], [`run`] (over [`http`] and [`mcp`]), [`report`],
//! [`checks`]; [`cli`] drives them and owns the exit codes. docs/architecture.md is the map.

pub mod checks;
pub mod cli;
pub mod config;
pub mod files;
pub mod http;
pub mod mcp;
pub mod plan;
pub mod plugin;
pub mod registry;
pub mod report;
pub mod run;
pub mod seed;
pub mod service;
pub mod surface;
pub mod text;
