//! The files quandary writes and reads, each with one owner: the suite (`suite`: a header
//! line, then one scenario, question or stance line each) and the results journal
//! (`results`: a header line, then one answer each). Each module has the typed lines, the
//! one reader (owned lines, or borrowed lines parsed on two threads a chunk at a time:
//! `chunks`) and the one writer of its format. Every reader takes an [`Input`]: a file,
//! or bytes in memory.

mod chunks;
pub mod results;
pub(crate) mod scan;
pub mod suite;

use std::io::BufRead;
use std::path::Path;

use serde::Deserialize;

pub(crate) use self::chunks::{Body, Positional, Turn};
use crate::diagnostic::{Code, Diagnostic};

/// Where a file's bytes come from.
#[derive(Clone, Copy, Debug)]
pub enum Input<'a> {
    /// A file.
    Path(&'a Path),
    /// Bytes in memory, with the name messages give them.
    Bytes(&'a str, &'a [u8]),
}

impl<'a> Input<'a> {
    /// How messages name it: the path, or the name given.
    pub fn name(&self) -> String {
        match self {
            Input::Path(p) => p.display().to_string(),
            Input::Bytes(name, _) => (*name).to_string(),
        }
    }

    /// The path, when it is a file.
    pub fn path(&self) -> Option<&'a Path> {
        match self {
            Input::Path(p) => Some(p),
            Input::Bytes(..) => None,
        }
    }

    /// The input read at any offset: a regular file (opened again), or the bytes; `None`
    /// for anything else (a pipe, a device), which is read in turn.
    pub(crate) fn positional(&self) -> Option<Positional<'a>> {
        match *self {
            Input::Bytes(_, bytes) => Some(Positional::Bytes(bytes)),
            Input::Path(path) => {
                let file = std::fs::File::open(path).ok()?;
                file.metadata()
                    .is_ok_and(|m| m.is_file())
                    .then_some(Positional::File(file))
            }
        }
    }

    /// A reader from its start.
    pub fn open(&self) -> Result<Box<dyn BufRead + Send + 'a>, Diagnostic> {
        match *self {
            Input::Bytes(_, bytes) => Ok(Box::new(bytes)),
            Input::Path(path) => {
                let file = std::fs::File::open(path)
                    .map_err(|e| io_error(&self.name(), crate::input::why(&e)))?;
                if file.metadata().is_ok_and(|m| m.is_dir()) {
                    return Err(io_error(&self.name(), "it is a directory"));
                }
                Ok(Box::new(std::io::BufReader::with_capacity(1 << 20, file)))
            }
        }
    }
}

/// `cannot read `NAME`: WHY`, about the file `name`.
pub(crate) fn io_error(name: &str, why: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::new(Code::Io, format!("cannot read `{name}`: {why}")).path(name)
}

/// The first line of `reader`, without its line ending (empty for an empty file).
pub(crate) fn first_line(reader: &mut dyn BufRead, name: &str) -> Result<Vec<u8>, Diagnostic> {
    let mut buf = Vec::new();
    crate::input::read_line(reader, &mut buf, crate::input::MAX_LINE)
        .map_err(|e| io_error(name, format!("line 1: {}", crate::input::why(&e))))?;
    while matches!(buf.last(), Some(b'\n' | b'\r')) {
        buf.pop();
    }
    Ok(buf)
}

