//! Step 7 of a run: reports, each a function from the results to bytes.

pub mod console;
pub mod junit;

use crate::run::results::RunReport;

/// The JSON report: the results model as pretty JSON, in plan order.
pub fn json(report: &RunReport) -> String {
    let mut text = serde_json::to_string_pretty(report).expect("the results model always serializes");
    text.push('\n');
    text
}
