//! The groups of a tagged run: their models, layouts and flows, checked against the total; for responses,
//! which of a group's sources, inflows and outlet waters differ from the total's (those are what a response
//! carries).

use crate::hydraulics::Hydraulics;
use crate::model::{Model, Series};
use crate::network::Network;
use crate::transport::layout::{Layout, PeriodFlows, Source, SourceKind};
use crate::transport::options::TransportError;

/// The static data of the groups: their models, their layouts (sources and inflow lists) and their flows
/// per period (only the sources' own flows are read: outfall and inflow flows). For responses
/// (`relative`) the total's model, layout and flows follow the groups' as model `len()`: the responses'
/// sources are the groups' and the total's that differ.
pub(super) struct Groups<'a> {
    pub models: &'a [Model],
    pub base: &'a Model,
    pub relative: bool,
    pub lays: Vec<Layout>,
    pub flows: Vec<Vec<PeriodFlows>>,
}

impl<'a> Groups<'a> {
    /// Check that every group fits the total, and gather its layout and flows.
    pub fn new(
        model: &'a Model,
        net: &Network,
        hyd: &Hydraulics,
        chunk: usize,
        models: &'a [Model],
        relative: bool,
    ) -> Result<Groups<'a>, TransportError> {
        for (g, m) in models.iter().enumerate() {
            let bad = |what: String| TransportError::BadGroup { group: g, what };
            if m.nodes.len() != model.nodes.len() || m.reaches.len() != model.reaches.len() {
                return Err(bad(format!(
                    "{} nodes and {} reaches; the total has {} and {} (a group must share the network)",
                    m.nodes.len(),
                    m.reaches.len(),
                    model.nodes.len(),
                    model.reaches.len()
                )));
            }
            if m.pollutants != model.pollutants {
                return Err(bad(format!(
                    "pollutants {:?}; the total has {:?}",
                    m.pollutants, model.pollutants
                )));
            }
            if m.withdrawals.len() != model.withdrawals.len() {
                return Err(bad(format!(
                    "{} withdrawals; the total has {} (the flows are held at the total's)",
                    m.withdrawals.len(),
                    model.withdrawals.len()
                )));
            }
        }
        let all = || models.iter().chain(relative.then_some(model));
        let lays: Vec<Layout> = all().map(|m| Layout::new(m, net, chunk)).collect();
        let flows = all()
            .map(|m| hyd.periods.iter().map(|f| PeriodFlows::new(m, f)).collect())
            .collect();
        Ok(Groups {
            models,
            base: model,
            relative,
            lays,
            flows,
        })
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.models.len()
    }

    /// Model `m`: group `m`, or the total for `m == len()`.
    #[inline(always)]
    pub fn model(&self, m: usize) -> &Model {
        self.models.get(m).unwrap_or(self.base)
    }

    /// The sources through which group `g`'s response to pollutant `p` enters, as (model, index into
    /// that model's `Layout::sources`): with `relative` false, every source of the group that brings
    /// something; with `relative` true, the group's sources that bring something and that no source of
    /// the total matches (same cell, same rate at every time), then the total's that no source of the
    /// group matches (model `len()`, to be subtracted).
    pub fn sources_of(&self, g: usize, p: usize) -> Vec<(usize, usize)> {
        let gm = &self.models[g];
        let mine: Vec<usize> = (0..self.lays[g].sources.len())
            .filter(|&k| !zero_source(gm, &self.lays[g].sources[k], p))
            .collect();
        if !self.relative {
            return mine.into_iter().map(|k| (g, k)).collect();
        }
        let b = self.len();
        let theirs: Vec<usize> = (0..self.lays[b].sources.len())
            .filter(|&k| !zero_source(self.base, &self.lays[b].sources[k], p))
            .collect();
        unpaired(g, &mine, b, &theirs, |k, j| {
            same_source(
                (gm, &self.flows[g], &self.lays[g].sources[k]),
                (self.base, &self.flows[b], &self.lays[b].sources[j]),
                p,
            )
        })
    }

    /// Group `g`'s inflows at node-pass position `k` that bring pollutant `p`, as (model, inflow index),
    /// paired against the total's as [`Groups::sources_of`] pairs sources.
    pub fn inflows_of(&self, g: usize, k: usize, p: usize) -> Vec<(usize, usize)> {
        let gm = &self.models[g];
        let brings = |m: &Model, i: usize| {
            !matches!(
                m.inflows[i].concentration.get(p),
                None | Some(Series::Const(0.0))
            )
        };
        let mine: Vec<usize> = self.lays[g]
            .inflows_at(k)
            .iter()
            .copied()
            .filter(|&i| brings(gm, i))
            .collect();
        if !self.relative {
            return mine.into_iter().map(|i| (g, i)).collect();
        }
        let b = self.len();
        let theirs: Vec<usize> = self.lays[b]
            .inflows_at(k)
            .iter()
            .copied()
            .filter(|&i| brings(self.base, i))
            .collect();
        unpaired(g, &mine, b, &theirs, |i, j| {
            gm.inflows[i].concentration.get(p) == self.base.inflows[j].concentration.get(p)
                && self.flows[g]
                    .iter()
                    .zip(&self.flows[b])
                    .all(|(x, y)| x.inflow_q[i] == y.inflow_q[j])
        })
    }

    /// Whether water entering at outlet node `n` brings group `g` something of pollutant `p`: its
    /// concentration is not 0 (`relative` false), or differs from the total's (`relative` true).
    pub fn outlet_differs(&self, g: usize, n: usize, p: usize) -> bool {
        let c = self.models[g].nodes[n].concentration.get(p);
        if self.relative {
            c != self.base.nodes[n].concentration.get(p)
        } else {
            !matches!(c, None | Some(Series::Const(0.0)))
        }
    }
}

