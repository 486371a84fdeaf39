//! Source apportionment: how much of each section's (and zone's) concentration comes from each source group
//! (DESIGN.md §2 "Linearity", "Prioritisation"; §6 `group` keys; the output contract of `rivsim apportion`).
//!
//! ## Why it works
//! With first-order kinetics the transport equation of DESIGN.md §2,
//!
//!   ∂(AC)/∂t + ∂(QC)/∂x = ∂/∂x(A·E·∂C/∂x) − k·A·C + S          (g/m/s; C in mg/L = g/m³, Q in m³/s)
//!
//! is linear in C once the flows Q, A are fixed: split every source into groups, S = Σ_g S_g, and every
//! boundary value and initial value the same way, and the solution splits as C = Σ_g C_g, each C_g solving the
//! same equation with only its own group's sources (Chapra 1997, *Surface Water-Quality Modeling*, §1.4 on
//! superposition; Fischer et al. 1979, *Mixing in Inland and Coastal Waters*, ch. 2). The advection scheme's
//! flux limiter is the one nonlinear piece: its choice of face value depends on C itself. The tagged engine
//! (`transport::run_tagged`) therefore carries every group with the *total* run's fluxes and limiter choices,
//! so that the groups add up to the total to round-off (the contract: 1e-9 relative), and each group differs
//! from a run of that group alone only by the limiter's choice near fronts.
//!
//! ## Source groups ([`GroupBy`])
//! Every source item belongs to exactly one group:
//! - `group` (default): the item's own `group` key — an inflow's defaults to its node id, an outfall's to its
//!   kind, a line load's to its id (DESIGN.md §6). Items created by projects (`projects::apply`) carry the
//!   groups the transform gives them: `sewer <id>` (a sewer's overflow or untreated discharge), `plant <id>`
//!   (effluent and bypass), `diversion <project id>`, `construction`, and `internal release` for a dredged
//!   reach's release (then merged with the release of the other reaches).
//! - `jurisdiction`: the `jurisdiction` of an outfall's or line load's reach; for an inflow at a `boundary`
//!   node (water from outside the district) its `group`; for an inflow at an inner node (a diversion) the
//!   jurisdiction of the first reach leaving (else entering) the node; `(no jurisdiction)` where none is given.
//! - `kind`: an outfall's kind (`sewage`, `industrial`, `rain_dry_weather`, `rural`, `wwtp`, `overflow`);
//!   `boundary inflow` or `diversion` (an inflow at an inner node); `line load`.
//! - `item`: every item on its own: `inflow <node>`, `outfall <id>`, `line load <id>`, `release <reach>`,
//!   `outlet <node>` (a repeated name gets ` #2`, ` #3`, … appended).
//!
//! In every mode three more groups exist when the scenario has them: `internal release` (reaches with a
//! non-zero `release_g_m2_day`), `outlet water` (outlets whose entering `concentration` is not zero) and
//! `initial state` (only with `[initial] state = "values"` and a non-zero value: with the default steady
//! initial state the initial field is itself the sum of the groups' steady states, so it needs no group of its
//! own; with `zero` there is nothing to apportion).
//!
//! **Order of the groups** (rows of every table, colours of the plots): by first appearance — the inflows, the
//! outfalls, the line loads in model order (project-created items come after the file's own), then the
//! reaches' release, the outlets, the initial state.
//!
//! A group's model ([`SourceGroups::models`]) is a copy of the total model in which every source outside the
//! group carries zero concentration or zero load — flows are unchanged, so the hydraulics are the total's.
//!
//! ## Statistics
//! - `mean_mg_l` of a group at a section: the mean of its concentration over the output times after the
//!   warm-up (the same samples as the assessment's `outputs` sampling); `share` = group mean / the section's
//!   total mean (the total run's mean over the same samples). The shares of one section and pollutant sum to 1
//!   and the group means sum to the section mean, to the tagged engine's round-off. When the total mean is 0
//!   (no source of the pollutant reaches the section) the share is left empty.
//! - **Negative values.** The groups share the total's limiter: near a front a group's limited face value can
//!   overshoot its own profile, so a group may dip a hair below 0 where another group's front passes (the
//!   total stays non-negative). Shares are computed from the signed means, never clamped: a slightly negative
//!   share is reported as such (and the others then sum to a hair over 1). `apportion.json` reports the most
//!   negative group value met and the number of negative group means, so nothing is hidden. Only the stacked
//!   bar plots draw negative shares as zero (a bar cannot stack below its base).
//! - **Zones** (`apportion_zones.csv`): over the zone's assessment sites as the assessment picks them (the
//!   sections the zone names, else the sections on its reaches, else the volume-weighted means of its reaches):
//!   the zone's mean is the plain mean of its sites' means (each site weighs the same, as each monitoring
//!   section does in the annual-mean method), for every group and for the total; share = group / total.
//! - **Gap.** At every output time, section and pollutant, |Σ_g C_g − C| / max(|C|, Σ_g |C_g|) — relative to
//!   the round-off scale of the sum; 0 where everything is 0. The largest is printed and written to
//!   `apportion.json` (`max_relative_gap`); the tagged engine keeps it below 1e-9.
//!
//! References: Chapra, S.C. (1997) *Surface Water-Quality Modeling*, McGraw-Hill, §1.4; Fischer, H.B. et al.
//! (1979) *Mixing in Inland and Coastal Waters*, Academic Press, ch. 2; Sweby, P.K. (1984) SIAM J. Numer.
//! Anal. 21(5), 995–1011 (the limiter that makes the discrete scheme nonlinear).

