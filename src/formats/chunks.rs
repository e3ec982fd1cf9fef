//! The lines of a file worked on by two threads a chunk at a time, each chunk's result
//! taken in order.
//!
//! Each thread takes the next chunk of lines (reading it itself: at its offset from a
//! regular file or bytes in memory, else the next lines of a stream, in turn), works on it
//! — parsing, asking — and then waits for its turn: when every chunk before it has been
//! taken, it runs the ordered part (handing on answers, tallying) and passes the turn. So
//! reading and parsing run on both threads, nothing waits for a whole batch to end, and at
//! most two chunks are held at a time, whatever the file's size.

use std::io::Read;
use std::sync::{Condvar, Mutex, PoisonError};

use super::Text;
use crate::diagnostic::Diagnostic;

/// How much is read at a time, and the longest line (no shorter than a chunk).
#[derive(Clone, Copy)]
pub(crate) struct Sizes {
    /// The bytes in which a thread finds the lines it works on: those that start in them.
    chunk: usize,
    /// The longest line read (a longer one is an error).
    line: usize,
}

pub(crate) const SIZES: Sizes = Sizes {
    chunk: 4 << 20,
    line: crate::input::MAX_LINE,
};

/// The chunks `eval` reads a suite in: 1 MiB, so that the copy the kernel makes of one into
/// the buffer is still in the processor's own cache (typically 1–2 MiB a core) when its
/// lines are parsed and asked, where the last part of a 4 MiB chunk would not be. `eval`
/// with the profile agent took 4% less time and 30% less memory
/// (`scripts/measure-eval.sh`); `report`, whose ordered part of a chunk is longer, took
/// 18% more with them, and keeps [`SIZES`].
pub(crate) const SUITE_SIZES: Sizes = Sizes {
    chunk: 1 << 20,
    line: crate::input::MAX_LINE,
};

/// Threads working on chunks (the caller's and one more).
const THREADS: usize = 2;

/// A buffer to read into whose bytes start at a 64-byte boundary: the kernel copies into
/// one that does not (a heap block starts 16 bytes into its page) several times slower on
/// some processors.
pub(crate) struct Aligned {
    bytes: Vec<u8>,
    pad: usize,
}

impl Aligned {
    pub(crate) fn new() -> Aligned {
        Aligned {
            bytes: Vec::new(),
            pad: 0,
        }
    }

    /// Makes room for `len` bytes, keeping the first `held`. A new buffer is asked for
    /// zeroed (`calloc`), not grown and filled with zeros: a large one then comes as fresh
    /// pages, which the kernel zeroes as they are first written, and a page never written
    /// (past a short file's end) costs nothing. It at least doubles, so a line read a
    /// little at a time is copied a few times, not once a step.
    pub(crate) fn room(&mut self, held: usize, len: usize) {
        if self.bytes.len() < self.pad + len {
            let mut bytes = vec![0u8; (len + 64).max(2 * self.bytes.len())];
            let pad = bytes.as_ptr().align_offset(64).min(63);
            bytes[pad..pad + held].copy_from_slice(&self.bytes[self.pad..self.pad + held]);
            self.bytes = bytes;
            self.pad = pad;
        }
    }

    /// The bytes (as many as the room made).
    pub(crate) fn get(&self) -> &[u8] {
        &self.bytes[self.pad..]
    }

    pub(crate) fn get_mut(&mut self) -> &mut [u8] {
        &mut self.bytes[self.pad..]
    }
}

/// A file or bytes read at any offset.
pub(crate) enum Positional<'a> {
    /// A regular file.
    File(std::fs::File),
    /// Bytes in memory.
    Bytes(&'a [u8]),
}

