//! Steady hydraulics on synthetic 100,000-node networks: one full looped solve (random tree + 300 loops,
//! levels held at two outlets), one tree solve (the same tree, one held outlet), and one solve of the
//! project's own generated scenario (`rivsim::generate`, 100,000 reaches and 300 loops, written to a temporary
//! folder and loaded like any scenario). Model and network are built outside the timing.

use chrono::NaiveDate;
use criterion::{Criterion, criterion_group};
use rivsim::hydraulics::{HydraulicsOptions, looped, tree};
use rivsim::model::*;
use rivsim::network::Network;
use std::hint::black_box;

/// Process CPU time (user + system) in seconds from /proc/self/stat, or None where that is unavailable.
/// The machine is shared, so wall-clock medians swing with the load; CPU time per solve is steadier.
fn cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/stat").ok()?;
    let f: Vec<&str> = s.rsplit(')').next()?.split_whitespace().collect();
    let ticks: f64 = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Print the CPU time per call of `f` over `n` calls.
fn report_cpu(name: &str, n: usize, mut f: impl FnMut()) {
    if let Some(t0) = cpu_seconds() {
        for _ in 0..n {
            f();
        }
        if let Some(t1) = cpu_seconds() {
            eprintln!(
                "{name}: CPU time per solve {:.3} s (mean of {n})",
                (t1 - t0) / n as f64
            );
        }
    }
}