use crate::files::{csv_field, iso_time};
use crate::model::{InitialState, Model, NodeKind, Series};
use crate::targets::assess::{SiteRef, sample_indices, zone_sites};
use crate::transport::TaggedResults;
use plotters::prelude::*;
use rayon::prelude::*;
use std::fmt::Write as _;

/// Name of the group of the reaches' internal (sediment) release.
pub const INTERNAL_RELEASE: &str = "internal release";
/// Name of the group of water entering at outlets with a concentration.
pub const OUTLET_WATER: &str = "outlet water";
/// Name of the group of a given (`values`) initial state.
pub const INITIAL_STATE: &str = "initial state";
/// Name of the group that [`SourceGroups::merge_tail`] folds the remaining groups into.
pub const OTHER_SOURCES: &str = "other sources";
/// Jurisdiction name used where a reach has none.
pub const NO_JURISDICTION: &str = "(no jurisdiction)";

/// How sources are grouped (`--by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupBy {
    /// The items' own `group` keys (default).
    #[default]
    Group,
    /// The jurisdiction of the item's reach (or node).
    Jurisdiction,
    /// The outfall kind; `boundary inflow`, `diversion`, `line load`.
    Kind,
    /// Every item its own group.
    Item,
}

impl GroupBy {
    /// The command-line spellings, in order.
    pub const NAMES: [&'static str; 4] = ["group", "jurisdiction", "kind", "item"];

    /// The command-line spelling.
    pub fn name(self) -> &'static str {
        match self {
            GroupBy::Group => "group",
            GroupBy::Jurisdiction => "jurisdiction",
            GroupBy::Kind => "kind",
            GroupBy::Item => "item",
        }
    }

    /// Parse a command-line spelling.
    pub fn parse(s: &str) -> Result<GroupBy, ApportionError> {
        match s {
            "group" => Ok(GroupBy::Group),
            "jurisdiction" => Ok(GroupBy::Jurisdiction),
            "kind" => Ok(GroupBy::Kind),
            "item" => Ok(GroupBy::Item),
            _ => Err(ApportionError::BadBy(s.to_string())),
        }
    }
}