/// The items of two models that the other has no twin of: each of `mine` (items of model `g`) is paired
/// with the first not yet paired of `theirs` (items of model `b`) for which `same` holds; the unpaired ones
/// are returned as (model, item), `mine`'s first, each side in its own order.
fn unpaired(
    g: usize,
    mine: &[usize],
    b: usize,
    theirs: &[usize],
    same: impl Fn(usize, usize) -> bool,
) -> Vec<(usize, usize)> {
    let mut used = vec![false; theirs.len()];
    let mut out = Vec::new();
    for &i in mine {
        match (0..theirs.len()).find(|&u| !used[u] && same(i, theirs[u])) {
            Some(u) => used[u] = true,
            None => out.push((g, i)),
        }
    }
    out.extend(
        theirs
            .iter()
            .zip(&used)
            .filter(|(_, u)| !**u)
            .map(|(&j, _)| (b, j)),
    );
    out
}

/// Whether two sources (model, its flows per period, the source) put the same mass of pollutant `p` into
/// the same cell at every time.
fn same_source(
    a: (&Model, &[PeriodFlows], &Source),
    b: (&Model, &[PeriodFlows], &Source),
    p: usize,
) -> bool {
    let ((ma, fa, sa), (mb, fb, sb)) = (a, b);
    if sa.ext != sb.ext {
        return false;
    }
    fn mass_of(m: &Model, i: usize, p: usize) -> Option<&Series> {
        m.outfalls[i].discharge.mass_series().get(p)
    }
    let mass = |m, i| mass_of(m, i, p);
    match (sa.kind, sb.kind) {
        (SourceKind::OutfallFlow(i), SourceKind::OutfallFlow(j)) => {
            mass(ma, i) == mass(mb, j)
                && fa
                    .iter()
                    .zip(fb)
                    .all(|(x, y)| x.outfall_q[i] == y.outfall_q[j])
        }
        (SourceKind::OutfallLoad(i), SourceKind::OutfallLoad(j)) => mass(ma, i) == mass(mb, j),
        (SourceKind::Line(i, x), SourceKind::Line(j, y)) => {
            x == y && ma.line_loads[i].kg_per_day.get(p) == mb.line_loads[j].kg_per_day.get(p)
        }
        (SourceKind::Release(r, x), SourceKind::Release(q, y)) => {
            r == q
                && x == y
                && ma.reaches[r].release_g_m2_day.get(p) == mb.reaches[q].release_g_m2_day.get(p)
        }
        _ => false,
    }
}

/// Whether a source brings no mass of pollutant `p` at any time (its series for `p` is absent or the
/// constant 0): such sources are skipped.
fn zero_source(m: &Model, s: &Source, p: usize) -> bool {
    let zero = |x: Option<&Series>| matches!(x, None | Some(Series::Const(0.0)));
    match s.kind {
        SourceKind::OutfallFlow(i) | SourceKind::OutfallLoad(i) => {
            zero(m.outfalls[i].discharge.mass_series().get(p))
        }
        SourceKind::Line(i, _) => zero(m.line_loads[i].kg_per_day.get(p)),
        SourceKind::Release(r, _) => {
            m.reaches[r].release_g_m2_day.get(p).copied().unwrap_or(0.0) == 0.0
        }
    }
}
