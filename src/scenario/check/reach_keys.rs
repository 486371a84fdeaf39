//! The reach keys shared by `[defaults]` and `[[reaches]]` (geometry, roughness, dispersion, decay, zone,
//! jurisdiction, …), typed one item at a time; a reach takes each key from itself, else from `[defaults]`.

use super::super::parse::Loc;
use super::super::raw::{RawReach, RawSection};
use super::checker::{Checker, Opt, Rule};
use crate::model::{ChiefLevel, Section, WaterBody};

/// How a reach's bed is given.
#[derive(Clone, Copy, Debug)]
pub(super) enum Bed {
    /// A slope S (drop per metre towards the to-node).
    Slope(f64),
    /// Bed levels at the from- and to-node, m.
    Levels(f64, f64),
}

/// The reach keys shared by `[defaults]` and `[[reaches]]`, as typed values.
#[derive(Default, Clone)]
pub(super) struct Typed {
    pub length_m: Opt<f64>,
    pub section: Opt<Section>,
    pub bed: Opt<Bed>,
    pub manning_n: Opt<f64>,
    pub dispersion_m2s: Opt<f64>,
    pub decay: Opt<Vec<f64>>,
    pub cell_length_m: Opt<f64>,
    pub water_body: Opt<WaterBody>,
    pub zone: Option<String>,
    pub jurisdiction: Option<String>,
    pub level: Opt<ChiefLevel>,
    pub release: Opt<Vec<f64>>,
    pub river: Option<String>,
}

/// The reach's own value, else the default's.
pub(super) fn or<T: Clone>(own: &Opt<T>, def: &Opt<T>) -> Opt<T> {
    own.clone().or_else(|| def.clone())
}

/// Type the reach keys shared with `[defaults]`.
pub(super) fn typed(c: &mut Checker, loc: &Loc, item: &str, r: &RawReach) -> Typed {
    let mut t = Typed {
        length_m: c.optional(loc, item, "length_m", r.length_m, Rule::POSITIVE),
        manning_n: c.optional(loc, item, "manning_n", r.manning_n, Rule::MANNING),
        dispersion_m2s: c.optional(
            loc,
            item,
            "dispersion_m2s",
            r.dispersion_m2s,
            Rule::NON_NEGATIVE,
        ),
        cell_length_m: c.optional(loc, item, "cell_length_m", r.cell_length_m, Rule::POSITIVE),
        zone: r.zone.as_ref().map(|z| z.0.clone()),
        jurisdiction: r.jurisdiction.clone(),
        river: r.river.clone(),
        ..Typed::default()
    };
    t.section = r.section.as_ref().map(|s| section(c, loc, item, s));
    t.decay = r
        .decay_per_day
        .as_ref()
        .map(|d| c.table_or_zero(loc, item, "decay_per_day", d, Rule::NON_NEGATIVE));
    t.release = r
        .release_g_m2_day
        .as_ref()
        .map(|d| c.table_or_zero(loc, item, "release_g_m2_day", d, Rule::NON_NEGATIVE));
    t.water_body = r.water_body.as_ref().map(|w| {
        let options = [("river", WaterBody::River), ("lake", WaterBody::Lake)];
        c.enum_value(loc, item, "water_body", w, &options)
    });
    t.level = r.level.as_ref().map(|l| {
        let options = [
            ("district", ChiefLevel::District),
            ("town", ChiefLevel::Town),
            ("village", ChiefLevel::Village),
        ];
        c.enum_value(loc, item, "level", l, &options)
    });
    t.bed = bed(c, loc, item, r);
    t
}

