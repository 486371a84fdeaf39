//! The pipeline the command line drives: scenario → model → hydraulics → transport → assessment → report.
//!
//! One function per command; each returns an [`Error`] whose [`Error::exit_code`] follows DESIGN.md §6
//! (2 for invalid input, 1 for a failure while running).

use crate::hydraulics::unsteady::{Unsteady, UnsteadyOptions, UnsteadyRun};
use crate::hydraulics::{self, Hydraulics, HydraulicsError, HydraulicsOptions};
use crate::model::{FlowModel, InitialState, Mode, Model};
use crate::network::Network;
use crate::projects::{self, CompareOutcome, Selection};
use crate::report::staging::Staging;
use crate::report::{self, ReportError};
use crate::report::{html, plot, summary, summary::Summary};
use crate::scenario::{self, ScenarioError};
use crate::targets::{self, Assessment};
use crate::transport::{Moving, RunResults, Simulation, TransportError, TransportOptions};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Anything that can stop a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario is invalid (exit code 2).
    #[error("{0}")]
    Scenario(#[from] ScenarioError),
    /// Hydraulics failed (exit code 1).
    #[error("hydraulics: {0}")]
    Hydraulics(#[from] HydraulicsError),
    /// Transport failed (exit code 1; 2 for a run refused for its step count).
    #[error("transport: {0}")]
    Transport(#[from] TransportError),
    /// Writing results failed (exit code 1).
    #[error("{0}")]
    Report(#[from] ReportError),
    /// The command's arguments do not fit together (exit code 2).
    #[error("{0}")]
    Usage(String),
    /// The output folder cannot be written (exit code 2: found before any computation).
    #[error("the output folder cannot be used: {0}")]
    Output(ReportError),
    /// The command cannot run this (valid) scenario (exit code 2).
    #[error("{0}")]
    Unsupported(String),
    /// Any other failure while running (exit code 1).
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// Process exit code: 2 for invalid input, 1 for a failure while running.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Scenario(_) | Error::Usage(_) | Error::Output(_) | Error::Unsupported(_) => 2,
            // a run that asks for an absurd number of steps is refused before it starts
            Error::Transport(TransportError::TooManySteps { .. }) => 2,
            _ => 1,
        }
    }
}

/// A loaded scenario with its frozen network.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The validated model.
    pub model: Model,
    /// Its network.
    pub net: Network,
}

/// Load and validate a scenario, and freeze its network.
pub fn prepare(path: &Path) -> Result<Prepared, Error> {
    let model = scenario::load(path)?;
    let net = Network::build(&model);
    Ok(Prepared { model, net })
}

/// Steady hydraulics of every flow period. A scenario with unsteady hydraulics stops here (exit code 2):
/// `run` takes [`simulate_unsteady`] instead; `compare`, `apportion` and `rank` use steady fields only, so far.
pub fn hydraulics(p: &Prepared) -> Result<Hydraulics, Error> {
    if let FlowModel::Unsteady { .. } = p.model.sim.hydraulics {
        return Err(Error::Unsupported(format!(
            "{}: `[simulation] hydraulics = \"unsteady\"`: `compare`, `apportion` and `rank` on unsteady flow \
             are not available yet and need `hydraulics = \"steady\"` (the default); `rivsim run` carries \
             the pollutants on unsteady flow and `rivsim hydraulics` runs the hydraulics alone",
            p.model.path.display()
        )));
    }
    Ok(hydraulics::solve(
        &p.model,
        &p.net,
        &HydraulicsOptions::default(),
    )?)
}

/// What `rivsim hydraulics` produced.
#[derive(Debug)]
pub enum HydraulicsOutcome {
    /// Steady fields, one per flow period.
    Steady(Hydraulics),
    /// An unsteady run over the scenario's period.
    Unsteady(UnsteadyRun),
}

/// `rivsim hydraulics`: solve and write `reaches.csv` and `nodes.csv` to `out` (steady: one row per flow
/// period; unsteady: every output time, with `structures.csv` and a `summary.json` holding the volume
/// balance). Returns the solution and the files written.
pub fn write_hydraulics(
    p: &Prepared,
    out: &Path,
    progress: bool,
) -> Result<(HydraulicsOutcome, Vec<PathBuf>), Error> {
    if let FlowModel::Unsteady { .. } = p.model.sim.hydraulics {
        return write_unsteady(p, out, progress);
    }
    let mut stage = begin(out)?;
    let hyd = hydraulics(p)?;
    let csv = report::hydraulics_csv(&p.model, &p.net, &hyd);
    let dir = stage.path().to_path_buf();
    stage.add(&report::write_atomic(
        &dir,
        "nodes.csv",
        report::hydraulics::nodes_csv_periods(&p.model, &hyd).as_bytes(),
    )?);
    stage.add(&report::write_atomic(&dir, "reaches.csv", csv.as_bytes())?);
    let files = stage.commit("reaches.csv")?;
    Ok((HydraulicsOutcome::Steady(hyd), files))
}

