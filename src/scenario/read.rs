//! Reading files safely: size limits, UTF-8, line numbers, and a nesting pre-scan for TOML.
//!
//! Every failure becomes a [`Problem`](super::Problem); nothing here panics on any input. The TOML parser and
//! the deserializers recurse once per level of nesting, so a hostile file of 100,000 `[` could exhaust the
//! stack; [`nesting_depth`] measures the deepest nesting (arrays, inline tables and dotted keys) in one linear
//! pass that understands strings and comments, and files deeper than [`MAX_NESTING`] are refused before parsing.

use super::problems::Problems;
use std::io::Read;
use std::path::Path;

/// Largest scenario TOML file read, bytes.
pub const MAX_TOML_BYTES: u64 = 64 << 20;
/// Largest CSV or GeoJSON file read, bytes.
pub const MAX_DATA_BYTES: u64 = 1 << 30;
/// Deepest nesting of arrays, tables and dotted keys accepted in a TOML file.
pub const MAX_NESTING: usize = 64;

/// Read a whole file, reporting a missing file, a directory, an unreadable or an oversized file.
pub fn read_bytes(
    path: &Path,
    max_bytes: u64,
    what: &str,
    item: &str,
    probs: &mut Problems,
) -> Option<Vec<u8>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            let why = if e.kind() == std::io::ErrorKind::NotFound {
                "the file does not exist".to_string()
            } else {
                format!("the file cannot be read ({e})")
            };
            probs.push(path, None, item, "", "", format!("{why}; expected {what}"));
            return None;
        }
    };
    if meta.is_dir() {
        probs.push(
            path,
            None,
            item,
            "",
            "",
            format!("this is a directory; expected {what}"),
        );
        return None;
    }
    if !meta.is_file() {
        // a FIFO would block forever, a device may never end
        probs.push(
            path,
            None,
            item,
            "",
            "",
            format!("this is not a regular file (a device or a pipe?); expected {what}"),
        );
        return None;
    }
    if meta.len() > max_bytes {
        probs.push(
            path,
            None,
            item,
            "",
            format!("{} bytes", meta.len()),
            format!("{what} of at most {max_bytes} bytes"),
        );
        return None;
    }
    let mut buf = Vec::with_capacity(meta.len() as usize);
    let read = std::fs::File::open(path).and_then(|f| f.take(max_bytes + 1).read_to_end(&mut buf));
    match read {
        Ok(_) if buf.len() as u64 > max_bytes => {
            probs.push(
                path,
                None,
                item,
                "",
                "",
                format!("{what} of at most {max_bytes} bytes (the file grew while being read)"),
            );
            None
        }
        Ok(_) => Some(buf),
        Err(e) => {
            probs.push(
                path,
                None,
                item,
                "",
                "",
                format!("the file cannot be read ({e}); expected {what}"),
            );
            None
        }
    }
}

/// Whether bytes that are not UTF-8 read as GBK / GB 18030 two-byte characters: every byte above 0x7F is a
/// lead byte 0x81–0xFE followed by a trail byte 0x40–0x7E or 0x80–0xFE, and there is at least one such pair.
/// This is what Excel and WPS write when a Chinese CSV is saved as "CSV (comma delimited)" on a Chinese Windows.
pub fn looks_like_gbk(bytes: &[u8]) -> bool {
    let (mut k, mut pairs) = (0, 0);
    while k < bytes.len() {
        let b = bytes[k];
        if b < 0x80 {
            k += 1;
            continue;
        }
        let trail = bytes.get(k + 1).copied().unwrap_or(0);
        if !(0x81..=0xFE).contains(&b)
            || !((0x40..=0x7E).contains(&trail) || (0x80..=0xFE).contains(&trail))
        {
            return false;
        }
        pairs += 1;
        k += 2;
    }
    pairs > 0
}