/// An apportionment failure.
#[derive(Debug, thiserror::Error)]
pub enum ApportionError {
    /// `--by` has an unknown value.
    #[error("--by {0:?}: expected one of group, jurisdiction, kind, item")]
    BadBy(String),
    /// Nothing to average.
    #[error(
        "warmup ({warmup_s} s) covers every output time (the last is at {last_s} s): no output time to \
         average; shorten [simulation] warmup or lengthen the run"
    )]
    NoSamples {
        /// The warm-up, s.
        warmup_s: f64,
        /// The last output time, s.
        last_s: f64,
    },
    /// The scenario has no source at all.
    #[error(
        "the scenario has no source (no inflow, outfall, line load, release or outlet concentration)"
    )]
    NoSources,
    /// The tagged results do not fit the model.
    #[error("tagged results do not fit the model: {0}")]
    Shape(String),
    /// A plot could not be drawn.
    #[error("plot {path}: {what}")]
    Plot {
        /// The file.
        path: String,
        /// What went wrong.
        what: String,
    },
}

/// The source groups of a model and which items belong to each.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceGroups {
    /// How the groups were formed.
    pub by: GroupBy,
    /// Group names, in the documented order (first appearance).
    pub names: Vec<String>,
    /// Group of each inflow (`Model::inflows` order).
    pub inflow: Vec<usize>,
    /// Group of each outfall.
    pub outfall: Vec<usize>,
    /// Group of each line load.
    pub line_load: Vec<usize>,
    /// Group of each reach's internal release (`None`: the reach releases nothing).
    pub release: Vec<Option<usize>>,
    /// Group of each node's entering-water concentration (`None`: not an outlet, or all zero).
    pub outlet: Vec<Option<usize>>,
    /// Group of a given initial state (`None`: steady or zero).
    pub initial: Option<usize>,
}

fn nonzero(s: &Series) -> bool {
    match s {
        Series::Const(v) => *v != 0.0,
        Series::Table { values, .. } => values.iter().any(|&v| v != 0.0),
    }
}

/// Index of `name` in `names`, appended if new. Linear search: run once per item, outside any solver loop.
fn intern(names: &mut Vec<String>, name: String) -> usize {
    match names.iter().position(|n| *n == name) {
        Some(i) => i,
        None => {
            names.push(name);
            names.len() - 1
        }
    }
}

/// Append `name` as a new group, numbering it (` #2`, …) if the name is taken (item mode).
fn unique(names: &mut Vec<String>, name: String) -> usize {
    let mut candidate = name.clone();
    let mut k = 2;
    while names.contains(&candidate) {
        candidate = format!("{name} #{k}");
        k += 1;
    }
    names.push(candidate);
    names.len() - 1
}

fn reach_jurisdiction(model: &Model, r: usize) -> String {
    model
        .reaches
        .get(r)
        .and_then(|x| x.jurisdiction.clone())
        .unwrap_or_else(|| NO_JURISDICTION.to_string())
}

fn node_jurisdiction(model: &Model, n: usize) -> String {
    let leaving = model.reaches.iter().filter(|r| r.from == n);
    let entering = model.reaches.iter().filter(|r| r.to == n);
    leaving
        .chain(entering)
        .find_map(|r| r.jurisdiction.clone())
        .unwrap_or_else(|| NO_JURISDICTION.to_string())
}

