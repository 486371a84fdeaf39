//! From raw items to the validated [`Model`]: every check, every default, the bed levels.
//!
//! Each item is checked on its own and every problem is recorded before moving on; an item with a problem
//! still takes part in the checks that do not depend on the faulty value (an outfall beyond its reach's
//! length is reported even when that reach has another error, as long as its length is valid). The model is
//! returned only when nothing was found.
//!
//! Bed levels from slopes: node inverts are known from `bed_m` where given, else outlets are at 0.0 m; the inverts then spread
//! breadth-first across reaches that give a slope S (from-node invert = to-node invert + S·L, or the reverse);
//! nodes still unknown start a new spread at 0.0 m. A reach with a slope has bed_down_m = invert(to) and
//! bed_up_m = bed_down_m + S·L. A reach with neither slope nor levels has a flat bed (S = 0).

use super::parse::{Item, Loc, RawScenario, inflow_label, label};
use super::problems::Problems;
use super::raw::*;
use super::series::{self, TsTable};
use crate::model::*;
use chrono::NaiveDateTime;
use rayon::prelude::*;
use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::rc::Rc;

/// At most this many cells in a network (all reaches together).
pub const MAX_CELLS: usize = 20_000_000;
/// At most this many output times.
pub const MAX_OUTPUTS: f64 = 1e7;
/// At most this many fixed time steps.
pub const MAX_STEPS: f64 = 1e9;

/// Names a pollutant may not take: they are column names of the time-series and output files.
const RESERVED: [&str; 9] = [
    "time",
    "section",
    "reach",
    "flow_m3s",
    "velocity_ms",
    "depth_m",
    "travel_time_s",
    "level_m",
    "water_c",
];

/// Given-or-not and valid-or-not: `None` absent, `Some(None)` given but invalid (already reported).
type Opt<T> = Option<Option<T>>;

#[derive(Clone, Copy, Debug)]
enum Bed {
    Slope(f64),
    Levels(f64, f64),
}

/// The reach keys shared by `[defaults]` and `[[reaches]]`, as typed values.
#[derive(Default, Clone)]
struct Typed {
    length_m: Opt<f64>,
    section: Opt<Section>,
    bed: Opt<Bed>,
    manning_n: Opt<f64>,
    dispersion_m2s: Opt<f64>,
    decay: Opt<Vec<f64>>,
    cell_length_m: Opt<f64>,
    water_body: Opt<WaterBody>,
    zone: Option<String>,
    jurisdiction: Option<String>,
    level: Opt<ChiefLevel>,
    release: Opt<Vec<f64>>,
    river: Option<String>,
}

fn or<T: Clone>(own: &Opt<T>, def: &Opt<T>) -> Opt<T> {
    own.clone().or_else(|| def.clone())
}

fn fmt(v: f64) -> String {
    format!("{v}")
}

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

/// Ids borrowed from the raw items (no copies of the strings).
type IdMap<'r> = HashMap<&'r str, usize, std::hash::BuildHasherDefault<FxHasher>>;

struct Ids<'r> {
    map: IdMap<'r>,
}

struct B<'a> {
    probs: &'a mut Problems,
    scenario: PathBuf,
    dir: PathBuf,
    pollutants: Vec<String>,
    pidx: HashMap<String, usize>,
    start: NaiveDateTime,
    ts_cache: HashMap<PathBuf, Option<Rc<TsTable>>>,
}

