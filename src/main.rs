//! The `rivsim` command line: a thin layer over `rivsim::pipeline`.

use clap::{Parser, Subcommand};
use rivsim::generate;
use rivsim::lang::Lang;
use rivsim::pipeline::{self, Error};
use rivsim::targets::gb3838::Class;
use std::path::PathBuf;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  rivsim validate scenarios/district/scenario.toml
  rivsim hydraulics scenarios/district/scenario.toml --out out/district
  rivsim run scenarios/tutorial/scenario.toml --out out/tutorial
  rivsim run scenarios/district/scenario.toml --out out/no-pj3 --without PJ3
  rivsim compare scenarios/district/scenario.toml --out out/compare
  rivsim rank scenarios/district/scenario.toml --out out/rank --budget 60
  rivsim apportion scenarios/district/scenario.toml --out out/apportion --by jurisdiction
  rivsim generate --reaches 10000 --loops 50 --seed 7 --out out/gen10k

Exit codes: 0 success, 1 failure while running, 2 invalid input.";

/// Pollution in slow, looped plain river networks: GB 3838 classes, zone compliance, projects.
#[derive(Parser)]
#[command(name = "rivsim", version, about, after_help = EXAMPLES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a scenario file set without running it; report every problem at once.
    Validate {
        /// The scenario TOML file.
        scenario: PathBuf,
    },
    /// Hydraulics alone → DIR/reaches.csv and nodes.csv (steady: one row per flow period); unsteady: every
    /// output time, with structures.csv and summary.json (the volume balance).
    Hydraulics {
        /// The scenario TOML file.
        scenario: PathBuf,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
    },
    /// Simulate every pollutant over the scenario's period → summary.json, sections.csv, reaches.csv, zones.csv,
    /// monthly.csv, plots and report.html in DIR.
    Run {
        /// The scenario TOML file.
        scenario: PathBuf,
        /// Output folder (created if missing; rivsim's own files in it are replaced atomically).
        #[arg(long)]
        out: PathBuf,
        /// Skip the plots and report.html.
        #[arg(long)]
        no_plots: bool,
        /// Worker threads (default: all cores). Results are bit-identical for any count.
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
        /// Run even if the transport needs more than 10⁷ steps (see docs/scenario.md, Limits).
        #[arg(long)]
        force: bool,
        /// Language of report.html, report.xlsx, plot titles and this summary (default: the scenario's
        /// `[report] language`, else English).
        #[arg(long, value_enum)]
        lang: Option<LangArg>,
        /// Add one-river-one-policy and one-outfall-one-policy pages (一河一策, 一口一策) with each outfall's
        /// share at the sections (a tagged run by outfall after the run).
        #[arg(long)]
        policies: bool,
        #[command(flatten)]
        projects: ProjectSwitches,
    },
    /// Baseline (no projects) vs all projects vs each [[alternatives]] entry → compare.csv, compare_km.csv and
    /// compare_worse_than_v.svg in DIR.
    Compare {
        /// The scenario TOML file.
        scenario: PathBuf,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Worker threads (default: all cores).
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
        /// Run even if the transport needs more than 10⁷ steps (see docs/scenario.md, Limits).
        #[arg(long)]
        force: bool,
    },
    /// Rank the projects: benefit alone, benefit per cost, greedy sequence, best portfolio under a budget →
    /// rank.csv, portfolio.json, rank.json and rank_curve.svg/.png in DIR.
    Rank {
        /// The scenario TOML file.
        scenario: PathBuf,
        /// Output folder (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Budget in the scenario's cost unit (default: no limit).
        #[arg(long)]
        budget: Option<f64>,
        /// What a portfolio is worth: compliant zones (ties by summed compliance rate), km worse than V
        /// removed, or load reaching the assessment sections removed.
        #[arg(long, value_enum, default_value_t = ObjectiveArg::Compliance)]
        objective: ObjectiveArg,
        /// Skip the superposition check (full runs of the greedy prefixes and the optimum).
        #[arg(long)]
        no_check: bool,
        /// Share of the local river flow above which a project's response comes from a full run.
        #[arg(long, default_value_t = 0.10)]
        full_share: f64,
        /// Judge portfolios on the outputs from this date on (e.g. the months after the works finish);
        /// default: after the warm-up.
        #[arg(long, value_name = "DATE", value_parser = parse_date_arg)]
        assess_from: Option<chrono::NaiveDateTime>,
        /// Worker threads (default: all cores).
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
        /// Run even if the transport needs more than 10⁷ steps (see docs/scenario.md, Limits).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        projects: ProjectSwitches,
    },
    /// Source apportionment: each source group's share of every section's and zone's mean concentration
    /// (tagged through the total run) → apportion.csv, apportion_zones.csv, apportion_series.csv,
    /// apportion_<section>.svg/.png and apportion.json in DIR.
    Apportion {
        /// The scenario TOML file.
        scenario: PathBuf,
        /// Output folder (created if missing; rivsim's own files in it are replaced atomically).
        #[arg(long)]
        out: PathBuf,
        /// How sources are grouped: their `group` keys, the jurisdiction of their reach, their kind, or every
        /// item on its own.
        #[arg(long, value_enum, default_value_t = By::Group)]
        by: By,
        /// At most N groups: the first N − 1 in group order, the rest merged into "other sources".
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        max_groups: Option<u32>,
        /// Skip the stacked-bar plots.
        #[arg(long)]
        no_plots: bool,
        /// Worker threads (default: all cores).
        #[arg(long, value_parser = parse_threads)]
        threads: Option<usize>,
        /// Run even if the transport needs more than 10⁷ steps (see docs/scenario.md, Limits).
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        projects: ProjectSwitches,
    },
    /// Allowable loads (纳污能力, GB/T 25173-2010) under design conditions, by the network model and by the
    /// standard's one-dimensional formula, and the cheapest reductions by source group → capacity.csv,
    /// allocation.csv, allocation_sections.csv, capacity.svg/.png and capacity.json in DIR.
    Capacity {
        /// The scenario TOML file.
        scenario: PathBuf,
        /// Output folder (created if missing; rivsim's own files in it are replaced atomically).
        #[arg(long)]
        out: PathBuf,
        /// The design flow, replacing `[capacity] design_flow`: p90_month (the 90%-guarantee driest-month
        /// mean, default), driest_month, a month 2025-08, a day 2025-08-15, a period
        /// 2025-08-01/2025-08-15 or a date-time 2025-08-15T06:00.
        #[arg(long, value_name = "P", value_parser = parse_design_flow)]
        design_flow: Option<rivsim::model::DesignFlow>,
        /// Skip the plot.
        #[arg(long)]
        no_plots: bool,
        /// Language of the plot and this summary (default: the scenario's `[report] language`).
        #[arg(long, value_enum)]
        lang: Option<LangArg>,
        /// Worker threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Run even if the transport needs more than 10⁷ steps (see docs/scenario.md, Limits).
        #[arg(long)]
        force: bool,
    },
    /// Write a synthetic but plausible network scenario (deterministic for a seed) to DIR.
    Generate {
        /// Number of reaches (not needed with --peer-tree, whose file fixes the tree).
        #[arg(long, required_unless_present = "peer_tree")]
        reaches: Option<usize>,
        /// Number of independent loops added to the dendritic tree.
        #[arg(long, default_value_t = 0)]
        loops: usize,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of outlets (1 or 2).
        #[arg(long, default_value_t = 1)]
        outlets: usize,
        /// Simulated days.
        #[arg(long)]
        days: Option<u32>,
        /// Design velocity (m/s): set bed slopes so that normal depth carries every reach's flow at it.
        #[arg(long)]
        velocity_ms: Option<f64>,
        /// The peer benchmark tree of shared/peers/treegen.py, read from its tree_N.down.i32 file.
        #[arg(long)]
        peer_tree: Option<PathBuf>,
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
    },
}

