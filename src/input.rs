//! Reading input with bounds: no file, line or stream read here can make memory grow
//! without limit, whatever it is (`/dev/zero`, a pipe that never ends, a file with no line
//! breaks). Every reader of the crate goes through these.

use std::io::{BufRead, Read};
use std::path::Path;

/// The largest source file (`.qd`) read: far above any real framework (the 250,000 CVC
/// rules are 33 MB), far below what parsing it would need in memory.
pub const MAX_SOURCE: u64 = 128 << 20;

/// The largest data file read whole (CSV, JSON, a replayed answer file).
pub const MAX_DATA: u64 = 1 << 30;

/// The longest line of a JSON Lines file (a suite, a results journal) or of a program's
/// answer: a scenario's text is at most 64 KiB, so a longer line is not one we wrote.
pub const MAX_LINE: usize = 16 << 20;

/// The error of an input past its bound.
pub fn too_large(limit: u64) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!("it is larger than {}, the most read", size(limit)),
    )
}

/// The error of a line past its bound.
pub fn line_too_long(limit: usize) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        format!(
            "a line is longer than {}, the most read",
            size(limit as u64)
        ),
    )
}

/// `bytes` for people: `16 MiB`, `1 GiB`.
pub fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Everything `reader` holds, failing with [`too_large`] past `limit` bytes.
pub fn read_all(reader: impl Read, limit: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(too_large(limit));
    }
    Ok(bytes)
}

/// The file at `path`, failing with [`too_large`] past `limit` bytes (a directory fails as
/// the operating system says).
pub fn read_file(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::open(path)?;
    if let Ok(meta) = file.metadata() {
        if meta.is_dir() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::IsADirectory,
                "it is a directory",
            ));
        }
        if meta.is_file() && meta.len() > limit {
            return Err(too_large(limit));
        }
    }
    read_all(file, limit)
}

/// Why an input could not be read, for a message: `no such file`, `permission denied`,
/// `it is a directory`, `it is larger than 1 GiB, the most read`, ….
pub fn why(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".to_string(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_string(),
        std::io::ErrorKind::IsADirectory => "it is a directory".to_string(),
        // The bounds' own messages, as written.
        std::io::ErrorKind::InvalidData => e.to_string(),
        _ => e.to_string().to_lowercase(),
    }
}

/// The file at `path` (at most `limit` bytes), or why it cannot be read ([`why`]).
pub fn read(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    read_file(path, limit).map_err(|e| why(&e))
}

/// Reads one line (with its `\n`, if any) into `buf`, which is cleared first; returns the
/// bytes read, 0 at the end. A line longer than `limit` fails with [`line_too_long`] — the
/// reader is then somewhere inside that line.
pub fn read_line(
    reader: &mut (impl BufRead + ?Sized),
    buf: &mut Vec<u8>,
    limit: usize,
) -> std::io::Result<usize> {
    buf.clear();
    let mut read = 0;
    through_line(reader, |part| {
        read += part.len();
        if read > limit.saturating_add(1) {
            return Err(line_too_long(limit));
        }
        buf.extend_from_slice(part);
        Ok(())
    })?;
    Ok(read)
}

/// Hands `each` the bytes of `reader` up to and including the next `\n`, a buffer at a time.
fn through_line(
    reader: &mut (impl BufRead + ?Sized),
    mut each: impl FnMut(&[u8]) -> std::io::Result<()>,
) -> std::io::Result<()> {
    loop {
        let available = match reader.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if available.is_empty() {
            return Ok(());
        }
        let (used, done) = match memchr::memchr(b'\n', available) {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        each(&available[..used])?;
        reader.consume(used);
        if done {
            return Ok(());
        }
    }
}

/// The lines of a JSON Lines file, each at most [`MAX_LINE`] bytes, numbered from 1.
pub struct Lines<R> {
    reader: R,
    buf: Vec<u8>,
    number: u64,
}

impl<R: BufRead> Lines<R> {
    /// Lines read from `reader`.
    pub fn new(reader: R) -> Lines<R> {
        Lines {
            reader,
            buf: Vec::new(),
            number: 0,
        }
    }

    /// Lines read from `reader`, the first of them numbered `first` (2 after a header read
    /// apart).
    pub fn numbered_from(reader: R, first: u64) -> Lines<R> {
        Lines {
            reader,
            buf: Vec::new(),
            number: first.saturating_sub(1),
        }
    }

    /// The reader, where the lines read so far end.
    pub fn into_inner(self) -> R {
        self.reader
    }

    /// The number of the line read last (or being read, after an error).
    pub fn number(&self) -> u64 {
        self.number
    }

    /// The next line without its line ending, with its number; `None` at the end.
    pub fn next_line(&mut self) -> std::io::Result<Option<(u64, &[u8])>> {
        self.number += 1;
        if read_line(&mut self.reader, &mut self.buf, MAX_LINE)? == 0 {
            return Ok(None);
        }
        let mut line = &self.buf[..];
        if let Some(rest) = line.strip_suffix(b"\n") {
            line = rest.strip_suffix(b"\r").unwrap_or(rest);
        }
        Ok(Some((self.number, line)))
    }
}

/// Whether a line holds nothing but white space: such lines are skipped in every JSON
/// Lines file, written by quandary or not.
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// Skips the rest of the current line (through its `\n`); returns the bytes skipped.
pub fn skip_line(reader: &mut (impl BufRead + ?Sized)) -> std::io::Result<u64> {
    let mut skipped = 0u64;
    through_line(reader, |part| {
        skipped += part.len() as u64;
        Ok(())
    })?;
    Ok(skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_bounded() {
        let mut r = std::io::BufReader::with_capacity(4, &b"ab\ncdefgh\nij"[..]);
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut r, &mut buf, 5).unwrap(), 3);
        assert_eq!(buf, b"ab\n");
        assert!(read_line(&mut r, &mut buf, 5).is_err());
        assert!(skip_line(&mut r).unwrap() > 0);
        assert_eq!(read_line(&mut r, &mut buf, 5).unwrap(), 2);
        assert_eq!(buf, b"ij");
        assert_eq!(read_line(&mut r, &mut buf, 5).unwrap(), 0);
    }

    #[test]
    fn a_line_of_exactly_the_limit_fits() {
        let mut r = std::io::BufReader::new(&b"abcde\n"[..]);
        let mut buf = Vec::new();
        assert_eq!(read_line(&mut r, &mut buf, 5).unwrap(), 6);
    }

    #[test]
    fn endless_input_stops_at_the_bound() {
        let zeros = std::io::repeat(0);
        let e = read_all(zeros, 1 << 20).unwrap_err();
        assert!(e.to_string().contains("larger than 1 MiB"), "{e}");
        let mut r = std::io::BufReader::new(std::io::repeat(0));
        let mut buf = Vec::new();
        let e = read_line(&mut r, &mut buf, 1 << 20).unwrap_err();
        assert!(e.to_string().contains("longer than 1 MiB"), "{e}");
    }
}