/// The library's SplitMix64 with the two draws these networks were built with (seeded synthetic networks;
/// `below` by modulo, as when the bench was written, so the networks stay the same).
struct Rng(rivsim::generate::SplitMix64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }
    fn unif(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A plain network of `n_nodes` nodes: node i ≥ 2 drains to a random node among the previous 1,000 (a random
/// dendritic tree a few hundred reaches deep, 200–800 m reaches, 8–40 m wide, bed slope ~1e-5), 1% of the
/// nodes receive 0.01–0.05 m³/s, and `n_loops` extra reaches join random pairs of nodes up to 50 apart in
/// index. Outlets 0 and (when `two_outlets`) 1 hold levels of 2.0 and 2.05 m over a bed at −1 m.
pub fn synthetic(n_nodes: usize, n_loops: usize, two_outlets: bool, seed: u64) -> Model {
    let mut rng = Rng(rivsim::generate::SplitMix64::new(seed));
    let mut nodes = Vec::with_capacity(n_nodes);
    for i in 0..n_nodes {
        let outlet = i == 0 || (i == 1 && two_outlets);
        nodes.push(Node {
            id: format!("N{i}"),
            kind: if outlet {
                NodeKind::Outlet
            } else {
                NodeKind::Junction
            },
            xy: None,
            level_m: outlet.then_some(Series::Const(2.0 + 0.05 * i as f64)),
            bed_m: None,
            concentration: vec![],
            area_m2: None,
        });
    }
    let mut bed = vec![-1.0; n_nodes];
    let mut reaches = Vec::with_capacity(n_nodes + n_loops);
    let reach = |id: String, from: usize, to: usize, len: f64, w: f64, bu: f64, bd: f64| Reach {
        id,
        from,
        to,
        length_m: len,
        section: Section::Trapezoid {
            bottom_width_m: w,
            side_slope: 1.5,
        },
        bed_up_m: bu,
        bed_down_m: bd,
        manning_n: 0.03,
        dispersion_m2s: 0.0,
        decay_per_day: vec![],
        release_g_m2_day: vec![],
        cell_length_m: 200.0,
        water_body: WaterBody::River,
        zone: None,
        jurisdiction: None,
        level: None,
        river: None,
        geometry: vec![],
    };
    for i in 1..n_nodes {
        let lo = i.saturating_sub(1000);
        let p = if i == 1 { 0 } else { lo + rng.below(i - lo) };
        let len = 200.0 + 600.0 * rng.unif();
        let w = 8.0 + 32.0 * rng.unif();
        bed[i] = bed[p] + 1e-5 * len;
        reaches.push(reach(format!("R{i}"), i, p, len, w, bed[i], bed[p]));
    }
    for k in 0..n_loops {
        let i = 2 + rng.below(n_nodes - 60);
        let j = i + 1 + rng.below(50);
        let len = 300.0 + 500.0 * rng.unif();
        reaches.push(reach(format!("L{k}"), j, i, len, 10.0, bed[j], bed[i]));
    }
    let mut inflows = vec![];
    for i in 2..n_nodes {
        if rng.below(100) == 0 {
            inflows.push(Inflow {
                node: i,
                flow_m3s: Series::Const(0.01 + 0.04 * rng.unif()),
                concentration: vec![],
                group: "g".into(),
            });
        }
    }
    Model {
        title: "synthetic".into(),
        path: "synthetic.toml".into(),
        // the default day with hourly output, steady, from 2025-01-01
        sim: Simulation {
            start: NaiveDate::from_ymd_opt(2025, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            mode: Mode::Steady,
            hydraulics: FlowModel::Steady,
            ..Model::default().sim
        },
        nodes,
        reaches,
        inflows,
        ..Default::default()
    }
}

fn hydraulics_100k(c: &mut Criterion) {
    let opts = HydraulicsOptions::default();
    let looped_model = synthetic(100_000, 300, true, 7);
    let looped_net = Network::build(&looped_model);
    {
        let mut w = vec![];
        let f = looped::solve(&looped_model, &looped_net, &opts, 0.0, 86400.0, &mut w)
            .expect("looped solve");
        eprintln!(
            "looped 100k: {} iterations, continuity {:e}, {} cells, warnings {:?}",
            f.iterations,
            f.continuity_relative,
            looped_net.n_cells,
            w.len()
        );
    }
    report_cpu("looped 100k", 5, || {
        let mut w = vec![];
        black_box(looped::solve(&looped_model, &looped_net, &opts, 0.0, 86400.0, &mut w).unwrap());
    });
    c.bench_function("hydraulics/looped_steady_100k_nodes", |b| {
        b.iter(|| {
            let mut w = vec![];
            black_box(
                looped::solve(&looped_model, &looped_net, &opts, 0.0, 86400.0, &mut w).unwrap(),
            )
        })
    });
    let tree_model = synthetic(100_000, 0, false, 7);
    let tree_net = Network::build(&tree_model);
    assert!(tree::applies(&tree_model, &tree_net));
    report_cpu("tree 100k", 5, || {
        let mut w = vec![];
        black_box(tree::solve(&tree_model, &tree_net, &opts, 0.0, 86400.0, &mut w).unwrap());
    });
    c.bench_function("hydraulics/tree_steady_100k_nodes", |b| {
        b.iter(|| {
            let mut w = vec![];
            black_box(tree::solve(&tree_model, &tree_net, &opts, 0.0, 86400.0, &mut w).unwrap())
        })
    });
}

fn hydraulics_generated(c: &mut Criterion) {
    use rivsim::generate::{GenerateOptions, generate};
    let dir = tempfile::tempdir().expect("temporary folder");
    let scenario = generate(&GenerateOptions::new(100_000, 300, 7))
        .write(dir.path())
        .expect("write the generated scenario");
    let model = rivsim::scenario::load(&scenario).expect("load the generated scenario");
    let net = Network::build(&model);
    let opts = HydraulicsOptions::default();
    {
        let mut w = vec![];
        let f = rivsim::hydraulics::solve_period(&model, &net, &opts, 0.0, 86400.0, &mut w)
            .expect("solve");
        eprintln!(
            "generated 100k: {} nodes, {} cells, {} iterations, continuity {:e}, {} warnings",
            net.n_nodes,
            net.n_cells,
            f.iterations,
            f.continuity_relative,
            w.len()
        );
    }
    report_cpu("generated 100k", 5, || {
        let mut w = vec![];
        black_box(
            rivsim::hydraulics::solve_period(&model, &net, &opts, 0.0, 86400.0, &mut w).unwrap(),
        );
    });
    c.bench_function("hydraulics/generated_100k_reaches_300_loops", |b| {
        b.iter(|| {
            let mut w = vec![];
            black_box(
                rivsim::hydraulics::solve_period(&model, &net, &opts, 0.0, 86400.0, &mut w)
                    .unwrap(),
            )
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = hydraulics_100k, hydraulics_generated
}
