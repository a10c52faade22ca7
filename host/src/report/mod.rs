//! Step 7 of a run: reports, each a function from the results to bytes.

pub mod console;
pub mod html;
pub mod junit;
pub mod triage;

use crate::run::results::RunReport;

/// Write the JSON report (the results model, in plan order), streamed through a buffer.
pub fn write_json(report: &RunReport, path: &std::path::Path, pretty: bool) -> std::io::Result<()> {
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(path)?);
    if pretty {
        serde_json::to_writer_pretty(&mut out, report)?;
    } else {
        serde_json::to_writer(&mut out, report)?;
    }
    out.write_all(b"\n")?;
    out.flush()
}

/// The run directory: every file a run writes (service log, command output, reports) lives
/// here, so one path tells an operator where to look.
pub struct RunDir {
    pub path: std::path::PathBuf,
}

impl RunDir {
    /// `explicit` if given, else a fresh directory under the user's state directory (never
    /// inside the checkout, so a run does not dirty it).
    pub fn create(explicit: Option<&std::path::Path>) -> Result<RunDir, String> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => {
                let base = std::env::var_os("SMOKE_STATE_DIR")
                    .map(std::path::PathBuf::from)
                    .or_else(|| {
                        directories::ProjectDirs::from("", "", "smoke")
                            .map(|d| d.state_dir().unwrap_or(d.cache_dir()).to_path_buf())
                    })
                    .unwrap_or_else(|| std::env::temp_dir().join("smoke"));
                let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
                base.join("runs").join(format!("{}-{}", stamp.replace(':', ""), std::process::id()))
            }
        };
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create the run directory {}: {e}", path.display()))?;
        Ok(RunDir { path })
    }

    pub fn file(&self, name: &str) -> std::path::PathBuf {
        self.path.join(name)
    }
}
