//! The results journal `quandary eval` writes: a header line (`"format":"results"`: the
//! suite answered, the adapter's fingerprint, the presentation, the steers), then one
//! [`Record`] per answer, appended as it arrives. Reopening a journal resumes its run: what
//! it holds is not asked again, and a last line torn by a killed process is dropped. This
//! module writes journals ([`Journal`], under a [`Lock`]) and reads them: whole records
//! ([`ResultsFile::each`]), or borrowed from the text in batches.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::scan::{Cursor, Fields};
use super::suite::Name;
use super::{Input, Line, Text, first_line};
use crate::diagnostic::{Code, Diagnostic};

/// One result line.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Record {
    /// The scenario's id.
    pub scenario: String,
    /// The scenario's index in the suite.
    #[serde(default)]
    pub index: u64,
    /// Its twin group.
    #[serde(default)]
    pub twin_group: Option<String>,
    /// The steer, if any.
    #[serde(default)]
    pub steer: Option<String>,
    /// The epoch: which asking of the scenario this is, from 0 (left out for the first).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub epoch: u32,
    /// The chosen action's id, or `unparsed`, `refused` or `error`.
    pub choice: String,
    /// The chosen option's position among those shown (0-based).
    #[serde(default)]
    pub position: Option<usize>,
    /// The actions in the order shown.
    #[serde(default)]
    pub order: Vec<String>,
    /// Probabilities per action id, when known.
    #[serde(default)]
    pub probabilities: Option<indexmap::IndexMap<String, f64>>,
    /// Other readings of the answer (method → action id or failure).
    #[serde(default, skip_serializing_if = "indexmap::IndexMap::is_empty")]
    pub readings: indexmap::IndexMap<String, String>,
    /// The raw answer, or the error message.
    #[serde(default)]
    pub raw: Option<String>,
    /// The rule that read the choice from the answer's text (`label`, `final answer`,
    /// `bold`, …), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// The model's reasoning, when it gave one apart from its answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<String>,
    /// The share of the first answer token's probability on the options' labels, when
    /// the adapter read it from log-probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_mass: Option<f64>,
    /// What the adapter scored each option by, per action id, when it chose by scores
    /// rather than by reading an answer (`openai-logprob`, `reward`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scores: Option<indexmap::IndexMap<String, Score>>,
    /// Milliseconds the decision took.
    #[serde(default)]
    pub latency_ms: f64,
    /// Prompt and completion tokens.
    #[serde(default)]
    pub tokens: Tokens,
    /// Requests made.
    #[serde(default)]
    pub attempts: u32,
}

impl Record {
    /// Writes the record as one line of JSON (without its line end), byte for byte as
    /// serde_json writes it, field by field: faster than through serde for the journal's
    /// millions of lines.
    pub fn write_json(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        out.extend_from_slice(b"{\"scenario\":");
        json_str(out, &self.scenario)?;
        out.extend_from_slice(b",\"index\":");
        serde_json::to_writer(&mut *out, &self.index)?;
        out.extend_from_slice(b",\"twin_group\":");
        json_option_str(out, self.twin_group.as_deref())?;
        out.extend_from_slice(b",\"steer\":");
        json_option_str(out, self.steer.as_deref())?;
        if !is_zero(&self.epoch) {
            out.extend_from_slice(b",\"epoch\":");
            serde_json::to_writer(&mut *out, &self.epoch)?;
        }
        out.extend_from_slice(b",\"choice\":");
        json_str(out, &self.choice)?;
        out.extend_from_slice(b",\"position\":");
        serde_json::to_writer(&mut *out, &self.position)?;
        out.extend_from_slice(b",\"order\":[");
        for (i, action) in self.order.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            json_str(out, action)?;
        }
        out.extend_from_slice(b"],\"probabilities\":");
        serde_json::to_writer(&mut *out, &self.probabilities)?;
        if !self.readings.is_empty() {
            out.extend_from_slice(b",\"readings\":");
            serde_json::to_writer(&mut *out, &self.readings)?;
        }
        out.extend_from_slice(b",\"raw\":");
        json_option_str(out, self.raw.as_deref())?;
        if let Some(rule) = &self.rule {
            out.extend_from_slice(b",\"rule\":");
            json_str(out, rule)?;
        }
        if let Some(reasoning) = &self.reasoning {
            out.extend_from_slice(b",\"reasoning\":");
            json_str(out, reasoning)?;
        }
        if let Some(mass) = &self.label_mass {
            out.extend_from_slice(b",\"label_mass\":");
            serde_json::to_writer(&mut *out, mass)?;
        }
        if let Some(scores) = &self.scores {
            out.extend_from_slice(b",\"scores\":");
            serde_json::to_writer(&mut *out, scores)?;
        }
        out.extend_from_slice(b",\"latency_ms\":");
        serde_json::to_writer(&mut *out, &self.latency_ms)?;
        out.extend_from_slice(b",\"tokens\":{\"prompt\":");
        serde_json::to_writer(&mut *out, &self.tokens.prompt)?;
        out.extend_from_slice(b",\"completion\":");
        serde_json::to_writer(&mut *out, &self.tokens.completion)?;
        out.extend_from_slice(b"},\"attempts\":");
        serde_json::to_writer(&mut *out, &self.attempts)?;
        out.push(b'}');
        Ok(())
    }
}