impl B<'_> {
    fn push(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        value: impl Into<String>,
        expected: impl Into<String>,
    ) {
        self.probs
            .push(&loc.file, loc.line_of(field), item, field, value, expected);
    }

    /// Check a number: finite and within the rule; `Some(v)` when valid.
    fn num(&mut self, loc: &Loc, item: &str, field: &str, v: f64, rule: Rule) -> Option<f64> {
        if rule.holds(v) {
            Some(v)
        } else {
            self.push(loc, item, field, fmt(v), rule.expected());
            None
        }
    }

    fn opt_num(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        v: Option<f64>,
        rule: Rule,
    ) -> Opt<f64> {
        v.map(|v| self.num(loc, item, field, v, rule))
    }

    fn declared(&self) -> String {
        if self.pollutants.is_empty() {
            "none are declared in [simulation] pollutants".into()
        } else {
            format!(
                "declared in [simulation] pollutants: {}",
                self.pollutants.join(", ")
            )
        }
    }

    /// A per-pollutant table → one value per pollutant in model order (absent → 0). `None` if invalid.
    fn table(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        t: &PollutantTable,
        rule: Rule,
    ) -> Option<Vec<f64>> {
        let mut out = vec![0.0; self.pollutants.len()];
        let mut ok = true;
        for (name, &v) in t {
            match self.pidx.get(name) {
                Some(&k) if rule.holds(v) => out[k] = v,
                Some(_) => {
                    self.num(loc, item, &format!("{field}.{name}"), v, rule);
                    ok = false;
                }
                None => {
                    let d = self.declared();
                    self.push(
                        loc,
                        item,
                        field,
                        name.clone(),
                        format!("a declared pollutant ({d})"),
                    );
                    ok = false;
                }
            }
        }
        ok.then_some(out)
    }

    fn interpolate(&mut self, loc: &Loc, item: &str, v: Option<&String>, has_series: bool) -> bool {
        match v.map(|s| s.as_str()) {
            None => false,
            Some(s) if !has_series => {
                self.push(
                    loc,
                    item,
                    "interpolate",
                    s,
                    "only with a time series (`…_series`); remove it",
                );
                false
            }
            Some("step") => false,
            Some("linear") => true,
            Some(other) => {
                self.push(loc, item, "interpolate", other, "one of: step, linear");
                false
            }
        }
    }

    fn ts(&mut self, loc: &Loc, item: &str, rel: &str) -> Option<Rc<TsTable>> {
        let path = self.dir.join(rel);
        if let Some(t) = self.ts_cache.get(&path) {
            return t.clone();
        }
        let _ = loc;
        let t =
            series::read_table(&path, self.start, &self.pollutants, item, self.probs).map(Rc::new);
        self.ts_cache.insert(path, t.clone());
        t
    }

    fn column(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        rel: &str,
        column: &str,
        linear: bool,
    ) -> Option<Series> {
        let t = self.ts(loc, item, rel)?;
        match t.column(column) {
            Some(v) => Some(Series::Table {
                times_s: t.times_s.clone(),
                values: v.to_vec(),
                linear,
            }),
            None => {
                self.push(
                    loc,
                    item,
                    field,
                    rel,
                    format!(
                        "a time-series file with a column `{column}` (it has: {})",
                        t.columns.join(", ")
                    ),
                );
                None
            }
        }
    }

    /// A flow that must be given, as `flow_m3s` or `flow_series` (inflows, withdrawals); a missing one is a
    /// problem.
    fn required_flow(
        &mut self,
        loc: &Loc,
        item: &str,
        flow_m3s: Option<f64>,
        flow_series: Option<&String>,
        linear: bool,
    ) -> Opt<Series> {
        let flow = self.const_or_series(
            loc,
            item,
            "flow_m3s",
            flow_m3s,
            "flow_series",
            flow_series,
            "flow_m3s",
            linear,
            Rule::NonNegative,
        );
        if flow.is_none() {
            self.push(
                loc,
                item,
                "flow_m3s",
                "",
                "a flow in m³/s (≥ 0) or a flow_series file",
            );
        }
        flow
    }

    /// A constant or a series column (exactly one of them). `required`: report when both are absent.
    #[allow(clippy::too_many_arguments)]
    fn const_or_series(
        &mut self,
        loc: &Loc,
        item: &str,
        cfield: &str,
        c: Option<f64>,
        sfield: &str,
        s: Option<&String>,
        column: &str,
        linear: bool,
        rule: Rule,
    ) -> Opt<Series> {
        match (c, s) {
            (Some(_), Some(_)) => {
                self.push(
                    loc,
                    item,
                    sfield,
                    "",
                    format!("either `{cfield}` or `{sfield}`, not both"),
                );
                Some(None)
            }
            (Some(v), None) => Some(self.num(loc, item, cfield, v, rule).map(Series::Const)),
            (None, Some(rel)) => Some(self.column(loc, item, sfield, rel, column, linear)),
            (None, None) => None,
        }
    }

    /// Concentrations per pollutant from a constant table and/or a series file.
    fn concentrations(
        &mut self,
        loc: &Loc,
        item: &str,
        table: Option<&PollutantTable>,
        series_file: Option<&String>,
        linear: bool,
    ) -> Option<Vec<Series>> {
        let mut out: Vec<Series> = vec![Series::Const(0.0); self.pollutants.len()];
        let mut ok = true;
        if let Some(t) = table {
            match self.table(loc, item, "concentration", t, Rule::NonNegative) {
                Some(v) => {
                    for (k, x) in v.into_iter().enumerate() {
                        out[k] = Series::Const(x);
                    }
                }
                None => ok = false,
            }
        }
        if let Some(rel) = series_file {
            match self.ts(loc, item, rel) {
                Some(ts) => {
                    let mut any = false;
                    for (c, name) in ts.columns.iter().enumerate() {
                        if let Some(&k) = self.pidx.get(name) {
                            any = true;
                            if table.is_some_and(|t| t.contains_key(name)) {
                                self.push(
                                    loc,
                                    item,
                                    "concentration",
                                    name.clone(),
                                    format!("each pollutant either in `concentration` or in `concentration_series` ({rel}), not both"),
                                );
                                ok = false;
                            }
                            out[k] = Series::Table {
                                times_s: ts.times_s.clone(),
                                values: ts.values[c].clone(),
                                linear,
                            };
                        }
                    }
                    if !any {
                        let d = self.declared();
                        self.push(
                            loc,
                            item,
                            "concentration_series",
                            rel.clone(),
                            format!("a file with at least one pollutant column ({d})"),
                        );
                        ok = false;
                    }
                }
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn enum_value<T: Copy>(
        &mut self,
        loc: &Loc,
        item: &str,
        field: &str,
        v: &str,
        options: &[(&str, T)],
    ) -> Option<T> {
        match options.iter().find(|(n, _)| *n == v) {
            Some(&(_, t)) => Some(t),
            None => {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                self.push(loc, item, field, v, format!("one of: {}", names.join(", ")));
                None
            }
        }
    }

    fn section(&mut self, loc: &Loc, item: &str, s: &RawSection) -> Option<Section> {
        let f = |k: &str| format!("section.{k}");
        let shape = match s.shape.as_deref() {
            None => {
                self.push(
                    loc,
                    item,
                    "section.shape",
                    "",
                    "a shape: rectangle, trapezoid or table",
                );
                return None;
            }
            Some(x) => x,
        };
        let mut ok = true;
        let mut unused = |b: &mut Self, key: &str, given: bool| {
            if given {
                b.push(
                    loc,
                    item,
                    &f(key),
                    "",
                    format!("not a key of shape {shape}; remove it"),
                );
                ok = false;
            }
        };
        match shape {
            "rectangle" => {
                unused(self, "bottom_width_m", s.bottom_width_m.is_some());
                unused(self, "side_slope", s.side_slope.is_some());
                unused(self, "depths_m", s.depths_m.is_some());
                unused(self, "widths_m", s.widths_m.is_some());
                let w = match s.width_m {
                    Some(w) => self.num(loc, item, &f("width_m"), w, Rule::Positive),
                    None => {
                        self.push(
                            loc,
                            item,
                            &f("width_m"),
                            "",
                            "a width in m (> 0) for a rectangle",
                        );
                        None
                    }
                };
                let w = w?;
                ok.then_some(Section::Rectangle { width_m: w })
            }
            "trapezoid" => {
                unused(self, "width_m", s.width_m.is_some());
                unused(self, "depths_m", s.depths_m.is_some());
                unused(self, "widths_m", s.widths_m.is_some());
                let z = match s.side_slope {
                    Some(z) => self.num(loc, item, &f("side_slope"), z, Rule::NonNegative),
                    None => {
                        self.push(
                            loc,
                            item,
                            &f("side_slope"),
                            "",
                            "a side slope (horizontal:vertical, ≥ 0) for a trapezoid",
                        );
                        None
                    }
                };
                let b = match s.bottom_width_m {
                    Some(b) => {
                        // a bottom width of 0 is a triangle, valid only with sloped banks
                        if b.is_finite() && (b > 0.0 || (b == 0.0 && z.is_some_and(|z| z > 0.0))) {
                            Some(b)
                        } else {
                            self.push(
                                loc,
                                item,
                                &f("bottom_width_m"),
                                fmt(b),
                                "a finite width in m, > 0 (or 0 with side_slope > 0)",
                            );
                            None
                        }
                    }
                    None => {
                        self.push(
                            loc,
                            item,
                            &f("bottom_width_m"),
                            "",
                            "a bottom width in m (> 0) for a trapezoid",
                        );
                        None
                    }
                };
                let (b, z) = (b?, z?);
                ok.then_some(Section::Trapezoid {
                    bottom_width_m: b,
                    side_slope: z,
                })
            }
            "table" => {
                unused(self, "width_m", s.width_m.is_some());
                unused(self, "bottom_width_m", s.bottom_width_m.is_some());
                unused(self, "side_slope", s.side_slope.is_some());
                let (Some(d), Some(w)) = (&s.depths_m, &s.widths_m) else {
                    self.push(
                        loc,
                        item,
                        "section",
                        "",
                        "a table section gives depths_m and widths_m, lists of equal length (≥ 2)",
                    );
                    return None;
                };
                if d.len() != w.len() || d.len() < 2 {
                    self.push(
                        loc,
                        item,
                        &f("widths_m"),
                        format!("{} depths, {} widths", d.len(), w.len()),
                        "depths_m and widths_m of equal length, at least 2 points",
                    );
                    return None;
                }
                if d[0] != 0.0
                    || d.windows(2)
                        .any(|p| p[1].partial_cmp(&p[0]) != Some(std::cmp::Ordering::Greater))
                    || d.iter().any(|x| !x.is_finite())
                {
                    self.push(
                        loc,
                        item,
                        &f("depths_m"),
                        format!("{d:?}"),
                        "finite depths starting at 0, strictly increasing",
                    );
                    ok = false;
                }
                if w.iter().any(|x| !(x.is_finite() && *x > 0.0))
                    || w.windows(2).any(|p| p[1] < p[0])
                {
                    self.push(
                        loc,
                        item,
                        &f("widths_m"),
                        format!("{w:?}"),
                        "finite widths > 0, non-decreasing with depth",
                    );
                    ok = false;
                }
                ok.then(|| Section::Table {
                    depth_m: d.clone(),
                    width_m: w.clone(),
                })
            }
            other => {
                self.push(
                    loc,
                    item,
                    "section.shape",
                    other,
                    "one of: rectangle, trapezoid, table",
                );
                None
            }
        }
    }

    /// Type the reach keys shared with `[defaults]`.
    fn typed(&mut self, loc: &Loc, item: &str, r: &RawReach) -> Typed {
        let mut t = Typed {
            length_m: self.opt_num(loc, item, "length_m", r.length_m, Rule::Positive),
            manning_n: self.opt_num(loc, item, "manning_n", r.manning_n, Rule::Manning),
            dispersion_m2s: self.opt_num(
                loc,
                item,
                "dispersion_m2s",
                r.dispersion_m2s,
                Rule::NonNegative,
            ),
            cell_length_m: self.opt_num(
                loc,
                item,
                "cell_length_m",
                r.cell_length_m,
                Rule::Positive,
            ),
            zone: r.zone.as_ref().map(|z| z.0.clone()),
            jurisdiction: r.jurisdiction.clone(),
            river: r.river.clone(),
            ..Typed::default()
        };
        t.section = r.section.as_ref().map(|s| self.section(loc, item, s));
        t.decay = r
            .decay_per_day
            .as_ref()
            .map(|d| self.table(loc, item, "decay_per_day", d, Rule::NonNegative));
        t.release = r
            .release_g_m2_day
            .as_ref()
            .map(|d| self.table(loc, item, "release_g_m2_day", d, Rule::NonNegative));
        t.water_body = r.water_body.as_ref().map(|w| {
            self.enum_value(
                loc,
                item,
                "water_body",
                w,
                &[("river", WaterBody::River), ("lake", WaterBody::Lake)],
            )
        });
        t.level = r.level.as_ref().map(|l| {
            self.enum_value(
                loc,
                item,
                "level",
                l,
                &[
                    ("district", ChiefLevel::District),
                    ("town", ChiefLevel::Town),
                    ("village", ChiefLevel::Village),
                ],
            )
        });
        t.bed = match (r.bed_slope, r.bed_up_m, r.bed_down_m) {
            (None, None, None) => None,
            (Some(s), None, None) => Some(
                self.num(loc, item, "bed_slope", s, Rule::Finite)
                    .map(Bed::Slope),
            ),
            (None, Some(u), Some(d)) => {
                let u = self.num(loc, item, "bed_up_m", u, Rule::Finite);
                let d = self.num(loc, item, "bed_down_m", d, Rule::Finite);
                Some(u.zip(d).map(|(u, d)| Bed::Levels(u, d)))
            }
            (Some(_), _, _) => {
                self.push(
                    loc,
                    item,
                    "bed_slope",
                    "",
                    "either bed_slope or bed_up_m and bed_down_m, not both",
                );
                Some(None)
            }
            (None, u, _) => {
                let missing = if u.is_some() {
                    "bed_down_m"
                } else {
                    "bed_up_m"
                };
                self.push(
                    loc,
                    item,
                    missing,
                    "",
                    "bed_up_m and bed_down_m together (or bed_slope)",
                );
                Some(None)
            }
        };
        t
    }

    fn ids<'r, T>(
        &mut self,
        kind: &str,
        items: &'r [Item<T>],
        id_of: impl Fn(&T) -> Option<&Id>,
    ) -> Ids<'r> {
        self.ids_by(kind, items, |it| it, id_of)
    }

    /// The id map of `items` (each element's item picked by `item`), reporting missing, empty and repeated
    /// ids under `kind`.
    fn ids_by<'r, I, T: 'r>(
        &mut self,
        kind: &str,
        items: &'r [I],
        item: impl Fn(&'r I) -> &'r Item<T>,
        id_of: impl Fn(&'r T) -> Option<&'r Id>,
    ) -> Ids<'r> {
        let mut map: IdMap = IdMap::with_capacity_and_hasher(items.len(), Default::default());
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
                Some(Id(id)) => {
                    if let Some(&first) = map.get(id.as_str()) {
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
                        map.insert(id.as_str(), k);
                    }
                }
            }
        }
        Ids { map }
    }
}