impl Positional<'_> {
    /// Reads into `buf` from `offset`; 0 at the end.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        match self {
            Positional::Bytes(bytes) => {
                let from = usize::try_from(offset)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                let n = buf.len().min(bytes.len() - from);
                buf[..n].copy_from_slice(&bytes[from..from + n]);
                Ok(n)
            }
            #[cfg(unix)]
            Positional::File(file) => std::os::unix::fs::FileExt::read_at(file, buf, offset),
            #[cfg(windows)]
            Positional::File(file) => std::os::windows::fs::FileExt::seek_read(file, buf, offset),
            #[cfg(not(any(unix, windows)))]
            Positional::File(_) => Err(std::io::Error::from(std::io::ErrorKind::Unsupported)),
        }
    }

    /// Reads `len` bytes from `offset` into `buf` after its first `held` bytes, or what
    /// there is before the input ends: the bytes it holds after them.
    fn fill(
        &self,
        buf: &mut Aligned,
        held: usize,
        mut offset: u64,
        len: usize,
    ) -> std::io::Result<usize> {
        let target = held + len;
        buf.room(held, target);
        let mut at = held;
        while at < target {
            match self.read_at(&mut buf.get_mut()[at..target], offset) {
                Ok(0) => break,
                Ok(n) => {
                    at += n;
                    offset += n as u64;
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(at)
    }
}

/// Where the lines come from.
pub(crate) enum Body<'s, 'a> {
    /// The whole input read at any offset; its first line (the header) is passed over.
    At(&'s Positional<'a>),
    /// A stream, after its header, read in turn.
    Stream(&'s mut (dyn Read + Send + 'a)),
}

impl<'s, 'a> Body<'s, 'a> {
    /// The lines after a header: at their offsets when `at` holds the input, else read in
    /// turn from `reader`.
    pub(crate) fn of(
        at: &'s Option<Positional<'a>>,
        reader: &'s mut (dyn Read + Send + 'a),
    ) -> Body<'s, 'a> {
        match at {
            Some(at) => Body::At(at),
            None => Body::Stream(reader),
        }
    }
}

impl<'a> Positional<'a> {
    /// The input read at offsets, for one reading of the lines after its header: taken from
    /// `at`, and `reader` emptied, so a second reading finds nothing, as it would in turn.
    pub(crate) fn once(
        at: &mut Option<Positional<'a>>,
        reader: &mut Box<dyn std::io::BufRead + Send + 'a>,
    ) -> Option<Positional<'a>> {
        let taken = at.take();
        if taken.is_some() {
            *reader = Box::new(std::io::empty());
        }
        taken
    }
}

/// A stream read a chunk at a time: what follows the last whole line read waits for the
/// next.
struct Stream<'s, 'a> {
    reader: &'s mut (dyn Read + Send + 'a),
    rest: Vec<u8>,
}

/// What a thread found in its chunk (in its buffer).
enum Chunk {
    /// Whole lines, from `start` to `end`.
    Lines { start: usize, end: usize },
    /// Nothing: the input ended before the chunk.
    End,
    /// Reading failed: at the line so numbered in the chunk, when it is known, and why.
    Failed(Option<u64>, String),
}

/// Whose turn it is.
struct Schedule<E> {
    /// The next chunk to take.
    next: usize,
    /// The chunk whose ordered part runs next.
    turn: usize,
    /// The number of the last line of the chunks before `turn`.
    base: u64,
    /// Set at the end of the input, or at an error: nothing more is taken or run.
    over: bool,
    error: Option<E>,
}

struct Shared<S, E> {
    schedule: Mutex<Schedule<E>>,
    moved: Condvar,
    state: Mutex<S>,
}

impl<S, E> Shared<S, E> {
    fn schedule(&self) -> std::sync::MutexGuard<'_, Schedule<E>> {
        self.schedule.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The next chunk to take; `None` when the work is over.
    fn take(&self) -> Option<usize> {
        let mut s = self.schedule();
        if s.over {
            return None;
        }
        s.next += 1;
        Some(s.next - 1)
    }

    /// Waits for `chunk`'s turn: the number of the line before the chunk, or `None` when
    /// the work ended first.
    fn wait(&self, chunk: usize) -> Option<u64> {
        let mut s = self.schedule();
        while s.turn != chunk && !s.over {
            s = self.moved.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
        (!s.over).then_some(s.base)
    }

    /// Ends the work (with `error`, unless one came before).
    fn end(&self, error: Option<E>) {
        let mut s = self.schedule();
        s.over = true;
        if s.error.is_none() {
            s.error = error;
        }
        self.moved.notify_all();
    }
}

/// A chunk's turn: [`Turn::take`] runs its ordered part.
pub(crate) struct Turn<'s, S, E> {
    shared: &'s Shared<S, E>,
    chunk: usize,
    lines: u64,
    taken: bool,
}

