//! The results journal: a JSON Lines file written one decision at a time. Reopening it
//! resumes the run: the decisions it holds are not asked again, and a last line torn by a
//! killed process is dropped.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::diagnostic::{Code, Diagnostic};

use super::Record;

/// An open results file.
pub struct Journal {
    file: File,
    path: PathBuf,
    /// For every (scenario index, steer) recorded: whether its latest answer is an error.
    /// The index, not the id: a suite without `dedupe` may hold one scenario twice.
    done: HashMap<(u64, Option<String>), bool>,
}

/// The header fields that must match for a journal to be resumed.
const IDENTITY: [&str; 6] = [
    "suite",
    "seed",
    "suite_hash",
    "adapter",
    "presentation",
    "steers",
];

impl Journal {
    /// Opens the journal at `path`: creates it with `header`, or resumes it when it holds a
    /// run of the same suite, adapter, presentation and steers.
    pub fn open(path: &Path, header: &serde_json::Value) -> Result<Journal, Diagnostic> {
        let error = |why: String| {
            Diagnostic::new(Code::Io, format!("cannot use `{}`: {why}", path.display()))
                .path(path.display().to_string())
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(|e| error(e.to_string().to_lowercase()).help("check the path"))?;
        let mut text = Vec::new();
        file.read_to_end(&mut text)
            .map_err(|e| error(e.to_string().to_lowercase()))?;
        let mut done = HashMap::new();
        if text.is_empty() {
            let mut line = header.to_string();
            line.push('\n');
            file.write_all(line.as_bytes())
                .map_err(|e| error(e.to_string().to_lowercase()))?;
            return Ok(Journal {
                file,
                path: path.to_path_buf(),
                done,
            });
        }
        // Keep whole lines only: a process killed mid-write leaves a torn last line.
        let mut good = text.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let mut lines: Vec<&[u8]> = text[..good].split(|&b| b == b'\n').collect();
        lines.pop();
        let Some(first) = lines.first() else {
            return Err(error("it has no header line".into())
                .help("give a new results file with -o, or delete this one"));
        };
        let found: serde_json::Value = serde_json::from_slice(first).map_err(|_| {
            error("its first line is not a results header".into())
                .help("give a new results file with -o, or delete this one")
        })?;
        if found.get("format").and_then(|f| f.as_str()) != Some("results") {
            return Err(
                error("it is not a results file".into()).help("give a new results file with -o")
            );
        }
        for key in IDENTITY {
            if found.get(key) != header.get(key) {
                return Err(error(format!(
                    "it holds a run with another {}",
                    key.replace('_', " ")
                ))
                .help("results of different runs do not mix: give a new file with -o"));
            }
        }
        let count = lines.len();
        for (i, line) in lines.iter().enumerate().skip(1) {
            match serde_json::from_slice::<Record>(line) {
                Ok(r) => {
                    done.insert((r.index, r.steer), r.choice == "error");
                }
                // Only the last line can be torn; a bad line elsewhere is damage.
                Err(_) if i + 1 == count => {
                    good -= line.len() + 1;
                }
                Err(e) => {
                    return Err(error(format!("line {} is not a result: {e}", i + 1))
                        .help("repair or remove that line, then run again"));
                }
            }
        }
        if good < text.len() {
            file.set_len(good as u64)
                .map_err(|e| error(e.to_string().to_lowercase()))?;
            file.seek(SeekFrom::End(0))
                .map_err(|e| error(e.to_string().to_lowercase()))?;
        }
        Ok(Journal {
            file,
            path: path.to_path_buf(),
            done,
        })
    }

    /// Whether (scenario index, steer) has an answer to keep: any answer, or with
    /// `retry_errors` any but an error.
    pub fn is_done(&self, index: u64, steer: Option<&str>, retry_errors: bool) -> bool {
        match self.done.get(&(index, steer.map(str::to_string))) {
            Some(&error) => !(retry_errors && error),
            None => false,
        }
    }

    /// How many (scenario, steer) pairs are recorded.
    pub fn len(&self) -> usize {
        self.done.len()
    }

    /// Whether nothing is recorded yet.
    pub fn is_empty(&self) -> bool {
        self.done.is_empty()
    }

    /// Appends a decision, in one write: once this returns, a killed process loses nothing.
    pub fn append(&mut self, record: &Record) -> Result<(), Diagnostic> {
        let mut line = serde_json::to_vec(record)
            .map_err(|e| Diagnostic::new(Code::Io, format!("cannot record a result: {e}")))?;
        line.push(b'\n');
        self.file.write_all(&line).map_err(|e| {
            Diagnostic::new(
                Code::Io,
                format!("cannot write to `{}`: {e}", self.path.display()),
            )
            .help("check the free space; run the same command again to resume")
        })?;
        self.done.insert(
            (record.index, record.steer.clone()),
            record.choice == "error",
        );
        Ok(())
    }
}
