//! Transport on unsteady flow (`transport::Moving`, `rivsim run` with `hydraulics = "unsteady"`): a uniform
//! concentration stays uniform on the tidal district, the mass ledger closes from the written files (tidal and
//! steady runs), and dispersion across a junction matches the analytic diffusion solution.

mod support;

use rivsim::hydraulics::unsteady::{Unsteady, UnsteadyOptions};
use rivsim::model::{Discharge, InitialState, Series};
use rivsim::pipeline::{self, Prepared};
use rivsim::transport::Moving;
use std::path::{Path, PathBuf};
use support::{assert_exit_ok, repo, rivsim};

/// Copy the district's folder (scenario, network, series) into `to`, so a test may edit its scenario.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

/// The tidal district in a temporary folder, shortened to `days` days with a one-day warm-up.
fn tidal_district(dir: &Path, days: u32) -> PathBuf {
    copy_dir(&repo("scenarios/district"), dir);
    let path = dir.join("tidal.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let end = format!("end = \"2025-01-{:02}\"", 1 + days);
    let text = text.replacen("end = \"2026-01-01\"", &end, 1).replacen(
        "warmup = \"30d\"",
        "warmup = \"1d\"",
        1,
    );
    assert!(text.contains(&end), "the tidal district's end date moved");
    std::fs::write(&path, text).unwrap();
    path
}

/// Continuity tracer: with C = 1 in every inflow, outfall and tidal water and in the initial state, no decay
/// and no mass-only loads, every cell and section stays at 1 for a month of tides, gate and pump operations
/// and flow reversals. Each sub-step gives C_b = (V_a·C_a + h·ΣG)/V_b with V_b = V_a + h·(net inflow) from
/// the hydraulic step's own volumes and fluxes, so C stays 1 to round-off (a few ulps per sub-step; the
/// tolerance 1e-12 allows 10⁴ ulps of drift).
#[test]
fn uniform_concentration_stays_uniform_on_a_month_of_tides() {
    let dir = tempfile::tempdir().unwrap();
    let path = tidal_district(dir.path(), 30);
    let mut p = pipeline::prepare(&path).unwrap();
    let m = &mut p.model;
    let np = m.pollutants.len();
    let one = || vec![Series::Const(1.0); np];
    for i in &mut m.inflows {
        i.concentration = one();
    }
    for n in &mut m.nodes {
        n.concentration = one();
    }
    for o in &mut m.outfalls {
        match &mut o.discharge {
            Discharge::Flow { concentration, .. } => *concentration = one(),
            Discharge::Load { kg_per_day } => *kg_per_day = vec![Series::Const(0.0); np],
        }
    }
    for l in &mut m.line_loads {
        l.kg_per_day = vec![Series::Const(0.0); np];
    }
    for r in &mut m.reaches {
        r.decay_per_day = vec![0.0; np];
        r.release_g_m2_day = vec![0.0; np];
    }
    m.decay_changes.clear();
    m.initial = InitialState::Values(vec![1.0; np]);
    let p = Prepared {
        model: p.model,
        net: p.net,
    };
    let (hyd, res) = pipeline::simulate_unsteady(&p, false).unwrap();
    assert_eq!(res.output_times_s.len(), 31);
    assert_eq!(hyd.periods.len(), 31);
    let mut worst = 0.0f64;
    for row in res.section_conc.iter().chain(&res.final_cell_conc) {
        for &c in row {
            worst = worst.max((c - 1.0).abs());
        }
    }
    assert!(worst < 1e-12, "largest departure from 1: {worst:e}");
    // the flow did reverse somewhere (the tide), so the test covered reversals
    let reversed = hyd
        .periods
        .iter()
        .any(|f| f.face_flow_m3s.iter().any(|&q| q < -1.0))
        && hyd
            .periods
            .iter()
            .any(|f| f.face_flow_m3s.iter().any(|&q| q > 1.0));
    assert!(reversed, "no flow reversal met");
}

/// The ledger read back from `summary.json`: in − out − decayed + volume_change − storage_change over the
/// largest term is below 1e-10 (each sub-step's bookings are the exact mass moved; the remainder is the
/// round-off of summing the stored mass).
fn assert_ledger_closes(summary: &Path) -> Vec<f64> {
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(summary).unwrap()).unwrap();
    let mb = s["mass_balance"].as_object().unwrap();
    assert!(!mb.is_empty());
    let mut volume_terms = Vec::new();
    for (name, m) in mb {
        let f = |k: &str| m[k].as_f64().unwrap_or_else(|| panic!("{name}: {k}"));
        let (i, o, d, v, s) = (
            f("in_kg"),
            f("out_kg"),
            f("decayed_kg"),
            f("volume_change_kg"),
            f("storage_change_kg"),
        );
        let scale = i.abs().max(o.abs()).max(d.abs()).max(s.abs()).max(v.abs());
        let err = (i - o - d + v - s).abs() / scale;
        assert!(err < 1e-10, "{name}: ledger misses {err:e} of {scale} kg");
        volume_terms.push(v);
    }
    volume_terms
}

/// `rivsim run` on ten days of the tidal district: the ledger in `summary.json` closes.
#[test]
fn tidal_ledger_closes_from_the_written_summary() {
    let dir = tempfile::tempdir().unwrap();
    let path = tidal_district(&dir.path().join("d"), 10);
    let out = rivsim()
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--no-plots")
        .output()
        .unwrap();
    assert_exit_ok(&out, "rivsim run (tidal)");
    assert_ledger_closes(&dir.path().join("out").join("summary.json"));
}