impl SourceGroups {
    /// Group the sources of `model`.
    pub fn of(model: &Model, by: GroupBy) -> SourceGroups {
        let mut names: Vec<String> = Vec::new();
        let add = |names: &mut Vec<String>, name: String| match by {
            GroupBy::Item => unique(names, name),
            _ => intern(names, name),
        };
        let inflow = model
            .inflows
            .iter()
            .map(|i| {
                let node = model.nodes.get(i.node);
                let boundary = node.is_none_or(|n| n.kind == NodeKind::Boundary);
                let name = match by {
                    GroupBy::Group => i.group.clone(),
                    GroupBy::Jurisdiction if boundary => i.group.clone(),
                    GroupBy::Jurisdiction => node_jurisdiction(model, i.node),
                    GroupBy::Kind if boundary => "boundary inflow".into(),
                    GroupBy::Kind => "diversion".into(),
                    GroupBy::Item => format!("inflow {}", node.map_or("?", |n| n.id.as_str())),
                };
                add(&mut names, name)
            })
            .collect();
        let outfall = model
            .outfalls
            .iter()
            .map(|o| {
                let name = match by {
                    GroupBy::Group => o.group.clone(),
                    GroupBy::Jurisdiction => reach_jurisdiction(model, o.reach),
                    GroupBy::Kind => o.kind.name().into(),
                    GroupBy::Item => format!("outfall {}", o.id),
                };
                add(&mut names, name)
            })
            .collect();
        let line_load = model
            .line_loads
            .iter()
            .map(|l| {
                let release = l.group == INTERNAL_RELEASE;
                let name = match by {
                    GroupBy::Group => l.group.clone(),
                    _ if release && by != GroupBy::Item => INTERNAL_RELEASE.into(),
                    GroupBy::Jurisdiction => reach_jurisdiction(model, l.reach),
                    GroupBy::Kind => "line load".into(),
                    GroupBy::Item => format!("line load {}", l.id),
                };
                add(&mut names, name)
            })
            .collect();
        let release = model
            .reaches
            .iter()
            .map(|r| {
                r.release_g_m2_day.iter().any(|&v| v != 0.0).then(|| {
                    let name = match by {
                        GroupBy::Item => format!("release {}", r.id),
                        _ => INTERNAL_RELEASE.into(),
                    };
                    add(&mut names, name)
                })
            })
            .collect();
        let outlet = model
            .nodes
            .iter()
            .map(|n| {
                (n.kind == NodeKind::Outlet && n.concentration.iter().any(nonzero)).then(|| {
                    let name = match by {
                        GroupBy::Item => format!("outlet {}", n.id),
                        _ => OUTLET_WATER.into(),
                    };
                    add(&mut names, name)
                })
            })
            .collect();
        let initial = match &model.initial {
            InitialState::Values(v) if v.iter().any(|&c| c != 0.0) => {
                Some(add(&mut names, INITIAL_STATE.into()))
            }
            _ => None,
        };
        SourceGroups {
            by,
            names,
            inflow,
            outfall,
            line_load,
            release,
            outlet,
            initial,
        }
    }

    /// Keep the first `max − 1` groups and merge the rest into one group named [`OTHER_SOURCES`], when there
    /// are more than `max` (`max` ≥ 1; `--max-groups`). The order of the kept groups is unchanged.
    pub fn merge_tail(mut self, max: usize) -> SourceGroups {
        let max = max.max(1);
        if self.names.len() <= max {
            return self;
        }
        let last = max - 1;
        let fold = |g: &mut usize| *g = (*g).min(last);
        self.inflow.iter_mut().for_each(fold);
        self.outfall.iter_mut().for_each(fold);
        self.line_load.iter_mut().for_each(fold);
        self.release.iter_mut().flatten().for_each(fold);
        self.outlet.iter_mut().flatten().for_each(fold);
        self.initial.iter_mut().for_each(fold);
        self.names.truncate(last);
        self.names.push(OTHER_SOURCES.into());
        self
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// `true` when the model has no source at all.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// The model of group `g`: `model` with every source outside the group set to zero concentration or zero
    /// load. Flows (inflows, outfall flows, withdrawals, levels) are untouched.
    pub fn model_of(&self, model: &Model, g: usize) -> Model {
        let zero = |v: &mut Vec<Series>| v.iter_mut().for_each(|s| *s = Series::Const(0.0));
        let mut m = model.clone();
        for (inf, &k) in m.inflows.iter_mut().zip(&self.inflow) {
            if k != g {
                zero(&mut inf.concentration);
            }
        }
        for (o, &k) in m.outfalls.iter_mut().zip(&self.outfall) {
            if k != g {
                zero(o.discharge.mass_series_mut());
            }
        }
        for (l, &k) in m.line_loads.iter_mut().zip(&self.line_load) {
            if k != g {
                zero(&mut l.kg_per_day);
            }
        }
        for (r, &k) in m.reaches.iter_mut().zip(&self.release) {
            if k != Some(g) {
                r.release_g_m2_day.iter_mut().for_each(|v| *v = 0.0);
            }
        }
        for (n, &k) in m.nodes.iter_mut().zip(&self.outlet) {
            if k != Some(g) {
                zero(&mut n.concentration);
            }
        }
        if self.initial != Some(g) && matches!(m.initial, InitialState::Values(_)) {
            m.initial = InitialState::Zero;
        }
        m
    }

    /// Every group's model, in group order (built in parallel).
    pub fn models(&self, model: &Model) -> Vec<Model> {
        (0..self.len())
            .into_par_iter()
            .map(|g| self.model_of(model, g))
            .collect()
    }
}

/// Where the largest gap (or the most negative group value) was met.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Place {
    /// Output time, ISO.
    pub time: String,
    /// Section id.
    pub section: String,
    /// Pollutant.
    pub pollutant: String,
    /// Group (for a negative value), else empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub group: String,
}

