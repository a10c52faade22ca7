//! Reports read back (`report merge`, `--rerun-failed`, `--shard-durations`): through a small
//! buffer, a scenario at a time, so a report of any size is read in about the memory of one. A
//! report is something smoke wrote, so none of its strings is longer than smoke writes one (it
//! clips what a plugin or a service said where that enters): a file with a longer one is refused
//! before the string is held.

use std::path::{Path, PathBuf};

/// The longest string a report smoke wrote may hold: a recorded body, escaped (a body is kept up
/// to [`crate::http::RECORDED_BODY_BYTES`]; escaping at most sextuples a character), with room.
pub const MAX_REPORT_STRING: u64 = 8 * crate::http::RECORDED_BODY_BYTES as u64 + (64 << 10);

/// A report that cannot be read back.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    File(#[from] crate::files::ReadError),
    #[error("cannot read {}: {message}", .path.display())]
    Io { path: PathBuf, message: String },
    #[error(
        "{}:{line}:{column}: not a smoke JSON report (--report-json) of schema version 2: {message}",
        .path.display()
    )]
    Json { path: PathBuf, line: usize, column: usize, message: String },
    #[error("{} has no \"scenarios\" list", .path.display())]
    NoScenarios { path: PathBuf },
}

/// Hand each of the `scenarios` of the JSON report at `path` to `each`, read as a `T` (a whole
/// result, or only the fields wanted) as it is reached: a report of any size is read in about
/// the memory of one scenario. Stops at the first error `each` returns (`Ok(Err(e))`); else
/// says what is wrong with the file, naming it.
pub fn each_scenario<T: serde::de::DeserializeOwned, E>(
    path: &Path,
    each: &mut dyn FnMut(T) -> Result<(), E>,
) -> Result<Result<(), E>, ReadError> {
    let mut failed = None;
    let mut found = false;
    let read = read_json(path, |d| {
        let visitor =
            EachScenario { each: &mut |s| each(s).map_err(|e| failed = Some(e)), found: &mut found };
        serde::Deserializer::deserialize_map(d, visitor)
    });
    match (failed, read) {
        (Some(e), _) => Ok(Err(e)),
        (None, Err(e)) => Err(e),
        (None, Ok(())) if !found => Err(ReadError::NoScenarios { path: path.to_path_buf() }),
        (None, Ok(())) => Ok(Ok(())),
    }
}

/// The JSON file at `path`, read whole as a `T` through a small buffer (with [`Unread`] for its
/// scenarios, what a report is of without what it holds).
///
/// [`Unread`]: crate::run::results::Unread
pub fn whole<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ReadError> {
    read_json(path, |d| serde::Deserialize::deserialize(d))
}

/// A report's bytes, each string of them no longer than [`MAX_REPORT_STRING`]: a longer one
/// stops the reading (before the string is held) with an error at its place.
struct Bounded<R> {
    inner: R,
    in_string: bool,
    escaped: bool,
    length: u64,
    offset: u64,
}

impl<R: std::io::Read> std::io::Read for Bounded<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            self.offset += 1;
            if !self.in_string {
                self.in_string = b == b'"';
                self.length = 0;
                continue;
            }
            match (self.escaped, b) {
                (true, _) => self.escaped = false,
                (false, b'\\') => self.escaped = true,
                (false, b'"') => self.in_string = false,
                _ => {}
            }
            self.length += 1;
            if self.length > MAX_REPORT_STRING {
                return Err(std::io::Error::other(format!(
                    "a string at byte {} is over {MAX_REPORT_STRING} bytes: longer than any smoke writes",
                    self.offset - self.length
                )));
            }
        }
        Ok(n)
    }
}