/// Unsteady `rivsim hydraulics`: the run, then `reaches.csv`, `nodes.csv`, `structures.csv` (with
/// structures) and `summary.json` (the volume balance and the set's files), moved into place together.
fn write_unsteady(
    p: &Prepared,
    out: &Path,
    progress: bool,
) -> Result<(HydraulicsOutcome, Vec<PathBuf>), Error> {
    let mut stage = begin(out)?;
    let bar = progress_bar(progress, "hydraulics");
    let mut tick = 0u64;
    let run =
        hydraulics::unsteady::run(&p.model, &p.net, &UnsteadyOptions::default(), &mut |done| {
            if let Some(b) = &bar {
                let t = (1000.0 * done) as u64;
                if t != tick {
                    tick = t;
                    b.set_position(t);
                }
            }
        })?;
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let (m, r) = (&p.model, &run);
    let dir = stage.path().to_path_buf();
    stage.add(&report::write_atomic_with(&dir, "reaches.csv", |w| {
        report::hydraulics::write_unsteady_reaches(w, m, r)
    })?);
    stage.add(&report::write_atomic_with(&dir, "nodes.csv", |w| {
        report::hydraulics::write_unsteady_nodes(w, m, r)
    })?);
    if !m.structures.is_empty() {
        stage.add(&report::write_atomic_with(&dir, "structures.csv", |w| {
            report::hydraulics::write_structures(w, m, r)
        })?);
    }
    let mut listed: Vec<String> = stage.files().to_vec();
    listed.push("summary.json".into());
    let summary = serde_json::json!({
        "rivsim_version": env!("CARGO_PKG_VERSION"),
        "title": m.title,
        "start": report::iso_time(m.sim.start, 0.0),
        "end": report::iso_time(m.sim.start, m.sim.end_s),
        "volume_balance": report::hydraulics::volume_balance_json(&r.ledger),
        "run": {
            "cells": p.net.n_cells,
            "hydraulic_steps": r.stats.steps,
            "newton_iterations": r.stats.iterations,
            "unconverged_steps": r.stats.unconverged,
        },
        "warnings": r.warnings,
        "files": listed,
    });
    let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::Other(e.to_string()))?;
    stage.add(&report::write_atomic(
        &dir,
        "summary.json",
        json.as_bytes(),
    )?);
    let files = stage.commit("summary.json")?;
    Ok((HydraulicsOutcome::Unsteady(run), files))
}

/// A progress bar on standard error (drawn only on a terminal) counting to 1000, or none.
fn progress_bar(on: bool, what: &str) -> Option<ProgressBar> {
    if !on {
        return None;
    }
    let b = ProgressBar::new(1000);
    b.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{bar:40}}] {{percent}}% {{msg}} (eta {{eta}})"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    Some(b)
}

/// Open the staging folder of a command's results in `out` (see `report::staging`): before any computation,
/// so that an output folder that cannot be written stops the command at once.
pub fn begin(out: &Path) -> Result<Staging, Error> {
    Staging::begin(out).map_err(Error::Output)
}

/// Options of `rivsim run`.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Draw a progress bar on standard error (drawn only on a terminal).
    pub progress: bool,
    /// Skip the plots and `report.html` (faster; the CSV and JSON files are still written).
    pub no_plots: bool,
    /// The language of report.html, report.xlsx and plot titles (`None`: the scenario's `[report] language`).
    pub lang: Option<crate::lang::Lang>,
    /// Add the one-river-one-policy and one-outfall-one-policy pages with each outfall's share at the sections
    /// (a tagged run by item after the run).
    pub policies: bool,
}

/// What a run produced.
#[derive(Debug)]
pub struct RunOutcome {
    /// The summary as written to `summary.json`.
    pub summary: Summary,
    /// The raw results.
    pub results: RunResults,
    /// The assessment.
    pub assessment: Assessment,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// Wall-clock seconds of hydraulics, transport and reporting.
    pub timings_s: [f64; 3],
}

