//! Reports read back (`report merge`, `--rerun-failed`, `--shard-durations`): through a small
//! buffer, a scenario at a time, so a report of any size is read in about the memory of one.

use std::path::Path;

/// Hand each of the `scenarios` of the JSON report at `path` to `each`, read as a `T` (a whole
/// result, or only the fields wanted) as it is reached: a report of any size is read in about
/// the memory of one scenario. Stops at the first error `each` returns, and returns it; else says
/// what is wrong with the file, naming it.
pub fn each_scenario<T: serde::de::DeserializeOwned>(
    path: &Path,
    each: &mut dyn FnMut(T) -> Result<(), String>,
) -> Result<(), String> {
    let mut failed = None;
    let mut found = false;
    let read = read_json(path, |d| {
        let visitor =
            EachScenario { each: &mut |s| each(s).map_err(|e| failed = Some(e)), found: &mut found };
        serde::Deserializer::deserialize_map(d, visitor)
    });
    match (failed, read) {
        (Some(e), _) => Err(e),
        (None, Err(e)) => Err(e.say(path)),
        (None, Ok(())) if !found => Err(format!("{} has no \"scenarios\" list", path.display())),
        (None, Ok(())) => Ok(()),
    }
}

pub enum ReadError {
    Io(std::io::Error),
    Json(serde_json::Error),
}

impl ReadError {
    /// What was wrong, naming the file (and the line and column).
    pub fn say(self, path: &Path) -> String {
        let shown = path.display();
        match self {
            ReadError::Io(e) => format!("cannot read {shown}: {e}"),
            ReadError::Json(e) => format!(
                "{shown}:{}:{}: not a smoke JSON report (--report-json) of schema version 2: {e}",
                e.line(),
                e.column()
            ),
        }
    }
}

/// The JSON file at `path`, read whole as a `T` through a small buffer (with [`Unread`] for its
/// scenarios, what a report is of without what it holds).
///
/// [`Unread`]: crate::run::results::Unread
pub fn whole<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ReadError> {
    read_json(path, |d| serde::Deserialize::deserialize(d))
}

/// Read the JSON file at `path` with `read`, through a small buffer.
fn read_json<T>(
    path: &Path,
    read: impl FnOnce(
        &mut serde_json::Deserializer<serde_json::de::IoRead<std::io::BufReader<std::fs::File>>>,
    ) -> Result<T, serde_json::Error>,
) -> Result<T, ReadError> {
    let file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let mut d = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 16, file));
    let value = read(&mut d).map_err(|e| match e.classify() {
        serde_json::error::Category::Io => ReadError::Io(std::io::Error::other(e.to_string())),
        _ => ReadError::Json(e),
    })?;
    d.end().map_err(ReadError::Json)?;
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

    #[test]
    fn a_reports_scenarios_are_handed_on_one_at_a_time_with_only_the_fields_asked_for() {
        #[derive(serde::Deserialize)]
        struct Id {
            id: String,
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        let report =
            r#"{"scenarios": [{"id": "a", "steps": [{"huge": [1, 2, 3]}]}, {"id": "b"}], "after": {}}"#;
        std::fs::write(&path, report).unwrap();
        let mut ids = Vec::new();
        each_scenario(&path, &mut |s: Id| {
            ids.push(s.id);
            Ok(())
        })
        .unwrap();
        assert_eq!(ids, ["a", "b"]);
        // Stopped by the first error it is handed back.
        let mut seen = 0;
        let e = each_scenario(&path, &mut |_: Id| {
            seen += 1;
            Err("enough".into())
        })
        .unwrap_err();
        assert_eq!((e.as_str(), seen), ("enough", 1));
        std::fs::write(&path, r#"{"summary": {}}"#).unwrap();
        let e = each_scenario(&path, &mut |_: Id| Ok(())).unwrap_err();
        assert!(e.ends_with("has no \"scenarios\" list"), "{e}");
        std::fs::write(&path, r#"{"scenarios": [{"id": 7}]}"#).unwrap();
        let e = each_scenario(&path, &mut |_: Id| Ok(())).unwrap_err();
        assert!(e.contains("r.json:1:") && e.contains("not a smoke JSON report"), "{e}");
    }
}