/// `s` as a JSON string: copied between quotes when nothing in it is escaped (as most
/// are), else escaped by serde_json.
fn json_str(out: &mut Vec<u8>, s: &str) -> Result<(), serde_json::Error> {
    // Without stopping at the first: the whole string is looked at in vector steps.
    let escaped = s
        .bytes()
        .fold(false, |e, b| e | (b < 0x20) | (b == b'"') | (b == b'\\'));
    if escaped {
        return serde_json::to_writer(&mut *out, s);
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
    Ok(())
}

/// `s` as a JSON string, or `null`.
fn json_option_str(out: &mut Vec<u8>, s: Option<&str>) -> Result<(), serde_json::Error> {
    match s {
        Some(s) => json_str(out, s),
        None => {
            out.extend_from_slice(b"null");
            Ok(())
        }
    }
}

/// What an adapter scored one option by: the log-probability of its text, or a reward
/// model's score of it. Fields it does not know are left out.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Score {
    /// The total log-probability (natural log) of the option's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprob: Option<f64>,
    /// The tokens it was summed over.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<u64>,
    /// The mean log-probability a token: `logprob / tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// A reward model's score of the option as the answer to the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward: Option<f64>,
}

/// Token counts.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tokens {
    /// Prompt tokens.
    pub prompt: Option<u64>,
    /// Completion tokens.
    pub completion: Option<u64>,
}

/// An open results file, locked for as long as it is open.
pub struct Journal {
    file: File,
    path: PathBuf,
    _lock: Lock,
}

/// An advisory lock on a results journal, held for as long as a run appends to it: two
/// runs writing one journal would each cut it back to their own view of its end and ask
/// every request twice. The lock is a file beside the journal (`results.jsonl.lock`)
/// holding who has it; the operating system releases it when its holder ends, however it
/// ends, and a holder that finishes removes the file.
#[derive(Debug)]
pub struct Lock {
    file: File,
    path: PathBuf,
}

