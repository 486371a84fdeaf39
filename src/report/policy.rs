//! One river one policy, one outfall one policy (一河一策, 一口一策): the facts a river chief's plan is built on,
//! per river and per outfall, for report.html and report.xlsx.
//!
//! - **River** (the reaches sharing a `river` name; without names, the whole network is one river): its reaches
//!   and kilometres, its sections with their class per assessment period, the load discharged into its reaches by
//!   source group (outfalls and line loads on its reaches, inflows at its nodes), and the projects that act on
//!   it (on its outfalls, its reaches, its nodes, or a plant or sewer discharging into it).
//! - **Outfall**: its load, the sections it reaches and its share of their mean concentration there, and the
//!   projects that treat it.
//!
//! Loads are means over the output times after the warm-up, kg/day per pollutant: for a discharge with water,
//! Q(t)·C(t)·86.4 (m³/s · mg/L → kg/day), for a mass-only discharge its kg/day; a series is read at each output
//! time, so a project that changes an outfall in the run shows as its time-mean effect. Shares come from a
//! tagged run by item (`crate::apportion`, every outfall its own group): an outfall "reaches" a section where its
//! share of some pollutant's mean is at least 0.1%.

use crate::apportion::{Apportionment, SourceGroups};
use crate::lang::Lang;
use crate::model::ProjectKind;
use crate::model::{Discharge, Model};
use crate::targets::{Assessment, PeriodKey};
use std::fmt::Write;

/// Where an outfall's share counts as reaching a section.
pub const MIN_SHARE: f64 = 1e-3;

/// One river's page.
#[derive(Debug, Clone)]
pub struct RiverPolicy {
    /// The river's name.
    pub name: String,
    /// Its reaches (model indices).
    pub reaches: Vec<usize>,
    /// Its length, km.
    pub km: f64,
    /// Its sections (model indices).
    pub sections: Vec<usize>,
    /// Load into its reaches per source group: (group, kg/day per pollutant), largest first by the first
    /// pollutant.
    pub loads: Vec<(String, Vec<f64>)>,
    /// The projects acting on it (model indices).
    pub projects: Vec<usize>,
}

/// One outfall's page.
#[derive(Debug, Clone)]
pub struct OutfallPolicy {
    /// Outfall index.
    pub outfall: usize,
    /// Mean load, kg/day per pollutant.
    pub load_kg_d: Vec<f64>,
    /// Sections it reaches: (section index, share of the section's mean per pollutant).
    pub sections: Vec<(usize, Vec<Option<f64>>)>,
    /// The projects that treat it (model indices).
    pub projects: Vec<usize>,
}

/// Every river's and every outfall's page.
#[derive(Debug, Clone, Default)]
pub struct Policies {
    /// Rivers, longest first.
    pub rivers: Vec<RiverPolicy>,
    /// Outfalls, in model order.
    pub outfalls: Vec<OutfallPolicy>,
}

/// Mean of `f(t)` over the output times after the warm-up (every `output_interval_s` from the warm-up to the end).
fn time_mean(model: &Model, f: impl Fn(f64) -> f64) -> f64 {
    let dt = model.sim.output_interval_s.max(1.0);
    let mut t = model.sim.warmup_s;
    let (mut sum, mut n) = (0.0, 0usize);
    while t <= model.sim.end_s + 1e-9 && n < 1_000_000 {
        sum += f(t);
        n += 1;
        t += dt;
    }
    if n == 0 { 0.0 } else { sum / n as f64 }
}

/// An outfall's mean load, kg/day per pollutant.
pub fn outfall_load_kg_d(model: &Model, o: usize) -> Vec<f64> {
    let out = &model.outfalls[o];
    (0..model.pollutants.len())
        .map(|p| match &out.discharge {
            Discharge::Flow {
                flow_m3s,
                concentration,
            } => time_mean(model, |t| {
                flow_m3s.at(t) * concentration.get(p).map_or(0.0, |c| c.at(t)) * 86.4
            }),
            Discharge::Load { kg_per_day } => {
                time_mean(model, |t| kg_per_day.get(p).map_or(0.0, |c| c.at(t)))
            }
        })
        .collect()
}

