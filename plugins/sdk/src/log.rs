//! Log lines, shown by the host prefixed with the plugin's name (`-v` shows debug).
//!
//! This is the plugin's only way to talk to the operator besides its plan and verdicts.

use crate::__private::smoke::plugin::host::{self, Level};

pub fn debug(message: &str) {
    host::log(Level::Debug, message);
}

pub fn info(message: &str) {
    host::log(Level::Info, message);
}

pub fn warn(message: &str) {
    host::log(Level::Warn, message);
}

pub fn error(message: &str) {
    host::log(Level::Error, message);
}
