//! Bytes kept in memory up to a budget, the rest in an unlinked temporary file (in `TMPDIR`):
//! what lets a plan, or a run's results, be of any size while the process's memory stays flat.
//!
//! Items are appended and read back by the [`Slot`] `push` gave; the file is gone when the value
//! is dropped, or the process dies, since it never had a name.

use std::borrow::Cow;
use std::fs::File;
use std::os::unix::fs::FileExt;

/// Where one item lives: its offset in the whole sequence of bytes, and its length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Slot {
    at: u64,
    len: u32,
}

/// Appended bytes: the first `budget` in memory, the rest in a file.
#[derive(Debug)]
pub struct Spill {
    memory: Vec<u8>,
    budget: usize,
    /// Bytes past the budget: `[file_start, file_start + written)` in the file, then `pending`.
    file: Option<File>,
    file_start: u64,
    written: u64,
    pending: Vec<u8>,
    /// Set once the file could not be made or written: everything stays in memory after that.
    failed: bool,
}

/// Bytes written to the file at once.
const WRITE_CHUNK: usize = 1 << 20;

/// Why an item cannot be stored or read back.
#[derive(Debug, thiserror::Error)]
pub enum SpillError {
    #[error("an item of {0} bytes is over the limit of 4 GiB")]
    TooLarge(usize),
    #[error("cannot read back from the temporary file: {0}")]
    Read(std::io::Error),
}

impl Spill {
    /// Keep up to `budget` bytes in memory.
    pub fn new(budget: usize) -> Spill {
        Spill {
            memory: Vec::new(),
            budget,
            file: None,
            file_start: 0,
            written: 0,
            pending: Vec::new(),
            failed: false,
        }
    }

    /// Total bytes held.
    pub fn len(&self) -> u64 {
        self.memory.len() as u64 + self.written + self.pending.len() as u64
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether some of it lives in the file.
    pub fn spilled(&self) -> bool {
        self.file.is_some()
    }

    /// Append one item. Past the budget it goes to the file; should the file fail (a full disk),
    /// the item is kept in memory instead, with a warning once: nothing is lost.
    pub fn push(&mut self, bytes: &[u8]) -> Result<Slot, SpillError> {
        let len = u32::try_from(bytes.len()).map_err(|_| SpillError::TooLarge(bytes.len()))?;
        let at = self.len();
        if self.file.is_none() && (self.failed || self.memory.len() + bytes.len() <= self.budget) {
            if self.memory.capacity() == 0 && !self.failed {
                // Room for the whole budget at once: pages never touched cost nothing, and the
                // buffer is never copied as it grows.
                self.memory.reserve_exact(self.budget);
            }
            self.memory.extend_from_slice(bytes);
            return Ok(Slot { at, len });
        }
        if self.file.is_none() {
            match tempfile::tempfile() {
                Ok(f) => {
                    self.file = Some(f);
                    self.file_start = at;
                }
                Err(e) => {
                    self.give_up(&e);
                    self.memory.extend_from_slice(bytes);
                    return Ok(Slot { at, len });
                }
            }
        }
        self.pending.extend_from_slice(bytes);
        if self.pending.len() >= WRITE_CHUNK {
            self.flush_pending();
        }
        Ok(Slot { at, len })
    }

    /// Write what is pending to the file; on failure, keep holding it in memory.
    fn flush_pending(&mut self) {
        let Some(file) = &self.file else { return };
        match file.write_all_at(&self.pending, self.written) {
            Ok(()) => {
                self.written += self.pending.len() as u64;
                self.pending.clear();
            }
            Err(e) => {
                // The pending bytes stay pending, and so does every later item: still readable.
                if !self.failed {
                    self.give_up(&e);
                }
                self.pending.reserve(WRITE_CHUNK);
            }
        }
    }

    fn give_up(&mut self, e: &std::io::Error) {
        self.failed = true;
        tracing::warn!(
            "cannot use a temporary file in {} ({e}): keeping everything in memory instead",
            std::env::temp_dir().display()
        );
    }

    /// The item at `slot`.
    pub fn get(&self, slot: Slot) -> Result<Cow<'_, [u8]>, SpillError> {
        let (at, len) = (slot.at, slot.len as usize);
        if at < self.memory.len() as u64 {
            let start = at as usize;
            return Ok(Cow::Borrowed(&self.memory[start..start + len]));
        }
        let in_file = at - self.file_start;
        if in_file >= self.written {
            let start = (in_file - self.written) as usize;
            return Ok(Cow::Borrowed(&self.pending[start..start + len]));
        }
        let file = self.file.as_ref().expect("offsets past memory are in the file");
        let mut buffer = vec![0u8; len];
        file.read_exact_at(&mut buffer, in_file).map_err(SpillError::Read)?;
        Ok(Cow::Owned(buffer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_past_the_budget_go_to_a_file_and_read_back_whole() {
        let mut spill = Spill::new(100);
        let items: Vec<Vec<u8>> = (0..5000u32)
            .map(|i| format!("item {i} {}", "x".repeat((i % 97) as usize)).into_bytes())
            .collect();
        let slots: Vec<Slot> = items.iter().map(|b| spill.push(b).unwrap()).collect();
        assert!(spill.spilled());
        assert!(spill.memory.len() <= 100);
        for (slot, item) in slots.iter().zip(&items).rev() {
            assert_eq!(&*spill.get(*slot).unwrap(), item.as_slice());
        }
        let total: usize = items.iter().map(Vec::len).sum();
        assert_eq!(spill.len(), total as u64);
    }

    #[test]
    fn within_the_budget_nothing_touches_the_disk() {
        let mut spill = Spill::new(1 << 20);
        let a = spill.push(b"one").unwrap();
        let b = spill.push(b"").unwrap();
        let c = spill.push(b"three").unwrap();
        assert!(!spill.spilled());
        assert_eq!(
            (&*spill.get(a).unwrap(), &*spill.get(b).unwrap(), &*spill.get(c).unwrap()),
            (&b"one"[..], &b""[..], &b"three"[..])
        );
    }
}
