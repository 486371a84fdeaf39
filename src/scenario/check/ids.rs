//! Ids and references: each table's ids (missing, empty and repeated ones reported) and the references of
//! one item to another, reported when unknown (an id whose item could not be read is not reported again).

use super::super::parse::{Item, Loc, label};
use super::super::raw::Id;
use super::checker::Checker;
use std::collections::HashMap;

/// A small multiplicative hasher (the Fx scheme used inside rustc) for id → index maps: ids come from the
/// user's own files, so SipHash's protection against chosen collisions is not needed, and Fx is several
/// times faster on short strings.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl std::hash::Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        // the Fx state has weak high bits, and hashbrown matches on the top 7 bits: mix them in
        // (MurmurHash3's 64-bit finaliser)
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

/// Longest id, in characters: ids name files, plots, table cells and report headings (a spreadsheet cell
/// holds at most 32,767 characters, a file name 255 bytes).
pub const MAX_ID_CHARS: usize = 256;

/// The ids of one kind of item, each mapped to the item's position in its list (the first item that
/// uses an id; ids are borrowed from the raw items, not copied).
pub(super) struct Ids<'r> {
    map: HashMap<&'r str, usize, std::hash::BuildHasherDefault<FxHasher>>,
}

impl Ids<'_> {
    /// The position of the item with this id.
    pub fn get(&self, id: &str) -> Option<usize> {
        self.map.get(id).copied()
    }

    /// The ids in file order, for a message: `"A, B"`, or `"none are defined"`.
    pub fn listed(&self) -> String {
        let mut v: Vec<(&str, usize)> = self.map.iter().map(|(n, k)| (*n, *k)).collect();
        v.sort_by_key(|&(_, k)| k);
        let names: Vec<&str> = v.into_iter().map(|(n, _)| n).collect();
        if names.is_empty() {
            "none are defined".into()
        } else {
            names.join(", ")
        }
    }
}

