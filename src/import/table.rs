//! CSV tables of the data sets: a header row, then one record per row, each with the line of
//! the input it starts on, so that a problem is reported where the reader can find it.

use super::{Problems, file_error, line_error};
use crate::diagnostic::Diagnostic;

/// The import stopped at a problem (under [`super::Options::strict`]).
#[derive(Debug)]
pub(crate) struct Stop;

/// Line numbers of byte offsets. (The CSV reader's own line numbers are one short after a
/// CRLF line ending, which the data sets use.)
pub(crate) struct Lines<'a> {
    bytes: &'a [u8],
    /// Offsets up to here are counted…
    counted: usize,
    /// …and hold this many line breaks.
    breaks: u64,
}

impl<'a> Lines<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Lines {
            bytes,
            counted: 0,
            breaks: 0,
        }
    }

    /// The 1-based line of the record starting at byte `offset`: the line of the first byte
    /// after any line breaks and blank lines there. Offsets must not decrease.
    pub(crate) fn at(&mut self, offset: u64) -> u64 {
        let mut start = (offset as usize).min(self.bytes.len());
        while start < self.bytes.len() && matches!(self.bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start > self.counted {
            self.breaks += self.bytes[self.counted..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.counted = start;
        }
        self.breaks + 1
    }
}

/// A CSV error in the words of the diagnostics.
pub(crate) fn csv_error(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Io(e) => format!("cannot be read: {e}"),
        _ => format!("is not valid CSV: {e}"),
    }
}

/// A CSV table being read: its header, then its rows (see [`open`]).
pub(crate) struct Table<'a> {
    /// The header's cells, trimmed.
    pub columns: Vec<String>,
    records: csv::ByteRecordsIntoIter<&'a [u8]>,
    lines: Lines<'a>,
    path: String,
    line: u64,
}

/// One row.
#[derive(Debug)]
pub(crate) struct Row {
    /// The line it starts on.
    pub line: u64,
    /// Its fields, one per column.
    pub fields: Vec<String>,
}

impl Table<'_> {
    /// The column named `name`, ignoring case.
    pub(crate) fn column(&self, name: &str) -> Option<usize> {
        self.columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    }
}

/// Opens the CSV table in `bytes` (a byte-order mark is skipped), named `path` in messages,
/// and reads its header; the error says why the header cannot be read. The rows follow in
/// order: a row that cannot be read — not CSV, more or fewer fields than the header, a field
/// that is not UTF-8 — comes as the diagnostic to report (it is left out).
pub(crate) fn open<'a>(bytes: &'a [u8], path: &str) -> Result<Table<'a>, Diagnostic> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut records = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes)
        .into_byte_records();
    let header = match records.next() {
        Some(Ok(h)) => h,
        Some(Err(e)) => return Err(line_error(path, 1, csv_error(&e))),
        None => return Err(file_error(path, "is empty: it has no header and no rows")),
    };
    Ok(Table {
        columns: header
            .iter()
            .map(|f| String::from_utf8_lossy(f).trim().to_string())
            .collect(),
        records,
        lines: Lines::new(bytes),
        path: path.to_string(),
        line: 1,
    })
}

impl Iterator for Table<'_> {
    type Item = Result<Row, Diagnostic>;

    fn next(&mut self) -> Option<Self::Item> {
        let record = self.records.next()?;
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let at = e
                    .position()
                    .map_or(self.line + 1, |p| self.lines.at(p.byte()));
                return Some(Err(line_error(&self.path, at, csv_error(&e))));
            }
        };
        self.line = record
            .position()
            .map_or(self.line + 1, |p| self.lines.at(p.byte()));
        let line = self.line;
        if record.len() != self.columns.len() {
            return Some(Err(line_error(
                &self.path,
                line,
                format!(
                    "{} fields where the header has {}; the row is left out",
                    record.len(),
                    self.columns.len()
                ),
            )));
        }
        let mut fields = Vec::with_capacity(record.len());
        for f in record.iter() {
            match std::str::from_utf8(f) {
                Ok(s) => fields.push(s.to_string()),
                Err(_) => {
                    return Some(Err(line_error(
                        &self.path,
                        line,
                        format!(
                            "the `{}` field is not UTF-8 text; the row is left out",
                            self.columns[fields.len()]
                        ),
                    )
                    .help("save the file as UTF-8")));
                }
            }
        }
        Some(Ok(Row { line, fields }))
    }
}

/// Reports a row's diagnostic; says whether to go on.
pub(crate) fn report(problems: &mut Problems, d: Diagnostic) -> Result<(), Stop> {
    if problems.report(d) {
        Ok(())
    } else {
        Err(Stop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_know_their_lines() {
        let csv = b"\xEF\xBB\xBFa,b\r\n1,2\r\n\r\n3\r\n\"x\r\ny\",4\r\n5,caf\xe9\r\n6,7\r\n";
        let table = open(csv, "dir/t.csv").unwrap();
        assert_eq!(table.columns, ["a", "b"]);
        type Read = Result<(u64, Vec<String>), String>;
        let rows: Vec<Read> = table
            .map(|r| r.map(|r| (r.line, r.fields)).map_err(|d| d.message))
            .collect();
        let row =
            |line, fields: &[&str]| Ok((line, fields.iter().map(|f| f.to_string()).collect()));
        assert_eq!(
            rows,
            [
                row(2, &["1", "2"]),
                Err("t.csv line 4: 1 fields where the header has 2; the row is left out".into()),
                row(5, &["x\r\ny", "4"]),
                Err("t.csv line 7: the `b` field is not UTF-8 text; the row is left out".into()),
                row(8, &["6", "7"]),
            ]
        );
    }

    #[test]
    fn an_empty_input_has_no_header() {
        let Err(d) = open(b"", "t.csv") else {
            panic!("an empty table opens")
        };
        assert_eq!(d.message, "t.csv: is empty: it has no header and no rows");
    }
}
