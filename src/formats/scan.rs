//! A strict, narrow reader of JSON lines, for the few fields a report reads of millions of
//! lines: it finds them in one pass without building anything for the rest. It reads only
//! what it is sure of and declines (`None`) anything else — an escape in a string it hands
//! out, a duplicate field, a nesting deeper than [`MAX_DEPTH`], a number or a shape it does
//! not expect — and the caller then parses the line with serde_json, whose result or error
//! stands. So a line it reads, serde_json reads the same (a differential test holds the two
//! together), and a line it declines costs one more parse.

/// Deeper values are declined (serde_json's own limit is 128).
const MAX_DEPTH: u32 = 64;

/// A position in one line of text.
#[derive(Clone)]
pub(crate) struct Cursor<'a> {
    text: &'a str,
    at: usize,
    depth: u32,
    /// The offset of the 64-byte block of the line whose stops are in `stops`
    /// (`usize::MAX`: none yet).
    block: usize,
    /// One bit for each byte of that block that stops a string's text: a quote, a
    /// backslash or a control byte (past the line's end, every byte).
    stops: u64,
}

/// The stops (see [`Cursor::stops`]) of the 64 bytes of `bytes` from `start`: four 16-byte
/// vector compares (16 GB/s; a loop over the bytes, which the compiler leaves a byte at a
/// time, 0.8 GB/s).
fn stops_at(bytes: &[u8], start: usize) -> u64 {
    use wide::u8x16;
    let rest = bytes.get(start..).unwrap_or_default();
    let (quote, backslash, control) = (u8x16::splat(b'"'), u8x16::splat(b'\\'), u8x16::splat(0x1f));
    let mask = |lanes: &[[u8; 16]]| {
        let mut stops = 0u64;
        for (k, lane) in lanes.iter().enumerate() {
            let v = u8x16::new(*lane);
            let stop = v.cmp_eq(quote) | v.cmp_eq(backslash) | v.min(control).cmp_eq(v);
            stops |= u64::from(stop.move_mask() as u16) << (16 * k);
        }
        stops
    };
    match rest.first_chunk::<64>() {
        // Read where they are.
        Some(block) => mask(block.as_chunks::<16>().0),
        None => {
            // The line's last bytes, then zeros: control bytes, which stop a string (and
            // are not in the line).
            let mut block = [0u8; 64];
            block[..rest.len()].copy_from_slice(rest);
            mask(block.as_chunks::<16>().0)
        }
    }
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `text`.
    pub(crate) fn new(text: &'a str) -> Cursor<'a> {
        Cursor {
            text,
            at: 0,
            depth: 0,
            block: usize::MAX,
            stops: 0,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    /// Skips JSON whitespace.
    fn space(&mut self) {
        let b = self.bytes();
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = b.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte that is not whitespace, not taken.
    #[inline(always)]
    fn peek(&mut self) -> Option<u8> {
        // Lines as quandary writes them have no whitespace between tokens: one compare.
        match self.bytes().get(self.at) {
            Some(&b) if b > b' ' => Some(b),
            _ => {
                self.space();
                self.bytes().get(self.at).copied()
            }
        }
    }

    /// Takes `byte`, after whitespace.
    #[inline(always)]
    fn eat(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// Takes `word` if it is next.
    #[inline(always)]
    fn word(&mut self, word: &str) -> Option<()> {
        self.bytes()
            .get(self.at..)?
            .starts_with(word.as_bytes())
            .then(|| self.at += word.len())
    }

    /// Takes `null` if it is next; `false` (nothing taken) otherwise.
    #[inline(always)]
    fn null(&mut self) -> bool {
        self.peek() == Some(b'n') && self.word("null").is_some()
    }

    /// The end of the line: whitespace only.
    pub(crate) fn end(&mut self) -> Option<()> {
        self.space();
        (self.at == self.text.len()).then_some(())
    }

    /// Moves past the text of a string (its opening quote taken) up to the next quote or
    /// backslash, and past it; declines at a control character or the end. The stops of
    /// each 64-byte block are found once, so most strings cost one look at a bit mask.
    #[inline(always)]
    fn plain(&mut self) -> Option<u8> {
        let bytes = self.bytes();
        let mut at = self.at;
        loop {
            let start = at & !63;
            if start >= bytes.len() {
                return None;
            }
            if self.block != start {
                self.block = start;
                self.stops = stops_at(bytes, start);
            }
            let stops = self.stops & (u64::MAX << (at - start));
            if stops != 0 {
                let i = start + stops.trailing_zeros() as usize;
                let stop = *bytes.get(i)?;
                if stop < 0x20 {
                    return None;
                }
                self.at = i + 1;
                return Some(stop);
            }
            at = start + 64;
        }
    }

    /// A string without escapes, borrowed; declines any other, and is then where it was
    /// (so that a caller can read it another way).
    #[inline(always)]
    pub(crate) fn string(&mut self) -> Option<&'a str> {
        let from = self.at;
        let text = self.plain_string();
        if text.is_none() {
            self.at = from;
        }
        text
    }

    #[inline(always)]
    fn plain_string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        match self.plain()? {
            b'"' => self.text.get(start..self.at - 1),
            _ => None,
        }
    }

    /// The length in bytes of a string as serde_json reads it (its escapes decoded), without
    /// building it; declines an escape of half a surrogate pair, which serde_json refuses.
    pub(crate) fn string_len(&mut self) -> Option<usize> {
        self.eat(b'"')?;
        let mut len = 0;
        loop {
            let from = self.at;
            let stop = self.plain()?;
            len += self.at - 1 - from;
            if stop == b'"' {
                return Some(len);
            }
            let b = self.bytes();
            match *b.get(self.at)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => {
                    self.at += 1;
                    len += 1;
                }
                b'u' => {
                    let unit = self.hex(self.at + 1)?;
                    self.at += 5;
                    len += match unit {
                        0..0x80 => 1,
                        0x80..0x800 => 2,
                        0xD800..0xDC00 => {
                            // A high surrogate stands only before a low one: four bytes.
                            if b.get(self.at..self.at + 2)? != b"\\u" {
                                return None;
                            }
                            let low = self.hex(self.at + 2)?;
                            if !(0xDC00..0xE000).contains(&low) {
                                return None;
                            }
                            self.at += 6;
                            4
                        }
                        0xDC00..0xE000 => return None,
                        _ => 3,
                    };
                }
                _ => return None,
            }
        }
    }

    /// The four hex digits at `at`, as a number.
    fn hex(&self, at: usize) -> Option<u32> {
        let hex = self.bytes().get(at..at + 4)?;
        if !hex.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()
    }

    /// Skips a string, escapes checked as serde_json checks them.
    #[inline(always)]
    fn skip_string(&mut self) -> Option<()> {
        self.eat(b'"')?;
        self.string_rest()
    }

    /// Skips the rest of a string whose opening quote is taken.
    #[inline(always)]
    fn string_rest(&mut self) -> Option<()> {
        loop {
            if self.plain()? == b'"' {
                return Some(());
            }
            let b = self.bytes();
            match *b.get(self.at)? {
                b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
                b'u' => {
                    let hex = b.get(self.at + 1..self.at + 5)?;
                    if !hex.iter().all(u8::is_ascii_hexdigit) {
                        return None;
                    }
                    self.at += 5;
                }
                _ => return None,
            }
        }
    }

    /// The text of a number, its grammar checked.
    #[inline(always)]
    fn number(&mut self) -> Option<&'a str> {
        self.space();
        let b = self.bytes();
        let start = self.at;
        let mut i = start;
        let digits = |i: &mut usize| {
            let from = *i;
            while b.get(*i).is_some_and(u8::is_ascii_digit) {
                *i += 1;
            }
            *i > from
        };
        if b.get(i) == Some(&b'-') {
            i += 1;
        }
        match b.get(i)? {
            b'0' => i += 1,
            b'1'..=b'9' => {
                digits(&mut i);
            }
            _ => return None,
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            if !digits(&mut i) {
                return None;
            }
        }
        if let Some(b'e' | b'E') = b.get(i) {
            i += 1;
            if let Some(b'+' | b'-') = b.get(i) {
                i += 1;
            }
            if !digits(&mut i) {
                return None;
            }
        }
        // A digit straight after a leading zero is not a number.
        if b.get(i).is_some_and(u8::is_ascii_digit) {
            return None;
        }
        self.at = i;
        self.text.get(start..i)
    }

    /// A number as `T` reads it through serde_json (the same digits give the same value).
    pub(crate) fn parse<T: serde::de::DeserializeOwned>(&mut self) -> Option<T> {
        serde_json::from_str(self.number()?).ok()
    }

    /// `true` or `false`.
    #[inline(always)]
    pub(crate) fn boolean(&mut self) -> Option<bool> {
        match self.peek()? {
            b't' => self.word("true").map(|()| true),
            b'f' => self.word("false").map(|()| false),
            _ => None,
        }
    }

    /// `None` for `null`, else what `read` reads.
    pub(crate) fn optional<T>(
        &mut self,
        read: impl FnOnce(&mut Self) -> Option<T>,
    ) -> Option<Option<T>> {
        if self.null() {
            return Some(None);
        }
        read(self).map(Some)
    }

    /// Skips any value, checked as [`Cursor::object`] and [`Cursor::array`] check theirs
    /// (keys may have escapes: serde_json passes over them too). One loop over its tokens,
    /// the open brackets kept as bits (1 for an object), not a call for each value: most of
    /// what a reader passes over is small objects and arrays of strings.
    pub(crate) fn skip(&mut self) -> Option<()> {
        // Worked on as a copy of the cursor, whose fields then stay in registers.
        let mut c = self.clone();
        c.skip_here()?;
        *self = c;
        Some(())
    }

    #[inline(always)]
    fn skip_here(&mut self) -> Option<()> {
        // The brackets open in the value, innermost in the lowest bit, and how many.
        let (mut open, mut depth) = (0u64, 0u32);
        loop {
            // A value.
            match self.peek()? {
                b'"' => {
                    self.at += 1;
                    self.string_rest()?;
                }
                open_with @ (b'{' | b'[') => {
                    if self.depth + depth >= MAX_DEPTH {
                        return None;
                    }
                    self.at += 1;
                    let object = open_with == b'{';
                    let close = if object { b'}' } else { b']' };
                    if self.peek()? == close {
                        self.at += 1;
                    } else {
                        open = (open << 1) | u64::from(object);
                        depth += 1;
                        if object {
                            self.key()?;
                        }
                        continue;
                    }
                }
                b'-' | b'0'..=b'9' => {
                    self.number()?;
                }
                b't' | b'f' => {
                    self.boolean()?;
                }
                b'n' => self.word("null")?,
                _ => return None,
            }
            // What follows it: another item, or the ends of what it closes.
            loop {
                if depth == 0 {
                    return Some(());
                }
                let object = open & 1 == 1;
                match self.peek()? {
                    b',' => {
                        self.at += 1;
                        if object {
                            self.key()?;
                        }
                        break;
                    }
                    b'}' if object => {}
                    b']' if !object => {}
                    _ => return None,
                }
                self.at += 1;
                open >>= 1;
                depth -= 1;
            }
        }
    }

    /// A key passed over, and its colon.
    #[inline(always)]
    fn key(&mut self) -> Option<()> {
        self.skip_string()?;
        self.eat(b':')
    }

    /// The text of any value, as serde_json's raw values hold it.
    pub(crate) fn raw(&mut self) -> Option<&'a str> {
        self.space();
        let start = self.at;
        self.skip()?;
        self.text.get(start..self.at)
    }

    fn enter(&mut self, open: u8) -> Option<()> {
        self.eat(open)?;
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// An object: `field` is called with each key (without escapes), the cursor before its
    /// value, and must take the value.
    pub(crate) fn object(
        &mut self,
        mut field: impl FnMut(&mut Self, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.enter(b'{')?;
        if self.peek()? != b'}' {
            loop {
                let key = self.string()?;
                self.eat(b':')?;
                field(self, key)?;
                match self.peek()? {
                    b',' => self.at += 1,
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        self.at += 1;
        self.depth -= 1;
        Some(())
    }

    /// An array: `item` is called before each value and must take it.
    pub(crate) fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.enter(b'[')?;
        if self.peek()? != b']' {
            loop {
                item(self)?;
                match self.peek()? {
                    b',' => self.at += 1,
                    b']' => break,
                    _ => return None,
                }
            }
        }
        self.at += 1;
        self.depth -= 1;
        Some(())
    }
}

/// Which fields of an object were seen: a field met twice is declined (serde_json refuses
/// it).
#[derive(Default)]
pub(crate) struct Fields(u32);

impl Fields {
    /// Marks field `bit`; `None` if it was marked already.
    pub(crate) fn first(&mut self, bit: u32) -> Option<()> {
        let mask = 1u32.checked_shl(bit)?;
        if self.0 & mask != 0 {
            return None;
        }
        self.0 |= mask;
        Some(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn skipped(text: &str) -> Option<&str> {
        let mut c = Cursor::new(text);
        let raw = c.raw()?;
        c.end()?;
        Some(raw)
    }

    #[test]
    fn a_string_it_declines_leaves_the_cursor_where_it_was() {
        // An escape: declined, then read whole from the same place.
        let mut c = Cursor::new(r#"["x", "a\"b","c"]"#);
        assert_eq!(c.eat(b'['), Some(()));
        assert_eq!(c.string(), Some("x"));
        assert_eq!(c.eat(b','), Some(()));
        assert_eq!(c.string(), None);
        assert_eq!(c.raw(), Some(r#""a\"b""#));
        assert_eq!(c.eat(b','), Some(()));
        assert_eq!(c.string(), Some("c"));
        // A control character, and a string never closed: declined, the cursor unmoved.
        for text in ["\"tab\tin\"", "\"open"] {
            let mut c = Cursor::new(text);
            assert_eq!(c.string(), None, "{text:?}");
            assert_eq!(c.at, 0, "{text:?}");
        }
    }

    #[test]
    fn reads_what_json_allows_and_declines_the_rest() {
        for good in [
            r#" {"a" : [1, -0.5e+3, true, false, null, "x\"\u00e9\\"], "b": {}} "#,
            "[]",
            "0",
            "-12.25E-2",
            r#""\/\b\f\n\r\t""#,
        ] {
            assert_eq!(skipped(good), Some(good.trim()), "{good}");
            assert!(serde_json::from_str::<serde_json::Value>(good).is_ok());
        }
        for bad in [
            "01",
            "-",
            "1.",
            "1e",
            ".5",
            "+1",
            "[1,]",
            "{\"a\":1,}",
            "{\"a\"}",
            "[1 2]",
            "nul",
            "tru",
            "\"\u{1}\"",
            r#""\x""#,
            r#""\u12g4""#,
            "\"open",
            "{1:2}",
            "[1] x",
        ] {
            assert_eq!(skipped(bad), None, "{bad}");
        }
        let deep = format!("{}{}", "[".repeat(70), "]".repeat(70));
        assert_eq!(skipped(&deep), None, "too deep: declined");
        // As deep as allowed, counted from where the skip starts.
        let deepest = |n: usize| format!("{}1{}", r#"{"a":["#.repeat(n), "]}".repeat(n));
        assert!(skipped(&deepest(32)).is_some());
        assert_eq!(skipped(&deepest(33)), None);
        let mut c = Cursor::new(r#"{"a":[[1]]}"#);
        c.depth = MAX_DEPTH - 2;
        assert_eq!(c.skip(), None);
        let mut c = Cursor::new(r#"{"a":[1]}"#);
        c.depth = MAX_DEPTH - 2;
        assert_eq!(c.skip(), Some(()));
        // Keys with escapes, and any values, are passed over as serde_json passes them.
        let escaped = r#"{"a\"b":{"\u00e9":[{},[],"",0,{"x":null}]},"c":[true,false]}"#;
        assert_eq!(skipped(escaped), Some(escaped));
        for bad in [
            r#"{"a":1 "b":2}"#,
            r#"{"a" 1}"#,
            "[1}",
            r#"{"a":1]"#,
            r#"[{"a":}]"#,
        ] {
            assert_eq!(skipped(bad), None, "{bad}");
        }
    }

    #[test]
    fn strings_with_escapes_are_not_handed_out() {
        assert_eq!(Cursor::new(r#""plain""#).string(), Some("plain"));
        assert_eq!(Cursor::new(r#""a\"b""#).string(), None);
        assert_eq!(Cursor::new("\"a\tb\"").string(), None);
    }

    #[test]
    fn string_lengths_are_those_of_the_strings_serde_json_reads() {
        for good in [
            r#""""#,
            r#""plain""#,
            r#""a\"b\\c\/d\b\f\n\r\t""#,
            r#""\u0000\u007f\u0080\u07ff\u0800\uffff\uD83D\uDE00 ünï""#,
            "\"中文\"",
        ] {
            let text: String = serde_json::from_str(good).expect("a string");
            assert_eq!(Cursor::new(good).string_len(), Some(text.len()), "{good}");
        }
        for bad in [
            r#""\uD83D""#,
            r#""\uD83Dx""#,
            r#""\uD83D\u0041""#,
            r#""\uDE00""#,
            r#""\u12""#,
            r#""\q""#,
            "\"\u{1}\"",
            r#""open"#,
        ] {
            assert_eq!(Cursor::new(bad).string_len(), None, "{bad}");
        }
    }

    /// What [`Cursor::plain`] finds, a byte at a time: where the text after `at` stops and
    /// what stops it.
    fn plain_by_bytes(line: &[u8], at: usize) -> Option<(usize, u8)> {
        let i = at
            + line[at..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)?;
        (line[i] >= 0x20).then_some((i + 1, line[i]))
    }

    #[test]
    fn strings_stop_where_a_byte_at_a_time_stops_them_across_blocks() {
        // A quote, a backslash, a control byte, or none (the line's end) at places all over
        // lines that end in the first, second and third block and around their edges, read
        // from every start.
        for len in (1..=12).chain(58..=70).chain(124..=132) {
            for stop in [None, Some(b'"'), Some(b'\\'), Some(b'\t'), Some(0x1f)] {
                for place in (0..len).step_by(7).chain([len - 1]) {
                    let mut line = vec![b'a'; len];
                    line[len / 3] = 0xc3; // not ASCII: not a stop
                    if let Some(stop) = stop {
                        line[place] = stop;
                    }
                    let text = String::from_utf8_lossy(&line).into_owned();
                    let bytes = text.as_bytes();
                    for at in 0..bytes.len() {
                        let mut c = Cursor::new(&text);
                        // A cursor that has looked at an earlier block first, as one does.
                        c.at = at / 2;
                        let _ = c.clone().plain();
                        c.at = at;
                        let found = c.plain().map(|b| (c.at, b));
                        assert_eq!(found, plain_by_bytes(bytes, at), "{text:?} from {at}");
                    }
                }
            }
        }
    }

    #[test]
    fn numbers_read_as_serde_json_reads_them() {
        assert_eq!(Cursor::new("0.1").parse::<f64>(), Some(0.1));
        assert_eq!(Cursor::new("7").parse::<f64>(), Some(7.0));
        assert_eq!(Cursor::new("-1").parse::<u64>(), None);
        assert_eq!(Cursor::new("1.0").parse::<u64>(), None);
        assert_eq!(Cursor::new("18446744073709551616").parse::<u64>(), None);
        assert_eq!(Cursor::new("4294967295").parse::<u32>(), Some(u32::MAX));
    }

    /// Every line one edit away from `line`: each character left out, and each of a few
    /// bytes that matter to JSON put in before it or in its place.
    pub(crate) fn edits(line: &str) -> Vec<String> {
        const BYTES: &[&str] = &[
            "\"", "\\", ",", ":", "{", "}", "[", "]", " ", "0", "-", ".", "e", "n", "t", "x",
            "\u{1}", "\\u00", "null", "1e400",
        ];
        let mut out = Vec::new();
        for (i, ch) in line.char_indices() {
            let (before, after) = (&line[..i], &line[i + ch.len_utf8()..]);
            out.push(format!("{before}{after}"));
            for b in BYTES {
                out.push(format!("{before}{b}{ch}{after}"));
                out.push(format!("{before}{b}{after}"));
            }
        }
        out
    }

    /// `scan` reads what serde_json reads, or declines: never a line serde_json refuses,
    /// never other values.
    pub(crate) fn differential(
        lines: &[&str],
        scan: impl Fn(&str) -> Option<String>,
        serde: impl Fn(&str) -> Result<String, serde_json::Error>,
    ) {
        for line in lines {
            assert!(scan(line).is_some(), "the fast path reads {line}");
            for edited in std::iter::once(line.to_string()).chain(edits(line)) {
                if let Some(fast) = scan(&edited) {
                    match serde(&edited) {
                        Ok(slow) => assert_eq!(fast, slow, "{edited}"),
                        Err(e) => panic!("read a line serde_json refuses ({e}): {edited}"),
                    }
                }
            }
        }
    }

    #[test]
    fn result_lines_read_as_serde_json_reads_them() {
        use crate::formats::results::RecordRef;
        differential(
            &[
                r#"{"scenario":"s87","index":0,"twin_group":"s87","steer":null,"choice":"to_do","position":0,"order":["to_do","not_to_do"],"probabilities":{"to_do":0.598687660112452,"not_to_do":0.401312339887548},"raw":null,"latency_ms":0.037109,"tokens":{"prompt":null,"completion":null},"attempts":1}"#,
                r#" { "scenario" : "s1" , "index" : 12 , "steer" : "kind" , "epoch" : 2 , "choice" : "b" , "position" : null , "readings" : { "logprobs" : "a" , "parse" : "b" , "x" : [1] } , "rule" : "final answer" , "label_mass" : 0.25 , "raw" : "B, \"because\" \u00e9 \n" , "reasoning" : "\ud83d\ude00" , "probabilities" : null } "#,
                r#"{"scenario":"s2","index":3,"choice":"unparsed","readings":null,"rule":null,"label_mass":null,"probabilities":{"a":1,"a":-2.5E-3}}"#,
            ],
            |l| RecordRef::scan(l).map(|r| format!("{r:?}")),
            |l| serde_json::from_str::<RecordRef<'_>>(l).map(|r| format!("{r:?}")),
        );
    }

    #[test]
    fn scenario_lines_read_as_serde_json_reads_them() {
        use crate::formats::suite::SuiteLineRef;
        differential(
            &[
                r#"{"id":"s87","index":0,"kind":"scenario","template":"colleague","topic":"work","bindings":{"role":"supervisor","a":"dd.compassion"},"text":"You \"work\" as a supervisor.\nWhat do you do?","variants":{"zh":"\u4f60"},"actions":[{"id":"to_do","label":"Keep quiet","upholds":["dd.compassion"],"violates":["dd.accountability"],"upholds_indirect":[],"either":["dd.honesty"],"affects":[{"party":"adviser","sign":"+","indirect":false},{"party":"colleague","sign":null}],"distractor":false},{"id":"not","label":"Report","upholds":[],"violates":[],"distractor":true}],"seed":"92c7","draw":0,"suite":"everyday","twin_group":"s87","occurrence":2,"provenance":{"template":"everyday.qd:73","relations":["everyday.qd:25"],"rules":[]}}"#,
                r#"{"id":"q1","index":7,"kind":"question","template":"wvs","question":"Q1","options":["yes","no"],"persona":"p","stance":null,"country":"DE","part":"a","references":null,"text":null,"actions":[{"id":"yes","label":null},{"id":"no"}]}"#,
            ],
            |l| SuiteLineRef::scan(l).map(|s| format!("{s:?}")),
            |l| serde_json::from_str::<SuiteLineRef<'_>>(l).map(|s| format!("{s:?}")),
        );
    }
}