/// The text of a file: UTF-8, a leading byte-order mark removed. A file in GBK (GB 18030) is named as such,
/// with how to convert it.
pub fn utf8<'a>(bytes: &'a [u8], path: &Path, item: &str, probs: &mut Problems) -> Option<&'a str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Some(s),
        Err(e) => {
            let at = e.valid_up_to();
            let line = 1 + bytes[..at].iter().filter(|&&b| b == b'\n').count();
            let expected = if looks_like_gbk(bytes) {
                "UTF-8 text; this file looks like GBK (GB 18030), the encoding Excel and WPS use for Chinese CSV \
                 files on Windows: save it as UTF-8 (Excel: Save As → \"CSV UTF-8 (comma delimited)\"; WPS or a text \
                 editor: encoding UTF-8) or convert it with `iconv -f GB18030 -t UTF-8 old.csv > new.csv`"
            } else {
                "UTF-8 text"
            };
            probs.push(
                path,
                Some(line),
                item,
                "",
                format!(
                    "byte 0x{:02X} at offset {at}: not UTF-8",
                    bytes.get(at).copied().unwrap_or(0)
                ),
                expected,
            );
            None
        }
    }
}

/// Byte offset → 1-based line number.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Index the line starts of `text`.
    pub fn new(text: &str) -> LineIndex {
        let mut starts = vec![0];
        // match_indices on a char uses core's (optimised) memchr: fast even in debug builds
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { starts }
    }

    /// The line holding byte `offset`.
    pub fn line(&self, offset: usize) -> usize {
        self.starts.partition_point(|&s| s <= offset).max(1)
    }
}

/// The deepest nesting in a TOML text and the byte offset where it is first reached. Counts open `[` and
/// `{` outside strings and comments, plus the dots of a dotted key (`a.b.c` nests three tables).
pub fn nesting_depth(text: &str) -> (usize, usize) {
    #[derive(Clone, Copy, PartialEq)]
    enum St {
        Normal,
        Comment,
        Basic,
        Literal,
        MlBasic,
        MlLiteral,
    }
    let b = text.as_bytes();
    let mut st = St::Normal;
    let mut depth: usize = 0;
    let mut dots: usize = 0;
    let mut max = (0, 0);
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match st {
            St::Normal => match c {
                b'#' => st = St::Comment,
                b'"' => {
                    if b[i..].starts_with(b"\"\"\"") {
                        st = St::MlBasic;
                        i += 2;
                    } else {
                        st = St::Basic;
                    }
                }
                b'\'' => {
                    if b[i..].starts_with(b"'''") {
                        st = St::MlLiteral;
                        i += 2;
                    } else {
                        st = St::Literal;
                    }
                }
                b'[' | b'{' => {
                    depth += 1;
                    dots = 0;
                }
                b']' | b'}' => {
                    depth = depth.saturating_sub(1);
                    dots = 0;
                }
                b'.' => dots += 1,
                b'=' | b',' | b'\n' => dots = 0,
                _ => {}
            },
            St::Comment => {
                if c == b'\n' {
                    st = St::Normal;
                    dots = 0;
                }
            }
            St::Basic => match c {
                b'\\' => i += 1,
                b'"' | b'\n' => st = St::Normal,
                _ => {}
            },
            St::Literal => {
                if c == b'\'' || c == b'\n' {
                    st = St::Normal
                }
            }
            St::MlBasic => {
                if c == b'\\' {
                    i += 1;
                } else if b[i..].starts_with(b"\"\"\"") {
                    st = St::Normal;
                    i += 2;
                }
            }
            St::MlLiteral => {
                if b[i..].starts_with(b"'''") {
                    st = St::Normal;
                    i += 2;
                }
            }
        }
        if depth + dots > max.0 {
            max = (depth + dots, i);
        }
        i += 1;
    }
    max
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_counts_brackets_braces_and_dotted_keys_not_strings() {
        assert_eq!(nesting_depth("a = [[1, 2], [3]]").0, 2);
        assert_eq!(nesting_depth("a = { b = { c = 1 } }").0, 2);
        assert_eq!(nesting_depth("a.b.c.d = 1").0, 3);
        assert_eq!(nesting_depth("a = \"[[[[[[\" # [[[[[\nb = '{{{{'").0, 0);
        assert_eq!(
            nesting_depth("a = \"\"\"\n[[[[\"\"\"\nx = [1.5, 2.5, 3.5]").0,
            2
        );
        assert_eq!(nesting_depth("[[reaches]]\nid = 'R1'").0, 2);
    }

    #[test]
    fn line_numbers_are_one_based() {
        let li = LineIndex::new("a\nbc\n\nd");
        assert_eq!(li.line(0), 1);
        assert_eq!(li.line(2), 2);
        assert_eq!(li.line(5), 3);
        assert_eq!(li.line(6), 4);
    }
}
