//! From file text to raw items: the scenario TOML (table by table, item by item), the node and reach CSV
//! files and the reach GeoJSON.
//!
//! Each `[[reaches]]` entry (each CSV row, each GeoJSON feature) is deserialized on its own, so a mistake in
//! one item is reported and the others are still read. An item that cannot be read but whose `id` can be seen
//! is remembered as *broken*: references to it are then not reported a second time as unknown ids.

use super::csvrow::{Columns, RowError};
use super::problems::Problems;
use super::raw::*;
use super::read::{self, LineIndex};
use rayon::prelude::*;
use serde::de::{self, DeserializeOwned};
use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use toml::Spanned;
use toml::de::{DeTable, DeValue, ValueDeserializer};

/// Where an item was written.
#[derive(Debug, Clone)]
pub struct Loc {
    /// The file.
    pub file: Arc<Path>,
    /// Line of the item's start, if known.
    pub line: Option<usize>,
    /// Line of each of the item's top-level keys (TOML only).
    pub fields: Vec<(&'static str, usize)>,
}

impl Loc {
    /// The line of `field` (its first dotted part), else the item's line.
    pub fn line_of(&self, field: &str) -> Option<usize> {
        let head = field.split(['.', '[']).next().unwrap_or(field);
        self.fields
            .iter()
            .find(|(f, _)| *f == head)
            .map(|&(_, l)| l)
            .or(self.line)
    }
}

/// One raw item with its location and its 1-based position in its list.
#[derive(Debug, Clone)]
pub struct Item<T> {
    /// The raw content.
    pub raw: T,
    /// Where it was written.
    pub loc: Loc,
    /// 1-based position among the items of its kind (in the order read).
    pub ord: usize,
}

/// A raw reach and its polyline (empty unless read from GeoJSON).
pub type ReachItem = (Item<RawReach>, Vec<(f64, f64)>);

/// The id recorded in [`Broken`] for a kind whose list or file could not be read to the end: every
/// reference to that kind is then taken as possibly valid.
pub const INCOMPLETE: &str = "*";

/// Ids of unreadable items, as (kind, id).
pub type Broken = HashSet<(&'static str, String)>;

/// Everything read from the files, unchecked.
#[derive(Debug, Default)]
pub struct RawScenario {
    /// `title`.
    pub title: Option<String>,
    /// `[simulation]`.
    pub simulation: Option<Item<RawSimulation>>,
    /// `[initial]`.
    pub initial: Option<Item<RawInitial>>,
    /// `[defaults]`.
    pub defaults: Option<Item<RawDefaults>>,
    /// `[network]`.
    pub network: Option<Item<RawNetwork>>,
    /// `[temperature]`.
    pub temperature: Option<Item<RawTemperature>>,
    /// `[assessment]`.
    pub assessment: Option<Item<RawAssessment>>,
    /// `[report]`.
    pub report: Option<Item<RawReport>>,
    /// `[capacity]`.
    pub capacity: Option<Item<RawCapacity>>,
    /// Nodes (inline, then CSV).
    pub nodes: Vec<Item<RawNode>>,
    /// Reaches (inline, then CSV, then GeoJSON), each with its polyline (empty unless GeoJSON).
    pub reaches: Vec<ReachItem>,
    /// `[[inflows]]`.
    pub inflows: Vec<Item<RawInflow>>,
    /// `[[withdrawals]]`.
    pub withdrawals: Vec<Item<RawWithdrawal>>,
    /// `[[structures]]`.
    pub structures: Vec<Item<RawStructure>>,
    /// `[[outfalls]]`.
    pub outfalls: Vec<Item<RawOutfall>>,
    /// `[[line_loads]]`.
    pub line_loads: Vec<Item<RawLineLoad>>,
    /// `[[zones]]`.
    pub zones: Vec<Item<RawZone>>,
    /// `[[sections]]`.
    pub sections: Vec<Item<RawSectionPoint>>,
    /// Top-level `cost_unit` (DESIGN.md §8).
    pub cost_unit: Option<String>,
    /// `[[sewers]]` (DESIGN.md §8).
    pub sewers: Vec<Item<RawSewer>>,
    /// `[[plants]]`.
    pub plants: Vec<Item<RawPlant>>,
    /// `[[projects]]`.
    pub projects: Vec<Item<RawProject>>,
    /// `[[alternatives]]`.
    pub alternatives: Vec<Item<RawAlternative>>,
    /// Ids of items that could not be read, by kind ("node", "reach", …).
    pub broken: Broken,
    /// Single tables present but unreadable ("simulation", …): their absence is not reported again.
    pub broken_tables: HashSet<&'static str>,
}

impl RawScenario {
    /// `true` if some item of `kind` could not be read (so the list of that kind is not complete).
    pub fn any_broken(&self, kind: &str) -> bool {
        self.broken.iter().any(|(k, _)| *k == kind)
    }

    /// `true` if an item of `kind` with this id was present but unreadable.
    pub fn is_broken(&self, kind: &str, id: &str) -> bool {
        // the kinds are a few static strings: find ours, then look the pair up without scanning
        const KINDS: [&str; 13] = [
            "node",
            "structure",
            "reach",
            "zone",
            "section",
            "outfall",
            "line load",
            "inflow",
            "withdrawal",
            "sewer",
            "plant",
            "project",
            "alternative",
        ];
        KINDS.iter().find(|k| **k == kind).is_some_and(|k| {
            self.broken.contains(&(*k, id.to_string()))
                || self.broken.contains(&(*k, INCOMPLETE.to_string()))
        })
    }
}

/// The top-level keys of a scenario file.
pub const TOP_KEYS: [&str; 18] = [
    "title",
    "simulation",
    "initial",
    "defaults",
    "network",
    "temperature",
    "assessment",
    "report",
    "capacity",
    "nodes",
    "reaches",
    "inflows",
    "withdrawals",
    "structures",
    "outfalls",
    "line_loads",
    "zones",
    "sections",
];

/// Top-level keys of the project tables (DESIGN.md §8), listed apart in the message about an unknown key.
pub const LATER_KEYS: [&str; 5] = ["cost_unit", "sewers", "plants", "projects", "alternatives"];

/// The field names of a serde struct (asked of the derive through a probe deserializer).
pub fn struct_fields<T: DeserializeOwned>() -> &'static [&'static str] {
    #[derive(Debug)]
    struct Probe(&'static [&'static str]);
    impl std::fmt::Display for Probe {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("probe")
        }
    }
    impl std::error::Error for Probe {}
    impl de::Error for Probe {
        fn custom<M: std::fmt::Display>(_: M) -> Self {
            Probe(&[])
        }
    }
    struct D;
    impl<'de> de::Deserializer<'de> for D {
        type Error = Probe;
        fn deserialize_any<V: de::Visitor<'de>>(self, _: V) -> Result<V::Value, Probe> {
            Err(Probe(&[]))
        }
        fn deserialize_struct<V: de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Probe> {
            Err(Probe(fields))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    match T::deserialize(D) {
        Err(Probe(f)) => f,
        Ok(_) => &[],
    }
}