/// A kind of JSON line that can be parsed borrowing from its bytes.
pub(crate) trait Line {
    /// The parsed line.
    type Out<'a>: Send;
    /// Parses one line.
    fn parse(text: Text<'_>) -> Result<Self::Out<'_>, serde_json::Error>;
}

/// A line: text already known to be UTF-8 (parsed without checking it again), or bytes.
#[derive(Clone, Copy)]
pub(crate) enum Text<'a> {
    /// Checked text.
    Str(&'a str),
    /// Unchecked bytes.
    Bytes(&'a [u8]),
}

impl<'a> Text<'a> {
    pub(crate) fn parse<T: Deserialize<'a>>(self) -> Result<T, serde_json::Error> {
        match self {
            Text::Str(s) => serde_json::from_str(s),
            Text::Bytes(b) => serde_json::from_slice(b),
        }
    }

    /// The bytes as text when they are UTF-8.
    pub(crate) fn of(raw: &'a [u8]) -> Text<'a> {
        match simdutf8::basic::from_utf8(raw) {
            Ok(s) => Text::Str(s),
            Err(_) => Text::Bytes(raw),
        }
    }

    /// The line's bytes.
    pub(crate) fn bytes(self) -> &'a [u8] {
        match self {
            Text::Str(s) => s.as_bytes(),
            Text::Bytes(b) => b,
        }
    }

    /// The line read by `scan` (a strict one-pass reader of lines as quandary writes them,
    /// see [`scan`]) when it is checked text and `scan` takes it, else by serde_json.
    pub(crate) fn scan_or_parse<T: Deserialize<'a>>(
        self,
        scan: impl FnOnce(&'a str) -> Option<T>,
    ) -> Result<T, serde_json::Error> {
        if let Text::Str(line) = self
            && let Some(read) = scan(line)
        {
            return Ok(read);
        }
        self.parse()
    }

    fn is_blank(&self) -> bool {
        match self {
            Text::Str(s) => s.bytes().all(|b| b.is_ascii_whitespace()),
            Text::Bytes(b) => b.iter().all(u8::is_ascii_whitespace),
        }
    }
}

/// Bytes read at a time, cut at the last whole line.
const BATCH_BYTES: usize = 8 << 20;

/// Reads the JSON lines of `source` after its header (the first is line 2), parses them
/// on two threads, a chunk at a time, and hands them to `each` in order with their line
/// numbers. Blank lines are skipped.
pub(crate) fn each_line<L: Line>(
    source: Body<'_, '_>,
    path: &str,
    each: impl FnMut(Result<L::Out<'_>, serde_json::Error>, u64) -> Result<(), Diagnostic> + Send,
) -> Result<(), Diagnostic> {
    each_line_with::<L, Diagnostic>(
        source,
        &|line, why| match line {
            Some(n) => io_error(path, format!("line {n}: {why}")),
            None => io_error(path, why),
        },
        each,
    )
}

/// [`each_line`], with the errors of reading made by `fail` (from the number of the line
/// being read, when it is known, and why), and those of `each` of any type.
pub(crate) fn each_line_with<L: Line, E: Send + From<Diagnostic>>(
    source: Body<'_, '_>,
    fail: &(dyn Fn(Option<u64>, String) -> Diagnostic + Sync),
    each: impl FnMut(Result<L::Out<'_>, serde_json::Error>, u64) -> Result<(), E> + Send,
) -> Result<(), E> {
    chunks::each_chunk(chunks::SIZES, source, fail, each, true, &|lines, turn| {
        let parsed: Vec<_> = lines.iter().map(|&(n, l)| (L::parse(l), n)).collect();
        turn.take(|each, base| {
            parsed
                .into_iter()
                .try_for_each(|(line, n)| each(line, base + n))
        });
    })
}

/// Where the lines of `chunk` end: at each `\n`, and at its end when it does not end in one.
pub(crate) fn line_ends(chunk: &[u8]) -> impl Iterator<Item = usize> + '_ {
    let cut = chunk.len();
    memchr::memchr_iter(b'\n', chunk).chain((cut > 0 && chunk[cut - 1] != b'\n').then_some(cut))
}

/// Reads what is left in `reader` in batches of whole lines and hands each to `each` with the
/// number of the line before its first (1 for the first batch: the header is line 1), which
/// `each` moves on past the lines it has seen.
pub(crate) fn each_batch<E: From<Diagnostic>>(
    reader: &mut (impl std::io::Read + ?Sized),
    fail: &dyn Fn(Option<u64>, String) -> Diagnostic,
    mut each: impl FnMut(&[u8], &mut u64) -> Result<(), E>,
) -> Result<(), E> {
    // One buffer throughout, never cleared: what is left of a batch (the start of a line)
    // is moved to its front.
    let mut buf = chunks::Aligned::new();
    let mut len = 0;
    let mut line_no = 1u64;
    let mut at_end = false;
    while !at_end {
        // Fill the batch (past a line longer than a batch, if need be).
        let target = BATCH_BYTES.max(len + (1 << 20));
        buf.room(len, target);
        while len < target {
            match reader.read(&mut buf.get_mut()[len..target]) {
                Ok(0) => {
                    at_end = true;
                    break;
                }
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(fail(None, e.to_string().to_lowercase()).into()),
            }
        }
        // Whole lines only; the rest waits for the next batch.
        let cut = if at_end {
            len
        } else {
            match memchr::memrchr(b'\n', &buf.get()[..len]) {
                Some(i) => i + 1,
                None if len > crate::input::MAX_LINE => {
                    return Err(fail(
                        Some(line_no + 1),
                        crate::input::why(&crate::input::line_too_long(crate::input::MAX_LINE)),
                    )
                    .into());
                }
                None => continue,
            }
        };
        each(&buf.get()[..cut], &mut line_no)?;
        buf.get_mut().copy_within(cut..len, 0);
        len -= cut;
    }
    Ok(())
}