#[derive(Clone, Copy)]
enum Rule {
    Finite,
    Positive,
    NonNegative,
    Manning,
}

impl Rule {
    fn holds(self, v: f64) -> bool {
        v.is_finite()
            && match self {
                Rule::Finite => true,
                Rule::Positive => v > 0.0,
                Rule::NonNegative => v >= 0.0,
                Rule::Manning => v > 0.0 && v <= 0.2,
            }
    }

    fn expected(self) -> &'static str {
        match self {
            Rule::Finite => "a finite number",
            Rule::Positive => "a finite number > 0",
            Rule::NonNegative => "a finite number ≥ 0",
            Rule::Manning => {
                "a Manning n in (0, 0.2] s/m^(1/3) (e.g. 0.025–0.04 for earth channels)"
            }
        }
    }
}

/// Resolve a reference: `Ok(Some(i))` found, `Ok(None)` refers to a broken item (already reported),
/// `Err(())` unknown (reported here).
#[allow(clippy::too_many_arguments)]
fn resolve(
    b: &mut B<'_>,
    rs: &RawScenario,
    ids: &Ids,
    kind: &'static str,
    loc: &Loc,
    item: &str,
    field: &str,
    id: &str,
) -> Result<Option<usize>, ()> {
    if let Some(&i) = ids.map.get(id) {
        return Ok(Some(i));
    }
    if rs.is_broken(kind, id) {
        return Ok(None);
    }
    b.push(
        loc,
        item,
        field,
        id,
        format!("the id of a {kind} defined in the scenario"),
    );
    Err(())
}

fn time_value(b: &mut B<'_>, loc: &Loc, field: &str, v: &toml::Value) -> Option<NaiveDateTime> {
    let text = match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Datetime(d) => d.to_string(),
        other => {
            b.push(
                loc,
                "[simulation]",
                field,
                other.type_str(),
                "an ISO date or date-time, e.g. \"2025-01-01\"",
            );
            return None;
        }
    };
    match series::parse_time(&text) {
        Ok(t) => Some(t),
        Err(e) => {
            b.push(loc, "[simulation]", field, text, e);
            None
        }
    }
}

fn duration(b: &mut B<'_>, loc: &Loc, field: &str, v: &str) -> Option<f64> {
    match series::parse_duration(v) {
        Ok(s) => Some(s),
        Err(e) => {
            b.push(loc, "[simulation]", field, v, e);
            None
        }
    }
}