/// Make a serde message read as "what would be valid".
pub fn friendly(msg: &str) -> String {
    if msg.contains("number overflowed") {
        return "a finite number (this one is too large for a 64-bit float)".to_string();
    }
    msg.replace("expected f64", "expected a number")
        .replace("expected a sequence", "expected a list [ … ]")
        .replace("expected a map", "expected a table { … }")
        .replace("expected struct ", "expected a table: ")
}

fn backticked_after<'a>(msg: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = msg.strip_prefix(prefix)?;
    rest.split('`').next()
}

struct TomlCtx<'a> {
    file: Arc<Path>,
    lines: &'a LineIndex,
}

/// A key of a TOML item (one nested level for table values) with the key's start and the value's span.
struct KeySpan<'i> {
    top: std::borrow::Cow<'i, str>,
    sub: Option<std::borrow::Cow<'i, str>>,
    key_start: usize,
    value: std::ops::Range<usize>,
}

impl KeySpan<'_> {
    fn name(&self) -> String {
        match &self.sub {
            Some(s) => format!("{}.{s}", self.top),
            None => self.top.to_string(),
        }
    }
}

/// Keys of a TOML table with their spans (borrowed from the input: no allocation for plain keys).
fn key_spans<'i>(t: &DeTable<'i>) -> Vec<KeySpan<'i>> {
    let mut out = Vec::with_capacity(t.len());
    for (k, v) in t.iter() {
        if let DeValue::Table(sub) = v.get_ref() {
            for (sk, sv) in sub.iter() {
                out.push(KeySpan {
                    top: k.get_ref().clone(),
                    sub: Some(sk.get_ref().clone()),
                    key_start: sk.span().start,
                    value: sv.span(),
                });
            }
        }
        out.push(KeySpan {
            top: k.get_ref().clone(),
            sub: None,
            key_start: k.span().start,
            value: v.span(),
        });
    }
    out
}

