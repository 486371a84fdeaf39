//! Where the water is judged: `[[sections]]` (points along reaches) and `[[zones]]` (water-function zones:
//! a target class, the parameters and the method, and their sections).

use super::super::parse::{RawScenario, label};
use super::super::raw::OneOrMany;
use super::checker::Checker;
use super::ids::Ids;
use super::places::Along;
use crate::model::{SectionPoint, Zone};
use crate::targets::zones::{ZoneSpec, parse_zone};

/// `[[sections]]`.
pub(super) fn sections(c: &mut Checker, rs: &RawScenario, along: &Along) -> Vec<SectionPoint> {
    let mut sections = Vec::new();
    for it in &rs.sections {
        let (r, loc) = (&it.raw, &it.loc);
        let lab = label("section", r.id.as_ref().map(|i| i.0.as_str()), it.ord);
        let reach = c.reach_ref(along, loc, &lab, "reach", r.reach.as_ref());
        let at = c.position(along, loc, &lab, "at_m", r.at_m, reach);
        if let (Some(reach), Some(at_m)) = (reach, at) {
            sections.push(SectionPoint {
                id: r.id.as_ref().map(|i| i.0.clone()).unwrap_or_default(),
                reach,
                at_m,
            });
        }
    }
    sections
}

/// `[[zones]]`. The target, parameters (names or a preset), method, threshold and sampling are checked by
/// the targets stage, which owns their meaning; every problem it finds is reported here with the file and
/// line.
pub(super) fn zones(c: &mut Checker, rs: &RawScenario, section_ids: &Ids) -> Vec<Zone> {
    let mut zones = Vec::new();
    for it in &rs.zones {
        let (r, loc) = (&it.raw, &it.loc);
        let lab = label("zone", r.id.as_ref().map(|i| i.0.as_str()), it.ord);
        if r.target.is_none() {
            let expected = "a target class: I, II, III, IV or V";
            c.push(loc, &lab, "target", "", expected);
        }
        let params: Vec<String> = match &r.parameters {
            None => Vec::new(),
            Some(OneOrMany::One(s)) => vec![s.clone()],
            Some(OneOrMany::Many(v)) => v.clone(),
        };
        let spec = ZoneSpec {
            target: r.target.as_ref().map_or("III", |t| t.0.as_str()),
            parameters: &params,
            method: r.method.as_deref(),
            threshold: r.threshold,
            sampling: r.sampling.as_deref(),
            sampling_day: r.sampling_day,
        };
        let fields = match parse_zone(&spec, &c.pollutants.clone()) {
            Ok(f) => Some(f),
            Err(problems) => {
                for zp in problems {
                    c.push(loc, &lab, zp.field, zp.value, zp.expected);
                }
                None
            }
        };
        let mut zs = Vec::new();
        for s in r.sections.iter().flatten() {
            if let Ok(Some(k)) = c.resolve(section_ids, "section", loc, &lab, "sections", &s.0) {
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
    zones
}
