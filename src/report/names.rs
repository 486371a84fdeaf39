//! File names made from ids (sections, rivers): readable, legal on every common file system, never two
//! items in one file.
//!
//! An id keeps its characters, Unicode included (`大河` stays `大河`); only what a file system forbids or
//! gives a meaning is escaped, as `%XX` per UTF-8 byte: control characters, `< > : " / \ | ? *` (Windows
//! forbids them, `/` separates folders everywhere), and `%` and `~` themselves, which this scheme uses. So the
//! escape is one-to-one: two ids never share an escaped stem. Names always sit between a prefix and an
//! extension (`section_<stem>.png`), so a leading dot, a trailing dot or space and Windows' reserved device
//! names (`CON`, `NUL`, …) never form a whole name.
//!
//! Length: a file name may have at most 255 bytes. A stem longer than [`MAX_STEM_BYTES`] is cut at an escape
//! boundary and ends in `~` and 16 hex digits of a 64-bit FNV-1a hash of the whole id (the `~` cannot come
//! from the escape, so a cut stem never equals an uncut one).
//!
//! Case: macOS and Windows file systems fold case, so `S1` and `s1` would share a file there. [`FileNames`]
//! hands out the stems of one set of files and gives a stem whose lower-case form is taken a suffix `~2`,
//! `~3`, … (the first id keeps the plain stem): within a set no two names are equal, even folded.

use std::collections::HashSet;

/// Longest stem, in bytes: with a prefix of up to 20 bytes, an extension and the staging folder's own
/// decorations a file name stays far below 255 bytes.
pub const MAX_STEM_BYTES: usize = 120;

/// The escaped stem of `id` (one-to-one, Unicode kept; see the module docs), cut to [`MAX_STEM_BYTES`].
pub fn file_stem(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    let mut cut = None;
    for c in id.chars() {
        let mut unit = String::new();
        if forbidden(c) {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                unit.push_str(&format!("%{b:02X}"));
            }
        } else {
            unit.push(c);
        }
        // room for "~" and 16 hex digits if the stem has to be cut
        if cut.is_none() && out.len() + unit.len() > MAX_STEM_BYTES - 17 {
            cut = Some(out.len());
        }
        out.push_str(&unit);
    }
    if out.len() > MAX_STEM_BYTES {
        out.truncate(cut.unwrap_or(0));
        out.push_str(&format!("~{:016x}", fnv1a64(id.as_bytes())));
    }
    out
}

/// Characters a file name may not hold on some common file system, and the escape's own `%` and `~`.
fn forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '<' | '>' | ':' | '"' | '/' | '\\' | '|' | '?' | '*' | '%' | '~'
        )
}

/// The 64-bit FNV-1a hash (Fowler, Noll, Vo): fixed across runs, versions and machines.
fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The stems of one set of files: [`file_stem`] of each id, made unique even where case is folded.
#[derive(Debug, Default)]
pub struct FileNames {
    /// Lower-case forms of the stems handed out.
    taken: HashSet<String>,
}

impl FileNames {
    /// An empty set.
    pub fn new() -> FileNames {
        FileNames::default()
    }

    /// The stem for `id`: [`file_stem`], with `~2`, `~3`, … appended if its lower-case form is taken.
    pub fn stem(&mut self, id: &str) -> String {
        let base = file_stem(id);
        let mut stem = base.clone();
        let mut k = 1;
        while !self.taken.insert(stem.to_lowercase()) {
            k += 1;
            stem = format!("{base}~{k}");
        }
        stem
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_stays_and_forbidden_characters_are_escaped() {
        assert_eq!(file_stem("大河"), "大河");
        assert_eq!(file_stem("S-1_a b"), "S-1_a b");
        assert_eq!(file_stem("a/b"), "a%2Fb");
        assert_eq!(file_stem("50%"), "50%25");
        assert_eq!(file_stem("x~y"), "x%7Ey");
        assert_eq!(file_stem("tab\there"), "tab%09here");
        assert_eq!(file_stem(r#"<>:"\|?*"#), "%3C%3E%3A%22%5C%7C%3F%2A");
    }

    #[test]
    fn long_ids_are_cut_with_a_hash_and_stay_distinct() {
        let a = "河".repeat(100_000);
        let b = format!("{a}x");
        let (sa, sb) = (file_stem(&a), file_stem(&b));
        assert!(
            sa.len() <= MAX_STEM_BYTES && sb.len() <= MAX_STEM_BYTES,
            "{sa}"
        );
        assert_ne!(sa, sb);
        assert!(sa.starts_with("河河河"));
        // an escape is never cut in half
        let c = "/".repeat(1000);
        let sc = file_stem(&c);
        let head = sc.split('~').next().unwrap();
        assert_eq!(head.len() % 3, 0, "{sc}");
    }

    #[test]
    fn names_in_a_set_differ_even_with_case_folded() {
        let mut n = FileNames::new();
        assert_eq!(n.stem("S1"), "S1");
        assert_eq!(n.stem("s1"), "s1~2");
        assert_eq!(n.stem("S1"), "S1~3");
        assert_eq!(n.stem("大河"), "大河");
        assert_eq!(n.stem("小河"), "小河");
    }
}