impl Lock {
    /// Takes the lock of the journal at `journal`, or says which run holds it.
    pub fn acquire(journal: &Path) -> Result<Lock, Diagnostic> {
        // A journal is read back to resume: nothing but a regular file will do, and no lock
        // is made beside anything else (`/dev/…`).
        if std::fs::metadata(journal).is_ok_and(|m| !m.is_file()) {
            return Err(Diagnostic::new(
                Code::Io,
                format!(
                    "cannot use `{}`: it is not a regular file",
                    journal.display()
                ),
            )
            .path(journal.display().to_string())
            .help("a results journal is read back to resume a run: give a file with -o"));
        }
        // Through a symbolic link, the file written is the one locked.
        let target = std::fs::canonicalize(journal).unwrap_or_else(|_| journal.to_path_buf());
        let name = target
            .file_name()
            .map_or_else(|| "results".into(), |n| n.to_string_lossy().into_owned());
        let path = target.with_file_name(format!("{name}.lock"));
        let error = |why: String| {
            Diagnostic::new(
                Code::Io,
                format!("cannot use `{}`: {why}", journal.display()),
            )
            .path(journal.display().to_string())
        };
        loop {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| {
                    error(format!(
                        "cannot create its lock `{}`: {}",
                        path.display(),
                        crate::input::why(&e)
                    ))
                    .help("check that the folder exists and is writable")
                })?;
            match file.try_lock() {
                Ok(()) => {}
                Err(std::fs::TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = (&file).take(4096).read_to_string(&mut holder);
                    let holder = holder.trim();
                    let who = if holder.is_empty() {
                        "another run".to_string()
                    } else {
                        format!("another run ({holder})")
                    };
                    return Err(error(format!("{who} is writing it")).help(
                        "wait for that run to finish (or stop it), or give another results \
                         file with -o; two runs writing one journal would lose answers",
                    ));
                }
                Err(std::fs::TryLockError::Error(e)) => {
                    return Err(error(format!(
                        "cannot lock `{}`: {}",
                        path.display(),
                        crate::input::why(&e)
                    ))
                    .help("the journal's folder must allow file locks (a local file system)"));
                }
            }
            // A run finishing removes its lock file: the file locked here must still be the
            // one at the path, or another run may be holding a new one.
            if !same_file(&file, &path) {
                continue;
            }
            let mut lock = Lock { file, path };
            lock.describe();
            return Ok(lock);
        }
    }

    /// Writes who holds the lock into its file, for a run that finds it taken.
    fn describe(&mut self) {
        let mut args = std::env::args().skip(1);
        let command = args.next().filter(|c| !c.starts_with('-'));
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let text = format!(
            "quandary{}{} with pid {}, since {}\n",
            if command.is_some() { " " } else { "" },
            command.unwrap_or_default(),
            std::process::id(),
            utc(since)
        );
        let _ = self.file.set_len(0);
        let _ = (&self.file).write_all(text.as_bytes());
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        // Removed while still held, so no other run can lock the file being removed and
        // go on with it (a run that opened it just before sees it gone, and tries again).
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

/// Whether `file` is the file at `path`.
#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

/// `2026-12-06 10:24:33 UTC` for seconds since the epoch.
fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rest = secs % 86_400;
    // Civil date from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// What a journal already holds: for every (scenario index, steer, epoch) recorded, whether
/// its latest answer is an error. The index, not the id: a suite without `dedupe` may hold
/// one scenario twice.
#[derive(Debug, Default)]
pub struct Done {
    steers: Vec<Option<String>>,
    /// (index, steer, epoch) → (hash of the scenario id recorded, whether the answer is an
    /// error).
    map: HashMap<(u64, u32, u32), (u64, bool)>,
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

    /// Whether (`index`, `steer`, `epoch`) needs no asking: recorded, and not an error to
    /// retry.
    pub fn is_done(&self, index: u64, steer: Option<&str>, epoch: u32, retry_errors: bool) -> bool {
        let Some(s) = self.steers.iter().position(|s| s.as_deref() == steer) else {
            return false;
        };
        match self.map.get(&(index, s as u32, epoch)) {
            Some(&(_, error)) => !(retry_errors && error),
            None => false,
        }
    }

    /// The scenario id recorded at `index` under any steer, when it is not `id`: a journal
    /// whose answers belong to other scenarios than the suite's must not be resumed.
    pub fn mismatch(&self, index: u64, id: &str) -> bool {
        let hash = xxhash_rust::xxh3::xxh3_64(id.as_bytes());
        // Every answer at an index is to one scenario: the first epoch of each steer says.
        (0..self.steers.len() as u32)
            .any(|s| matches!(self.map.get(&(index, s, 0)), Some(&(h, _)) if h != hash))
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
const IDENTITY: [&str; 7] = [
    "suite",
    "seed",
    "suite_hash",
    "adapter",
    "presentation",
    "steers",
    "shard",
];

/// As much of a result line as resuming needs.
#[derive(Deserialize)]
struct Seen<'a> {
    #[serde(default)]
    epoch: u32,
    #[serde(borrow)]
    scenario: std::borrow::Cow<'a, str>,
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
        let lock = Lock::acquire(path)?;
        let (done, tail) = Journal::inspect(path, header)?;
        Ok((Journal::resume(path, header, &tail, lock)?, done))
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
        if !file.metadata().map_err(io)?.is_file() {
            return Err(error("it is not a regular file".into())
                .help("a results journal is read back to resume a run: give a file with -o"));
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
            let n = crate::input::read_line(&mut reader, &mut buf, crate::input::MAX_LINE)
                .map_err(|e| error(format!("line {}: {}", line_no + 1, crate::input::why(&e))))?
                as u64;
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
            if line_no > 1 && crate::input::is_blank(text) {
                good = offset;
                continue;
            }
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
                    let id = xxhash_rust::xxh3::xxh3_64(r.scenario.as_bytes());
                    done.map
                        .insert((r.index, steer, r.epoch), (id, r.choice == "error"));
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
    /// when it held nothing, and cuts off a torn last line. `lock`, taken before it was
    /// inspected, is held until the journal is dropped.
    pub fn resume(
        path: &Path,
        header: &serde_json::Value,
        tail: &Tail,
        lock: Lock,
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
            _lock: lock,
        })
    }

    /// Appends decisions, in one write: once this returns, a killed process loses none of
    /// them.
    pub fn append(&mut self, records: &[Record]) -> Result<(), Diagnostic> {
        let mut lines = Vec::with_capacity(512 * records.len());
        for record in records {
            record.write_json(&mut lines).map_err(|e| unrecorded(&e))?;
            lines.push(b'\n');
        }
        self.append_lines(&lines)
    }

    /// Appends decisions as [`Record::write_json`] wrote them, each line ended by a line
    /// feed, in one write.
    pub fn append_lines(&mut self, lines: &[u8]) -> Result<(), Diagnostic> {
        self.file.write_all(lines).map_err(|e| {
            Diagnostic::new(
                Code::Io,
                format!("cannot write to `{}`: {e}", self.path.display()),
            )
            .help("check the free space; run the same command again to resume")
        })
    }
}

/// A record that cannot be written out.
pub(crate) fn unrecorded(e: &serde_json::Error) -> Diagnostic {
    Diagnostic::new(Code::Io, format!("cannot record a result: {e}"))
}

#[derive(Debug, Deserialize)]
pub(crate) struct RecordRef<'a> {
    #[serde(borrow)]
    pub scenario: Cow<'a, str>,
    pub index: u64,
    #[serde(borrow, default)]
    pub steer: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub choice: Cow<'a, str>,
    #[serde(default)]
    pub position: Option<u64>,
    #[serde(borrow, default)]
    pub readings: Option<Readings<'a>>,
    #[serde(borrow, default)]
    pub probabilities: Option<Probabilities<'a>>,
    #[serde(borrow, default)]
    pub rule: Option<Cow<'a, str>>,
    #[serde(default)]
    pub epoch: u32,
    #[serde(default)]
    pub label_mass: Option<f64>,
    #[serde(default)]
    pub scores: Option<indexmap::IndexMap<String, Score>>,
}

/// A JSON object of probabilities per action, kept as its pairs, keys borrowed.
#[derive(Debug)]
pub(crate) struct Probabilities<'a>(pub Vec<(Name<'a>, f64)>);