impl TomlCtx<'_> {
    fn line(&self, offset: usize) -> usize {
        self.lines.line(offset)
    }

    /// Deserialize one table value into `T`, reporting a failure. `label` names the item in a problem
    /// (built only when there is one).
    fn item<'i, T: DeserializeOwned>(
        &self,
        value: Spanned<DeValue<'i>>,
        label: &dyn Fn() -> String,
        what: &str,
        ord: usize,
        probs: &mut Problems,
    ) -> Option<Item<T>> {
        let span = value.span();
        let line = self.line(span.start);
        let DeValue::Table(t) = value.get_ref() else {
            probs.push(
                &self.file,
                Some(line),
                label(),
                "",
                value.get_ref().type_str(),
                format!("a table ({what})"),
            );
            return None;
        };
        let spans = key_spans(t);
        match T::deserialize(ValueDeserializer::from(value)) {
            Ok(raw) => {
                // the keys are known fields now: keep their static names and lines
                let names = struct_fields::<T>();
                let fields = spans
                    .iter()
                    .filter(|k| k.sub.is_none())
                    .filter_map(|k| {
                        let f = names.iter().find(|n| **n == k.top.as_ref())?;
                        Some((*f, self.line(k.key_start)))
                    })
                    .collect();
                Some(Item {
                    raw,
                    loc: Loc {
                        file: self.file.clone(),
                        line: Some(line),
                        fields,
                    },
                    ord,
                })
            }
            Err(e) => {
                let msg = e.message().to_string();
                let mut field = backticked_after(&msg, "unknown field `")
                    .unwrap_or("")
                    .to_string();
                let mut eline = line;
                if let Some(es) = e.span() {
                    eline = self.line(es.start);
                    if field.is_empty() {
                        // the innermost key whose value (or key) holds the error's position
                        let hit = spans
                            .iter()
                            .filter(|k| {
                                (k.value.start <= es.start
                                    && es.start < k.value.end.max(k.value.start + 1))
                                    || k.key_start == es.start
                            })
                            .min_by_key(|k| k.value.end - k.value.start);
                        if let Some(k) = hit {
                            field = k.name();
                        }
                    }
                }
                if !field.is_empty()
                    && let Some(k) = spans.iter().find(|k| k.name() == field)
                {
                    eline = self.line(k.key_start);
                }
                probs.push(&self.file, Some(eline), label(), field, "", friendly(&msg));
                None
            }
        }
    }
}

/// The text of a string or integer key of a TOML table, borrowed where possible.
fn peek<'i>(v: &DeValue<'i>, key: &str) -> Option<std::borrow::Cow<'i, str>> {
    let DeValue::Table(t) = v else { return None };
    let (_, x) = t.iter().find(|(k, _)| k.get_ref() == key)?;
    match x.get_ref() {
        DeValue::String(s) => Some(s.clone()),
        DeValue::Integer(i) => Some(std::borrow::Cow::Owned(i.as_str().to_string())),
        _ => None,
    }
}