impl<S, E> Turn<'_, S, E> {
    /// Waits until every chunk before this one has had its turn, then runs `f` on the
    /// ordered state with the number of the line before this chunk's first (the line
    /// numbered `n` in the chunk is line `base + n` of the file), and passes the turn on.
    /// An error of `f` ends the work: no later chunk's turn comes. `false` when the work
    /// ended before this turn (`f` is not run) or at its error. Once a chunk: later calls
    /// do nothing.
    pub(crate) fn take(&mut self, f: impl FnOnce(&mut S, u64) -> Result<(), E>) -> bool {
        if std::mem::replace(&mut self.taken, true) {
            return false;
        }
        let Some(base) = self.shared.wait(self.chunk) else {
            return false;
        };
        // Nobody else runs an ordered part until the turn is passed.
        let done = {
            let mut state = self
                .shared
                .state
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            f(&mut state, base)
        };
        match done {
            Ok(()) => {
                let mut s = self.shared.schedule();
                s.turn += 1;
                s.base += self.lines;
                self.shared.moved.notify_all();
                true
            }
            Err(e) => {
                self.shared.end(Some(e));
                false
            }
        }
    }
}

impl<S, E> Drop for Turn<'_, S, E> {
    /// A chunk whose work panicked ends the work, so no other thread waits for its turn.
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.shared.end(None);
        }
    }
}

/// Hands the lines of `source` after its header (blank lines left out, each numbered
/// within its chunk from 1; as checked text with `text`, else as bytes) a chunk at a time
/// to `work` on two threads; `work` gives each chunk's ordered part to its [`Turn`], which
/// runs it on `state` in the order of the chunks. The errors of reading are made by `fail` (from the number of the line, when it
/// is known, and why). The first error ends the work and is returned.
pub(crate) fn each_chunk<S: Send, E: Send + From<Diagnostic>>(
    sizes: Sizes,
    source: Body<'_, '_>,
    fail: &(dyn Fn(Option<u64>, String) -> Diagnostic + Sync),
    state: S,
    text: bool,
    work: &(impl Fn(&[(u64, Text<'_>)], &mut Turn<'_, S, E>) + Sync),
) -> Result<(), E> {
    let (positional, stream) = match source {
        Body::At(p) => (Some(p), None),
        Body::Stream(reader) => (
            None,
            Some(Mutex::new(Stream {
                reader,
                rest: Vec::new(),
            })),
        ),
    };
    let shared = Shared {
        schedule: Mutex::new(Schedule {
            next: 0,
            turn: 0,
            // A stream's header is read: its first line here is line 2.
            base: u64::from(positional.is_none()),
            over: false,
            error: None,
        }),
        moved: Condvar::new(),
        state: Mutex::new(state),
    };
    let worker = || {
        let mut buf = Aligned::new();
        loop {
            let (chunk, read) = match (positional, &stream) {
                (Some(p), _) => {
                    let Some(chunk) = shared.take() else { return };
                    (chunk, read_at(sizes, p, chunk, &mut buf))
                }
                (None, Some(stream)) => {
                    // Taken and read under one lock, so the chunks come in order.
                    let mut stream = stream.lock().unwrap_or_else(PoisonError::into_inner);
                    let Some(chunk) = shared.take() else { return };
                    (chunk, read_stream(sizes, &mut stream, &mut buf))
                }
                (None, None) => return,
            };
            match read {
                Chunk::Lines { start, end } => {
                    let header = chunk == 0 && positional.is_some();
                    let (lines, count) = lines_in(&buf.get()[start..end], header, text);
                    let mut turn = Turn {
                        shared: &shared,
                        chunk,
                        lines: count,
                        taken: false,
                    };
                    work(&lines, &mut turn);
                    if !turn.taken {
                        turn.take(|_, _| Ok(()));
                    }
                }
                Chunk::End => {
                    if shared.wait(chunk).is_some() {
                        shared.end(None);
                    }
                    return;
                }
                Chunk::Failed(n, why) => {
                    if let Some(base) = shared.wait(chunk) {
                        shared.end(Some(fail(n.map(|n| base + n), why).into()));
                    }
                    return;
                }
            }
        }
    };
    let broke = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..THREADS).map(|_| scope.spawn(worker)).collect();
        worker();
        helpers.into_iter().any(|h| h.join().is_err())
    });
    let schedule = shared
        .schedule
        .into_inner()
        .unwrap_or_else(PoisonError::into_inner);
    match schedule.error {
        Some(e) => Err(e),
        None if broke => Err(fail(None, "a reading thread stopped unexpectedly".into()).into()),
        None => Ok(()),
    }
}