/// `--lang` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum LangArg {
    /// English.
    En,
    /// Simplified Chinese (简体中文).
    Zh,
}

impl From<LangArg> for Lang {
    fn from(l: LangArg) -> Lang {
        match l {
            LangArg::En => Lang::En,
            LangArg::Zh => Lang::Zh,
        }
    }
}

/// `--objective` values.
#[derive(Clone, Copy, clap::ValueEnum)]
enum ObjectiveArg {
    /// Compliant zones (ties broken by the summed compliance rate).
    Compliance,
    /// Kilometres worse than class V removed (period-mean classes).
    #[value(name = "worse_than_v_km")]
    WorseThanVKm,
    /// Load reaching the assessment sections removed (tonnes).
    Load,
}

/// `--by` of `rivsim apportion` (clap rejects any other value with exit code 2).
#[derive(Clone, Copy, clap::ValueEnum)]
enum By {
    /// The items' own `group` keys (inflow: its node id; outfall: its kind, unless given).
    Group,
    /// The jurisdiction of the item's reach (a boundary inflow: its group).
    Jurisdiction,
    /// Outfall kind; boundary inflow, diversion, line load.
    Kind,
    /// Every inflow, outfall, line load, releasing reach and outlet on its own.
    Item,
}

impl From<By> for rivsim::apportion::GroupBy {
    fn from(b: By) -> Self {
        use rivsim::apportion::GroupBy;
        match b {
            By::Group => GroupBy::Group,
            By::Jurisdiction => GroupBy::Jurisdiction,
            By::Kind => GroupBy::Kind,
            By::Item => GroupBy::Item,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn dispatch(cli: Cli) -> Result<(), Error> {
    match cli.command {
        Command::Validate { scenario } => {
            let p = pipeline::prepare(&scenario)?;
            let n = |k: usize, one: &str, many: &str| Lang::En.count(k, one, many, "");
            let m = &p.model;
            println!(
                "{}: valid — {}, {}, {}, {}, {}, {}, {}",
                scenario.display(),
                n(m.nodes.len(), "node", "nodes"),
                n(m.reaches.len(), "reach", "reaches"),
                n(p.net.n_cells, "cell", "cells"),
                n(m.outfalls.len(), "outfall", "outfalls"),
                n(m.pollutants.len(), "pollutant", "pollutants"),
                n(m.sections.len(), "section", "sections"),
                n(m.zones.len(), "zone", "zones")
            );
            if !m.projects.is_empty() || !m.sewers.is_empty() || !m.plants.is_empty() {
                println!(
                    "  {}, {}, {}, {}",
                    n(m.projects.len(), "project", "projects"),
                    n(m.sewers.len(), "sewer", "sewers"),
                    n(m.plants.len(), "plant", "plants"),
                    n(m.alternatives.len(), "alternative", "alternatives")
                );
            }
            Ok(())
        }
        Command::Hydraulics { scenario, out } => {
            let p = with_spinner("loading the scenario", || pipeline::prepare(&scenario))?;
            let (outcome, files) = match p.model.sim.hydraulics {
                rivsim::model::FlowModel::Steady => with_spinner("solving hydraulics", || {
                    pipeline::write_hydraulics(&p, &out, false)
                })?,
                rivsim::model::FlowModel::Unsteady { .. } => {
                    pipeline::write_hydraulics(&p, &out, true)?
                }
            };
            match &outcome {
                pipeline::HydraulicsOutcome::Steady(hyd) => {
                    let worst = hyd
                        .periods
                        .iter()
                        .map(|f| f.continuity_relative)
                        .fold(0.0, f64::max);
                    println!(
                        "{}, {}; worst relative continuity residual {:e}",
                        Lang::En.count(hyd.periods.len(), "flow period", "flow periods", ""),
                        Lang::En.count(p.model.reaches.len(), "reach", "reaches", ""),
                        worst,
                    );
                    for w in &hyd.warnings {
                        println!("warning: {w}");
                    }
                }
                pipeline::HydraulicsOutcome::Unsteady(run) => print_unsteady(&p, run),
            }
            for f in &files {
                println!("wrote {}", f.display());
            }
            Ok(())
        }
        Command::Run {
            scenario,
            out,
            no_plots,
            threads,
            force,
            lang,
            policies,
            projects,
        } => {
            set_threads(threads)?;
            let p = forced(
                with_spinner("loading the scenario", || pipeline::prepare(&scenario))?,
                force,
            );
            let p = projects.apply(&p)?;
            let lang = lang.map_or(p.model.language, Lang::from);
            let opts = pipeline::RunOptions {
                progress: true,
                no_plots,
                lang: Some(lang),
                policies,
            };
            let o = pipeline::run(&p, &out, &opts)?;
            print_run(&p, &o, &out, lang);
            Ok(())
        }
        Command::Compare {
            scenario,
            out,
            threads,
            force,
        } => {
            set_threads(threads)?;
            let p = forced(
                with_spinner("loading the scenario", || pipeline::prepare(&scenario))?,
                force,
            );
            let n = 2 + p.model.alternatives.len();
            let (outcomes, files) = with_spinner(&format!("running {n} alternatives"), || {
                pipeline::compare(&p, &out)
            })?;
            println!("{}", p.model.title);
            for o in &outcomes {
                let last = o.km.last().map_or(0.0, |k| k.worse_than_v());
                if o.years_km.is_empty() {
                    let (ok, n) = rivsim::targets::compliant_count(o.zones.iter());
                    println!(
                        "  {:<20} zones compliant {ok}/{n}; worse than V at the end: {last:.1} km",
                        o.alternative,
                    );
                    continue;
                }
                println!("  {}", o.alternative);
                for (y, km) in &o.years_km {
                    let of_year = o
                        .zones
                        .iter()
                        .filter(|z| z.year == rivsim::targets::PeriodKey::Year(*y));
                    let (ok, n) = rivsim::targets::compliant_count(of_year);
                    println!(
                        "    {y}: zones compliant {ok}/{n}; worse than V (year mean): {:.1} km",
                        km.worse_than_v()
                    );
                }
            }
            println!(
                "  wrote {} to {}",
                Lang::En.count(files.len(), "file", "files", ""),
                out.display()
            );
            Ok(())
        }
        Command::Rank {
            scenario,
            out,
            budget,
            objective,
            no_check,
            full_share,
            assess_from,
            threads,
            force,
            projects,
        } => {
            set_threads(threads)?;
            let p = forced(
                with_spinner("loading the scenario", || pipeline::prepare(&scenario))?,
                force,
            );
            // rank only the projects asked for; the others are left out of the scenario
            let p = pipeline::restrict_projects(&p, &projects.without, &projects.only)?;
            let opts = rivsim::projects::RankOptions {
                objective: match objective {
                    ObjectiveArg::Compliance => rivsim::projects::Objective::Compliance,
                    ObjectiveArg::WorseThanVKm => rivsim::projects::Objective::WorseThanVKm,
                    ObjectiveArg::Load => rivsim::projects::Objective::Load,
                },
                budget,
                check: !no_check,
                progress: true,
                full_share,
                assess_from_s: assess_from
                    .map(|d| rivsim::scenario::seconds_between(p.model.sim.start, d)),
                ..Default::default()
            };
            let (o, files) = pipeline::rank(&p, &out, &opts)?;
            print_rank(&p, &o);
            println!(
                "  wrote {} to {}",
                Lang::En.count(files.len(), "file", "files", ""),
                out.display()
            );
            Ok(())
        }
        Command::Apportion {
            scenario,
            out,
            by,
            max_groups,
            no_plots,
            threads,
            force,
            projects,
        } => {
            set_threads(threads)?;
            let p = forced(
                with_spinner("loading the scenario", || pipeline::prepare(&scenario))?,
                force,
            );
            let p = projects.apply(&p)?;
            let opts = pipeline::ApportionOptions {
                by: by.into(),
                progress: true,
                no_plots,
                max_groups: max_groups.map(|n| n as usize),
            };
            let o = pipeline::apportion(&p, &out, &opts)?;
            print_apportion(&p, &o, &out);
            Ok(())
        }
        Command::Capacity {
            scenario,
            out,
            design_flow,
            no_plots,
            lang,
            threads,
            force,
        } => {
            set_threads(threads)?;
            let p = forced(
                with_spinner("loading the scenario", || pipeline::prepare(&scenario))?,
                force,
            );
            let lang = lang.map_or(p.model.language, Lang::from);
            let opts = pipeline::CapacityRunOptions {
                capacity: rivsim::projects::capacity::CapacityOptions { design_flow },
                no_plots,
                lang: Some(lang),
            };
            let (o, files) = with_spinner("allowable loads under design conditions", || {
                pipeline::capacity(&p, &out, &opts)
            })?;
            print_capacity(&p, &o);
            println!(
                "  wrote {} to {}",
                Lang::En.count(files.len(), "file", "files", ""),
                out.display()
            );
            Ok(())
        }
        Command::Generate {
            reaches,
            loops,
            seed,
            outlets,
            days,
            velocity_ms,
            peer_tree,
            out,
        } => {
            let mut opts = match &peer_tree {
                Some(path) => {
                    let tree = generate::read_peer_tree(path)
                        .map_err(|e| Error::Other(format!("{}: {e}", path.display())))?;
                    let mut o = generate::GenerateOptions::peer(tree.links(), seed);
                    o.peer_tree = Some(tree);
                    o
                }
                None => generate::GenerateOptions::new(reaches.unwrap_or(1), loops, seed),
            };
            opts.outlets = outlets;
            if let Some(d) = days {
                opts.days = d;
            }
            if velocity_ms.is_some() {
                opts.velocity_ms = velocity_ms;
            }
            let g = generate::generate(&opts);
            let path = g
                .write(&out)
                .map_err(|e| Error::Other(format!("{}: {e}", out.display())))?;
            println!("wrote {}", path.display());
            Ok(())
        }
    }
}

/// `--assess-from`: an ISO date or date-time.
fn parse_design_flow(text: &str) -> Result<rivsim::model::DesignFlow, String> {
    rivsim::model::DesignFlow::parse(text)
}

fn parse_date_arg(text: &str) -> Result<chrono::NaiveDateTime, String> {
    rivsim::scenario::parse_time(text)
}

/// `--without` / `--only`: which of the scenario's projects a command applies.
#[derive(clap::Args, Debug)]
struct ProjectSwitches {
    /// Leave these projects out (comma-separated ids); default: every project applies by its dates.
    #[arg(long, value_delimiter = ',', conflicts_with = "only")]
    without: Vec<String>,
    /// Apply only these projects (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

impl ProjectSwitches {
    /// The scenario with the selected projects applied.
    fn apply(&self, p: &pipeline::Prepared) -> Result<pipeline::Prepared, Error> {
        let sel = pipeline::selection(p, &self.without, &self.only)?;
        pipeline::with_projects(p, &sel)
    }
}

/// `--threads`: a whole number of at least 1 (0 would leave the count to the machine, which the flag is there
/// to override; clap turns the error into exit code 2).
fn parse_threads(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(n) if n >= 1 => Ok(n),
        _ => Err(format!(
            "`{text}` is not a thread count: give a whole number of at least 1"
        )),
    }
}

/// `--force`: lift the limit on a run's transport steps.
fn forced(mut p: pipeline::Prepared, force: bool) -> pipeline::Prepared {
    if force {
        p.model.sim.max_steps = f64::INFINITY;
    }
    p
}

/// Size the global thread pool (`--threads`).
fn set_threads(threads: Option<usize>) -> Result<(), Error> {
    if let Some(n) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| Error::Other(format!("--threads {n}: {e}")))?;
    }
    Ok(())
}

/// Run `f` with a spinner on standard error (drawn only on a terminal) for steps that can take seconds on
/// large networks.
fn with_spinner<T>(what: &str, f: impl FnOnce() -> T) -> T {
    let bar = indicatif::ProgressBar::new_spinner();
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    let out = f();
    bar.finish_and_clear();
    out
}

/// The ranking table, the optimum and the check on standard output.
fn print_capacity(p: &pipeline::Prepared, o: &rivsim::projects::capacity::CapacityOutcome) {
    let d = &o.design;
    println!("{}", p.model.title);
    println!(
        "  design conditions: {} → {} (total inflow {:.4} m³/s{})",
        d.rule,
        d.picked,
        d.total_inflow_m3s,
        d.water_c
            .map_or(String::new(), |t| format!(", water {t:.1} °C"))
    );
    let cell = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.1}"));
    println!(
        "  {:<12} {:<6} {:>10} {:>12} {:>12} {:>12} {:>12}  status",
        "zone", "param", "target", "present kg/d", "model kg/d", "formula kg/d", "reduce kg/d"
    );
    for z in &o.zones {
        println!(
            "  {:<12} {:<6} {:>10} {:>12.1} {:>12} {:>12} {:>12}  {}",
            z.zone,
            z.pollutant,
            z.target_mg_l,
            z.present_load_kg_d,
            cell(z.capacity_kg_d),
            cell(z.formula_capacity_kg_d),
            cell(z.reduction_kg_d),
            z.status.name()
        );
    }
    let cost: f64 = o.allocation.iter().map(|g| g.cost).sum();
    let removed: f64 = o.allocation.iter().map(|g| g.reduction_kg_d).sum();
    println!("  allocation: {removed:.1} kg/day removed in all, cost {cost:.2}");
    for g in o.allocation.iter().filter(|g| g.reduction_kg_d > 0.0) {
        println!(
            "    {:<24} {:<6} {:>10.1} → {:>10.1} kg/day",
            g.group, g.pollutant, g.present_kg_d, g.allowed_kg_d
        );
    }
    for n in &o.notes {
        println!("  note: {n}");
    }
}