/// Label of a list item: `reach R3`, or `reach #4` without a readable id.
pub fn label(kind: &str, id: Option<&str>, ord: usize) -> String {
    // built by hand rather than with `format!`: one label per item of a large scenario
    let mut s = String::with_capacity(kind.len() + 2 + id.map_or(20, str::len));
    s.push_str(kind);
    match id {
        Some(id) => {
            s.push(' ');
            s.push_str(id);
        }
        None => {
            s.push_str(" #");
            s.push_str(&ord.to_string());
        }
    }
    s
}

/// Label of an inflow: `inflow #2 (node A)`.
pub fn inflow_label(ord: usize, node: Option<&str>) -> String {
    let mut s = String::with_capacity(32 + node.map_or(0, str::len));
    s.push_str("inflow #");
    s.push_str(&ord.to_string());
    if let Some(n) = node {
        s.push_str(" (node ");
        s.push_str(n);
        s.push(')');
    }
    s
}

/// Parse the scenario TOML into raw items. Returns `None` when the text is not TOML at all (syntax errors,
/// nesting too deep); every problem is pushed.
pub fn parse_toml(text: &str, file: &Path, probs: &mut Problems) -> Option<RawScenario> {
    let lines = LineIndex::new(text);
    let (depth, at) = read::nesting_depth(text);
    if depth > read::MAX_NESTING {
        probs.push(
            file,
            Some(lines.line(at)),
            "scenario",
            "",
            format!("nesting {depth} levels deep"),
            format!(
                "arrays, tables and dotted keys nested at most {} levels deep",
                read::MAX_NESTING
            ),
        );
        return None;
    }
    let (root, errors) = DeTable::parse_recoverable(text);
    if !errors.is_empty() {
        let n = errors.len();
        for e in errors.iter().take(20) {
            let line = e.span().map(|s| lines.line(s.start));
            probs.push(file, line, "TOML syntax", "", "", e.message().to_string());
        }
        if n > 20 {
            probs.push(
                file,
                None,
                "TOML syntax",
                "",
                "",
                format!("{} more syntax error(s) not listed", n - 20),
            );
        }
        return None;
    }
    let ctx = TomlCtx {
        file: Arc::from(file),
        lines: &lines,
    };
    let mut rs = RawScenario::default();
    for (key, value) in root.into_inner() {
        let name = key.get_ref().to_string();
        let kline = Some(lines.line(key.span().start));
        match name.as_str() {
            "title" => match value.get_ref() {
                DeValue::String(s) => rs.title = Some(s.to_string()),
                other => probs.push(
                    file,
                    kline,
                    "scenario",
                    "title",
                    other.type_str(),
                    "a string",
                ),
            },
            "simulation" => {
                rs.simulation = ctx.item(
                    value,
                    &|| "[simulation]".to_string(),
                    "[simulation]",
                    1,
                    probs,
                );
                if rs.simulation.is_none() {
                    rs.broken_tables.insert("simulation");
                }
            }
            "initial" => {
                rs.initial = ctx.item(value, &|| "[initial]".to_string(), "[initial]", 1, probs);
                if rs.initial.is_none() {
                    rs.broken_tables.insert("initial");
                }
            }
            "defaults" => {
                rs.defaults = ctx.item(value, &|| "[defaults]".to_string(), "[defaults]", 1, probs);
                if rs.defaults.is_none() {
                    rs.broken_tables.insert("defaults");
                }
            }
            "network" => {
                rs.network = ctx.item(value, &|| "[network]".to_string(), "[network]", 1, probs);
                if rs.network.is_none() {
                    rs.broken_tables.insert("network");
                }
            }
            "temperature" => {
                rs.temperature = ctx.item(
                    value,
                    &|| "[temperature]".to_string(),
                    "[temperature]",
                    1,
                    probs,
                );
                if rs.temperature.is_none() {
                    rs.broken_tables.insert("temperature");
                }
            }
            "assessment" => {
                rs.assessment = ctx.item(
                    value,
                    &|| "[assessment]".to_string(),
                    "[assessment]",
                    1,
                    probs,
                );
                if rs.assessment.is_none() {
                    rs.broken_tables.insert("assessment");
                }
            }
            "report" => {
                rs.report = ctx.item(value, &|| "[report]".to_string(), "[report]", 1, probs);
                if rs.report.is_none() {
                    rs.broken_tables.insert("report");
                }
            }
            "capacity" => {
                rs.capacity = ctx.item(value, &|| "[capacity]".to_string(), "[capacity]", 1, probs);
                if rs.capacity.is_none() {
                    rs.broken_tables.insert("capacity");
                }
            }
            "nodes" => list(
                &ctx,
                value,
                "node",
                "[[nodes]]",
                &mut rs.nodes,
                &mut rs.broken,
                probs,
            ),
            "reaches" => {
                let mut v = Vec::new();
                list(
                    &ctx,
                    value,
                    "reach",
                    "[[reaches]]",
                    &mut v,
                    &mut rs.broken,
                    probs,
                );
                rs.reaches.extend(v.into_iter().map(|i| (i, Vec::new())));
            }
            "inflows" => list(
                &ctx,
                value,
                "inflow",
                "[[inflows]]",
                &mut rs.inflows,
                &mut rs.broken,
                probs,
            ),
            "withdrawals" => list(
                &ctx,
                value,
                "withdrawal",
                "[[withdrawals]]",
                &mut rs.withdrawals,
                &mut rs.broken,
                probs,
            ),
            "structures" => list(
                &ctx,
                value,
                "structure",
                "[[structures]]",
                &mut rs.structures,
                &mut rs.broken,
                probs,
            ),
            "outfalls" => list(
                &ctx,
                value,
                "outfall",
                "[[outfalls]]",
                &mut rs.outfalls,
                &mut rs.broken,
                probs,
            ),
            "line_loads" => list(
                &ctx,
                value,
                "line load",
                "[[line_loads]]",
                &mut rs.line_loads,
                &mut rs.broken,
                probs,
            ),
            "zones" => list(
                &ctx,
                value,
                "zone",
                "[[zones]]",
                &mut rs.zones,
                &mut rs.broken,
                probs,
            ),
            "sections" => list(
                &ctx,
                value,
                "section",
                "[[sections]]",
                &mut rs.sections,
                &mut rs.broken,
                probs,
            ),
            "cost_unit" => match value.get_ref() {
                DeValue::String(s) => rs.cost_unit = Some(s.to_string()),
                other => probs.push(
                    file,
                    kline,
                    "scenario",
                    "cost_unit",
                    other.type_str(),
                    "a string, e.g. \"million CNY\"",
                ),
            },
            "sewers" => list(
                &ctx,
                value,
                "sewer",
                "[[sewers]]",
                &mut rs.sewers,
                &mut rs.broken,
                probs,
            ),
            "plants" => list(
                &ctx,
                value,
                "plant",
                "[[plants]]",
                &mut rs.plants,
                &mut rs.broken,
                probs,
            ),
            "projects" => list(
                &ctx,
                value,
                "project",
                "[[projects]]",
                &mut rs.projects,
                &mut rs.broken,
                probs,
            ),
            "alternatives" => list(
                &ctx,
                value,
                "alternative",
                "[[alternatives]]",
                &mut rs.alternatives,
                &mut rs.broken,
                probs,
            ),
            other => probs.push(
                file,
                kline,
                "scenario",
                other,
                "",
                format!(
                    "a known top-level key: {} (and, for projects, {})",
                    TOP_KEYS.join(", "),
                    LATER_KEYS.join(", ")
                ),
            ),
        }
    }
    Some(rs)
}