/// The error of reading, as the file readers say it.
fn why(e: &std::io::Error) -> String {
    e.to_string().to_lowercase()
}

/// Reads the lines that start in chunk `chunk` of `input` into `buf`.
fn read_at(sizes: Sizes, input: &Positional<'_>, chunk: usize, buf: &mut Aligned) -> Chunk {
    let begin = (chunk * sizes.chunk) as u64;
    // From the byte before the chunk: a line starts at `begin` when it follows a line end.
    let from = begin.saturating_sub(1);
    let window = sizes.chunk + usize::from(chunk > 0);
    let mut len = match input.fill(buf, 0, from, window) {
        Ok(len) => len,
        Err(e) => return Chunk::Failed(None, why(&e)),
    };
    if len <= usize::from(chunk > 0) {
        return Chunk::End;
    }
    // A line end at `i` starts a line in the chunk when `i + 1` is in it.
    let ends = len.min(window - 1);
    let start = if chunk == 0 {
        0
    } else {
        match memchr::memchr(b'\n', &buf.get()[..ends]) {
            Some(i) => i + 1,
            // A line from an earlier chunk runs through this one.
            None => return Chunk::Lines { start: 0, end: 0 },
        }
    };
    // The last line that starts in the chunk ends at the first line end past it.
    let last = memchr::memrchr(b'\n', &buf.get()[..ends])
        .map_or(0, |i| i + 1)
        .max(start);
    let mut searched = ends;
    // What is read past the chunk to end its last line: a little first, more as it goes on.
    let mut past = 64 << 10;
    let end = loop {
        if let Some(i) = memchr::memchr(b'\n', &buf.get()[searched..len]) {
            break searched + i + 1;
        }
        searched = len;
        if len - last > sizes.line + 1 {
            return too_long(sizes, &buf.get()[start..last]);
        }
        past = (past * 2).min(4 << 20);
        match input.fill(buf, len, from + len as u64, past / 2) {
            Ok(more) if more == len => break len,
            Ok(more) => len = more,
            Err(e) => return Chunk::Failed(None, why(&e)),
        }
    };
    if end - last > sizes.line + 1 {
        return too_long(sizes, &buf.get()[start..last]);
    }
    Chunk::Lines {
        start,
        end: end.max(start),
    }
}

/// The error of the line after the whole lines `before` (of its chunk): longer than the
/// bound.
fn too_long(sizes: Sizes, before: &[u8]) -> Chunk {
    let n = memchr::memchr_iter(b'\n', before).count() as u64 + 1;
    Chunk::Failed(
        Some(n),
        crate::input::why(&crate::input::line_too_long(sizes.line)),
    )
}

/// Reads the next whole lines of `stream` into `buf`: a chunk's bytes or more, unless the
/// stream ends first.
fn read_stream(sizes: Sizes, stream: &mut Stream<'_, '_>, buf: &mut Aligned) -> Chunk {
    let mut held = stream.rest.len();
    buf.room(0, held);
    buf.get_mut()[..held].copy_from_slice(&stream.rest);
    stream.rest.clear();
    let mut at_end = false;
    loop {
        if at_end {
            return match held {
                0 => Chunk::End,
                _ => Chunk::Lines {
                    start: 0,
                    end: held,
                },
            };
        }
        if held >= sizes.chunk {
            match memchr::memrchr(b'\n', &buf.get()[..held]) {
                Some(i) => {
                    stream.rest.extend_from_slice(&buf.get()[i + 1..held]);
                    return Chunk::Lines {
                        start: 0,
                        end: i + 1,
                    };
                }
                None if held > sizes.line => return too_long(sizes, &[]),
                // One line, longer than a chunk: read on.
                None => {}
            }
        }
        match read_more(stream.reader, buf, held, sizes.chunk.min(1 << 20)) {
            Ok(more) => {
                at_end = more == held;
                held = more;
            }
            Err(e) => return Chunk::Failed(None, why(&e)),
        }
    }
}