/// Means of one site (a section or a zone) and pollutant.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteMeans {
    /// Site id (section or zone).
    pub id: String,
    /// Total mean per pollutant, mg/L.
    pub total_mg_l: Vec<f64>,
    /// Group means `[pollutant][group]`, mg/L.
    pub group_mg_l: Vec<Vec<f64>>,
}

impl SiteMeans {
    /// Share of group `g` in pollutant `p` (`None` when the total mean is 0).
    pub fn share(&self, p: usize, g: usize) -> Option<f64> {
        let t = self.total_mg_l[p];
        (t != 0.0).then(|| self.group_mg_l[p][g] / t)
    }
}

/// The apportionment of a tagged run.
#[derive(Debug, Clone)]
pub struct Apportionment {
    /// How the groups were formed.
    pub by: GroupBy,
    /// Group names.
    pub groups: Vec<String>,
    /// Pollutant names.
    pub pollutants: Vec<String>,
    /// The averaged output times (after the warm-up).
    pub samples: Vec<usize>,
    /// Per section, in model order.
    pub sections: Vec<SiteMeans>,
    /// Per zone with at least one site, in model order.
    pub zones: Vec<SiteMeans>,
    /// Largest |Σ groups − total| / max(|total|, Σ|groups|) over every output time, section and pollutant.
    pub max_relative_gap: f64,
    /// Where it was met.
    pub max_gap_at: Place,
    /// The most negative group concentration met at a section (0 if none), mg/L.
    pub min_group_mg_l: f64,
    /// Where it was met.
    pub min_group_at: Place,
    /// Number of (site, pollutant, group) means below zero (sections and zones).
    pub negative_means: usize,
}