/// The outfalls, reaches, nodes and plants a project names.
fn acts_on(model: &Model, k: &ProjectKind) -> (Vec<usize>, Vec<usize>, Vec<usize>) {
    let plant_reach = |pl: usize| {
        model
            .plants
            .get(pl)
            .and_then(|p| p.discharge.map(|a| a.reach))
    };
    match k {
        ProjectKind::Intercept { outfalls, .. } | ProjectKind::Separate { outfalls, .. } => {
            (outfalls.clone(), vec![], vec![])
        }
        ProjectKind::CloseOutfall {
            outfalls,
            line_loads,
        }
        | ProjectKind::RuralTreatment {
            outfalls,
            line_loads,
            ..
        } => (
            outfalls.clone(),
            line_loads
                .iter()
                .filter_map(|&l| model.line_loads.get(l).map(|l| l.reach))
                .collect(),
            vec![],
        ),
        ProjectKind::SewerUpgrade { sewer, .. } => (
            vec![],
            model
                .sewers
                .get(*sewer)
                .map(|s| s.overflow.reach)
                .into_iter()
                .collect(),
            vec![],
        ),
        ProjectKind::Plant { plant, .. } => {
            (vec![], plant_reach(*plant).into_iter().collect(), vec![])
        }
        ProjectKind::Diversion { node, .. } | ProjectKind::BoundaryImprovement { node, .. } => {
            (vec![], vec![], vec![*node])
        }
        ProjectKind::Dredging { reaches, .. } => (vec![], reaches.clone(), vec![]),
        #[allow(unreachable_patterns)]
        _ => (vec![], vec![], vec![]),
    }
}

/// Build the pages. `model` is the scenario as run (its projects listed, their effects applied); `shares`, if
/// given, is a tagged run by item of that model with its groups.
pub fn policies(model: &Model, shares: Option<(&SourceGroups, &Apportionment)>) -> Policies {
    let np = model.pollutants.len();
    let loads: Vec<Vec<f64>> = (0..model.outfalls.len())
        .map(|o| outfall_load_kg_d(model, o))
        .collect();
    let mut rivers: Vec<(String, Vec<usize>)> = Vec::new();
    for (r, reach) in model.reaches.iter().enumerate() {
        let name = reach.river.clone().unwrap_or_else(|| "—".into());
        match rivers.iter_mut().find(|(n, _)| *n == name) {
            Some((_, v)) => v.push(r),
            None => rivers.push((name, vec![r])),
        }
    }
    let acts: Vec<_> = model
        .projects
        .iter()
        .map(|p| acts_on(model, &p.kind))
        .collect();
    let mut out = Policies::default();
    for (name, reaches) in rivers {
        let on = |r: usize| reaches.contains(&r);
        let nodes: Vec<usize> = reaches
            .iter()
            .flat_map(|&r| [model.reaches[r].from, model.reaches[r].to])
            .collect();
        let mut by_group: Vec<(String, Vec<f64>)> = Vec::new();
        let mut add = |g: &str, v: Vec<f64>| match by_group.iter_mut().find(|(n, _)| n == g) {
            Some((_, acc)) => acc.iter_mut().zip(v).for_each(|(a, b)| *a += b),
            None => by_group.push((g.to_string(), v)),
        };
        for (o, of) in model.outfalls.iter().enumerate() {
            if on(of.reach) {
                add(&of.group, loads[o].clone());
            }
        }
        for ll in model.line_loads.iter().filter(|ll| on(ll.reach)) {
            let v = (0..np)
                .map(|p| time_mean(model, |t| ll.kg_per_day.get(p).map_or(0.0, |s| s.at(t))))
                .collect();
            add(&ll.group, v);
        }
        for inf in model.inflows.iter().filter(|i| nodes.contains(&i.node)) {
            // only water entering from outside the river: an inflow at a node no other river's reach leaves
            let v = (0..np)
                .map(|p| {
                    time_mean(model, |t| {
                        inf.flow_m3s.at(t)
                            * inf.concentration.get(p).map_or(0.0, |c| c.at(t))
                            * 86.4
                    })
                })
                .collect();
            add(&inf.group, v);
        }
        by_group.sort_by(|a, b| {
            let (x, y) = (
                a.1.first().copied().unwrap_or(0.0),
                b.1.first().copied().unwrap_or(0.0),
            );
            y.total_cmp(&x)
        });
        let projects = acts
            .iter()
            .enumerate()
            .filter(|(_, (o, r, n))| {
                o.iter()
                    .any(|&o| model.outfalls.get(o).is_some_and(|of| on(of.reach)))
                    || r.iter().any(|&r| on(r))
                    || n.iter().any(|n| nodes.contains(n))
            })
            .map(|(k, _)| k)
            .collect();
        out.rivers.push(RiverPolicy {
            km: reaches
                .iter()
                .map(|&r| model.reaches[r].length_m / 1000.0)
                .sum(),
            sections: (0..model.sections.len())
                .filter(|&s| on(model.sections[s].reach))
                .collect(),
            name,
            reaches,
            loads: by_group,
            projects,
        });
    }
    out.rivers.sort_by(|a, b| b.km.total_cmp(&a.km));
    for (o, load) in loads.into_iter().enumerate() {
        let sections = match shares {
            Some((groups, ap)) => groups
                .outfall
                .get(o)
                .map(|&g| {
                    ap.sections
                        .iter()
                        .enumerate()
                        .filter_map(|(s, m)| {
                            let sh: Vec<Option<f64>> = (0..np).map(|p| m.share(p, g)).collect();
                            sh.iter()
                                .any(|v| v.is_some_and(|v| v >= MIN_SHARE))
                                .then_some((s, sh))
                        })
                        .collect()
                })
                .unwrap_or_default(),
            None => Vec::new(),
        };
        out.outfalls.push(OutfallPolicy {
            outfall: o,
            load_kg_d: load,
            sections,
            projects: acts
                .iter()
                .enumerate()
                .filter(|(_, (os, _, _))| os.contains(&o))
                .map(|(k, _)| k)
                .collect(),
        });
    }
    out
}