/// Check everything and build the model.
pub fn build(rs: RawScenario, scenario: &Path, probs: &mut Problems) -> Option<Model> {
    let dir = scenario
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let top = Loc {
        file: std::sync::Arc::from(scenario),
        line: None,
        fields: Vec::new(),
    };
    let fallback_start = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or_default();
    let mut b = B {
        probs,
        scenario: scenario.to_path_buf(),
        dir,
        pollutants: Vec::new(),
        pidx: HashMap::new(),
        start: fallback_start,
        ts_cache: HashMap::new(),
    };

    // ---- [simulation]
    let mut sim_ok = true;
    let mut start = None;
    let mut end_s = 0.0;
    let mut time_step_s = None;
    let mut output_interval_s = 0.0;
    let mut warmup_s = 0.0;
    let mut mode = Mode::Dynamic;
    match &rs.simulation {
        None => {
            sim_ok = false;
            if !rs.broken_tables.contains("simulation") {
                b.push(
                    &top,
                    "[simulation]",
                    "",
                    "",
                    "a [simulation] table with start, end, output_interval and pollutants",
                );
            }
        }
        Some(it) => {
            let s = &it.raw;
            let loc = &it.loc;
            let need = |b: &mut B<'_>, field: &str, what: &str| {
                b.push(loc, "[simulation]", field, "", format!("{what} (required)"));
            };
            start = match &s.start {
                Some(v) => time_value(&mut b, loc, "start", v),
                None => {
                    need(&mut b, "start", "the start date-time");
                    None
                }
            };
            let end = match &s.end {
                Some(v) => time_value(&mut b, loc, "end", v),
                None => {
                    need(&mut b, "end", "the end date-time");
                    None
                }
            };
            if let (Some(st), Some(en)) = (start, end) {
                end_s = series::seconds_between(st, en);
                if end_s <= 0.0 {
                    let v = s.end.as_ref().map(|v| v.to_string()).unwrap_or_default();
                    b.push(
                        loc,
                        "[simulation]",
                        "end",
                        v.trim_matches('"'),
                        format!("a date-time after the start ({st})"),
                    );
                    sim_ok = false;
                }
            } else {
                sim_ok = false;
            }
            if let Some(ts) = &s.time_step {
                match duration(&mut b, loc, "time_step", ts) {
                    Some(v) if v > 0.0 => {
                        time_step_s = Some(v);
                        if sim_ok && end_s / v > MAX_STEPS {
                            b.push(
                                loc,
                                "[simulation]",
                                "time_step",
                                ts.clone(),
                                format!("a step giving at most {MAX_STEPS:e} steps over the run"),
                            );
                        }
                    }
                    Some(_) => b.push(
                        loc,
                        "[simulation]",
                        "time_step",
                        ts.clone(),
                        "a duration > 0",
                    ),
                    None => {}
                }
            }
            match &s.output_interval {
                Some(oi) => match duration(&mut b, loc, "output_interval", oi) {
                    Some(v) if v > 0.0 => {
                        output_interval_s = v;
                        if sim_ok && end_s / v > MAX_OUTPUTS {
                            b.push(
                                loc,
                                "[simulation]",
                                "output_interval",
                                oi.clone(),
                                format!("an interval giving at most {MAX_OUTPUTS:e} output times"),
                            );
                        }
                    }
                    Some(_) => b.push(
                        loc,
                        "[simulation]",
                        "output_interval",
                        oi.clone(),
                        "a duration > 0",
                    ),
                    None => {}
                },
                None => need(
                    &mut b,
                    "output_interval",
                    "the output interval, e.g. \"1h\"",
                ),
            }
            if let Some(w) = &s.warmup
                && let Some(v) = duration(&mut b, loc, "warmup", w)
            {
                warmup_s = v;
                if sim_ok && v >= end_s {
                    b.push(
                        loc,
                        "[simulation]",
                        "warmup",
                        w.clone(),
                        format!("a warm-up shorter than the run ({end_s} s)"),
                    );
                }
            }
            if let Some(m) = &s.mode
                && let Some(m) = b.enum_value(
                    loc,
                    "[simulation]",
                    "mode",
                    m,
                    &[("dynamic", Mode::Dynamic), ("steady", Mode::Steady)],
                )
            {
                mode = m;
            }
            match &s.pollutants {
                None => need(
                    &mut b,
                    "pollutants",
                    "the list of simulated pollutants, e.g. [\"COD\", \"NH3N\", \"TP\"] (may be empty)",
                ),
                Some(ps) => {
                    for p in ps {
                        let bad_char = p.trim() != p
                            || p.is_empty()
                            || p.contains([',', '"', '\n', '\r', '.']);
                        if bad_char {
                            b.push(loc, "[simulation]", "pollutants", format!("{p:?}"), "a non-empty name without commas, quotes, dots or surrounding spaces");
                        } else if RESERVED.contains(&p.as_str()) {
                            b.push(
                                loc,
                                "[simulation]",
                                "pollutants",
                                p.clone(),
                                format!(
                                    "a name other than the column names {}",
                                    RESERVED.join(", ")
                                ),
                            );
                        } else if b.pidx.contains_key(p) {
                            b.push(
                                loc,
                                "[simulation]",
                                "pollutants",
                                p.clone(),
                                "each pollutant once",
                            );
                        } else {
                            b.pidx.insert(p.clone(), b.pollutants.len());
                            b.pollutants.push(p.clone());
                        }
                    }
                }
            }
        }
    }
    if let Some(st) = start {
        b.start = st;
    }

    // ---- [initial]
    let mut initial = InitialState::Steady;
    if let Some(it) = &rs.initial {
        let (loc, r) = (&it.loc, &it.raw);
        let state = r.state.as_deref().unwrap_or("steady");
        match state {
            "steady" | "zero" => {
                if r.concentration.is_some() {
                    b.push(
                        loc,
                        "[initial]",
                        "concentration",
                        "",
                        "concentration only with state = \"values\"",
                    );
                }
                if state == "zero" {
                    initial = InitialState::Zero;
                }
            }
            "values" => match &r.concentration {
                Some(t) => {
                    if let Some(v) =
                        b.table(loc, "[initial]", "concentration", t, Rule::NonNegative)
                    {
                        initial = InitialState::Values(v);
                    }
                }
                None => b.push(
                    loc,
                    "[initial]",
                    "concentration",
                    "",
                    "a concentration table (mg/L) with state = \"values\"",
                ),
            },
            other => b.push(
                loc,
                "[initial]",
                "state",
                other,
                "one of: steady, zero, values",
            ),
        }
    }

    // ---- ids
    let node_ids = b.ids("node", &rs.nodes, |r| r.id.as_ref());
    let reach_ids = b.ids_by(
        "reach",
        &rs.reaches,
        |(it, _)| it,
        |r: &RawReach| r.id.as_ref(),
    );
    let outfall_ids = b.ids("outfall", &rs.outfalls, |r| r.id.as_ref());
    let zone_ids = b.ids("zone", &rs.zones, |r| r.id.as_ref());
    let section_ids = b.ids("section", &rs.sections, |r| r.id.as_ref());
    let _line_ids = b.ids("line load", &rs.line_loads, |r| r.id.as_ref());
    let _ = &outfall_ids;

    // ---- nodes
    let mut nodes: Vec<Node> = Vec::with_capacity(rs.nodes.len());
    for it in &rs.nodes {
        let r = &it.raw;
        let loc = &it.loc;
        let id = r.id.as_ref().map(|i| i.0.clone()).unwrap_or_default();
        let lab = label("node", r.id.as_ref().map(|i| i.0.as_str()), it.ord);
        let kind = match r.kind.as_deref() {
            None => NodeKind::Junction,
            Some(k) => b
                .enum_value(
                    loc,
                    &lab,
                    "kind",
                    k,
                    &[
                        ("junction", NodeKind::Junction),
                        ("boundary", NodeKind::Boundary),
                        ("outlet", NodeKind::Outlet),
                        ("storage", NodeKind::Storage),
                    ],
                )
                .unwrap_or(NodeKind::Junction),
        };
        let x = b.opt_num(loc, &lab, "x", r.x, Rule::Finite);
        let y = b.opt_num(loc, &lab, "y", r.y, Rule::Finite);
        let xy = match (x, y) {
            (Some(x), Some(y)) => x.zip(y),
            (None, None) => None,
            (Some(_), None) => {
                b.push(loc, &lab, "y", "", "x and y together");
                None
            }
            (None, Some(_)) => {
                b.push(loc, &lab, "x", "", "x and y together");
                None
            }
        };
        let linear = b.interpolate(loc, &lab, r.interpolate.as_ref(), r.level_series.is_some());
        let level = b.const_or_series(
            loc,
            &lab,
            "level_m",
            r.level_m,
            "level_series",
            r.level_series.as_ref(),
            "level_m",
            linear,
            Rule::Finite,
        );
        if level.is_some() && kind == NodeKind::Boundary {
            b.push(loc, &lab, "level_m", "", "no held level at a boundary node (its water comes from [[inflows]]); make it a junction to hold a level");
        }
        let bed_m = b
            .opt_num(loc, &lab, "bed_m", r.bed_m, Rule::Finite)
            .flatten();
        let mut concentration = vec![Series::Const(0.0); b.pollutants.len()];
        if let Some(t) = &r.concentration {
            if kind != NodeKind::Outlet {
                b.push(loc, &lab, "concentration", "", "concentration only at an outlet (the quality of water entering on reversed flow)");
            } else if let Some(v) = b.table(loc, &lab, "concentration", t, Rule::NonNegative) {
                concentration = v.into_iter().map(Series::Const).collect();
            }
        }
        let area = b
            .opt_num(loc, &lab, "area_m2", r.area_m2, Rule::Positive)
            .flatten();
        if kind == NodeKind::Storage && r.area_m2.is_none() {
            b.push(
                loc,
                &lab,
                "area_m2",
                "",
                "a surface area in m² (> 0) for a storage node",
            );
        }
        if kind != NodeKind::Storage && r.area_m2.is_some() {
            b.push(
                loc,
                &lab,
                "area_m2",
                "",
                "area_m2 only for kind = \"storage\"",
            );
        }
        nodes.push(Node {
            id,
            kind,
            xy,
            level_m: level.flatten(),
            bed_m,
            concentration,
            area_m2: area,
        });
    }

    // ---- [defaults]
    let defaults = match &rs.defaults {
        Some(it) => {
            let d = &it.raw;
            let as_reach = RawReach {
                id: None,
                from: None,
                to: None,
                length_m: d.length_m,
                section: d.section.clone(),
                bed_slope: d.bed_slope,
                bed_up_m: d.bed_up_m,
                bed_down_m: d.bed_down_m,
                manning_n: d.manning_n,
                dispersion_m2s: d.dispersion_m2s,
                decay_per_day: d.decay_per_day.clone(),
                cell_length_m: d.cell_length_m,
                water_body: d.water_body.clone(),
                zone: d.zone.clone(),
                jurisdiction: d.jurisdiction.clone(),
                level: d.level.clone(),
                release_g_m2_day: d.release_g_m2_day.clone(),
                river: d.river.clone(),
            };
            let t = b.typed(&it.loc, "[defaults]", &as_reach);
            if let Some(z) = &t.zone
                && !zone_ids.map.contains_key(z.as_str())
                && !rs.is_broken("zone", z)
            {
                b.push(
                    &it.loc,
                    "[defaults]",
                    "zone",
                    z.clone(),
                    "the id of a zone defined in [[zones]]",
                );
            }
            t
        }
        None => Typed::default(),
    };
    let defaults_broken = rs.broken_tables.contains("defaults");

    // ---- reaches
    let n_reach = rs.reaches.len();
    let mut reaches: Vec<Reach> = Vec::with_capacity(n_reach);
    let mut ends_ok = vec![true; n_reach];
    let mut length_ok = vec![true; n_reach];
    let mut beds: Vec<Option<Bed>> = vec![None; n_reach];
    let mut total_cells: usize = 0;
    // the end nodes of every reach looked up in parallel first (plain map reads); a reach whose id is not
    // found goes through `resolve` below as before, so the problems are the same and in the same order
    let found = |v: &Option<Id>| {
        v.as_ref()
            .and_then(|Id(id)| node_ids.map.get(id.as_str()).copied())
    };
    let found_ends: Vec<(Option<usize>, Option<usize>)> = rs
        .reaches
        .par_iter()
        .with_min_len(ROWS_PER_TASK)
        .map(|(it, _)| (found(&it.raw.from), found(&it.raw.to)))
        .collect();
    for (k, (it, geometry)) in rs.reaches.iter().enumerate() {
        let r = &it.raw;
        let loc = &it.loc;
        let lab = label("reach", r.id.as_ref().map(|i| i.0.as_str()), it.ord);
        let own = b.typed(loc, &lab, r);
        let end = |b: &mut B<'_>, field: &str, v: &Option<Id>, known: Option<usize>| {
            if known.is_some() {
                return known;
            }
            match v {
                None => {
                    b.push(loc, &lab, field, "", "a node id (required)");
                    None
                }
                Some(Id(id)) => resolve(b, &rs, &node_ids, "node", loc, &lab, field, id)
                    .ok()
                    .flatten(),
            }
        };
        let from = end(&mut b, "from", &r.from, found_ends[k].0);
        let to = end(&mut b, "to", &r.to, found_ends[k].1);
        if let (Some(f), Some(t)) = (from, to) {
            if f == t {
                b.push(
                    loc,
                    &lab,
                    "to",
                    nodes[t].id.clone(),
                    "a node other than `from` (a reach joins two different nodes)",
                );
                ends_ok[k] = false;
            }
        } else {
            ends_ok[k] = false;
        }
        // length: own, else the polyline, else [defaults]
        let poly_len: f64 = geometry
            .windows(2)
            .map(|w| ((w[1].0 - w[0].0).powi(2) + (w[1].1 - w[0].1).powi(2)).sqrt())
            .sum();
        let length = match &own.length_m {
            Some(l) => *l,
            None if !geometry.is_empty() => {
                if poly_len > 0.0 && poly_len.is_finite() {
                    Some(poly_len)
                } else {
                    b.push(
                        loc,
                        &lab,
                        "geometry.coordinates",
                        fmt(poly_len),
                        "a polyline of positive length (or give length_m)",
                    );
                    None
                }
            }
            None => match &defaults.length_m {
                Some(l) => *l,
                None => {
                    b.push(loc, &lab, "length_m", "", "a length in m (> 0)");
                    None
                }
            },
        };
        length_ok[k] = length.is_some();
        let required =
            |b: &mut B<'_>, field: &str, o: &Opt<f64>, d: &Opt<f64>, what: &str| -> Option<f64> {
                match or(o, d) {
                    Some(v) => v,
                    None => {
                        if !defaults_broken {
                            b.push(
                                loc,
                                &lab,
                                field,
                                "",
                                format!("{what}, here or in [defaults]"),
                            );
                        }
                        None
                    }
                }
            };
        let manning = required(
            &mut b,
            "manning_n",
            &own.manning_n,
            &defaults.manning_n,
            "a Manning n in (0, 0.2]",
        );
        let section = match or(&own.section, &defaults.section) {
            Some(s) => s,
            None => {
                if !defaults_broken {
                    b.push(loc, &lab, "section", "", "a cross-section, e.g. { shape = \"rectangle\", width_m = 20.0 }, here or in [defaults]");
                }
                None
            }
        };
        let cell_length = or(&own.cell_length_m, &defaults.cell_length_m).unwrap_or(Some(100.0));
        if let (Some(l), Some(dx)) = (length, cell_length) {
            let n = (l / dx).round().max(1.0);
            if n > MAX_CELLS as f64 || total_cells + n as usize > MAX_CELLS {
                b.push(loc, &lab, "cell_length_m", fmt(dx), format!("a cell length giving at most {MAX_CELLS} cells in the whole network (this reach alone: {n} cells)"));
            } else {
                total_cells += n as usize;
            }
        }
        // bed: the reach's own bed keys (any of them) replace the default's
        let bed = if own.bed.is_some() {
            own.bed
        } else {
            defaults.bed
        };
        // neither slope nor levels: a flat bed (slope 0), which also carries the inverts across
        beds[k] = match bed {
            None => Some(Bed::Slope(0.0)),
            Some(x) => x,
        };
        if let Some(z) = &own.zone {
            let _ = resolve(&mut b, &rs, &zone_ids, "zone", loc, &lab, "zone", z);
        }
        let zone = own
            .zone
            .as_ref()
            .or(defaults.zone.as_ref())
            .and_then(|z| zone_ids.map.get(z.as_str()).copied());
        let decay =
            or(&own.decay, &defaults.decay).unwrap_or_else(|| Some(vec![0.0; b.pollutants.len()]));
        let release = or(&own.release, &defaults.release)
            .unwrap_or_else(|| Some(vec![0.0; b.pollutants.len()]));
        reaches.push(Reach {
            id: r.id.as_ref().map(|i| i.0.clone()).unwrap_or_default(),
            from: from.unwrap_or(usize::MAX),
            to: to.unwrap_or(usize::MAX),
            length_m: length.unwrap_or(0.0),
            section: section.unwrap_or(Section::Rectangle { width_m: 1.0 }),
            bed_up_m: 0.0,
            bed_down_m: 0.0,
            manning_n: manning.unwrap_or(0.03),
            dispersion_m2s: or(&own.dispersion_m2s, &defaults.dispersion_m2s)
                .flatten()
                .unwrap_or(0.0),
            decay_per_day: decay.unwrap_or_default(),
            release_g_m2_day: release.unwrap_or_default(),
            cell_length_m: cell_length.unwrap_or(100.0),
            water_body: or(&own.water_body, &defaults.water_body)
                .flatten()
                .unwrap_or(WaterBody::River),
            zone,
            jurisdiction: own.jurisdiction.clone().or(defaults.jurisdiction.clone()),
            level: or(&own.level, &defaults.level).flatten(),
            river: own.river.clone().or(defaults.river.clone()),
            geometry: geometry.clone(),
        });
    }

    // ---- bed levels
    set_beds(&mut reaches, &nodes, &beds, &ends_ok, &length_ok);

    // ---- inflows
    let mut inflows = Vec::with_capacity(rs.inflows.len());
    let mut has_inflow = vec![false; nodes.len()];
    for it in &rs.inflows {
        let r = &it.raw;
        let loc = &it.loc;
        let lab = inflow_label(it.ord, r.node.as_ref().map(|n| n.0.as_str()));
        let node = match &r.node {
            None => {
                b.push(
                    loc,
                    &lab,
                    "node",
                    "",
                    "the id of the node where the water enters (required)",
                );
                None
            }
            Some(Id(n)) => resolve(&mut b, &rs, &node_ids, "node", loc, &lab, "node", n)
                .ok()
                .flatten(),
        };
        if let Some(n) = node {
            has_inflow[n] = true;
        }
        let linear = b.interpolate(
            loc,
            &lab,
            r.interpolate.as_ref(),
            r.flow_series.is_some() || r.concentration_series.is_some(),
        );
        let flow = b.required_flow(loc, &lab, r.flow_m3s, r.flow_series.as_ref(), linear);
        let conc = b.concentrations(
            loc,
            &lab,
            r.concentration.as_ref(),
            r.concentration_series.as_ref(),
            linear,
        );
        let group = r
            .group
            .clone()
            .unwrap_or_else(|| r.node.as_ref().map(|n| n.0.clone()).unwrap_or_default());
        if let (Some(node), Some(Some(flow)), Some(conc)) = (node, flow, conc) {
            inflows.push(Inflow {
                node,
                flow_m3s: flow,
                concentration: conc,
                group,
            });
        }
    }
    for (n, node) in nodes.iter().enumerate() {
        if node.kind == NodeKind::Boundary && !has_inflow[n] {
            let it = &rs.nodes[n];
            b.push(
                &it.loc,
                &format!("node {}", node.id),
                "kind",
                "boundary",
                "an [[inflows]] entry at this boundary node (or another kind)",
            );
        }
    }

    // a position along a reach
    let position = |b: &mut B<'_>,
                    loc: &Loc,
                    lab: &str,
                    field: &str,
                    at: Option<f64>,
                    reach: Option<usize>|
     -> Option<f64> {
        let at = match at {
            None => {
                b.push(
                    loc,
                    lab,
                    field,
                    "",
                    "a distance in m from the reach's from-node (required)",
                );
                return None;
            }
            Some(a) => b.num(loc, lab, field, a, Rule::NonNegative)?,
        };
        if let Some(r) = reach
            && length_ok[r]
            && at > reaches[r].length_m
        {
            b.push(
                loc,
                lab,
                field,
                fmt(at),
                format!(
                    "a distance within reach {} (0 to {} m)",
                    reaches[r].id, reaches[r].length_m
                ),
            );
            return None;
        }
        Some(at)
    };
    let reach_ref = |b: &mut B<'_>, loc: &Loc, lab: &str, v: &Option<Id>| -> Option<usize> {
        match v {
            None => {
                b.push(loc, lab, "reach", "", "a reach id (required)");
                None
            }
            Some(Id(id)) => resolve(b, &rs, &reach_ids, "reach", loc, lab, "reach", id)
                .ok()
                .flatten(),
        }
    };

    // ---- withdrawals
    let mut withdrawals = Vec::new();
    for it in &rs.withdrawals {
        let r = &it.raw;
        let loc = &it.loc;
        let lab = label("withdrawal", r.id.as_ref().map(|i| i.0.as_str()), it.ord);
        let place = match (&r.node, &r.reach) {
            (Some(Id(n)), None) => {
                if r.at_m.is_some() {
                    b.push(
                        loc,
                        &lab,
                        "at_m",
                        "",
                        "at_m only with reach (a withdrawal at a node has no position)",
                    );
                }
                resolve(&mut b, &rs, &node_ids, "node", loc, &lab, "node", n)
                    .ok()
                    .flatten()
                    .map(Place::Node)
            }
            (None, Some(_)) => {
                let reach = reach_ref(&mut b, loc, &lab, &r.reach);
                let at = position(&mut b, loc, &lab, "at_m", r.at_m, reach);
                reach
                    .zip(at)
                    .map(|(reach, at_m)| Place::Reach { reach, at_m })
            }
            (Some(_), Some(_)) => {
                b.push(
                    loc,
                    &lab,
                    "reach",
                    "",
                    "either node, or reach and at_m, not both",
                );
                None
            }
            (None, None) => {
                b.push(
                    loc,
                    &lab,
                    "node",
                    "",
                    "where the water is taken: node, or reach and at_m",
                );
                None
            }
        };
        let linear = b.interpolate(loc, &lab, r.interpolate.as_ref(), r.flow_series.is_some());
        let flow = b.required_flow(loc, &lab, r.flow_m3s, r.flow_series.as_ref(), linear);
        if let (Some(place), Some(Some(flow))) = (place, flow) {
            withdrawals.push(Withdrawal {
                place,
                flow_m3s: flow,
            });
        }
    }

    // ---- outfalls
    let mut outfalls = Vec::new();
    for it in &rs.outfalls {
        let r = &it.raw;
        let loc = &it.loc;
        let lab = label("outfall", r.id.as_ref().map(|i| i.0.as_str()), it.ord);
        let reach = reach_ref(&mut b, loc, &lab, &r.reach);
        let at = position(&mut b, loc, &lab, "at_m", r.at_m, reach);
        let kind = match &r.kind {
            None => {
                b.push(loc, &lab, "kind", "", "the outfall kind: sewage, industrial, rain_dry_weather, rural, wwtp or overflow");
                None
            }
            Some(k) => b.enum_value(
                loc,
                &lab,
                "kind",
                k,
                &[
                    ("sewage", OutfallKind::Sewage),
                    ("industrial", OutfallKind::Industrial),
                    ("rain_dry_weather", OutfallKind::RainDryWeather),
                    ("rural", OutfallKind::Rural),
                    ("wwtp", OutfallKind::Wwtp),
                    ("overflow", OutfallKind::Overflow),
                ],
            ),
        };
        let linear = b.interpolate(
            loc,
            &lab,
            r.interpolate.as_ref(),
            r.flow_series.is_some() || r.concentration_series.is_some(),
        );
        let has_flow = r.flow_m3s.is_some() || r.flow_series.is_some();
        let discharge = match (&r.load_kg_per_day, has_flow) {
            (Some(_), true) => {
                b.push(
                    loc,
                    &lab,
                    "load_kg_per_day",
                    "",
                    "either a flow with a concentration, or load_kg_per_day (mass only), not both",
                );
                None
            }
            (Some(l), false) => {
                if r.concentration.is_some() || r.concentration_series.is_some() {
                    b.push(
                        loc,
                        &lab,
                        "concentration",
                        "",
                        "no concentration with load_kg_per_day (a mass-only load)",
                    );
                }
                b.table(loc, &lab, "load_kg_per_day", l, Rule::NonNegative)
                    .map(|v| Discharge::Load {
                        kg_per_day: v.into_iter().map(Series::Const).collect(),
                    })
            }
            (None, true) => {
                let flow = b.const_or_series(
                    loc,
                    &lab,
                    "flow_m3s",
                    r.flow_m3s,
                    "flow_series",
                    r.flow_series.as_ref(),
                    "flow_m3s",
                    linear,
                    Rule::NonNegative,
                );
                let conc = b.concentrations(
                    loc,
                    &lab,
                    r.concentration.as_ref(),
                    r.concentration_series.as_ref(),
                    linear,
                );
                match (flow, conc) {
                    (Some(Some(f)), Some(c)) => Some(Discharge::Flow {
                        flow_m3s: f,
                        concentration: c,
                    }),
                    _ => None,
                }
            }
            (None, false) => {
                b.push(
                    loc,
                    &lab,
                    "flow_m3s",
                    "",
                    "a flow (flow_m3s or flow_series) with a concentration, or load_kg_per_day",
                );
                None
            }
        };
        if let (Some(reach), Some(at_m), Some(kind), Some(discharge)) = (reach, at, kind, discharge)
        {
            outfalls.push(Outfall {
                id: r.id.as_ref().map(|i| i.0.clone()).unwrap_or_default(),
                reach,
                at_m,
                discharge,
                kind,
                group: r.group.clone().unwrap_or_else(|| kind.name().to_string()),
            });
        }
    }

    // ---- line loads
    let mut line_loads = Vec::new();
    for it in &rs.line_loads {
        let r = &it.raw;
        let loc = &it.loc;
        let lab = label("line load", r.id.as_ref().map(|i| i.0.as_str()), it.ord);
        let reach = reach_ref(&mut b, loc, &lab, &r.reach);
        let from_m = position(
            &mut b,
            loc,
            &lab,
            "from_m",
            Some(r.from_m.unwrap_or(0.0)),
            reach,
        );
        let to_m = match r.to_m {
            Some(t) => position(&mut b, loc, &lab, "to_m", Some(t), reach),
            None => reach.filter(|&x| length_ok[x]).map(|x| reaches[x].length_m),
        };
        if let (Some(f), Some(t)) = (from_m, to_m)
            && f >= t
        {
            b.push(
                loc,
                &lab,
                "to_m",
                fmt(t),
                format!("to_m greater than from_m ({f} m)"),
            );
        }
        let load = match &r.load_kg_per_day {
            Some(l) => b.table(loc, &lab, "load_kg_per_day", l, Rule::NonNegative),
            None => {
                b.push(
                    loc,
                    &lab,
                    "load_kg_per_day",
                    "",
                    "a load table in kg/day, e.g. { COD = 50.0 }",
                );
                None
            }
        };
        if let (Some(reach), Some(from_m), Some(to_m), Some(load)) = (reach, from_m, to_m, load) {
            let id = r.id.as_ref().map(|i| i.0.clone()).unwrap_or_default();
            line_loads.push(LineLoad {
                group: r.group.clone().unwrap_or_else(|| id.clone()),
                id,
                reach,
                from_m,
                to_m,
                kg_per_day: load.into_iter().map(Series::Const).collect(),
            });
        }
    }

    // ---- sections
    let mut sections = Vec::new();
    for it in &rs.sections {
        let r = &it.raw;
        let loc = &it.loc;
        let lab = label("section", r.id.as_ref().map(|i| i.0.as_str()), it.ord);
        let reach = reach_ref(&mut b, loc, &lab, &r.reach);
        let at = position(&mut b, loc, &lab, "at_m", r.at_m, reach);
        if let (Some(reach), Some(at_m)) = (reach, at) {
            sections.push(SectionPoint {
                id: r.id.as_ref().map(|i| i.0.clone()).unwrap_or_default(),
                reach,
                at_m,
            });
        }
    }

    // ---- zones
    let mut zones = Vec::new();
    for it in &rs.zones {
        let r = &it.raw;
        let loc = &it.loc;
        let lab = label("zone", r.id.as_ref().map(|i| i.0.as_str()), it.ord);
        // target, parameters (names or a preset), method, threshold and sampling are checked by the targets
        // stage, which owns their meaning; every problem it finds is reported here with the file and line
        if r.target.is_none() {
            b.push(
                loc,
                &lab,
                "target",
                "",
                "a target class: I, II, III, IV or V",
            );
        }
        let params: Vec<String> = match &r.parameters {
            None => Vec::new(),
            Some(OneOrMany::One(s)) => vec![s.clone()],
            Some(OneOrMany::Many(v)) => v.clone(),
        };
        let spec = crate::targets::zones::ZoneSpec {
            target: r.target.as_deref().unwrap_or("III"),
            parameters: &params,
            method: r.method.as_deref(),
            threshold: r.threshold,
            sampling: r.sampling.as_deref(),
            sampling_day: r.sampling_day,
        };
        let fields = match crate::targets::zones::parse_zone(&spec, &b.pollutants.clone()) {
            Ok(f) => Some(f),
            Err(problems) => {
                for zp in problems {
                    b.push(loc, &lab, zp.field, zp.value, zp.expected);
                }
                None
            }
        };
        let mut zs = Vec::new();
        for s in r.sections.iter().flatten() {
            if let Ok(Some(k)) = resolve(
                &mut b,
                &rs,
                &section_ids,
                "section",
                loc,
                &lab,
                "sections",
                &s.0,
            ) {
                zs.push(k);
            }
        }
        if let (Some(f), true) = (fields, r.target.is_some()) {
            zones.push(Zone {
                id: r.id.as_ref().map(|i| i.0.clone()).unwrap_or_default(),
                target: f.target,
                parameters: f.parameters,
                method: f.method,
                threshold: f.threshold,
                sections: zs,
                sampling: f.sampling,
                sampling_day: f.sampling_day,
            });
        }
    }

    // ---- [temperature]
    let mut temperature = None;
    if let Some(it) = &rs.temperature {
        let r = &it.raw;
        let loc = &it.loc;
        let lab = "[temperature]";
        let linear = b.interpolate(loc, lab, r.interpolate.as_ref(), r.water_c_series.is_some());
        let water = b.const_or_series(
            loc,
            lab,
            "water_c",
            r.water_c,
            "water_c_series",
            r.water_c_series.as_ref(),
            "water_c",
            linear,
            Rule::Finite,
        );
        if water.is_none() {
            b.push(
                loc,
                lab,
                "water_c",
                "",
                "a water temperature in °C or a water_c_series file",
            );
        }
        let mut theta = Some(vec![1.0; b.pollutants.len()]);
        if let Some(t) = &r.theta {
            theta = b.table(loc, lab, "theta", t, Rule::Positive);
            // a pollutant not named keeps θ = 1 (no correction)
            if let (Some(th), Some(t)) = (theta.as_mut(), Some(t)) {
                for (k, p) in b.pollutants.iter().enumerate() {
                    if !t.contains_key(p) {
                        th[k] = 1.0;
                    }
                }
            }
        }
        if let (Some(Some(water_c)), Some(theta)) = (water, theta) {
            temperature = Some(Temperature { water_c, theta });
        }
    }

    // ---- network checks
    network_checks(&mut b, &rs, &top, &nodes, &reaches, &ends_ok);

    // ---- sewers, plants, projects, alternatives (DESIGN.md §8; checked in src/projects/check.rs)
    let proj = crate::projects::check::check(&crate::projects::check::Ctx {
        rs: &rs,
        file: scenario,
        pollutants: &b.pollutants,
        start: b.start,
        end_s,
        nodes: &nodes,
        reaches: &reaches,
        inflows: &inflows,
        outfalls: &outfalls,
    });
    for p in proj.problems {
        b.probs
            .push(&p.file, p.line, p.item, p.field, p.value, p.expected);
    }

    if !b.probs.is_empty() || !sim_ok {
        return None;
    }
    let title = rs.title.clone().unwrap_or_else(|| {
        scenario
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    });
    let model = Model {
        title,
        path: b.scenario.clone(),
        sim: Simulation {
            start: b.start,
            end_s,
            time_step_s,
            output_interval_s,
            warmup_s,
            mode,
        },
        pollutants: b.pollutants.clone(),
        initial,
        nodes,
        reaches,
        inflows,
        withdrawals,
        outfalls,
        line_loads,
        zones,
        sections,
        temperature,
        cost_unit: proj.cost_unit,
        sewers: proj.sewers,
        plants: proj.plants,
        projects: proj.projects,
        alternatives: proj.alternatives,
        decay_changes: Vec::new(),
    };
    // the raw items of a large scenario are hundreds of thousands of small allocations: free them on a
    // helper thread while the caller goes on (nothing is read from them any more)
    drop((
        node_ids,
        reach_ids,
        outfall_ids,
        zone_ids,
        section_ids,
        _line_ids,
    ));
    if rs.reaches.len() >= BACKGROUND_DROP_ITEMS {
        std::thread::spawn(move || drop(rs));
    }
    Some(model)
}