/// Average the tagged results over the assessed period: section and zone means, shares, the gap.
pub fn analyse(
    model: &Model,
    groups: &SourceGroups,
    tagged: &TaggedResults,
) -> Result<Apportionment, ApportionError> {
    let total = &tagged.total;
    let np = model.pollutants.len();
    let ns = model.sections.len();
    let nr = model.reaches.len();
    let ng = groups.len();
    let nt = total.output_times_s.len();
    if tagged.n_groups != ng
        || tagged.section_conc.len() != nt
        || total.section_conc.len() != nt
        || tagged.section_conc.iter().any(|v| v.len() != ns * np * ng)
        || tagged.reach_conc.iter().any(|v| v.len() != nr * np * ng)
        || total.section_conc.iter().any(|v| v.len() != ns * np)
    {
        return Err(ApportionError::Shape(format!(
            "{ng} groups, {ns} sections, {nr} reaches, {np} pollutants, {nt} output times expected"
        )));
    }
    let samples = sample_indices(model, total);
    if samples.is_empty() {
        return Err(ApportionError::NoSamples {
            warmup_s: model.sim.warmup_s,
            last_s: total.output_times_s.last().copied().unwrap_or(0.0),
        });
    }
    let inv = 1.0 / samples.len() as f64;

    // means at sites: a section or a reach
    let site_means = |site: SiteRef, id: String| -> SiteMeans {
        let mut total_mg_l = vec![0.0; np];
        let mut group_mg_l = vec![vec![0.0; ng]; np];
        for &i in &samples {
            for p in 0..np {
                let (t, gs) = match site {
                    SiteRef::Section(s) => (
                        total.section_conc[i][s * np + p],
                        &tagged.section_conc[i][(s * np + p) * ng..(s * np + p + 1) * ng],
                    ),
                    SiteRef::Reach(r) => (
                        total.reach_conc[i][r * np + p],
                        &tagged.reach_conc[i][(r * np + p) * ng..(r * np + p + 1) * ng],
                    ),
                };
                total_mg_l[p] += t;
                for (acc, v) in group_mg_l[p].iter_mut().zip(gs) {
                    *acc += v;
                }
            }
        }
        total_mg_l.iter_mut().for_each(|v| *v *= inv);
        group_mg_l.iter_mut().flatten().for_each(|v| *v *= inv);
        SiteMeans {
            id,
            total_mg_l,
            group_mg_l,
        }
    };
    let sections: Vec<SiteMeans> = (0..ns)
        .into_par_iter()
        .map(|s| site_means(SiteRef::Section(s), model.sections[s].id.clone()))
        .collect();
    let mut zones = Vec::with_capacity(model.zones.len());
    for z in 0..model.zones.len() {
        let (sites, _) = zone_sites(model, z);
        if sites.is_empty() {
            continue;
        }
        let w = 1.0 / sites.len() as f64;
        let mut zm = SiteMeans {
            id: model.zones[z].id.clone(),
            total_mg_l: vec![0.0; np],
            group_mg_l: vec![vec![0.0; ng]; np],
        };
        for site in &sites {
            let m = match site.place {
                SiteRef::Section(s) => sections[s].clone(),
                place => site_means(place, site.name.clone()),
            };
            for p in 0..np {
                zm.total_mg_l[p] += w * m.total_mg_l[p];
                for g in 0..ng {
                    zm.group_mg_l[p][g] += w * m.group_mg_l[p][g];
                }
            }
        }
        zones.push(zm);
    }

    // the gap and the most negative value, over every output time
    let mut max_gap = 0.0_f64;
    let mut gap_at = (0, 0, 0);
    let mut min_val = 0.0_f64;
    let mut min_at = (0, 0, 0, 0);
    for i in 0..nt {
        for s in 0..ns {
            for p in 0..np {
                let t = total.section_conc[i][s * np + p];
                let gs = &tagged.section_conc[i][(s * np + p) * ng..(s * np + p + 1) * ng];
                let (mut sum, mut abs) = (0.0, 0.0);
                for (g, &v) in gs.iter().enumerate() {
                    sum += v;
                    abs += v.abs();
                    if v < min_val {
                        min_val = v;
                        min_at = (i, s, p, g);
                    }
                }
                let scale = t.abs().max(abs);
                let gap = if scale > 0.0 {
                    (sum - t).abs() / scale
                } else {
                    0.0
                };
                if gap > max_gap || gap.is_nan() {
                    max_gap = if gap.is_nan() { f64::INFINITY } else { gap };
                    gap_at = (i, s, p);
                }
            }
        }
    }
    let place = |i: usize, s: usize, p: usize, group: String| Place {
        time: iso_time(model.sim.start, total.output_times_s[i]),
        section: model
            .sections
            .get(s)
            .map_or(String::new(), |x| x.id.clone()),
        pollutant: model.pollutants.get(p).cloned().unwrap_or_default(),
        group,
    };
    let negative_means = sections
        .iter()
        .chain(&zones)
        .flat_map(|m| m.group_mg_l.iter().flatten())
        .filter(|&&v| v < 0.0)
        .count();
    Ok(Apportionment {
        by: groups.by,
        groups: groups.names.clone(),
        pollutants: model.pollutants.clone(),
        samples,
        max_gap_at: if ns > 0 && np > 0 {
            place(gap_at.0, gap_at.1, gap_at.2, String::new())
        } else {
            Place::default()
        },
        min_group_at: if min_val < 0.0 {
            place(min_at.0, min_at.1, min_at.2, groups.names[min_at.3].clone())
        } else {
            Place::default()
        },
        sections,
        zones,
        max_relative_gap: max_gap,
        min_group_mg_l: min_val,
        negative_means,
    })
}