fn print_rank(p: &pipeline::Prepared, o: &rivsim::projects::RankOutcome) {
    let unit = p.model.cost_unit.as_deref().unwrap_or("");
    println!("{}: objective {}", p.model.title, o.objective);
    println!(
        "  baseline: {} of {} zones compliant, {:.2} km worse than V, {:.1} t at the sections",
        o.baseline.zones_compliant,
        p.model.zones.len(),
        o.baseline.worse_than_v_km,
        o.baseline.load_t
    );
    println!(
        "  {:<5} {:<10} {:>8} {:>12} {:>14}  response",
        "order", "project", "cost", "benefit", "per cost"
    );
    let mut rows: Vec<_> = o.projects.iter().collect();
    rows.sort_by_key(|r| r.greedy_order);
    for r in rows {
        println!(
            "  {:<5} {:<10} {:>8.2} {:>12.4} {:>14.5}  {}",
            r.greedy_order,
            r.id,
            r.cost,
            r.benefit,
            r.benefit_per_cost,
            match r.response {
                rivsim::projects::rank::Response::Tagged => "tagged",
                rivsim::projects::rank::Response::FlowState => "flow state",
                rivsim::projects::rank::Response::FullRun => "full run",
            }
        );
    }
    let b = o
        .optimum
        .budget
        .map_or("no limit".to_string(), |b| format!("{b} {unit}"));
    println!(
        "  best portfolio ({}, budget {b}): [{}] cost {} {unit}, benefit {:.4} ({} zones compliant, {:.2} km worse than V)",
        o.optimum.method,
        o.optimum.projects.join(", "),
        o.optimum.cost,
        o.optimum.benefit,
        o.optimum.metrics.zones_compliant,
        o.optimum.metrics.worse_than_v_km
    );
    println!(
        "  responses: {} tagged runs ({} groups), {} full runs; time: responses {:.2} s, search {:.2} s, check {:.2} s",
        o.runs.tagged_runs,
        o.runs.tagged_groups,
        o.runs.full_runs,
        o.timings.responses_s,
        o.timings.search_s,
        o.timings.check_s
    );
    if let Some(c) = &o.superposition_check {
        println!(
            "  superposition check on {} portfolios: max |dC| {:.3e} mg/L, max relative {:.3e} (expected <= {}{}), max |dV| {:.3e}",
            c.portfolios.len(),
            c.max_abs_mg_l,
            c.max_rel,
            c.expected_rel,
            if c.within_tolerance {
                ""
            } else {
                ": EXCEEDED, see the warning"
            },
            c.max_objective_diff
        );
    }
    for w in &o.warnings {
        println!("  warning: {w}");
    }
}