/// Reads what `reader` gives next (at most `most` bytes) into `buf` after its first `held`
/// bytes: the bytes it holds then (as many at the end).
fn read_more(
    reader: &mut (dyn Read + Send + '_),
    buf: &mut Aligned,
    held: usize,
    most: usize,
) -> std::io::Result<usize> {
    let room = held + most;
    buf.room(held, room);
    loop {
        match reader.read(&mut buf.get_mut()[held..room]) {
            Ok(n) => return Ok(held + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// The lines of `body` that are not blank, numbered from 1 (without the first, the header,
/// when `header`): with `check`, checked as UTF-8 all at once, or line by line when they
/// are not all; and how many lines it holds, blank ones and the header included.
fn lines_in(body: &[u8], header: bool, check: bool) -> (Vec<(u64, Text<'_>)>, u64) {
    let text = if check {
        // In vector steps: several times the speed of `std::str::from_utf8` on a chunk.
        simdutf8::basic::from_utf8(body).ok()
    } else {
        None
    };
    let mut lines = Vec::with_capacity(body.len() / 512 + 1);
    let mut start = 0;
    let mut n = 0;
    for end in super::line_ends(body) {
        n += 1;
        let line = match text {
            Some(t) => Text::Str(t.get(start..end).unwrap_or_default()),
            None if check => Text::of(&body[start..end]),
            None => Text::Bytes(&body[start..end]),
        };
        start = end + 1;
        let skipped = (header && n == 1) || line.is_blank();
        if !skipped {
            lines.push((n, line));
        }
    }
    (lines, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stream that gives at most `step` bytes a read.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = self.step.min(buf.len()).min(self.data.len());
            buf[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    type Seen = Vec<(u64, Vec<u8>, bool)>;

    /// The lines of `text` after its header, as a reader must hand them out: numbered from
    /// 1 (the header), blank ones left out, checked text unless not UTF-8.
    fn expected(text: &[u8]) -> Seen {
        let mut lines = Vec::new();
        let mut start = 0;
        for (i, end) in crate::formats::line_ends(text).enumerate() {
            let line = &text[start..end];
            start = end + 1;
            if i > 0 && !crate::input::is_blank(line) {
                lines.push((
                    i as u64 + 1,
                    line.to_vec(),
                    std::str::from_utf8(line).is_ok(),
                ));
            }
        }
        lines
    }

    /// A header line `h`, then the lines `0` to `lines - 1`.
    fn counted(lines: usize) -> String {
        std::iter::once("h\n".to_string())
            .chain((0..lines).map(|i| format!("{i}\n")))
            .collect()
    }

    fn fail(n: Option<u64>, why: String) -> Diagnostic {
        Diagnostic::new(crate::diagnostic::Code::Io, format!("line {n:?}: {why}"))
    }

    /// What `each_chunk` hands out of `text`, read at offsets when `step` is 0, else
    /// streamed `step` bytes at a time (after the header, as the readers do).
    fn seen(text: &[u8], sizes: Sizes, step: usize) -> Result<Seen, Diagnostic> {
        let mut seen = Vec::new();
        let work = |lines: &[(u64, Text<'_>)], turn: &mut Turn<'_, &mut Seen, Diagnostic>| {
            let owned: Vec<_> = lines
                .iter()
                .map(|&(n, l)| (n, l.bytes().to_vec(), matches!(l, Text::Str(_))))
                .collect();
            turn.take(|seen, base| {
                seen.extend(owned.into_iter().map(|(n, l, s)| (base + n, l, s)));
                Ok(())
            });
        };
        if step == 0 {
            let at = Positional::Bytes(text);
            each_chunk(sizes, Body::At(&at), &fail, &mut seen, true, &work)?;
        } else {
            let header = text
                .iter()
                .position(|&b| b == b'\n')
                .map_or(text.len(), |i| i + 1);
            let mut stream = Trickle {
                data: &text[header..],
                step,
            };
            each_chunk(
                sizes,
                Body::Stream(&mut stream),
                &fail,
                &mut seen,
                true,
                &work,
            )?;
        }
        Ok(seen)
    }

    #[test]
    fn every_line_comes_once_in_order_with_its_number_whatever_the_chunks() {
        let long = "y".repeat(300);
        let texts: Vec<Vec<u8>> = vec![
            b"{\"header\":1}\n{\"a\":1}\n{\"b\":2}\n".to_vec(),
            b"{\"header\":1}\n{\"a\":1}\n\n  \n{\"b\":2}".to_vec(),
            b"{\"header\":1}\r\n{\"a\":1}\r\n\r\n{\"b\":2}\r\n".to_vec(),
            b"{\"header\":1}".to_vec(),
            b"{\"header\":1}\n".to_vec(),
            b"\n\n\n".to_vec(),
            format!("{{\"h\":0}}\n{long}\n{{}}\n{long}{long}\n\n{long}").into_bytes(),
            [&b"h\n{\"bad\":\"\xff\xfe\"}\nok\n"[..], "ü\n".as_bytes()].concat(),
            (0..500)
                .map(|i| format!("{{\"n\":{i},\"pad\":\"{}\"}}\n", "x".repeat(i % 37)))
                .collect::<String>()
                .into_bytes(),
        ];
        let mut cases = 0;
        for text in &texts {
            let want = expected(text);
            for chunk in [1, 2, 3, 7, 64, 1000, 4 << 20] {
                let sizes = Sizes {
                    chunk,
                    line: 1 << 20,
                };
                for step in [0, 1, 5, 4096] {
                    let got = seen(text, sizes, step).map_err(|d| d.message);
                    assert_eq!(
                        got.as_ref(),
                        Ok(&want),
                        "chunk {chunk}, step {step}, text {:?}",
                        String::from_utf8_lossy(text)
                    );
                    cases += 1;
                }
            }
        }
        assert_eq!(cases, texts.len() * 7 * 4);
    }

    #[test]
    fn a_line_past_the_bound_is_an_error_at_its_number() {
        let text = format!("h\n{{}}\n\n{}\n{{}}\n", "z".repeat(100));
        let sizes = Sizes {
            chunk: 16,
            line: 40,
        };
        for step in [0, 3, 4096] {
            let got = seen(text.as_bytes(), sizes, step).map_err(|d| d.message);
            assert_eq!(
                got,
                Err("line Some(4): a line is longer than 40 bytes, the most read".to_string()),
                "step {step}"
            );
        }
    }

    #[test]
    fn an_error_of_an_ordered_part_ends_the_work_after_the_parts_before_it() {
        let text = counted(200);
        let at = Positional::Bytes(text.as_bytes());
        let mut taken = Vec::new();
        let got = each_chunk(
            Sizes { chunk: 8, line: 64 },
            Body::At(&at),
            &fail,
            &mut taken,
            true,
            &|lines, turn: &mut Turn<'_, &mut Vec<u64>, Diagnostic>| {
                let numbers: Vec<u64> = lines.iter().map(|&(n, _)| n).collect();
                turn.take(|taken, base| {
                    for n in numbers {
                        if base + n == 100 {
                            return Err(fail(Some(100), "stop".into()));
                        }
                        taken.push(base + n);
                    }
                    Ok(())
                });
            },
        );
        assert_eq!(
            got.map_err(|d| d.message),
            Err("line Some(100): stop".into())
        );
        assert_eq!(taken, (2..100).collect::<Vec<u64>>());
    }

    #[test]
    fn a_panic_in_the_work_ends_it_without_leaving_a_thread_waiting() {
        let text = counted(200);
        let at = Positional::Bytes(text.as_bytes());
        for panicking in ["3", "150"] {
            let ended = std::panic::catch_unwind(|| {
                each_chunk(
                    Sizes { chunk: 8, line: 64 },
                    Body::At(&at),
                    &fail,
                    (),
                    true,
                    &|lines, turn: &mut Turn<'_, (), Diagnostic>| {
                        if lines
                            .iter()
                            .any(|&(_, l)| l.bytes() == panicking.as_bytes())
                        {
                            panic!("a bug");
                        }
                        turn.take(|(), _| Ok(()));
                    },
                )
            });
            // Either thread may be the one that panicked: the call returns either way.
            match ended {
                Err(_) => {}
                Ok(r) => assert_eq!(
                    r.map_err(|d| d.message),
                    Err("line None: a reading thread stopped unexpectedly".into())
                ),
            }
        }
    }
}