fn means_csv(header: &str, sites: &[SiteMeans], a: &Apportionment) -> String {
    let mut s = String::from(header);
    for m in sites {
        let id = csv_field(&m.id);
        for (p, pname) in a.pollutants.iter().enumerate() {
            let pname = csv_field(pname);
            for (g, gname) in a.groups.iter().enumerate() {
                let share = m.share(p, g).map_or(String::new(), |v| v.to_string());
                let _ = writeln!(
                    s,
                    "{id},{pname},{},{},{share}",
                    csv_field(gname),
                    m.group_mg_l[p][g]
                );
            }
        }
    }
    s
}

/// `apportion.csv`: `section,pollutant,group,mean_mg_l,share`; sections, pollutants and groups in model /
/// group order; `share` empty where the section's total mean is 0.
pub fn apportion_csv(a: &Apportionment) -> String {
    means_csv("section,pollutant,group,mean_mg_l,share\n", &a.sections, a)
}

/// `apportion_zones.csv`: `zone,pollutant,group,mean_mg_l,share` (see the module docs for the aggregation).
pub fn zones_csv(a: &Apportionment) -> String {
    means_csv("zone,pollutant,group,mean_mg_l,share\n", &a.zones, a)
}

/// Stream `apportion_series.csv`: `time,section,pollutant,group,mg_l`, every output time (warm-up included),
/// in time, section, pollutant, group order.
pub fn write_series_csv(
    w: &mut dyn std::io::Write,
    model: &Model,
    groups: &SourceGroups,
    tagged: &TaggedResults,
) -> std::io::Result<()> {
    writeln!(w, "time,section,pollutant,group,mg_l")?;
    let np = model.pollutants.len();
    let ng = groups.len();
    let secs: Vec<String> = model.sections.iter().map(|s| csv_field(&s.id)).collect();
    let pols: Vec<String> = model.pollutants.iter().map(|p| csv_field(p)).collect();
    let grs: Vec<String> = groups.names.iter().map(|g| csv_field(g)).collect();
    for (i, &t) in tagged.total.output_times_s.iter().enumerate() {
        let time = iso_time(model.sim.start, t);
        for (s, sid) in secs.iter().enumerate() {
            for (p, pname) in pols.iter().enumerate() {
                for (g, gname) in grs.iter().enumerate() {
                    let v = tagged.section_conc[i][(s * np + p) * ng + g];
                    writeln!(w, "{time},{sid},{pname},{gname},{v}")?;
                }
            }
        }
    }
    Ok(())
}

fn site_json(a: &Apportionment, m: &SiteMeans) -> serde_json::Value {
    let mut pols = serde_json::Map::new();
    for (p, pname) in a.pollutants.iter().enumerate() {
        let groups: Vec<serde_json::Value> = a
            .groups
            .iter()
            .enumerate()
            .map(|(g, name)| {
                serde_json::json!({
                    "group": name,
                    "mean_mg_l": m.group_mg_l[p][g],
                    "share": m.share(p, g),
                })
            })
            .collect();
        pols.insert(
            pname.clone(),
            serde_json::json!({ "total_mean_mg_l": m.total_mg_l[p], "groups": groups }),
        );
    }
    serde_json::json!({ "id": m.id, "pollutants": pols })
}

/// `apportion.json`: the groups, the gap, negative values, and the means and shares of every section and zone.
pub fn apportion_json(model: &Model, a: &Apportionment) -> serde_json::Value {
    serde_json::json!({
        "rivsim_version": env!("CARGO_PKG_VERSION"),
        "title": model.title,
        "by": a.by.name(),
        "groups": a.groups,
        "averaged_outputs": a.samples.len(),
        "warmup_s": model.sim.warmup_s,
        "max_relative_gap": a.max_relative_gap,
        "max_gap_at": a.max_gap_at,
        "min_group_mg_l": a.min_group_mg_l,
        "min_group_at": a.min_group_at,
        "negative_means": a.negative_means,
        "sections": a.sections.iter().map(|m| site_json(a, m)).collect::<Vec<_>>(),
        "zones": a.zones.iter().map(|m| site_json(a, m)).collect::<Vec<_>>(),
    })
}