impl<'de: 'a, 'a> Deserialize<'de> for Probabilities<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Pairs<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for Pairs<'a> {
            type Value = Probabilities<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object of probabilities per action")
            }
            fn visit_map<M: serde::de::MapAccess<'de>>(
                self,
                mut map: M,
            ) -> Result<Self::Value, M::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(2));
                while let Some((k, v)) = map.next_entry::<Name<'de>, f64>()? {
                    out.push((k, v));
                }
                Ok(Probabilities(out))
            }
        }
        d.deserialize_map(Pairs(std::marker::PhantomData))
    }
}

#[derive(Debug, Deserialize)]
pub(crate) struct Readings<'a> {
    #[serde(borrow, default)]
    pub logprobs: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub parse: Option<Cow<'a, str>>,
}

/// Borrowed result lines, for the batched reader.
pub(crate) struct RecordLines;

impl Line for RecordLines {
    type Out<'a> = RecordRef<'a>;
    fn parse(text: Text<'_>) -> Result<RecordRef<'_>, serde_json::Error> {
        text.scan_or_parse(RecordRef::scan)
    }
}

impl<'a> RecordRef<'a> {
    /// The line read by [`super::scan`]: `None` when it declines, and serde_json decides.
    pub(crate) fn scan(line: &'a str) -> Option<RecordRef<'a>> {
        let mut c = Cursor::new(line);
        let mut seen = Fields::default();
        let (mut scenario, mut index, mut choice) = (None, None, None);
        let mut record = RecordRef {
            scenario: Cow::Borrowed(""),
            index: 0,
            steer: None,
            choice: Cow::Borrowed(""),
            position: None,
            readings: None,
            probabilities: None,
            rule: None,
            epoch: 0,
            label_mass: None,
            scores: None,
        };
        c.object(|c, key| {
            let name = |c: &mut Cursor<'a>| c.string().map(Cow::Borrowed);
            match key {
                "scenario" => {
                    seen.first(0)?;
                    scenario = Some(name(c)?);
                }
                "index" => {
                    seen.first(1)?;
                    index = Some(c.parse()?);
                }
                "steer" => {
                    seen.first(2)?;
                    record.steer = c.optional(name)?;
                }
                "choice" => {
                    seen.first(3)?;
                    choice = Some(name(c)?);
                }
                "position" => {
                    seen.first(4)?;
                    record.position = c.optional(|c| c.parse())?;
                }
                "readings" => {
                    seen.first(5)?;
                    record.readings = c.optional(|c| {
                        let mut seen = Fields::default();
                        let (mut logprobs, mut parse) = (None, None);
                        c.object(|c, key| match key {
                            "logprobs" => {
                                seen.first(0)?;
                                logprobs = c.optional(name)?;
                                Some(())
                            }
                            "parse" => {
                                seen.first(1)?;
                                parse = c.optional(name)?;
                                Some(())
                            }
                            _ => c.skip(),
                        })?;
                        Some(Readings { logprobs, parse })
                    })?;
                }
                "probabilities" => {
                    seen.first(6)?;
                    record.probabilities = c.optional(|c| {
                        let mut pairs = Vec::with_capacity(2);
                        c.object(|c, action| {
                            pairs.push((Name(Cow::Borrowed(action)), c.parse()?));
                            Some(())
                        })?;
                        Some(Probabilities(pairs))
                    })?;
                }
                "rule" => {
                    seen.first(7)?;
                    record.rule = c.optional(name)?;
                }
                "epoch" => {
                    seen.first(8)?;
                    record.epoch = c.parse()?;
                }
                "label_mass" => {
                    seen.first(9)?;
                    record.label_mass = c.optional(|c| c.parse())?;
                }
                // Scores (of the readouts that choose by them) are few: serde reads them.
                "scores" => return None,
                _ => c.skip()?,
            }
            Some(())
        })?;
        c.end()?;
        record.scenario = scenario?;
        record.index = index?;
        record.choice = choice?;
        Some(record)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn results_error(name: &str, why: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::new(Code::Io, format!("cannot read the results `{name}`: {why}")).path(name)
}

/// Checks the first line of a results file and returns its header.
fn check_header(name: &str, first: &[u8]) -> Result<serde_json::Value, Diagnostic> {
    let header: Option<serde_json::Value> = serde_json::from_slice(first).ok();
    match header
        .as_ref()
        .and_then(|h| h.get("format"))
        .and_then(serde_json::Value::as_str)
    {
        Some("results") => Ok(header.unwrap_or_default()),
        Some("suite") => Err(Diagnostic::new(
            Code::Io,
            format!("`{name}` is a suite, not a results file"),
        )
        .path(name)
        .help(format!(
            "give the results of a run on it: `quandary eval {name}` writes them"
        ))),
        _ => Err(
            results_error(name, "its first line is not a results header")
                .help("give a results file written by `quandary eval`"),
        ),
    }
}

/// A results file opened for reading: its header read and checked.
pub struct ResultsFile<'a> {
    reader: Box<dyn std::io::BufRead + Send + 'a>,
    /// The results read at any offset, until they have been read.
    at: Option<super::Positional<'a>>,
    /// How messages name it.
    pub name: String,
    /// Its header.
    pub header: serde_json::Value,
}

impl<'a> ResultsFile<'a> {
    /// Opens the results and reads their header.
    pub fn open(input: Input<'a>) -> Result<ResultsFile<'a>, Diagnostic> {
        let name = input.name();
        let mut reader = input.open()?;
        let first = first_line(&mut reader, &name)?;
        let header = check_header(&name, &first)?;
        Ok(ResultsFile {
            reader,
            at: input.positional(),
            name,
            header,
        })
    }

    /// Calls `f` on every result, borrowed, with its line number; the lines are parsed in
    /// batches on two threads. A line that is not a result comes as an error, for the caller
    /// to decide (only a torn last line may be left out).
    pub(crate) fn each_borrowed(
        &mut self,
        each: impl FnMut(Result<RecordRef<'_>, serde_json::Error>, u64) -> Result<(), Diagnostic> + Send,
    ) -> Result<(), Diagnostic> {
        let name = self.name.clone();
        // Read once: what is read at offsets is not read again in turn.
        let at = super::Positional::once(&mut self.at, &mut self.reader);
        super::each_line::<RecordLines>(super::Body::of(&at, &mut self.reader), &name, each)
    }

    /// Calls `f` on every result, whole, in order; a last line that is not a result (torn by a
    /// run that was stopped) is left out, any other is an error.
    pub fn each(
        self,
        mut f: impl FnMut(Record) -> Result<(), Diagnostic>,
    ) -> Result<(), Diagnostic> {
        let name = self.name.clone();
        let mut lines = crate::input::Lines::numbered_from(self.reader, 2);
        loop {
            let (n, line) = match lines.next_line() {
                Ok(Some(l)) => l,
                Ok(None) => return Ok(()),
                Err(e) => {
                    let n = lines.number();
                    return Err(results_error(
                        &name,
                        format!("line {n}: {}", crate::input::why(&e)),
                    ));
                }
            };
            if crate::input::is_blank(line) {
                continue;
            }
            let record: Record = match serde_json::from_slice(line) {
                Ok(r) => r,
                Err(e) => {
                    let error = results_error(&name, format!("line {n} is not a result: {e}"))
                        .help("run the same `quandary eval` again: it drops a torn last line");
                    // Only a torn last line (of a run that was stopped) is left out.
                    return match lines.next_line() {
                        Ok(None) => Ok(()),
                        _ => Err(error),
                    };
                }
            };
            f(record)?;
        }
    }
}

/// The header of a results file; a file that is not one (a suite, say) is a diagnostic
/// saying what it is.
pub fn read_header(input: Input<'_>) -> Result<serde_json::Value, Diagnostic> {
    Ok(ResultsFile::open(input)?.header)
}

/// A request a journal answers: (scenario index, steer, epoch).
pub type RequestKey = (u64, Option<String>, u32);

/// What [`LineIndex`] reads of a journal's line: its request.
#[derive(Debug, Deserialize)]
struct Key<'a> {
    #[serde(default)]
    index: u64,
    #[serde(default, borrow)]
    steer: Option<Cow<'a, str>>,
    #[serde(default)]
    epoch: u32,
}

impl<'a> Key<'a> {
    /// The request of the line `raw`: read by [`super::scan`], or by serde_json when it
    /// declines.
    fn read(raw: &'a [u8]) -> Result<Key<'a>, serde_json::Error> {
        Text::of(raw).scan_or_parse(Key::scan)
    }

    fn scan(line: &'a str) -> Option<Key<'a>> {
        let mut c = Cursor::new(line);
        let mut seen = Fields::default();
        let mut key = Key {
            index: 0,
            steer: None,
            epoch: 0,
        };
        c.object(|c, field| {
            match field {
                "index" => {
                    seen.first(0)?;
                    key.index = c.parse()?;
                }
                "steer" => {
                    seen.first(1)?;
                    key.steer = c.optional(|c| c.string().map(Cow::Borrowed))?;
                }
                "epoch" => {
                    seen.first(2)?;
                    key.epoch = c.parse()?;
                }
                _ => c.skip()?,
            }
            Some(())
        })?;
        c.end()?;
        Some(key)
    }
}

/// Where the latest line of each request of a journal is, without holding the lines: what
/// reading a large journal again in another order needs.
pub struct LineIndex {
    /// The journal's header.
    pub header: serde_json::Value,
    /// The steers of its header, in order, the plain run first.
    pub steers: Vec<Option<String>>,
    /// The latest line of each request: its offset and length.
    pub latest: HashMap<RequestKey, (u64, usize)>,
}

impl LineIndex {
    /// Indexes the journal `input`; a torn last line is left out, any other line that is not
    /// a result is an error.
    pub fn read(input: Input<'_>) -> Result<LineIndex, Diagnostic> {
        let header = read_header(input)?;
        let name = input.name();
        let mut reader = input.open()?;
        let mut buf = Vec::new();
        let read = |reader: &mut dyn std::io::BufRead, buf: &mut Vec<u8>, line: u64| {
            crate::input::read_line(reader, buf, crate::input::MAX_LINE).map_err(|e| {
                results_error(&name, format!("line {line}: {}", crate::input::why(&e)))
            })
        };
        let mut offset = read(&mut reader, &mut buf, 1)? as u64;
        let mut latest = HashMap::new();
        let mut line = 1u64;
        loop {
            let n = read(&mut reader, &mut buf, line + 1)?;
            if n == 0 {
                break;
            }
            line += 1;
            let start = offset;
            offset += n as u64;
            if crate::input::is_blank(&buf) {
                continue;
            }
            match Key::read(&buf) {
                Ok(k) => {
                    latest.insert((k.index, k.steer.map(Cow::into_owned), k.epoch), (start, n));
                }
                // Only a torn last line (of a run that was stopped) is left out.
                Err(_) if reader.fill_buf().map_or(true, |b| b.is_empty()) => break,
                Err(e) => {
                    return Err(
                        results_error(&name, format!("line {line} is not a result: {e}")).help(
                            "only a last line torn by a run that was stopped is left out; a line \
                             in the middle that is not a result means the file was changed",
                        ),
                    );
                }
            }
        }
        let steers = std::iter::once(None)
            .chain(
                header
                    .get("steers")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(|s| s.get("id").and_then(serde_json::Value::as_str))
                    .map(|s| Some(s.to_string())),
            )
            .collect();
        Ok(LineIndex {
            header,
            steers,
            latest,
        })
    }

    /// The requests in order: by index, then steer as the header lists them (others after,
    /// by name), then epoch.
    pub fn in_order(&self) -> Vec<(&RequestKey, (u64, usize))> {
        let mut keys: Vec<(&RequestKey, (u64, usize))> =
            self.latest.iter().map(|(k, v)| (k, *v)).collect();
        sort_requests(&self.steers, &mut keys, |(k, _)| k);
        keys
    }
}

/// Sorts `items` by their request (`key` gives it): by index, then steer in the order of
/// `steers` (others after, by name), then epoch.
fn sort_requests<T>(steers: &[Option<String>], items: &mut [T], key: impl Fn(&T) -> &RequestKey) {
    let rank: HashMap<&Option<String>, usize> =
        steers.iter().enumerate().map(|(i, s)| (s, i)).collect();
    let order = |(i, s, e): &RequestKey| {
        (
            *i,
            rank.get(s).copied().unwrap_or(usize::MAX),
            s.clone(),
            *e,
        )
    };
    items.sort_by_cached_key(|item| order(key(item)));
}

/// Reads lines of one journal at their offsets (from a [`LineIndex`]), the file opened once.
pub struct LineReader<'a> {
    input: Input<'a>,
    file: Option<File>,
    /// The bytes of the file from `start`, read ahead for [`LineReader::line`].
    window: Vec<u8>,
    start: u64,
    /// How many bytes the next window reads, and how many lines the current one served.
    size: usize,
    hits: u32,
}

/// The bounds of a [`LineReader`]'s window: it doubles while lines are asked for near each
/// other (in the file's order, mostly) and halves when one served no other line.
const WINDOW: std::ops::RangeInclusive<usize> = 4 << 10..=1 << 20;

impl<'a> LineReader<'a> {
    /// A reader of `input`.
    pub fn new(input: Input<'a>) -> LineReader<'a> {
        LineReader {
            input,
            file: None,
            window: Vec::new(),
            start: 0,
            size: 64 << 10,
            hits: 0,
        }
    }

    /// The line at `offset`, `len` bytes long (with its line ending), borrowed: read through
    /// a window of the file, so that lines asked for in the file's order cost no read each.
    pub fn line(&mut self, (offset, len): (u64, usize)) -> Result<&[u8], Diagnostic> {
        let changed =
            |input: &Input<'_>| results_error(&input.name(), "it changed while it was read");
        let path = match self.input {
            Input::Bytes(_, bytes) => {
                return usize::try_from(offset)
                    .ok()
                    .and_then(|at| bytes.get(at..)?.get(..len))
                    .ok_or_else(|| changed(&self.input));
            }
            Input::Path(path) => path,
        };
        let end = offset.checked_add(len as u64);
        let held = self.start + self.window.len() as u64;
        if offset >= self.start && end.is_some_and(|end| end <= held) {
            self.hits += 1;
        } else {
            self.size = match self.hits {
                0 => self.size / 2,
                1..8 => self.size,
                _ => self.size * 2,
            }
            .clamp(*WINDOW.start(), *WINDOW.end());
            self.hits = 0;
            if self.file.is_none() {
                self.file = Some(
                    File::open(path)
                        .map_err(|e| results_error(&self.input.name(), crate::input::why(&e)))?,
                );
            }
            let Some(file) = self.file.as_mut() else {
                return Err(changed(&self.input));
            };
            self.window.clear();
            self.start = offset;
            file.seek(SeekFrom::Start(offset))
                .and_then(|_| {
                    file.take(len.max(self.size) as u64)
                        .read_to_end(&mut self.window)
                })
                .map_err(|e| results_error(&self.input.name(), crate::input::why(&e)))?;
        }
        usize::try_from(offset - self.start)
            .ok()
            .and_then(|at| self.window.get(at..)?.get(..len))
            .ok_or_else(|| changed(&self.input))
    }

    /// The bytes of the line at `offset`, `len` bytes long (with its line ending).
    pub fn bytes(&mut self, (offset, len): (u64, usize)) -> Result<Vec<u8>, Diagnostic> {
        let name = self.input.name();
        let changed = || results_error(&name, "it changed while it was read");
        match self.input {
            Input::Bytes(_, bytes) => bytes
                .get(offset as usize..offset as usize + len)
                .map(<[u8]>::to_vec)
                .ok_or_else(changed),
            Input::Path(path) => {
                if self.file.is_none() {
                    self.file = Some(
                        File::open(path)
                            .map_err(|e| results_error(&name, crate::input::why(&e)))?,
                    );
                }
                let file = self.file.as_mut().ok_or_else(changed)?;
                let mut bytes = vec![0; len];
                file.seek(SeekFrom::Start(offset))
                    .and_then(|_| file.read_exact(&mut bytes))
                    .map_err(|e| results_error(&name, crate::input::why(&e)))?;
                Ok(bytes)
            }
        }
    }

    /// The record at `at`.
    pub fn record(&mut self, at: (u64, usize)) -> Result<Record, Diagnostic> {
        let bytes = self.bytes(at)?;
        serde_json::from_slice(&bytes).map_err(|e| changed(&self.input.name(), e))
    }
}

/// The error of a journal `name` whose line, read again at its offset, is not what it was
/// (`why`).
pub(crate) fn changed(name: &str, why: impl std::fmt::Display) -> Diagnostic {
    results_error(name, format!("it changed while it was read: {why}"))
}

/// What [`merge`] wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Merged {
    /// Shard journals merged.
    pub shards: u64,
    /// Results written (the latest of each request).
    pub results: u64,
}

/// Merges the journals of the shards of one run (`eval --shard K/N`, every K from 1 to N)
/// into one journal on `out`: the header without `shard`, then the latest result of each
/// request, in the order of the suite, the steers and the epochs. The same shards give the
/// same bytes in any order; a report on the merged journal is a report on the unsharded
/// run. Journals of different suites, adapters or settings, a missing or repeated shard,
/// or a result in the wrong shard are refused before anything is written.
pub fn merge(inputs: &[Input<'_>], out: &mut dyn Write) -> Result<Merged, Diagnostic> {
    let refuse = |message: String, help: &str| {
        Diagnostic::new(Code::InvalidSetting, message).help(help.to_string())
    };
    let mut indexes = Vec::with_capacity(inputs.len());
    for input in inputs {
        indexes.push((LineIndex::read(*input)?, *input));
    }
    let Some((first, first_input)) = indexes.first() else {
        return Err(refuse(
            "no journal to merge".into(),
            "give the shards' journals",
        ));
    };
    let shard_of = |header: &serde_json::Value, name: &str| -> Result<(u64, u64), Diagnostic> {
        header
            .get("shard")
            .and_then(serde_json::Value::as_str)
            .and_then(|s| s.split_once('/'))
            .and_then(|(k, n)| Some((k.parse().ok()?, n.parse().ok()?)))
            .filter(|&(k, n): &(u64, u64)| k >= 1 && k <= n)
            .ok_or_else(|| {
                refuse(
                    format!("`{name}` is not the journal of a shard"),
                    "merge the journals written by `quandary eval --shard K/N`",
                )
            })
    };
    let (_, n) = shard_of(&first.header, &first_input.name())?;
    let mut seen: Vec<Option<String>> = vec![None; n as usize];
    for (index, input) in &indexes {
        let name = input.name();
        // What resuming a journal requires of it, its shard aside.
        for key in IDENTITY.iter().filter(|k| **k != "shard") {
            if index.header.get(key) != first.header.get(key) {
                return Err(refuse(
                    format!(
                        "`{name}` and `{}` are not shards of one run: their `{key}` differs",
                        first_input.name()
                    ),
                    "merge the shards of one `quandary eval` (same suite, adapter, prompt, steers and language)",
                ));
            }
        }
        let (k, m) = shard_of(&index.header, &name)?;
        if m != n {
            return Err(refuse(
                format!(
                    "`{name}` is shard {k} of {m}, `{}` one of {n}",
                    first_input.name()
                ),
                "merge the shards of one split",
            ));
        }
        if let Some(other) = &seen[(k - 1) as usize] {
            return Err(refuse(
                format!("`{name}` and `{other}` are both shard {k}/{n}"),
                "give each shard's journal once",
            ));
        }
        seen[(k - 1) as usize] = Some(name.clone());
        if let Some(((i, _, _), _)) = index.latest.iter().find(|((i, _, _), _)| i % n != k - 1) {
            return Err(refuse(
                format!(
                    "`{name}` (shard {k}/{n}) answers scenario {i}, which belongs to shard {}",
                    i % n + 1
                ),
                "merge journals written by `quandary eval --shard K/N`",
            ));
        }
    }
    let missing: Vec<String> = seen
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_none())
        .map(|(k, _)| format!("{}/{n}", k + 1))
        .collect();
    if !missing.is_empty() {
        return Err(refuse(
            format!(
                "shard{} {} of the run {} missing",
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                if missing.len() == 1 { "is" } else { "are" }
            ),
            "run the missing shards with `quandary eval --shard K/N` and merge every one",
        ));
    }
    let mut header = first.header.clone();
    if let Some(h) = header.as_object_mut() {
        h.remove("shard");
    }
    let write_error = |e: std::io::Error| {
        Diagnostic::new(
            Code::Io,
            format!("cannot write the merged journal: {}", crate::input::why(&e)),
        )
    };
    serde_json::to_writer(&mut *out, &header)
        .map_err(|e| Diagnostic::new(Code::Io, format!("cannot write the merged journal: {e}")))?;
    out.write_all(b"\n").map_err(write_error)?;
    // Every request of every shard, in order: shards hold disjoint scenarios.
    let mut all: Vec<(&RequestKey, (u64, usize), usize)> = Vec::new();
    for (s, (index, _)) in indexes.iter().enumerate() {
        all.extend(index.latest.iter().map(|(k, at)| (k, *at, s)));
    }
    sort_requests(&first.steers, &mut all, |(k, _, _)| k);
    let mut readers: Vec<LineReader<'_>> = indexes
        .iter()
        .map(|(_, input)| LineReader::new(*input))
        .collect();
    for (_, at, s) in &all {
        let mut bytes = readers[*s].bytes(*at)?;
        if bytes.last() != Some(&b'\n') {
            bytes.push(b'\n');
        }
        out.write_all(&bytes).map_err(write_error)?;
    }
    Ok(Merged {
        shards: n,
        results: all.len() as u64,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_written_as_serde_json_writes_them() {
        let texts = [
            "to_do",
            "",
            "a \"quoted\" \\ line\nwith\ttabs\u{1}\u{1f}\u{7f}",
            "ünïcödé ✓ 𝄞",
            "</script>",
        ];
        let floats = [
            0.0,
            0.1,
            1e300,
            -2.5e-10,
            f64::NAN,
            f64::INFINITY,
            123_456.789,
        ];
        let mut written = 0;
        for (i, text) in texts.iter().enumerate() {
            for (j, float) in floats.iter().enumerate() {
                let some = (i + j) % 2 == 0;
                let record = Record {
                    scenario: (*text).to_string(),
                    index: if some {
                        u64::MAX - j as u64
                    } else {
                        (i * 1_000_003 + j) as u64
                    },
                    twin_group: some.then(|| format!("{text}{j}")),
                    steer: (!some).then(|| (*text).to_string()),
                    epoch: (j % 3) as u32,
                    choice: (*text).to_string(),
                    position: some.then_some(j),
                    order: texts.iter().take(j).map(|t| (*t).to_string()).collect(),
                    probabilities: some
                        .then(|| [((*text).to_string(), *float), ("b".into(), 0.5)].into()),
                    readings: if some {
                        Default::default()
                    } else {
                        [("label".to_string(), (*text).to_string())].into()
                    },
                    raw: (!some).then(|| (*text).to_string()),
                    rule: some.then(|| (*text).to_string()),
                    reasoning: (j % 3 == 0).then(|| (*text).to_string()),
                    label_mass: (j % 2 == 1).then_some(*float),
                    scores: (j % 3 == 1).then(|| {
                        [(
                            (*text).to_string(),
                            Score {
                                logprob: Some(*float),
                                tokens: Some(3),
                                mean: None,
                                reward: Some(-1.0),
                            },
                        )]
                        .into()
                    }),
                    latency_ms: *float,
                    tokens: Tokens {
                        prompt: some.then_some(12),
                        completion: (!some).then_some(u64::MAX),
                    },
                    attempts: j as u32,
                };
                let mut fast = Vec::new();
                record.write_json(&mut fast).expect("write");
                let serde = serde_json::to_vec(&record).expect("serialize");
                assert_eq!(
                    String::from_utf8_lossy(&fast),
                    String::from_utf8_lossy(&serde)
                );
                written += 1;
            }
        }
        assert_eq!(written, texts.len() * floats.len());
    }

    #[test]
    fn requests_read_as_serde_json_reads_them() {
        crate::formats::scan::tests::differential(
            &[
                r#"{"scenario":"s87","index":3,"twin_group":"s87","steer":null,"choice":"to_do","position":0,"probabilities":{"to_do":0.5,"not":0.5},"raw":"A \"b\"","latency_ms":0.037109,"tokens":{"prompt":null,"completion":null},"attempts":1}"#,
                r#" { "index" : 12 , "steer" : "kind" , "epoch" : 4294967295 , "readings" : { "x" : [1, {}] } } "#,
                "{}",
            ],
            |l| Key::scan(l).map(|k| format!("{k:?}")),
            |l| serde_json::from_str::<Key<'_>>(l).map(|k| format!("{k:?}")),
        );
    }

    #[test]
    fn lines_are_read_at_their_offsets_in_any_order_through_the_window() {
        let path =
            std::env::temp_dir().join(format!("quandary-lines-test-{}.jsonl", std::process::id()));
        // Lines long enough that some cross the smallest window, 20,000 in all.
        let lines: Vec<String> = (0..20_000)
            .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "x".repeat(i % 700)))
            .collect();
        let text = lines.concat();
        std::fs::write(&path, &text).expect("write");
        let mut at = Vec::new();
        let mut offset = 0u64;
        for l in &lines {
            at.push((offset, l.len()));
            offset += l.len() as u64;
        }
        let bytes = Input::Bytes("lines", text.as_bytes());
        let file = Input::Path(&path);
        let mut readers = [LineReader::new(bytes), LineReader::new(file)];
        // In order, backwards, and strided far apart: the window grows, and shrinks.
        let order: Vec<usize> = (0..at.len())
            .chain((0..at.len()).rev())
            .chain((0..at.len()).map(|i| i * 7919 % at.len()))
            .collect();
        for reader in &mut readers {
            for &i in &order {
                assert_eq!(reader.line(at[i]).expect("a line"), lines[i].as_bytes());
            }
            // A line past the end is an error, not a panic.
            assert!(reader.line((offset - 2, 10)).is_err());
            assert!(reader.line((u64::MAX, 1)).is_err());
        }
        std::fs::remove_file(&path).ok();
    }
}