fn list<T: DeserializeOwned>(
    ctx: &TomlCtx<'_>,
    value: Spanned<DeValue<'_>>,
    kind: &'static str,
    what: &str,
    out: &mut Vec<Item<T>>,
    broken: &mut Broken,
    probs: &mut Problems,
) {
    let line = ctx.line(value.span().start);
    let DeValue::Array(arr) = value.into_inner() else {
        probs.push(
            &ctx.file,
            Some(line),
            what,
            "",
            "",
            format!("an array of tables, written {what}"),
        );
        broken.insert((kind, INCOMPLETE.to_string()));
        return;
    };
    out.reserve(arr.len());
    for (k, v) in arr.into_iter().enumerate() {
        let ord = k + 1;
        // borrowed from the input: nothing is allocated unless the item has a problem
        let id = peek(v.get_ref(), "id");
        let node = if kind == "inflow" {
            peek(v.get_ref(), "node")
        } else {
            None
        };
        let lab = || {
            if kind == "inflow" {
                inflow_label(ord, node.as_deref())
            } else {
                label(kind, id.as_deref(), ord)
            }
        };
        match ctx.item::<T>(v, &lab, what, ord, probs) {
            Some(it) => out.push(it),
            None => {
                if let Some(id) = &id {
                    broken.insert((kind, id.to_string()));
                }
            }
        }
    }
}