fn esc(s: &str) -> String {
    super::markup::escape(s)
}

fn values(v: &[f64], names: &[String]) -> String {
    v.iter()
        .zip(names)
        .map(|(v, n)| format!("{} {}", esc(n), super::markup::sig(*v)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The two policy sections of report.html.
pub(crate) fn policy_html(o: &mut String, model: &Model, a: &Assessment, p: &Policies, l: Lang) {
    let project_names = |ks: &[usize]| -> String {
        if ks.is_empty() {
            return l.t("none").to_string();
        }
        ks.iter()
            .map(|&k| {
                let pj = &model.projects[k];
                format!("{} ({})", esc(&pj.id), esc(&pj.name))
            })
            .collect::<Vec<_>>()
            .join("<br>")
    };
    let _ = write!(o, "<section><h2>{}</h2>", l.t("One river, one policy"));
    for r in &p.rivers {
        let _ = write!(
            o,
            "<h3>{} {} · {:.2} km</h3><table><tr><th>{}</th><td>{}</td></tr>",
            l.t("River"),
            esc(&r.name),
            r.km,
            l.t("Reaches"),
            r.reaches
                .iter()
                .map(|&k| esc(&model.reaches[k].id))
                .collect::<Vec<_>>()
                .join(", ")
        );
        // sections and their classes per period
        let periods: Vec<(PeriodKey, &[crate::targets::SectionAssessment])> = if a.years.is_empty()
        {
            vec![(PeriodKey::Run, &a.sections[..])]
        } else {
            a.years
                .iter()
                .map(|y| (PeriodKey::Year(y.year), &y.sections[..]))
                .collect()
        };
        for &s in &r.sections {
            let classes: Vec<String> = periods
                .iter()
                .filter_map(|(k, list)| {
                    list.get(s).map(|sa| {
                        format!(
                            "{}: {}",
                            match k {
                                PeriodKey::Run => l.t("whole run").to_string(),
                                PeriodKey::Year(y) => y.to_string(),
                            },
                            sa.class.map_or("–".into(), |c| l.class(c.name()))
                        )
                    })
                })
                .collect();
            let _ = write!(
                o,
                "<tr><th>{} {}</th><td>{}</td></tr>",
                l.t("Section"),
                esc(&model.sections[s].id),
                classes.join(" · ")
            );
        }
        let _ = write!(
            o,
            "<tr><th>{} (kg/d)</th><td>{}</td></tr><tr><th>{}</th><td>{}</td></tr></table>",
            l.t("Load reaching it by source group"),
            if r.loads.is_empty() {
                l.t("none").to_string()
            } else {
                r.loads
                    .iter()
                    .map(|(g, v)| format!("<b>{}</b>: {}", esc(g), values(v, &model.pollutants)))
                    .collect::<Vec<_>>()
                    .join("<br>")
            },
            l.t("Projects acting on it"),
            project_names(&r.projects)
        );
    }
    o.push_str("</section>");
    if p.outfalls.is_empty() {
        return;
    }
    let _ = write!(
        o,
        "<section><h2>{}</h2><table><tr><th>{}</th><th>{}</th><th>{} (kg/d)</th><th>{}</th><th>{}</th></tr>",
        l.t("One outfall, one policy"),
        l.t("Outfall"),
        l.t("Kind"),
        l.t("Load"),
        l.t("Sections it reaches (share there)"),
        l.t("Project that treats it"),
    );
    for op in &p.outfalls {
        let of = &model.outfalls[op.outfall];
        let reached: Vec<String> = op
            .sections
            .iter()
            .map(|(s, sh)| {
                let parts: Vec<String> = sh
                    .iter()
                    .zip(&model.pollutants)
                    .filter_map(|(v, n)| v.map(|v| format!("{} {:.1}%", esc(n), 100.0 * v)))
                    .collect();
                format!(
                    "<b>{}</b>: {}",
                    esc(&model.sections[*s].id),
                    parts.join(", ")
                )
            })
            .collect();
        let _ = write!(
            o,
            "<tr><th>{}</th><td>{}<br><span class=\"note\">{}</span></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&of.id),
            esc(&format!("{:?}", of.kind)).to_lowercase(),
            esc(&of.group),
            values(&op.load_kg_d, &model.pollutants),
            if reached.is_empty() {
                "—".to_string()
            } else {
                reached.join("<br>")
            },
            project_names(&op.projects)
        );
    }
    o.push_str("</table></section>");
}