/// Unsteady hydraulics and transport on them, step by step (`transport::Moving`): the results, and the
/// hydraulic field of every output time as the flow periods the reports read (period k holds output k).
pub fn simulate_unsteady(p: &Prepared, progress: bool) -> Result<(Hydraulics, RunResults), Error> {
    let (model, net) = (&p.model, &p.net);
    if model.sim.mode != Mode::Dynamic {
        return Err(Error::Unsupported(format!(
            "{}: `[simulation] mode = \"steady\"` with `hydraulics = \"unsteady\"`: steady transport needs \
             steady flow; use `mode = \"dynamic\"`",
            model.path.display()
        )));
    }
    let hopts = UnsteadyOptions::default();
    let mut state = Unsteady::new(model, net, hopts.clone())?;
    let (cell, node) = initial_concentrations(model, net, &state.snapshot())?;
    let mut tr = Moving::new(model, net, cell, node);
    tr.start(&state.step_flows());
    let times = hydraulics::unsteady::output_times(model);
    let mut periods = Vec::with_capacity(times.len());
    let bar = progress_bar(progress, "hydraulics and transport");
    let mut tick = 0u64;
    for (k, &t_out) in times.iter().enumerate() {
        while state.time_s() < t_out - 1e-9 * t_out.max(1.0) {
            state.step(t_out)?;
            tr.advance(&state.step_flows())?;
            if let Some(b) = &bar {
                let t = (1000.0 * state.time_s() / model.sim.end_s) as u64;
                if t != tick {
                    tick = t;
                    b.set_position(t);
                }
            }
        }
        let mut field = state.snapshot();
        field.t_start_s = t_out;
        field.t_end_s = times.get(k + 1).copied().unwrap_or(model.sim.end_s);
        periods.push(field);
        tr.record(t_out, k);
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let warnings = hydraulics::unsteady::run_warnings(model, &hopts, state.stats());
    Ok((Hydraulics { periods, warnings }, tr.finish()))
}

/// Concentrations per pollutant: per global cell, and per node, mg/L.
type Concentrations = (Vec<Vec<f64>>, Vec<Vec<f64>>);

/// The initial concentrations (per pollutant: per global cell, per node) of `[initial]`: the steady state of
/// the loads on the flow `field`, zero, or given values.
fn initial_concentrations(
    model: &Model,
    net: &Network,
    field: &hydraulics::FlowField,
) -> Result<Concentrations, Error> {
    let np = model.pollutants.len();
    let filled = |v: &dyn Fn(usize) -> f64| {
        (
            (0..np).map(|p| vec![v(p); net.n_cells]).collect(),
            (0..np).map(|p| vec![v(p); net.n_nodes]).collect(),
        )
    };
    Ok(match &model.initial {
        InitialState::Steady => {
            let s = crate::transport::steady_state(
                model,
                net,
                field,
                0,
                0.0,
                &TransportOptions::default(),
            )?;
            (s.cell_conc, s.node_conc)
        }
        InitialState::Zero => filled(&|_| 0.0),
        InitialState::Values(v) => filled(&|p| v.get(p).copied().unwrap_or(0.0)),
    })
}

/// Simulate transport over the scenario's period, with an optional progress bar.
pub fn simulate(p: &Prepared, hyd: &Hydraulics, progress: bool) -> Result<RunResults, Error> {
    let opts = TransportOptions::default();
    let mut sim = Simulation::new(&p.model, &p.net, hyd, &opts)?;
    let end_s = p.model.sim.end_s;
    let bar = progress_bar(progress, "transport");
    let mut last_tick = 0u64;
    while sim.step()? {
        if let Some(b) = &bar {
            let tick = (1000.0 * sim.time_s() / end_s) as u64;
            if tick != last_tick {
                last_tick = tick;
                b.set_position(tick);
                b.set_message(report::iso_time(p.model.sim.start, sim.time_s()));
            }
        }
    }
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    Ok(sim.finish())
}

/// `rivsim run`: hydraulics, transport, assessment, then every output file of DESIGN.md §7 in `out`.
pub fn run(p: &Prepared, out: &Path, opts: &RunOptions) -> Result<RunOutcome, Error> {
    let mut stage = begin(out)?;
    let t0 = Instant::now();
    let (hyd, results, t1) = if let FlowModel::Unsteady { .. } = p.model.sim.hydraulics {
        if opts.policies {
            return Err(Error::Unsupported(format!(
                "{}: `--policies` needs `hydraulics = \"steady\"`: apportionment on unsteady flow is not \
                 available yet",
                p.model.path.display()
            )));
        }
        let (hyd, results) = simulate_unsteady(p, opts.progress)?;
        (hyd, results, t0)
    } else {
        let hyd = hydraulics(p)?;
        let t1 = Instant::now();
        let results = simulate(p, &hyd, opts.progress)?;
        (hyd, results, t1)
    };
    let t2 = Instant::now();
    let assessment = targets::assess(&p.model, &results)
        .map_err(|e| Error::Other(format!("assessment: {e}")))?;

    let mut warnings = hyd.warnings.clone();
    warnings.extend(results.warnings.iter().cloned());
    warnings.extend(assessment.warnings.iter().cloned());
    let mut summary = summary::build(&p.model, &results, warnings.clone());
    for (sec, a) in summary.sections.iter_mut().zip(&assessment.sections) {
        if let Ok(serde_json::Value::Object(m)) = serde_json::to_value(a) {
            for key in ["class", "failing"] {
                if let Some(v) = m.get(key) {
                    sec.assessment.insert(key.to_string(), v.clone());
                }
            }
        }
    }
    let to_value = |v: serde_json::Result<serde_json::Value>| v.unwrap_or(serde_json::Value::Null);
    if !assessment.years.is_empty() {
        for (s, sec) in summary.sections.iter_mut().enumerate() {
            let per_year: Vec<serde_json::Value> = assessment
                .years
                .iter()
                .filter_map(|y| y.sections.get(s).map(|a| (y.year, a)))
                .map(|(year, a)| {
                    serde_json::json!({
                        "year": year,
                        "samples": a.sample_indices.len(),
                        "class": a.class,
                        "failing": a.failing,
                    })
                })
                .collect();
            sec.assessment
                .insert("years".into(), serde_json::Value::Array(per_year));
        }
    }
    summary.extra.insert(
        "assessment_period".into(),
        serde_json::Value::from(match p.model.assessment_period {
            crate::model::AssessmentPeriod::Run => "run",
            crate::model::AssessmentPeriod::Year => "year",
        }),
    );
    summary.extra.insert(
        "zones".into(),
        to_value(serde_json::to_value(assessment.zone_rows())),
    );
    summary.extra.insert(
        "classes_km".into(),
        to_value(serde_json::to_value(assessment.classes_km())),
    );
    summary.extra.insert(
        "worse_than_v_km".into(),
        serde_json::Value::from(assessment.worse_than_v_km()),
    );
    summary.extra.insert(
        "rivers".into(),
        to_value(serde_json::to_value(&assessment.rivers)),
    );
    if !assessment.years.is_empty() {
        summary.extra.insert(
            "years".into(),
            serde_json::Value::Array(
                assessment
                    .years
                    .iter()
                    .map(|y| {
                        serde_json::json!({
                            "year": y.year,
                            "output_times": y.output_times,
                            "whole_year": y.whole_year,
                            "classes_km": y.rivers.km,
                            "worse_than_v_km": y.rivers.km.worse_than_v(),
                            "rivers": y.rivers,
                        })
                    })
                    .collect(),
            ),
        );
    }
    summary.extra.insert(
        "run".into(),
        serde_json::json!({
            "cells": p.net.n_cells,
            "flow_periods": hyd.periods.len(),
            "transport_steps": results.steps,
            "continuity_relative": hyd.periods.iter().map(|f| f.continuity_relative).fold(0.0, f64::max),
        }),
    );

    let dir = stage.path().to_path_buf();
    stage.add(&report::write_atomic_with(&dir, "sections.csv", |w| {
        summary::write_sections_csv(w, &p.model, &results)
    })?);
    stage.add(&report::write_atomic_with(&dir, "reaches.csv", |w| {
        summary::write_reaches_csv(w, &p.model, &p.net, &hyd, &results)
    })?);
    stage.add(&report::write_atomic_with(&dir, "nodes.csv", |w| {
        report::hydraulics::write_nodes_csv_at(w, &p.model, &hyd, &results.output_times_s)
    })?);
    for (name, text) in [
        ("zones.csv", targets::tables::zones_csv(&assessment)),
        (
            "monthly.csv",
            targets::tables::monthly_csv(&assessment, &p.model.pollutants),
        ),
    ] {
        stage.add(&report::write_atomic(&dir, name, text.as_bytes())?);
    }
    let lang = opts.lang.unwrap_or(p.model.language);
    let policies = if opts.policies {
        Some(policies(p, &hyd)?)
    } else {
        None
    };
    if !opts.no_plots {
        let plots = plot::standard_plots(&p.model, &p.net, &results, &assessment, &dir, lang)
            .map_err(|e| Error::Other(format!("plots: {e}")))?;
        let images = html::load_images(&plots).map_err(|e| Error::Other(format!("plots: {e}")))?;
        let page = html::report_page(
            &p.model,
            &assessment,
            &html::Page {
                images: &images,
                warnings: &warnings,
                lang,
                policies: policies.as_ref(),
            },
        );
        for pf in &plots {
            stage.add(&pf.path);
        }
        stage.add(&report::write_atomic(&dir, "report.html", page.as_bytes())?);
    }
    if let Some(layer) = report::geojson::results_geojson(
        &p.model,
        &p.net,
        &hyd,
        &results,
        &assessment,
        p.model.crs.as_deref(),
    ) {
        stage.add(&report::write_atomic(
            &dir,
            "results.geojson",
            layer.as_bytes(),
        )?);
    }
    // the compare, rank and apportion tables of earlier commands in the output folder join the workbook
    let book = report::xlsx::workbook(&p.model, &assessment, policies.as_ref(), out, lang)
        .map_err(|e| Error::Other(format!("report.xlsx: {e}")))?;
    stage.add(&report::write_atomic(&dir, "report.xlsx", &book)?);
    // the set's files, summary.json itself last
    let mut listed: Vec<String> = stage.files().to_vec();
    listed.push("summary.json".into());
    summary
        .extra
        .insert("files".into(), serde_json::Value::from(listed));
    let json = serde_json::to_string_pretty(&summary).map_err(|e| Error::Other(e.to_string()))?;
    stage.add(&report::write_atomic(
        &dir,
        "summary.json",
        json.as_bytes(),
    )?);
    // summary.json moves into place last: its presence marks a complete set
    let files = stage.commit("summary.json")?;
    let t3 = Instant::now();
    Ok(RunOutcome {
        summary,
        results,
        assessment,
        files,
        timings_s: [
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            (t3 - t2).as_secs_f64(),
        ],
    })
}

/// The policy pages of a run: loads and projects per river and outfall, and each outfall's share at the
/// sections from a tagged run by item on the run's own hydraulics.
fn policies(p: &Prepared, hyd: &Hydraulics) -> Result<report::policy::Policies, Error> {
    use crate::apportion as ap;
    let groups = ap::SourceGroups::of(&p.model, ap::GroupBy::Item);
    if groups.is_empty() {
        return Ok(report::policy::policies(&p.model, None));
    }
    let models = groups.models(&p.model);
    let tagged =
        crate::transport::run_tagged(&p.model, &p.net, hyd, &TransportOptions::default(), &models)?;
    let a = ap::analyse(&p.model, &groups, &tagged).map_err(|e| Error::Other(e.to_string()))?;
    Ok(report::policy::policies(&p.model, Some((&groups, &a))))
}

/// Apply a selection of the scenario's projects (`projects::apply`) and freeze the transformed network.
pub fn with_projects(p: &Prepared, sel: &Selection) -> Result<Prepared, Error> {
    let model = projects::apply(&p.model, sel)?;
    let net = Network::build(&model);
    Ok(Prepared { model, net })
}

/// The selection of `rivsim run`: every project, or all but `without`, or `only` those named (not both).
pub fn selection(p: &Prepared, without: &[String], only: &[String]) -> Result<Selection, Error> {
    match (without.is_empty(), only.is_empty()) {
        (true, true) => Ok(Selection::all(&p.model)),
        (false, true) => Ok(Selection::without(&p.model, without)?),
        (true, false) => Ok(Selection::only(&p.model, only)?),
        (false, false) => Err(Error::Usage(
            "give either --without or --only, not both".into(),
        )),
    }
}

/// The scenario with only some of its projects (`rivsim rank --without` / `--only`): the others are taken out
/// of the scenario, as if they were not written (the neighbour's works that are not the office's to choose,
/// say), and the alternatives forget them. Unknown ids are invalid input, like `run`'s switches.
pub fn restrict_projects(
    p: &Prepared,
    without: &[String],
    only: &[String],
) -> Result<Prepared, Error> {
    if without.is_empty() && only.is_empty() {
        return Ok(p.clone());
    }
    let sel = selection(p, without, only)?;
    let mut model = p.model.clone();
    let mut new_index = vec![None; model.projects.len()];
    let mut kept = Vec::new();
    for (k, pj) in p.model.projects.iter().enumerate() {
        if sel.included[k] {
            new_index[k] = Some(kept.len());
            kept.push(pj.clone());
        }
    }
    model.projects = kept;
    for a in &mut model.alternatives {
        a.delay_s = a
            .delay_s
            .iter()
            .filter_map(|&(k, d)| new_index[k].map(|n| (n, d)))
            .collect();
        a.without = a.without.iter().filter_map(|&k| new_index[k]).collect();
    }
    Ok(Prepared {
        model,
        net: p.net.clone(),
    })
}

/// One comparison run: hydraulics, transport and assessment of a transformed scenario.
fn compare_one(p: &Prepared, name: &str, sel: &Selection) -> Result<CompareOutcome, Error> {
    let q = with_projects(p, sel)?;
    let hyd = hydraulics(&q)?;
    let results = simulate(&q, &hyd, false)?;
    let assessment = targets::assess(&q.model, &results)
        .map_err(|e| Error::Other(format!("{name}: assessment: {e}")))?;
    let km = targets::rivers::km_per_class_at_each_time(&q.model, &results)
        .map_err(|e| Error::Other(format!("{name}: {e}")))?;
    Ok(CompareOutcome {
        alternative: name.to_string(),
        zones: assessment.zone_rows().into_iter().cloned().collect(),
        years_km: assessment
            .years
            .iter()
            .map(|y| (y.year, y.rivers.km))
            .collect(),
        times_s: results.output_times_s,
        km,
    })
}

/// `rivsim compare`: the baseline (no project), `all` projects and each `[[alternatives]]` entry, run in
/// parallel; writes `compare.csv`, `compare_km.csv` and `compare_worse_than_v.svg` / `.png` to `out`.
pub fn compare(p: &Prepared, out: &Path) -> Result<(Vec<CompareOutcome>, Vec<PathBuf>), Error> {
    use rayon::prelude::*;
    let mut stage = begin(out)?;
    let mut runs: Vec<(String, Selection)> = vec![
        ("baseline".into(), Selection::none(&p.model)),
        ("all".into(), Selection::all(&p.model)),
    ];
    for a in &p.model.alternatives {
        runs.push((a.id.clone(), Selection::alternative(&p.model, a)));
    }
    let outcomes: Vec<CompareOutcome> = runs
        .par_iter()
        .map(|(name, sel)| compare_one(p, name, sel))
        .collect::<Result<_, _>>()?;
    let dir = stage.path().to_path_buf();
    stage.add(&report::write_atomic(
        &dir,
        "compare_km.csv",
        projects::compare_km_csv(p.model.sim.start, &outcomes).as_bytes(),
    )?);
    if let Some(text) = projects::compare_years_csv(&outcomes) {
        stage.add(&report::write_atomic(
            &dir,
            "compare_years.csv",
            text.as_bytes(),
        )?);
    }
    let title = format!("{}: km worse than class V", p.model.title);
    let svg = projects::plot_worse_than_v(&title, p.model.sim.start, &outcomes)
        .map_err(|e| Error::Other(format!("plot: {e}")))?;
    stage.add(&report::write_atomic(
        &dir,
        "compare_worse_than_v.svg",
        svg.as_bytes(),
    )?);
    let png = dir.join("compare_worse_than_v.png");
    projects::plot_worse_than_v_png(&png, &title, p.model.sim.start, &outcomes)
        .map_err(|e| Error::Other(format!("plot compare_worse_than_v.png: {e}")))?;
    stage.add(&png);
    stage.add(&report::write_atomic(
        &dir,
        "compare.csv",
        projects::compare_csv(&outcomes).as_bytes(),
    )?);
    // compare.csv moves into place last
    let files = stage.commit("compare.csv")?;
    Ok((outcomes, files))
}

/// `value` (a JSON object) with the key `"files"`: the set's files, `manifest` (the JSON's own name) last.
fn with_files(mut value: serde_json::Value, stage: &Staging, manifest: &str) -> serde_json::Value {
    let mut listed: Vec<String> = stage.files().to_vec();
    listed.push(manifest.to_string());
    if let Some(m) = value.as_object_mut() {
        m.insert("files".into(), serde_json::Value::from(listed));
    }
    value
}

/// `rivsim rank`: rank the scenario's projects (`projects::rank`) and write `rank.csv`, `portfolio.json`,
/// `rank.json` and `rank_curve.svg` / `.png` to `out`. A bad budget is invalid input (exit code 2).
pub fn rank(
    p: &Prepared,
    out: &Path,
    opts: &projects::RankOptions,
) -> Result<(projects::RankOutcome, Vec<PathBuf>), Error> {
    use projects::rank::{RankError, output};
    let mut stage = begin(out)?;
    let o = projects::rank::rank(&p.model, opts).map_err(|e| match e {
        RankError::Scenario(e) => Error::Scenario(e),
        RankError::Hydraulics(e) => Error::Hydraulics(e),
        RankError::Transport(e) => Error::Transport(e),
        RankError::Targets(e) => Error::Other(format!("assessment: {e}")),
    })?;
    let dir = stage.path().to_path_buf();
    let json = |r: serde_json::Result<String>| r.map_err(|e| Error::Other(e.to_string()));
    stage.add(&report::write_atomic(
        &dir,
        "rank.csv",
        output::rank_csv(&o).as_bytes(),
    )?);
    stage.add(&report::write_atomic(
        &dir,
        "portfolio.json",
        json(output::portfolio_json(&o))?.as_bytes(),
    )?);
    let title = format!("{}: {} vs cost", p.model.title, opts.objective.name());
    let svg = output::plot_svg(&title, opts.objective, &o)
        .map_err(|e| Error::Other(format!("plot: {e}")))?;
    stage.add(&report::write_atomic(
        &dir,
        "rank_curve.svg",
        svg.as_bytes(),
    )?);
    let png = dir.join("rank_curve.png");
    output::plot_png(&png, &title, opts.objective, &o)
        .map_err(|e| Error::Other(format!("plot rank_curve.png: {e}")))?;
    stage.add(&png);
    let value = serde_json::to_value(&o).map_err(|e| Error::Other(e.to_string()))?;
    let text = json(serde_json::to_string_pretty(&with_files(
        value,
        &stage,
        "rank.json",
    )))?;
    stage.add(&report::write_atomic(&dir, "rank.json", text.as_bytes())?);
    // rank.json moves into place last: its presence marks a complete ranking
    let files = stage.commit("rank.json")?;
    Ok((o, files))
}

/// Options of `rivsim apportion`.
#[derive(Debug, Clone, Default)]
pub struct ApportionOptions {
    /// How sources are grouped (`--by`).
    pub by: crate::apportion::GroupBy,
    /// Draw progress on standard error (drawn only on a terminal).
    pub progress: bool,
    /// Skip the stacked-bar plots.
    pub no_plots: bool,
    /// At most this many groups: the first `n − 1` in group order, the rest merged into "other sources".
    pub max_groups: Option<usize>,
}

/// What `rivsim apportion` produced.
#[derive(Debug)]
pub struct ApportionOutcome {
    /// The source groups.
    pub groups: crate::apportion::SourceGroups,
    /// Means, shares and the gap.
    pub apportionment: crate::apportion::Apportionment,
    /// The tagged run (the total and every group at every output time).
    pub tagged: crate::transport::TaggedResults,
    /// The files written.
    pub files: Vec<PathBuf>,
    /// Wall-clock seconds of hydraulics, the tagged run, and analysis plus reporting.
    pub timings_s: [f64; 3],
}

/// `rivsim apportion`: the total run of `p` (projects already applied, see [`with_projects`]) with every
/// source group carried along (`transport::run_tagged`) on the total's hydraulics; writes `apportion.csv`,
/// `apportion_zones.csv`, `apportion_series.csv`, one stacked-bar plot per section
/// (`apportion_<section>.svg` / `.png`) and, last, `apportion.json` to `out`. See `crate::apportion`.
pub fn apportion(
    p: &Prepared,
    out: &Path,
    opts: &ApportionOptions,
) -> Result<ApportionOutcome, Error> {
    use crate::apportion as ap;
    use rayon::prelude::*;
    let mut stage = begin(out)?;
    let t0 = Instant::now();
    let hyd = hydraulics(p)?;
    let t1 = Instant::now();
    let mut groups = ap::SourceGroups::of(&p.model, opts.by);
    if let Some(n) = opts.max_groups {
        groups = groups.merge_tail(n);
    }
    if groups.is_empty() {
        return Err(Error::Other(ap::ApportionError::NoSources.to_string()));
    }
    let models = groups.models(&p.model);
    let spinner = opts.progress.then(|| {
        let b = ProgressBar::new_spinner();
        b.set_message(format!(
            "tagged transport run: the total and {} source groups",
            groups.len()
        ));
        b.enable_steady_tick(std::time::Duration::from_millis(120));
        b
    });
    let tagged = crate::transport::run_tagged(
        &p.model,
        &p.net,
        &hyd,
        &TransportOptions::default(),
        &models,
    );
    if let Some(b) = &spinner {
        b.finish_and_clear();
    }
    let tagged = tagged?;
    drop(models);
    let t2 = Instant::now();
    let a = ap::analyse(&p.model, &groups, &tagged).map_err(|e| Error::Other(e.to_string()))?;

    let dir = stage.path().to_path_buf();
    stage.add(&report::write_atomic(
        &dir,
        "apportion.csv",
        ap::apportion_csv(&a).as_bytes(),
    )?);
    stage.add(&report::write_atomic(
        &dir,
        "apportion_zones.csv",
        ap::zones_csv(&a).as_bytes(),
    )?);
    stage.add(&report::write_atomic_with(
        &dir,
        "apportion_series.csv",
        |w| ap::write_series_csv(w, &p.model, &groups, &tagged),
    )?);
    if !opts.no_plots {
        let bar = if opts.progress {
            ProgressBar::new(a.sections.len() as u64)
        } else {
            ProgressBar::hidden()
        };
        // one stem per section, in section order (unique even where case is folded)
        let mut names = report::names::FileNames::new();
        let stems: Vec<String> = a
            .sections
            .iter()
            .map(|m| format!("apportion_{}", names.stem(&m.id)))
            .collect();
        let plots: Vec<PathBuf> = a
            .sections
            .par_iter()
            .zip(&stems)
            .map(|(m, stem)| -> Result<Vec<PathBuf>, Error> {
                let title = format!(
                    "{}: sources at {} (by {})",
                    p.model.title,
                    m.id,
                    a.by.name()
                );
                let svg = ap::section_plot_svg(&title, &a, m)
                    .map_err(|e| Error::Other(format!("plot {stem}.svg: {e}")))?;
                let svg_path = report::write_atomic(&dir, &format!("{stem}.svg"), svg.as_bytes())?;
                let png_path = dir.join(format!("{stem}.png"));
                ap::section_plot_png(&png_path, &title, &a, m)
                    .map_err(|e| Error::Other(format!("plot {stem}.png: {e}")))?;
                bar.inc(1);
                Ok(vec![svg_path, png_path])
            })
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
            .collect();
        bar.finish_and_clear();
        for path in &plots {
            stage.add(path);
        }
    }
    let value = with_files(ap::apportion_json(&p.model, &a), &stage, "apportion.json");
    let json = serde_json::to_string_pretty(&value).map_err(|e| Error::Other(e.to_string()))?;
    stage.add(&report::write_atomic(
        &dir,
        "apportion.json",
        json.as_bytes(),
    )?);
    // apportion.json moves into place last: its presence marks a complete apportionment
    let files = stage.commit("apportion.json")?;
    let t3 = Instant::now();
    Ok(ApportionOutcome {
        groups,
        apportionment: a,
        tagged,
        files,
        timings_s: [
            (t1 - t0).as_secs_f64(),
            (t2 - t1).as_secs_f64(),
            (t3 - t2).as_secs_f64(),
        ],
    })
}

/// Options of `rivsim capacity`.
#[derive(Debug, Clone, Default)]
pub struct CapacityRunOptions {
    /// The computation's options (`--design-flow`).
    pub capacity: projects::capacity::CapacityOptions,
    /// Skip the plot.
    pub no_plots: bool,
    /// The language of the plot (`None`: the scenario's `[report] language`).
    pub lang: Option<crate::lang::Lang>,
}

/// `rivsim capacity`: allowable loads and the cheapest allocation under design conditions
/// (`projects::capacity`); writes `capacity.csv`, `allocation.csv`, `allocation_sections.csv`,
/// `capacity.svg` / `.png` and, last, `capacity.json` to `out`. A zone without a control section, or a design
/// flow outside the run, is invalid input (exit code 2).
pub fn capacity(
    p: &Prepared,
    out: &Path,
    opts: &CapacityRunOptions,
) -> Result<(projects::capacity::CapacityOutcome, Vec<PathBuf>), Error> {
    use projects::capacity::{self as cap, CapacityError};
    if let FlowModel::Unsteady { .. } = p.model.sim.hydraulics {
        return Err(Error::Unsupported(format!(
            "{}: `[simulation] hydraulics = \"unsteady\"`: `rivsim capacity` computes allowable loads on the \
             steady flow field of the design conditions; use `hydraulics = \"steady\"` (the default)",
            p.model.path.display()
        )));
    }
    let mut stage = begin(out)?;
    let o = cap::capacity(&p.model, &opts.capacity).map_err(|e| match e {
        CapacityError::Scenario(e) => Error::Scenario(e),
        CapacityError::Hydraulics(e) => Error::Hydraulics(e),
        CapacityError::Transport(e) => Error::Transport(e),
        CapacityError::Allocation(e) => Error::Other(format!("allocation: {e}")),
    })?;
    let dir = stage.path().to_path_buf();
    for (name, text) in [
        ("capacity.csv", cap::output::capacity_csv(&o)),
        ("allocation.csv", cap::output::allocation_csv(&o)),
        ("allocation_sections.csv", cap::output::sections_csv(&o)),
    ] {
        stage.add(&report::write_atomic(&dir, name, text.as_bytes())?);
    }
    if !opts.no_plots && !o.zones.is_empty() {
        let lang = opts.lang.unwrap_or(p.model.language);
        let title = format!("{}: {}", p.model.title, lang.t("allowable loads"));
        let svg = cap::output::plot_svg(&title, &o, lang)
            .map_err(|e| Error::Other(format!("plot capacity.svg: {e}")))?;
        stage.add(&report::write_atomic(&dir, "capacity.svg", svg.as_bytes())?);
        let png = dir.join("capacity.png");
        cap::output::plot_png(&png, &title, &o, lang)
            .map_err(|e| Error::Other(format!("plot capacity.png: {e}")))?;
        stage.add(&png);
    }
    let value = with_files(cap::output::capacity_json(&o), &stage, "capacity.json");
    let json = serde_json::to_string_pretty(&value).map_err(|e| Error::Other(e.to_string()))?;
    stage.add(&report::write_atomic(
        &dir,
        "capacity.json",
        json.as_bytes(),
    )?);
    // capacity.json moves into place last: its presence marks a complete set
    let files = stage.commit("capacity.json")?;
    Ok((o, files))
}