/// A short, readable account of a run on standard output, in `l`.
fn print_run(p: &pipeline::Prepared, o: &pipeline::RunOutcome, out: &std::path::Path, l: Lang) {
    let m = &p.model;
    println!("{}", m.title);
    println!(
        "  {}, {}, {}; {}; {} {:.2} s, {} {:.2} s, {} {:.2} s",
        l.count(m.reaches.len(), "reach", "reaches", "个河段"),
        l.count(p.net.n_cells, "cell", "cells", "个计算单元"),
        l.count(m.pollutants.len(), "pollutant", "pollutants", "种污染物"),
        l.count(
            o.results.steps,
            "transport step",
            "transport steps",
            "个输运时间步"
        ),
        l.t("hydraulics"),
        o.timings_s[0],
        l.t("transport"),
        o.timings_s[1],
        l.t("report"),
        o.timings_s[2]
    );
    println!("  {}", l.t("mass balance (relative error):"));
    for (name, mb) in m.pollutants.iter().zip(&o.results.mass_balance) {
        println!(
            "    {name:<6} in {:>12.1} kg  out {:>12.1} kg  decayed {:>12.1} kg  Δvolume {:>10.1} kg  Δstorage {:>10.1} kg  error {:.1e}",
            mb.in_kg,
            mb.out_kg,
            mb.decayed_kg,
            mb.volume_change_kg,
            mb.storage_change_kg,
            mb.relative_error
        );
    }
    let rows = o.assessment.zone_rows();
    if !rows.is_empty() {
        println!(
            "  {}",
            l.t("zones (target → class over the assessed period):")
        );
        for z in rows {
            let year = match z.year {
                rivsim::targets::PeriodKey::Run => String::new(),
                rivsim::targets::PeriodKey::Year(y) => format!("{y} "),
            };
            let verdict = if z.class.is_none() {
                l.t("not assessed")
            } else if z.compliant == Some(true) {
                l.t("meets target")
            } else {
                match l {
                    Lang::En => "FAILS",
                    Lang::Zh => l.t("fails target"),
                }
            };
            println!(
                "    {:<12} {year}{} {:<6} {} {:<6} {verdict}",
                z.id,
                l.t("target"),
                l.class(z.target.name()),
                l.t("class"),
                z.class.map_or("—".into(), |c| l.class(c.name())),
            );
        }
    }
    let line = |label: &str, km: &rivsim::targets::ClassKm| {
        let parts: Vec<String> = Class::ALL
            .iter()
            .map(|&c| format!("{} {:.1}", l.class(c.name()), km.get(c)))
            .collect();
        println!("  {label} {}", parts.join(", "));
    };
    line(
        l.t("km per class (period mean):"),
        &o.assessment.classes_km(),
    );
    for y in &o.assessment.years {
        line(&format!("  {}:", y.year), &y.rivers.km);
    }
    println!(
        "  {} {:.1} km",
        l.t("worse than V:"),
        o.assessment.worse_than_v_km()
    );
    for w in &o.summary.warnings {
        println!("  {} {w}", l.t("warning:"));
    }
    println!(
        "  {} {} {} {}",
        l.t("wrote"),
        l.count(o.files.len(), "file", "files", "个文件"),
        l.t("to"),
        out.display()
    );
}