/// The groups of pollutant `p` at a site, largest share first: `(group, mean mg/L, share)`; at most `n`.
pub fn top_groups(a: &Apportionment, m: &SiteMeans, p: usize, n: usize) -> Vec<(String, f64, f64)> {
    let mut v: Vec<(String, f64, f64)> = (0..a.groups.len())
        .map(|g| {
            (
                a.groups[g].clone(),
                m.group_mg_l[p][g],
                m.share(p, g).unwrap_or(0.0),
            )
        })
        .collect();
    v.sort_by(|x, y| y.1.total_cmp(&x.1));
    v.truncate(n);
    v
}

// ----------------------------------------------------------------------------------------------- plots

fn plot_size(ng: usize) -> (u32, u32) {
    (1000, (120 + 18 * ng as u32).max(560))
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    title: &str,
    a: &Apportionment,
    m: &SiteMeans,
) -> Result<(), String> {
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    root.fill(&WHITE).map_err(e)?;
    let (w, _) = root.dim_in_pixel();
    let body = root.titled(title, ("sans-serif", 20)).map_err(e)?;
    let (left, right) = body.split_horizontally(w * 62 / 100);
    let np = a.pollutants.len();
    let mut chart = ChartBuilder::on(&left)
        .margin(15)
        .x_label_area_size(40)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..np.max(1) as f64, 0.0..1.0)
        .map_err(e)?;
    let pols = a.pollutants.clone();
    let totals = m.total_mg_l.clone();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .max_light_lines(1)
        .x_labels(np.max(1) * 2 + 1)
        .x_label_formatter(&|x: &f64| {
            let k = x.floor() as usize;
            if (x - k as f64 - 0.5).abs() < 1e-6 && k < pols.len() {
                format!("{} ({:.3} mg/L)", pols[k], totals[k])
            } else {
                String::new()
            }
        })
        .y_desc("share of the section mean")
        .draw()
        .map_err(e)?;
    let ng = a.groups.len();
    // mutually distinct colours however many groups there are (crate::colors)
    let palette = crate::colors::distinct(ng);
    let color = |g: usize| {
        let (r, gr, b) = palette[g];
        RGBColor(r, gr, b).to_rgba()
    };
    for p in 0..np {
        let mut base = 0.0;
        for g in 0..ng {
            // negative shares are drawn as zero (a bar cannot stack below its base; the CSV keeps them)
            let share = m.share(p, g).unwrap_or(0.0).max(0.0);
            if share <= 0.0 {
                continue;
            }
            let top = (base + share).min(1.0);
            let x0 = p as f64 + 0.15;
            let x1 = p as f64 + 0.85;
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(x0, base), (x1, top)],
                    color(g).filled(),
                )))
                .map_err(e)?;
            base = top;
        }
    }
    // legend on the right, one line per group
    for (g, name) in a.groups.iter().enumerate() {
        let y = 20 + 18 * g as i32;
        right
            .draw(&Rectangle::new([(10, y), (24, y + 12)], color(g).filled()))
            .map_err(e)?;
        right
            .draw(&Text::new(
                name.clone(),
                (30, y - 1),
                ("sans-serif", 13).into_font(),
            ))
            .map_err(e)?;
    }
    root.present().map_err(e)?;
    Ok(())
}

/// The stacked-bar plot of one section's shares (one bar per pollutant) as SVG text.
pub fn section_plot_svg(title: &str, a: &Apportionment, m: &SiteMeans) -> Result<String, String> {
    crate::fonts::register();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, plot_size(a.groups.len())).into_drawing_area();
        draw(&root, title, a, m)?;
    }
    Ok(crate::fonts::embed_in_svg(&svg))
}

/// The same plot as a PNG file at `path` (drawn to a temporary sibling and renamed over it).
pub fn section_plot_png(
    path: &std::path::Path,
    title: &str,
    a: &Apportionment,
    m: &SiteMeans,
) -> Result<(), String> {
    crate::fonts::register();
    let tmp = crate::files::temp_sibling(path, "partial.png");
    let res = {
        let root = BitMapBackend::new(&tmp, plot_size(a.groups.len())).into_drawing_area();
        draw(&root, title, a, m)
    };
    let res = res.and_then(|_| std::fs::rename(&tmp, path).map_err(|e| e.to_string()));
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}