/// Read the JSON file at `path` with `read`, through a small buffer and [`Bounded`].
fn read_json<T>(
    path: &Path,
    read: impl FnOnce(
        &mut serde_json::Deserializer<
            serde_json::de::IoRead<std::io::BufReader<Bounded<std::io::Take<std::fs::File>>>>,
        >,
    ) -> Result<T, serde_json::Error>,
) -> Result<T, ReadError> {
    let (file, _) = crate::files::open_regular(path)?;
    let bounded = Bounded {
        inner: std::io::Read::take(file, crate::files::MAX_PLAN_BYTES),
        in_string: false,
        escaped: false,
        length: 0,
        offset: 0,
    };
    let mut d = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 16, bounded));
    let failed = |e: serde_json::Error| match e.classify() {
        serde_json::error::Category::Io => ReadError::Io { path: path.to_path_buf(), message: e.to_string() },
        _ => ReadError::Json {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        },
    };
    let value = read(&mut d).map_err(failed)?;
    d.end().map_err(failed)?;
    Ok(value)
}

/// A report's top level, read for its `scenarios` alone: each is handed on as it is read.
struct EachScenario<'a, T> {
    each: &'a mut dyn FnMut(T) -> Result<(), ()>,
    found: &'a mut bool,
}

impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for EachScenario<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a smoke JSON report")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "scenarios" {
                *self.found = true;
                map.next_value_seed(Scenarios { each: &mut *self.each })?;
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

struct Scenarios<'a, T> {
    each: &'a mut dyn FnMut(T) -> Result<(), ()>,
}

impl<'de, T: serde::Deserialize<'de>> serde::de::DeserializeSeed<'de> for Scenarios<'_, T> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: serde::Deserialize<'de>> serde::de::Visitor<'de> for Scenarios<'_, T> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of scenario results")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(s) = seq.next_element::<T>()? {
            // The reason is kept by the caller; this only stops the reading.
            (self.each)(s).map_err(|()| serde::de::Error::custom("stopped by the reader"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Id {
        id: String,
    }

    #[test]
    fn a_reports_scenarios_are_handed_on_one_at_a_time_with_only_the_fields_asked_for() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let report =
            r#"{"scenarios": [{"id": "a", "steps": [{"huge": [1, 2, 3]}]}, {"id": "b"}], "after": {}}"#;
        std::fs::write(&path, report).unwrap();
        let mut ids = Vec::new();
        each_scenario(&path, &mut |s: Id| {
            ids.push(s.id);
            Ok::<(), ()>(())
        })
        .unwrap()
        .unwrap();
        assert_eq!(ids, ["a", "b"]);
        // Stopped by the first error it is handed back.
        let mut seen = 0;
        let e = each_scenario(&path, &mut |_: Id| {
            seen += 1;
            Err("enough")
        })
        .unwrap();
        assert_eq!((e, seen), (Err("enough"), 1));
        std::fs::write(&path, r#"{"summary": {}}"#).unwrap();
        let e = each_scenario(&path, &mut |_: Id| Ok::<(), ()>(())).unwrap_err().to_string();
        assert!(e.ends_with("has no \"scenarios\" list"), "{e}");
        std::fs::write(&path, r#"{"scenarios": [{"id": 7}]}"#).unwrap();
        let e = each_scenario(&path, &mut |_: Id| Ok::<(), ()>(())).unwrap_err().to_string();
        assert!(e.contains("r.json:1:") && e.contains("not a smoke JSON report"), "{e}");
    }

    #[test]
    fn a_string_longer_than_smoke_writes_is_refused_before_it_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let long = "x".repeat(MAX_REPORT_STRING as usize + 1);
        std::fs::write(&path, format!(r#"{{"scenarios": [{{"id": "a", "reason": "{long}"}}]}}"#)).unwrap();
        let e = each_scenario(&path, &mut |_: Id| Ok::<(), ()>(())).unwrap_err().to_string();
        assert!(e.contains("longer than any smoke writes"), "{e}");
        // Escaped quotes do not end a string early, nor do they start one.
        let escaped = format!(r#"{{"scenarios": [{{"id": "a\"b", "r": "{}"}}]}}"#, "\\\"".repeat(10));
        std::fs::write(&path, escaped).unwrap();
        let mut ids = Vec::new();
        each_scenario(&path, &mut |s: Id| {
            ids.push(s.id);
            Ok::<(), ()>(())
        })
        .unwrap()
        .unwrap();
        assert_eq!(ids, ["a\"b"]);
    }
}