/// The apportionment on standard output: the top groups at each section, the gap, negative values.
fn print_apportion(p: &pipeline::Prepared, o: &pipeline::ApportionOutcome, out: &std::path::Path) {
    let a = &o.apportionment;
    println!("{}", p.model.title);
    println!(
        "  {} source groups (by {}), {} sections, {} zones; means over {} output times after the warm-up",
        a.groups.len(),
        a.by.name(),
        a.sections.len(),
        a.zones.len(),
        a.samples.len()
    );
    println!(
        "  hydraulics {:.2} s, tagged transport {:.2} s, analysis and files {:.2} s",
        o.timings_s[0], o.timings_s[1], o.timings_s[2]
    );
    for m in &a.sections {
        println!("  {}", m.id);
        for (k, pname) in a.pollutants.iter().enumerate() {
            let top = rivsim::apportion::top_groups(a, m, k, 3);
            let parts: Vec<String> = top
                .iter()
                .map(|(g, _, share)| format!("{g} {:.1}%", 100.0 * share))
                .collect();
            println!(
                "    {pname:<6} {:>10.4} mg/L: {}",
                m.total_mg_l[k],
                parts.join(", ")
            );
        }
    }
    let at = &a.max_gap_at;
    println!(
        "  largest relative gap |sum of groups - total| / total: {:.2e} ({} {} at {})",
        a.max_relative_gap, at.section, at.pollutant, at.time
    );
    if a.max_relative_gap > 1e-9 {
        println!("  warning: the groups do not add up to the total within 1e-9 relative");
    }
    if a.min_group_mg_l < 0.0 {
        let at = &a.min_group_at;
        println!(
            "  most negative group value {:.3e} mg/L ({} at {} {} {}); {} negative group means (shares are not clamped)",
            a.min_group_mg_l, at.group, at.section, at.pollutant, at.time, a.negative_means
        );
    }
    println!(
        "  wrote {} to {}",
        Lang::En.count(o.files.len(), "file", "files", ""),
        out.display()
    );
}

