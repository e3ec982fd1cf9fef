//! The results journal: a JSON Lines file written one decision at a time. Reopening it
//! resumes the run: the decisions it holds are not asked again, and a last line torn by a
//! killed process is dropped.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::diagnostic::{Code, Diagnostic};

use super::Record;

/// An open results file.
pub struct Journal {
    file: File,
    path: PathBuf,
}

/// What a journal already holds: for every (scenario index, steer) recorded, whether its
/// latest answer is an error. The index, not the id: a suite without `dedupe` may hold one
/// scenario twice.
#[derive(Debug, Default)]
pub struct Done {
    steers: Vec<Option<String>>,
    map: HashMap<(u64, u32), bool>,
}

impl Done {
    fn steer(&mut self, steer: Option<&str>) -> u32 {
        match self.steers.iter().position(|s| s.as_deref() == steer) {
            Some(i) => i as u32,
            None => {
                self.steers.push(steer.map(str::to_string));
                (self.steers.len() - 1) as u32
            }
        }
    }

    /// Whether (`index`, `steer`) needs no asking: recorded, and not an error to retry.
    pub fn is_done(&self, index: u64, steer: Option<&str>, retry_errors: bool) -> bool {
        let Some(s) = self.steers.iter().position(|s| s.as_deref() == steer) else {
            return false;
        };
        match self.map.get(&(index, s as u32)) {
            Some(&error) => !(retry_errors && error),
            None => false,
        }
    }

    /// How many (scenario, steer) pairs are recorded.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing is recorded yet.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

/// Where a journal's last whole, readable line ends: appending resumes there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tail {
    good: u64,
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

/// As much of a result line as resuming needs.
#[derive(Deserialize)]
struct Seen<'a> {
    index: u64,
    #[serde(borrow, default)]
    steer: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    choice: std::borrow::Cow<'a, str>,
}

impl Journal {
    /// Opens the journal at `path`: creates it with `header`, or resumes it when it holds a
    /// run of the same suite, adapter, presentation and steers. Returns what it holds.
    pub fn open(path: &Path, header: &serde_json::Value) -> Result<(Journal, Done), Diagnostic> {
        let (done, tail) = Journal::inspect(path, header)?;
        Ok((Journal::resume(path, header, &tail)?, done))
    }

    /// Reads what the journal at `path` holds without changing it (a missing file holds
    /// nothing): refused when it holds another run. [`Journal::resume`] then opens it for
    /// appending, so a run can check everything else before it touches the file.
    pub fn inspect(path: &Path, header: &serde_json::Value) -> Result<(Done, Tail), Diagnostic> {
        let error = |why: String| {
            Diagnostic::new(Code::Io, format!("cannot use `{}`: {why}", path.display()))
                .path(path.display().to_string())
        };
        let io = |e: std::io::Error| error(e.to_string().to_lowercase());
        let mut done = Done::default();
        let file = match File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok((done, Tail { good: 0 }));
            }
            Err(e) => return Err(error(e.to_string().to_lowercase()).help("check the path")),
        };
        if file.metadata().map_err(io)?.len() == 0 {
            return Ok((done, Tail { good: 0 }));
        }
        // Line by line: the end of the last whole, readable line is where appending resumes.
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut buf = Vec::new();
        let mut good = 0u64;
        let mut offset = 0u64;
        let mut line_no = 0usize;
        // A line that did not parse, kept until the next one shows it was not the last.
        let mut unreadable: Option<(usize, String)> = None;
        loop {
            buf.clear();
            let n = reader.read_until(b'\n', &mut buf).map_err(io)? as u64;
            if n == 0 {
                break;
            }
            offset += n;
            line_no += 1;
            if let Some((line, why)) = unreadable.take() {
                return Err(error(format!("line {line} is not a result: {why}"))
                    .help("repair or remove that line, then run again"));
            }
            if buf.last() != Some(&b'\n') {
                // A torn last line.
                break;
            }
            let text = &buf[..buf.len() - 1];
            if line_no == 1 {
                let found: serde_json::Value = serde_json::from_slice(text).map_err(|_| {
                    error("its first line is not a results header".into())
                        .help("give a new results file with -o, or delete this one")
                })?;
                if found.get("format").and_then(|f| f.as_str()) != Some("results") {
                    return Err(error("it is not a results file".into())
                        .help("give a new results file with -o"));
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
                good = offset;
                continue;
            }
            match serde_json::from_slice::<Seen<'_>>(text) {
                Ok(r) => {
                    let steer = done.steer(r.steer.as_deref());
                    done.map.insert((r.index, steer), r.choice == "error");
                    good = offset;
                }
                Err(e) => unreadable = Some((line_no, e.to_string())),
            }
        }
        if line_no == 0 {
            return Err(error("it has no header line".into())
                .help("give a new results file with -o, or delete this one"));
        }
        Ok((done, Tail { good }))
    }

    /// Opens the journal [`Journal::inspect`] read for appending: creates it with `header`
    /// when it held nothing, and cuts off a torn last line.
    pub fn resume(
        path: &Path,
        header: &serde_json::Value,
        tail: &Tail,
    ) -> Result<Journal, Diagnostic> {
        let io = |e: std::io::Error| {
            Diagnostic::new(
                Code::Io,
                format!(
                    "cannot use `{}`: {}",
                    path.display(),
                    e.to_string().to_lowercase()
                ),
            )
            .path(path.display().to_string())
            .help("check the path")
        };
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        if tail.good < file.metadata().map_err(io)?.len() {
            file.set_len(tail.good).map_err(io)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io)?;
        if tail.good == 0 {
            // A new journal, or one whose header was torn: write the header.
            let mut line = header.to_string();
            line.push('\n');
            file.write_all(line.as_bytes()).map_err(io)?;
        }
        Ok(Journal {
            file,
            path: path.to_path_buf(),
        })
    }

    /// Appends decisions, in one write: once this returns, a killed process loses none of
    /// them.
    pub fn append(&mut self, records: &[Record]) -> Result<(), Diagnostic> {
        let mut line = Vec::with_capacity(512 * records.len());
        for record in records {
            serde_json::to_writer(&mut line, record)
                .map_err(|e| Diagnostic::new(Code::Io, format!("cannot record a result: {e}")))?;
            line.push(b'\n');
        }
        self.file.write_all(&line).map_err(|e| {
            Diagnostic::new(
                Code::Io,
                format!("cannot write to `{}`: {e}", self.path.display()),
            )
            .help("check the free space; run the same command again to resume")
        })
    }
}