/// `rivsim run` on the steady district, whose flow periods change the cell volumes: the ledger closes only
/// with the written `volume_change_kg` term, which is not zero there.
#[test]
fn steady_ledger_with_period_changes_closes_from_the_written_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = rivsim()
        .arg("run")
        .arg(repo("scenarios/district/scenario.toml"))
        .arg("--out")
        .arg(dir.path().join("out"))
        .arg("--no-plots")
        .output()
        .unwrap();
    assert_exit_ok(&out, "rivsim run (steady district)");
    let v = assert_ledger_closes(&dir.path().join("out").join("summary.json"));
    assert!(v.iter().any(|v| v.abs() > 1.0), "volume terms {v:?}");
}

/// Two equal reaches E → J → O of still water (10 m wide, 1 m deep, 1 km each, 10 m cells, E = 1 m²/s, both
/// far ends closed: E a dead end, O a held level with no flow and the Danckwerts condition), the first at
/// C = 1 and the second at 0. Across the junction the conductance 2·E·A/Δx of each end cell to the node, in
/// series, equals an interior face's E·A/Δx, so this is diffusion of a step in a closed channel of 2L:
///
///   C(x, t) = ½ + Σ_n (2/(nπ))·sin(nπ/2)·cos(nπx/2L)·exp(−E·(nπ/2L)²·t).
///
/// After a day (diffusion length √(4Et) ≈ 590 m ≫ Δx) the explicit scheme's error is O((Δx/√(4Et))²) plus
/// the time error O(E·h/Δx²·Δx²/(4Et)), both below 1e-3: the tolerance is 2e-3. The discrete solution is
/// also antisymmetric about the junction (C(L − s) + C(L + s) = 1) to round-off, and conserves mass.
#[test]
fn dead_end_fills_by_dispersion_across_a_junction() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"
[simulation]
start = "2025-01-01"
end = "2025-01-02"
output_interval = "1d"
pollutants = ["TR"]
hydraulics = "unsteady"

[initial]
level_m = 1.0

[defaults]
manning_n = 0.03
section = { shape = "rectangle", width_m = 10.0 }
dispersion_m2s = 1.0
decay_per_day = { TR = 0.0 }
cell_length_m = 10.0

[[nodes]]
id = "E"
kind = "junction"

[[nodes]]
id = "J"
kind = "junction"

[[nodes]]
id = "O"
kind = "outlet"
level_m = 1.0

[[reaches]]
id = "DEAD"
from = "E"
to = "J"
length_m = 1000.0
bed_up_m = 0.0
bed_down_m = 0.0

[[reaches]]
id = "TRUNK"
from = "J"
to = "O"
length_m = 1000.0
bed_up_m = 0.0
bed_down_m = 0.0
"#;
    let path = dir.path().join("s.toml");
    std::fs::write(&path, text).unwrap();
    let p = pipeline::prepare(&path).unwrap();
    let (model, net) = (&p.model, &p.net);
    let dead = net.cells_of(0);
    let trunk = net.cells_of(1);
    assert_eq!((dead.len(), trunk.len()), (100, 100));
    let mut c0 = vec![0.0; net.n_cells];
    c0[dead.clone()].fill(1.0);
    let mut state = Unsteady::new(model, net, UnsteadyOptions::default()).unwrap();
    let mut tr = Moving::new(model, net, vec![c0], vec![vec![0.0; net.n_nodes]]);
    tr.start(&state.step_flows());
    let m0 = tr.mass_kg(0);
    let end = 86_400.0;
    while state.time_s() < end {
        state.step(end).unwrap();
        tr.advance(&state.step_flows()).unwrap();
    }
    let (l, e, t) = (1000.0, 1.0, end);
    let analytic = |x: f64| {
        let mut c = 0.5;
        for n in 1..400 {
            let k = n as f64 * std::f64::consts::PI / (2.0 * l);
            let s = (n as f64 * std::f64::consts::FRAC_PI_2).sin();
            c += 2.0 / (n as f64 * std::f64::consts::PI)
                * s
                * (k * x).cos()
                * (-e * k * k * t).exp();
        }
        c
    };
    let mut worst = 0.0f64;
    let cells: Vec<usize> = dead.clone().chain(trunk.clone()).collect();
    for (i, &g) in cells.iter().enumerate() {
        let x = (i as f64 + 0.5) * 10.0;
        worst = worst.max((tr.cell_conc(0, g) - analytic(x)).abs());
    }
    assert!(
        worst < 2e-3,
        "largest difference to the analytic solution {worst:e}"
    );
    // the dead end's cell next to the junction has risen well above 0 and below 1
    let near = tr.cell_conc(0, trunk.start);
    assert!(near > 0.3 && near < 0.5, "first trunk cell {near}");
    let mut asym = 0.0f64;
    for s in 0..100 {
        let sum = tr.cell_conc(0, dead.end - 1 - s) + tr.cell_conc(0, trunk.start + s);
        asym = asym.max((sum - 1.0).abs());
    }
    assert!(asym < 1e-9, "antisymmetry broken by {asym:e}");
    let dm = (tr.mass_kg(0) - m0).abs() / m0;
    assert!(dm < 1e-12, "mass changed by {dm:e} of it");
}