/// `bed_slope`, or `bed_up_m` with `bed_down_m`.
fn bed(c: &mut Checker, loc: &Loc, item: &str, r: &RawReach) -> Opt<Bed> {
    match (r.bed_slope, r.bed_up_m, r.bed_down_m) {
        (None, None, None) => None,
        (Some(s), None, None) => Some(
            c.number(loc, item, "bed_slope", s, Rule::FINITE)
                .map(Bed::Slope),
        ),
        (None, Some(u), Some(d)) => {
            let u = c.number(loc, item, "bed_up_m", u, Rule::FINITE);
            let d = c.number(loc, item, "bed_down_m", d, Rule::FINITE);
            Some(u.zip(d).map(|(u, d)| Bed::Levels(u, d)))
        }
        (Some(_), _, _) => {
            c.push(
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
            c.push(
                loc,
                item,
                missing,
                "",
                "bed_up_m and bed_down_m together (or bed_slope)",
            );
            Some(None)
        }
    }
}

/// A cross-section: a rectangle, a trapezoid or a table of widths by depth, with only its shape's keys.
fn section(c: &mut Checker, loc: &Loc, item: &str, s: &RawSection) -> Option<Section> {
    let Some(shape) = s.shape.as_deref() else {
        c.push(
            loc,
            item,
            "section.shape",
            "",
            "a shape: rectangle, trapezoid or table",
        );
        return None;
    };
    let mut ok = true;
    let mut unused = |c: &mut Checker, key: &str, given: bool| {
        if given {
            let expected = format!("not a key of shape {shape}; remove it");
            c.push(loc, item, &format!("section.{key}"), "", expected);
            ok = false;
        }
    };
    match shape {
        "rectangle" => {
            unused(c, "bottom_width_m", s.bottom_width_m.is_some());
            unused(c, "side_slope", s.side_slope.is_some());
            unused(c, "depths_m", s.depths_m.is_some());
            unused(c, "widths_m", s.widths_m.is_some());
            let w = rectangle(c, loc, item, s)?;
            ok.then_some(w)
        }
        "trapezoid" => {
            unused(c, "width_m", s.width_m.is_some());
            unused(c, "depths_m", s.depths_m.is_some());
            unused(c, "widths_m", s.widths_m.is_some());
            let t = trapezoid(c, loc, item, s)?;
            ok.then_some(t)
        }
        "table" => {
            unused(c, "width_m", s.width_m.is_some());
            unused(c, "bottom_width_m", s.bottom_width_m.is_some());
            unused(c, "side_slope", s.side_slope.is_some());
            let t = table(c, loc, item, s)?;
            ok.then_some(t)
        }
        other => {
            c.push(
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

fn rectangle(c: &mut Checker, loc: &Loc, item: &str, s: &RawSection) -> Option<Section> {
    let w = c.required_number(
        loc,
        item,
        "section.width_m",
        s.width_m,
        "a width in m (> 0) for a rectangle",
        Rule::POSITIVE,
    )?;
    Some(Section::Rectangle { width_m: w })
}

fn trapezoid(c: &mut Checker, loc: &Loc, item: &str, s: &RawSection) -> Option<Section> {
    let z = c.required_number(
        loc,
        item,
        "section.side_slope",
        s.side_slope,
        "a side slope (horizontal:vertical, ≥ 0) for a trapezoid",
        Rule::NON_NEGATIVE,
    );
    let b = match s.bottom_width_m {
        // a bottom width of 0 is a triangle, valid only with sloped banks
        Some(b) if b.is_finite() && (b > 0.0 || (b == 0.0 && z.is_some_and(|z| z > 0.0))) => {
            Some(b)
        }
        Some(b) => {
            c.push(
                loc,
                item,
                "section.bottom_width_m",
                format!("{b}"),
                "a finite width in m, > 0 (or 0 with side_slope > 0)",
            );
            None
        }
        None => {
            c.push(
                loc,
                item,
                "section.bottom_width_m",
                "",
                "a bottom width in m (> 0) for a trapezoid",
            );
            None
        }
    };
    Some(Section::Trapezoid {
        bottom_width_m: b?,
        side_slope: z?,
    })
}

fn table(c: &mut Checker, loc: &Loc, item: &str, s: &RawSection) -> Option<Section> {
    let (Some(d), Some(w)) = (&s.depths_m, &s.widths_m) else {
        c.push(
            loc,
            item,
            "section",
            "",
            "a table section gives depths_m and widths_m, lists of equal length (≥ 2)",
        );
        return None;
    };
    if d.len() != w.len() || d.len() < 2 {
        c.push(
            loc,
            item,
            "section.widths_m",
            format!("{} depths, {} widths", d.len(), w.len()),
            "depths_m and widths_m of equal length, at least 2 points",
        );
        return None;
    }
    let mut ok = true;
    if d[0] != 0.0
        || d.windows(2)
            .any(|p| p[1].partial_cmp(&p[0]) != Some(std::cmp::Ordering::Greater))
        || d.iter().any(|x| !x.is_finite())
    {
        c.push(
            loc,
            item,
            "section.depths_m",
            format!("{d:?}"),
            "finite depths starting at 0, strictly increasing",
        );
        ok = false;
    }
    if w.iter().any(|x| !(x.is_finite() && *x > 0.0)) || w.windows(2).any(|p| p[1] < p[0]) {
        c.push(
            loc,
            item,
            "section.widths_m",
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