/// Smallest number of items one parallel task of look-ups handles.
const ROWS_PER_TASK: usize = 1024;

/// Scenarios with at least this many reaches free their raw items on a helper thread.
const BACKGROUND_DROP_ITEMS: usize = 10_000;

/// Outlets, connected parts, held levels.
fn network_checks(
    b: &mut B<'_>,
    rs: &RawScenario,
    top: &Loc,
    nodes: &[Node],
    reaches: &[Reach],
    ends_ok: &[bool],
) {
    let broken_nodes = rs.any_broken("node");
    let broken_reaches = rs.any_broken("reach");
    if reaches.is_empty() && !broken_reaches {
        b.push(
            top,
            "network",
            "",
            "",
            "at least one reach ([[reaches]], network.reaches_csv or network.reaches_geojson)",
        );
    }
    if broken_nodes {
        return;
    }
    if !nodes.iter().any(|n| n.kind == NodeKind::Outlet) {
        b.push(
            top,
            "network",
            "",
            "",
            "at least one node of kind \"outlet\" where water leaves the network",
        );
        return;
    }
    if broken_reaches || ends_ok.iter().any(|ok| !ok) {
        return; // parts cannot be judged while some reaches have unknown ends
    }
    // connected parts (undirected), union-find
    let n = nodes.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(p: &mut [usize], mut x: usize) -> usize {
        while p[x] != x {
            p[x] = p[p[x]];
            x = p[x];
        }
        x
    }
    for r in reaches {
        let (a, c) = (find(&mut parent, r.from), find(&mut parent, r.to));
        if a != c {
            parent[a] = c;
        }
    }
    let mut outlet = vec![false; n];
    let mut held = vec![false; n];
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        let root = find(&mut parent, i);
        if node.kind == NodeKind::Outlet {
            outlet[root] = true;
        }
        if node.level_m.is_some() {
            held[root] = true;
        }
        members.entry(root).or_default().push(i);
    }
    let mut roots: Vec<usize> = members.keys().copied().collect();
    roots.sort_by_key(|r| members[r][0]);
    for root in roots {
        if outlet[root] {
            continue;
        }
        let m = &members[&root];
        let names: Vec<&str> = m.iter().take(5).map(|&i| nodes[i].id.as_str()).collect();
        let more = if m.len() > 5 {
            format!(" … {} nodes in all", m.len())
        } else {
            String::new()
        };
        let held_txt = if held[root] {
            ""
        } else {
            " and no held level (level_m)"
        };
        let first = m[0];
        let loc = rs.nodes[first].loc.clone();
        b.push(
            &loc,
            &format!("node {}", nodes[first].id),
            "",
            "",
            format!(
                "a connection to an outlet: this part of the network (nodes {}{more}) is cut off from every outlet{held_txt}",
                names.join(", ")
            ),
        );
    }
}