impl Checker<'_> {
    /// The ids of `items` of `kind`, reporting missing, empty and repeated ids.
    pub fn ids<'r, T>(
        &mut self,
        kind: &str,
        items: &'r [Item<T>],
        id_of: impl Fn(&T) -> Option<&Id>,
    ) -> Ids<'r> {
        self.ids_by(kind, items, |it| it, id_of)
    }

    /// [`Checker::ids`] of a list whose elements hold their item (picked by `item`).
    pub fn ids_by<'r, I, T: 'r>(
        &mut self,
        kind: &str,
        items: &'r [I],
        item: impl Fn(&'r I) -> &'r Item<T>,
        id_of: impl Fn(&'r T) -> Option<&'r Id>,
    ) -> Ids<'r> {
        let mut ids = Ids {
            map: HashMap::with_capacity_and_hasher(items.len(), Default::default()),
        };
        for (k, it) in items.iter().map(&item).enumerate() {
            match id_of(&it.raw) {
                None => {
                    let lab = label(kind, None, it.ord);
                    self.push(&it.loc, &lab, "id", "", format!("an id for every {kind}"));
                }
                Some(Id(id)) if id.trim().is_empty() => {
                    let lab = label(kind, None, it.ord);
                    self.push(&it.loc, &lab, "id", "", "a non-empty id");
                }
                Some(Id(id)) if id.chars().count() > MAX_ID_CHARS => {
                    // reported once, shortened; still defined, so that references to it resolve
                    let lab = label(kind, None, it.ord);
                    let short: String = id.chars().take(40).collect();
                    self.push(
                        &it.loc,
                        &lab,
                        "id",
                        format!("{short}… ({} characters)", id.chars().count()),
                        format!("an id of at most {MAX_ID_CHARS} characters"),
                    );
                    ids.map.entry(id.as_str()).or_insert(k);
                }
                Some(Id(id)) => {
                    if let Some(first) = ids.get(id) {
                        let f = &item(&items[first]).loc;
                        let at = match f.line {
                            Some(l) => format!("{}:{l}", f.file.display()),
                            None => format!("{}", f.file.display()),
                        };
                        let lab = label(kind, Some(id), it.ord);
                        self.push(
                            &it.loc,
                            &lab,
                            "id",
                            id.clone(),
                            format!("a unique {kind} id (already used at {at})"),
                        );
                    } else {
                        ids.map.insert(id.as_str(), k);
                    }
                }
            }
        }
        ids
    }

    /// A reference to an item of `kind`: `Ok(Some(i))` found, `Ok(None)` an item that could not be read
    /// (already reported), `Err(())` unknown (reported here).
    #[allow(clippy::too_many_arguments)]
    pub fn resolve(
        &mut self,
        ids: &Ids,
        kind: &'static str,
        loc: &Loc,
        item: &str,
        field: &str,
        id: &str,
    ) -> Result<Option<usize>, ()> {
        if let Some(i) = ids.get(id) {
            return Ok(Some(i));
        }
        if self.rs.is_broken(kind, id) {
            return Ok(None);
        }
        let expected = self.defined(ids, kind);
        self.push(loc, item, field, id, expected);
        Err(())
    }

    /// "the id of a {kind} defined in the scenario", with the defined ids (at most 30) the first time an
    /// unknown id of that kind is reported; later messages refer to that list.
    pub fn defined(&mut self, ids: &Ids, kind: &'static str) -> String {
        if !self.listed.insert(kind) {
            return format!(
                "the id of a {kind} defined in the scenario (listed with the first unknown {kind} id)"
            );
        }
        let mut names: Vec<(&str, usize)> = ids.map.iter().map(|(k, v)| (*k, *v)).collect();
        names.sort_by_key(|&(_, i)| i);
        let n = names.len();
        if n == 0 {
            return format!("the id of a {kind} defined in the scenario (none is defined)");
        }
        let shown: Vec<String> = names
            .iter()
            .take(30)
            .map(|(k, _)| format!("{k:?}"))
            .collect();
        let more = if n > 30 {
            format!(" and {} more", n - 30)
        } else {
            String::new()
        };
        format!(
            "the id of a {kind} defined in the scenario: {}{more}",
            shown.join(", ")
        )
    }

    /// A non-empty list of references (each as by [`Checker::resolve`]): `Some` when every one is found.
    #[allow(clippy::too_many_arguments)]
    pub fn resolve_all(
        &mut self,
        ids: &Ids,
        kind: &'static str,
        loc: &Loc,
        item: &str,
        field: &str,
        list: &[Id],
    ) -> Option<Vec<usize>> {
        if list.is_empty() {
            self.push(loc, item, field, "[]", format!("at least one {kind} id"));
            return None;
        }
        let mut out = Vec::with_capacity(list.len());
        let mut ok = true;
        for Id(x) in list {
            match self.resolve(ids, kind, loc, item, field, x) {
                Ok(Some(k)) => out.push(k),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A required reference to an item of a project table (`[[<kind>s]]`): its index; `None` when absent
    /// (reported with `what`), unknown (reported with the ids defined) or unreadable (already reported).
    #[allow(clippy::too_many_arguments)]
    pub fn listed_ref(
        &mut self,
        ids: &Ids,
        kind: &str,
        loc: &Loc,
        item: &str,
        field: &str,
        id: Option<&Id>,
        what: &str,
    ) -> Option<usize> {
        let Id(id) = self.required(loc, item, field, id, what)?;
        match ids.get(id) {
            Some(k) => Some(k),
            None if self.rs.is_broken(kind, id) => None,
            None => {
                let valid = ids.listed();
                self.push(
                    loc,
                    item,
                    field,
                    id.clone(),
                    format!("the id of a {kind} in [[{kind}s]] ({valid})"),
                );
                None
            }
        }
    }

    /// `true` if an item of `kind` with this id was present but unreadable.
    pub fn is_broken(&self, kind: &str, id: &str) -> bool {
        self.rs.is_broken(kind, id)
    }
}