/// The console account of an unsteady hydraulic run: steps, iterations and the volume balance.
fn print_unsteady(p: &pipeline::Prepared, run: &rivsim::hydraulics::unsteady::UnsteadyRun) {
    let (l, s) = (&run.ledger, &run.stats);
    println!(
        "{}\n  {} reaches, {} cells, {} structures; {} hydraulic steps, {:.2} Newton iterations per step",
        p.model.title,
        p.model.reaches.len(),
        p.net.n_cells,
        p.model.structures.len(),
        s.steps,
        s.iterations as f64 / s.steps.max(1) as f64,
    );
    println!("  volume balance (m³):");
    println!(
        "    in {:.1} (inflows {:.1}, outfalls {:.1}, entering at held levels {:.1})",
        l.in_m3(),
        l.inflow_m3,
        l.lateral_m3,
        l.boundary_in_m3
    );
    println!(
        "    out {:.1} (leaving at held levels {:.1}, free outfalls {:.1}, withdrawals {:.1})",
        l.out_m3(),
        l.boundary_out_m3,
        l.outfall_m3,
        l.withdrawal_m3
    );
    println!(
        "    storage change {:.1} (from {:.1} to {:.1}); error {:.3e} m³, relative {:.1e}",
        l.storage_change_m3(),
        l.initial_m3,
        l.final_m3,
        l.error_m3(),
        l.relative_error()
    );
    for w in &run.warnings {
        println!("warning: {w}");
    }
}