/// Bed levels of every reach (see the module docs for the rule).
fn set_beds(
    reaches: &mut [Reach],
    nodes: &[Node],
    beds: &[Option<Bed>],
    ends_ok: &[bool],
    length_ok: &[bool],
) {
    let n = nodes.len();
    let mut inv: Vec<Option<f64>> = nodes.iter().map(|nd| nd.bed_m).collect();
    for (i, nd) in nodes.iter().enumerate() {
        if inv[i].is_none() && nd.kind == NodeKind::Outlet {
            inv[i] = Some(0.0);
        }
    }
    // adjacency over reaches with a slope
    let mut adj_start = vec![0usize; n + 1];
    let slope_reaches: Vec<usize> = (0..reaches.len())
        .filter(|&k| ends_ok[k] && length_ok[k] && matches!(beds[k], Some(Bed::Slope(_))))
        .collect();
    for &k in &slope_reaches {
        adj_start[reaches[k].from + 1] += 1;
        adj_start[reaches[k].to + 1] += 1;
    }
    for i in 0..n {
        adj_start[i + 1] += adj_start[i];
    }
    let mut fill = adj_start.clone();
    let mut adj = vec![0usize; adj_start[n]];
    for &k in &slope_reaches {
        for node in [reaches[k].from, reaches[k].to] {
            adj[fill[node]] = k;
            fill[node] += 1;
        }
    }
    let mut queue: VecDeque<usize> = (0..n).filter(|&i| inv[i].is_some()).collect();
    let mut next_seed = 0;
    loop {
        while let Some(v) = queue.pop_front() {
            let hv = inv[v].unwrap_or(0.0);
            for &k in &adj[adj_start[v]..adj_start[v + 1]] {
                let r = &reaches[k];
                let Some(Bed::Slope(s)) = beds[k] else {
                    continue;
                };
                let drop = s * r.length_m;
                let (other, h) = if v == r.to {
                    (r.from, hv + drop)
                } else {
                    (r.to, hv - drop)
                };
                if inv[other].is_none() {
                    inv[other] = Some(h);
                    queue.push_back(other);
                }
            }
        }
        while next_seed < n && inv[next_seed].is_some() {
            next_seed += 1;
        }
        if next_seed >= n {
            break;
        }
        inv[next_seed] = Some(0.0);
        queue.push_back(next_seed);
    }
    for (k, r) in reaches.iter_mut().enumerate() {
        if !ends_ok[k] {
            continue;
        }
        match beds[k] {
            Some(Bed::Levels(u, d)) => {
                r.bed_up_m = u;
                r.bed_down_m = d;
            }
            Some(Bed::Slope(s)) => {
                r.bed_down_m = inv[r.to].unwrap_or(0.0);
                r.bed_up_m = r.bed_down_m + s * r.length_m;
            }
            None => {} // invalid bed keys, already reported
        }
    }
}
