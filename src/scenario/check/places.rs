//! Places along reaches: a reach referred to by id and a distance from its from-node within its length
//! (outfalls, withdrawals, sections, line loads, and the places of the project tables).

use super::super::parse::Loc;
use super::super::raw::{Id, RawPlace};
use super::checker::{Checker, Rule};
use super::ids::Ids;
use crate::model::{At, Reach};

/// The reaches built so far, for the checks of what lies along them.
pub(super) struct Along<'a> {
    /// The reaches (placeholders where a reach has a problem).
    pub reaches: &'a [Reach],
    /// Whether each reach's length is valid.
    pub length_ok: &'a [bool],
    /// Reach ids.
    pub ids: &'a Ids<'a>,
}

impl Checker<'_> {
    /// A required reference to a reach in `field`.
    pub fn reach_ref(
        &mut self,
        along: &Along,
        loc: &Loc,
        item: &str,
        field: &str,
        v: Option<&Id>,
    ) -> Option<usize> {
        let Id(id) = self.required(loc, item, field, v, "a reach id (required)")?;
        self.resolve(along.ids, "reach", loc, item, field, id)
            .ok()
            .flatten()
    }

    /// A required distance `at` (m from the from-node) along `reach`, within its length.
    pub fn position(
        &mut self,
        along: &Along,
        loc: &Loc,
        item: &str,
        field: &str,
        at: Option<f64>,
        reach: Option<usize>,
    ) -> Option<f64> {
        let at = self.required_number(
            loc,
            item,
            field,
            at,
            "a distance in m from the reach's from-node (required)",
            Rule::DISTANCE,
        )?;
        if let Some(r) = reach
            && along.length_ok[r]
            && at > along.reaches[r].length_m
        {
            let r = &along.reaches[r];
            self.push(
                loc,
                item,
                field,
                format!("{at}"),
                format!("a distance within reach {} (0 to {} m)", r.id, r.length_m),
            );
            return None;
        }
        Some(at)
    }

    /// A required place `field = { reach = "…", at_m = … }`.
    pub fn place(
        &mut self,
        along: &Along,
        loc: &Loc,
        item: &str,
        field: &str,
        p: Option<&RawPlace>,
    ) -> Option<At> {
        let Some(p) = p else {
            let what = format!("a place {field} = {{ reach = \"…\", at_m = … }} (required)");
            self.push(loc, item, field, "", what);
            return None;
        };
        let reach_field = format!("{field}.reach");
        let reach = self.reach_ref(along, loc, item, &reach_field, p.reach.as_ref());
        let at = self.position(along, loc, item, &format!("{field}.at_m"), p.at_m, reach);
        Some(At {
            reach: reach?,
            at_m: at?,
        })
    }
}