/// Table-valued keys that a CSV writes as `key.sub` columns.
const TABLE_KEYS: [&str; 5] = [
    "section",
    "decay_per_day",
    "release_g_m2_day",
    "concentration",
    "load_kg_per_day",
];

/// Read an item CSV (nodes, reaches, inflows, withdrawals, outfalls or sections) into items. `kind` is the
/// singular kind ("node", "reach", …).
pub fn read_network_csv<T: DeserializeOwned + Send>(
    path: &Path,
    kind: &'static str,
    mut out: impl FnMut(Item<T>, usize),
    broken: &mut Broken,
    probs: &mut Problems,
) {
    let what = format!("a {kind} CSV file");
    let item = if kind == "reach" {
        "reaches CSV".to_string()
    } else {
        format!("{kind}s CSV")
    };
    let Some(bytes) = read::read_bytes(path, read::MAX_DATA_BYTES, &what, &item, probs) else {
        broken.insert((kind, INCOMPLETE.to_string()));
        return;
    };
    let Some(text) = read::utf8(&bytes, path, &item, probs) else {
        broken.insert((kind, INCOMPLETE.to_string()));
        return;
    };
    let file: Arc<Path> = Arc::from(path);
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let header: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(|s| s.to_string()).collect(),
        Err(e) => {
            probs.push(path, Some(1), &item, "", "", format!("a CSV header ({e})"));
            broken.insert((kind, INCOMPLETE.to_string()));
            return;
        }
    };
    let href: Vec<&str> = header.iter().map(|s| s.as_str()).collect();
    let (mut cols, hp) = Columns::parse(&href);
    for (_, name, why) in hp {
        probs.push(path, Some(1), &item, "column", name, why);
    }
    // columns that are not keys of the item: reported once, then left out
    let fields = struct_fields::<T>();
    let section_fields = struct_fields::<RawSection>();
    let mut drop = Vec::new();
    for (col, raw) in href.iter().enumerate() {
        let name = raw.trim();
        let (head, sub) = match name.split_once('.') {
            Some((h, s)) => (h, Some(s)),
            None => (name, None),
        };
        if name.is_empty() {
            continue;
        }
        let problem = if !fields.contains(&head) {
            Some(format!(
                "a {kind} key as column name: {}",
                fields.join(", ")
            ))
        } else if TABLE_KEYS.contains(&head) && sub.is_none() {
            Some(format!(
                "`{head}` is a table: write one column per entry, e.g. `{head}.{}`",
                if head == "section" { "shape" } else { "COD" }
            ))
        } else if let Some(s) = sub {
            if !TABLE_KEYS.contains(&head) {
                Some(format!("`{head}` is not a table; a column `{head}`"))
            } else if head == "section"
                && (!section_fields.contains(&s) || s == "depths_m" || s == "widths_m")
            {
                Some("a section key: section.shape, section.width_m, section.bottom_width_m, section.side_slope (tabulated sections only in the TOML file)".to_string())
            } else {
                None
            }
        } else {
            None
        };
        if let Some(p) = problem {
            probs.push(path, Some(1), &item, "column", name, p);
            drop.push(col);
        }
    }
    for c in drop {
        cols.remove_col(c);
    }
    let id_col = href.iter().position(|h| h.trim() == "id");
    let node_col = href.iter().position(|h| h.trim() == "node");
    // rows ≈ lines: reserve once instead of growing (and moving) a vector of large items
    let rows = text.match_indices('\n').count();
    // rows are read serially in batches, deserialized in parallel (each row on its own: the result of a
    // row does not depend on the others), then handed out and reported serially in file order, so the
    // items and problems are the same, in the same order, whatever the thread count
    let mut batch: Vec<csv::StringRecord> = Vec::new();
    let mut ord = 0;
    loop {
        let mut filled = 0;
        let mut failure = None;
        while filled < CSV_BATCH_ROWS {
            if batch.len() == filled {
                batch.push(csv::StringRecord::new());
            }
            match rdr.read_record(&mut batch[filled]) {
                Ok(false) => break,
                Ok(true) => filled += 1,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let recs = &batch[..filled];
        let parse = |rec: &csv::StringRecord| {
            let cells: Vec<&str> = rec.iter().collect();
            cols.row::<T>(&cells)
        };
        let parsed: Vec<Result<T, RowError>> = if filled >= CSV_PAR_MIN_ROWS {
            recs.par_iter()
                .with_min_len(CSV_ROWS_PER_TASK)
                .map(parse)
                .collect()
        } else {
            recs.iter().map(parse).collect()
        };
        for (rec, res) in recs.iter().zip(parsed) {
            ord += 1;
            let line = rec.position().map(|p| p.line() as usize);
            let cells: Vec<&str> = rec.iter().collect();
            let id = id_col
                .and_then(|c| cells.get(c))
                .map(|s| s.trim())
                .filter(|s| !s.is_empty());
            match res {
                Ok(raw) => out(
                    Item {
                        raw,
                        loc: Loc {
                            file: file.clone(),
                            line,
                            fields: Vec::new(),
                        },
                        ord,
                    },
                    rows,
                ),
                Err(e) => {
                    let value = href
                        .iter()
                        .position(|h| h.trim() == e.field)
                        .and_then(|c| cells.get(c))
                        .map(|s| s.trim().to_string())
                        .unwrap_or_default();
                    let lab = if kind == "inflow" {
                        let node = node_col.and_then(|c| cells.get(c)).map(|s| s.trim());
                        inflow_label(ord, node.filter(|s| !s.is_empty()))
                    } else {
                        label(kind, id, ord)
                    };
                    probs.push(path, line, lab, e.field, value, friendly(&e.message));
                    if let Some(id) = id {
                        broken.insert((kind, id.to_string()));
                    }
                }
            }
        }
        if let Some(e) = failure {
            let line = e.position().map(|p| p.line() as usize);
            let why = match e.kind() {
                csv::ErrorKind::UnequalLengths {
                    expected_len, len, ..
                } => {
                    format!("{expected_len} fields like the header (this row has {len})")
                }
                _ => format!("a well-formed CSV row ({e})"),
            };
            probs.push(path, line, &item, "", "", why);
            broken.insert((kind, INCOMPLETE.to_string()));
            return;
        }
        if filled < CSV_BATCH_ROWS {
            return;
        }
    }
}

/// Rows of an item CSV read (and then deserialized in parallel) at a time.
const CSV_BATCH_ROWS: usize = 8192;

/// A batch with fewer rows than this is deserialized on the calling thread.
const CSV_PAR_MIN_ROWS: usize = 512;

/// Smallest number of rows one parallel task deserializes.
const CSV_ROWS_PER_TASK: usize = 256;

/// Read a GeoJSON FeatureCollection of LineString reaches.
pub fn read_geojson(
    path: &Path,
    out: &mut Vec<ReachItem>,
    broken: &mut Broken,
    probs: &mut Problems,
) {
    let item = "reaches GeoJSON";
    let Some(bytes) = read::read_bytes(path, read::MAX_DATA_BYTES, "a GeoJSON file", item, probs)
    else {
        broken.insert(("reach", INCOMPLETE.to_string()));
        return;
    };
    let v: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            probs.push(
                path,
                Some(e.line()),
                item,
                "",
                "",
                format!("valid JSON ({e})"),
            );
            broken.insert(("reach", INCOMPLETE.to_string()));
            return;
        }
    };
    let file: Arc<Path> = Arc::from(path);
    if v.get("type").and_then(|t| t.as_str()) != Some("FeatureCollection") {
        probs.push(
            path,
            None,
            item,
            "type",
            v.get("type").map(|t| t.to_string()).unwrap_or_default(),
            "\"FeatureCollection\"",
        );
        broken.insert(("reach", INCOMPLETE.to_string()));
        return;
    }
    let Some(features) = v.get("features").and_then(|f| f.as_array()) else {
        probs.push(path, None, item, "features", "", "an array of features");
        broken.insert(("reach", INCOMPLETE.to_string()));
        return;
    };
    for (k, f) in features.iter().enumerate() {
        let ord = k + 1;
        let props = f
            .get("properties")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        let id = props.get("id").and_then(|i| match i {
            serde_json::Value::String(s) => Some(s.clone()),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let lab = match &id {
            Some(id) => format!("reach {id} (feature #{ord})"),
            None => format!("reach feature #{ord}"),
        };
        let geom = f.get("geometry");
        let gtype = geom.and_then(|g| g.get("type")).and_then(|t| t.as_str());
        let mut ok = true;
        let mut pts = Vec::new();
        if gtype != Some("LineString") {
            probs.push(
                path,
                None,
                &lab,
                "geometry.type",
                gtype.unwrap_or(""),
                "\"LineString\"",
            );
            ok = false;
        } else {
            let coords = geom
                .and_then(|g| g.get("coordinates"))
                .and_then(|c| c.as_array());
            match coords {
                Some(cs) if cs.len() >= 2 => {
                    for (j, c) in cs.iter().enumerate() {
                        let xy = c
                            .as_array()
                            .filter(|a| a.len() >= 2)
                            .and_then(|a| Some((a[0].as_f64()?, a[1].as_f64()?)));
                        match xy {
                            Some((x, y)) if x.is_finite() && y.is_finite() => pts.push((x, y)),
                            _ => {
                                probs.push(
                                    path,
                                    None,
                                    &lab,
                                    format!("geometry.coordinates[{j}]"),
                                    c.to_string(),
                                    "a position [x, y] of finite numbers",
                                );
                                ok = false;
                                break;
                            }
                        }
                    }
                }
                _ => {
                    probs.push(
                        path,
                        None,
                        &lab,
                        "geometry.coordinates",
                        "",
                        "at least two positions [x, y]",
                    );
                    ok = false;
                }
            }
        }
        let raw = match props {
            serde_json::Value::Object(_) => match serde_json::from_value::<RawReach>(props) {
                Ok(r) => Some(r),
                Err(e) => {
                    let msg = e.to_string();
                    let field = backticked_after(&msg, "unknown field `")
                        .unwrap_or("")
                        .to_string();
                    probs.push(path, None, &lab, field, "", friendly(&msg));
                    None
                }
            },
            _ => {
                probs.push(
                    path,
                    None,
                    &lab,
                    "properties",
                    "",
                    "an object with the reach keys (id, from, to, …)",
                );
                None
            }
        };
        match raw {
            Some(raw) if ok => out.push((
                Item {
                    raw,
                    loc: Loc {
                        file: file.clone(),
                        line: None,
                        fields: Vec::new(),
                    },
                    ord,
                },
                pts,
            )),
            _ => {
                if let Some(id) = id {
                    broken.insert(("reach", id));
                }
            }
        }
    }
}
