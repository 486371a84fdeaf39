//! Transport kernel: cell-steps per second on a generated tree of 1,000,000 cells, one pollutant, f64,
//! with 1 and 2 threads. Setup (model, network, flow field, simulation) is outside the timing; one iteration
//! is one `Simulation::step` (node pass + cell kernel + sources + ledger).
//!
//! Run: `cargo bench --bench rivsim -- transport`.

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group};
use rivsim::hydraulics::{FlowField, Hydraulics};
use rivsim::model::*;
use rivsim::network::Network;
use rivsim::transport::{DispersionMode, Simulation, TransportOptions};
use std::path::PathBuf;

/// A random tree of `n_reaches` reaches of `cells_per_reach` cells of 100 m: reach 0 drains to the outlet,
/// every other reach to the upstream end of a random earlier one; leaves are boundaries with 0.5 m³/s at
/// 20 mg/L. Flow accumulates downstream; each reach gets a velocity in [0.05, 0.3] m/s (area = Q/u), a
/// dispersion in [1, 20] m²/s and decay 0.05–0.35/d per pollutant.
pub fn tree(
    n_reaches: usize,
    cells_per_reach: usize,
    n_poll: usize,
) -> (Model, Network, Hydraulics) {
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut rnd = move || {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut parent = vec![usize::MAX; n_reaches];
    for (i, p) in parent.iter_mut().enumerate().skip(1) {
        *p = ((rnd() * i as f64) as usize).min(i - 1);
    }
    // node 0 = outlet; reach i runs from node i + 1 to node (parent's from-node) or 0
    let n_nodes = n_reaches + 1;
    let mut has_child = vec![false; n_reaches];
    for &p in parent.iter().skip(1) {
        has_child[p] = true;
    }
    let mut nodes = Vec::with_capacity(n_nodes);
    nodes.push(node("O", NodeKind::Outlet));
    for (i, &c) in has_child.iter().enumerate() {
        let kind = if c {
            NodeKind::Junction
        } else {
            NodeKind::Boundary
        };
        nodes.push(node(&format!("N{i}"), kind));
    }
    let dx = 100.0;
    let mut q = vec![0.0; n_reaches];
    for i in (0..n_reaches).rev() {
        if !has_child[i] {
            q[i] += 0.5;
        }
        if i > 0 {
            let p = parent[i];
            q[p] += q[i];
        }
    }
    let mut reaches = Vec::with_capacity(n_reaches);
    let mut areas = Vec::with_capacity(n_reaches);
    for i in 0..n_reaches {
        let u = 0.05 + 0.25 * rnd();
        let depth = 1.0 + 2.0 * rnd();
        let area = q[i] / u;
        areas.push(area);
        let to = if i == 0 { 0 } else { parent[i] + 1 };
        reaches.push(Reach {
            id: format!("R{i}"),
            from: i + 1,
            to,
            length_m: dx * cells_per_reach as f64,
            section: Section::Rectangle {
                width_m: area / depth,
            },
            bed_up_m: 0.0,
            bed_down_m: 0.0,
            manning_n: 0.03,
            dispersion_m2s: 1.0 + 19.0 * rnd(),
            decay_per_day: (0..n_poll).map(|p| 0.05 + 0.05 * p as f64).collect(),
            release_g_m2_day: vec![0.0; n_poll],
            cell_length_m: dx,
            water_body: WaterBody::River,
            zone: None,
            jurisdiction: None,
            level: None,
            river: None,
            geometry: Vec::new(),
        });
    }
    let end_s = 1e12;
    let mut m = Model {
        title: "bench tree".into(),
        path: PathBuf::from("bench.toml"),
        // dynamic, no warm-up, the step from the Courant limit (the defaults)
        sim: rivsim::model::Simulation {
            start: NaiveDate::from_ymd_opt(2025, 1, 1)
                .unwrap()
                .and_hms_opt(0, 0, 0)
                .unwrap(),
            end_s,
            output_interval_s: end_s,
            ..Model::default().sim
        },
        pollutants: ["COD", "NH3N", "TP", "CODMn", "BOD5", "TN", "X"]
            .iter()
            .cycle()
            .take(n_poll)
            .enumerate()
            .map(|(i, n)| format!("{n}{}", if i < 7 { String::new() } else { i.to_string() }))
            .collect(),
        nodes,
        reaches,
        ..Default::default()
    };
    for (i, &c) in has_child.iter().enumerate() {
        if !c {
            m.inflows.push(Inflow {
                node: i + 1,
                flow_m3s: Series::Const(0.5),
                concentration: (0..n_poll)
                    .map(|p| Series::Const(20.0 / (1 + p) as f64))
                    .collect(),
                group: "up".into(),
            });
        }
    }
    let net = Network::build(&m);
    let nf = net.n_faces();
    let mut face = vec![0.0; nf];
    let mut cell_area = vec![0.0; net.n_cells];
    for i in 0..n_reaches {
        for f in net.faces_of(i) {
            face[f] = q[i];
        }
        for g in net.cells_of(i) {
            cell_area[g] = areas[i];
        }
    }
    let mut inject = vec![0.0; n_nodes];
    for inf in &m.inflows {
        inject[inf.node] = 0.5;
    }
    let mut exchange = vec![0.0; n_nodes];
    exchange[0] = q[0];
    let field = FlowField {
        t_start_s: 0.0,
        t_end_s: end_s,
        node_level_m: vec![0.0; n_nodes],
        face_flow_m3s: face,
        cell_depth_m: vec![1.0; net.n_cells],
        cell_velocity_ms: vec![0.1; net.n_cells],
        cell_width_m: vec![10.0; net.n_cells],
        cell_area_m2: cell_area,
        cell_lateral_m3s: vec![0.0; net.n_cells],
        node_inject_m3s: inject,
        node_exchange_m3s: exchange,
        node_residual_m3s: vec![0.0; n_nodes],
        node_volume_m3: vec![0.0; n_nodes],
        continuity_relative: 0.0,
        iterations: 0,
    };
    (
        m,
        net,
        Hydraulics {
            periods: vec![field],
            warnings: Vec::new(),
        },
    )
}

fn node(id: &str, kind: NodeKind) -> Node {
    Node {
        id: id.into(),
        kind,
        xy: None,
        level_m: None,
        bed_m: None,
        concentration: Vec::new(),
        area_m2: None,
    }
}

fn kernel(c: &mut Criterion) {
    // RIVSIM_BENCH_REACHES (default 1000 reaches of 1000 cells) shrinks the network to see cache effects
    let n_reaches = std::env::var("RIVSIM_BENCH_REACHES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let (m, net, hyd) = tree(n_reaches, 1000, 1);
    let mut g = c.benchmark_group("transport");
    g.sample_size(20);
    g.throughput(Throughput::Elements(net.n_cells as u64));
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        // the kernel figure is the explicit scheme's (on this tree `Auto` would pick implicit dispersion:
        // the diffusion limit is below half the Courant step); the implicit path's rate is printed below
        let explicit = TransportOptions {
            dispersion: DispersionMode::Explicit,
            ..TransportOptions::default()
        };
        implicit_rate(&pool, &m, &net, &hyd, threads);
        let mut sim = Simulation::new(&m, &net, &hyd, &explicit).unwrap();
        // warm the state so the limiter sees real gradients
        pool.install(|| {
            for _ in 0..50 {
                sim.step().unwrap();
            }
        });
        eprintln!(
            "transport: solver state {:.1} bytes per cell (1 pollutant, {} cells)",
            sim.state_bytes() as f64 / net.n_cells as f64,
            net.n_cells
        );
        // the machine is shared: besides criterion's wall-clock figure, print the rate per CPU-second of the
        // whole process (utime + stime from /proc/self/stat), which the other load does not distort
        let n_steps = 300_000_000 / net.n_cells;
        let (cpu, wall) = timed_steps(&pool, &mut sim, n_steps);
        if cpu > 0.0 {
            eprintln!(
                "transport/{threads} thread(s): {:.1} M cell-steps per CPU-second, {:.1} M per wall second \
                 ({n_steps} steps of {} cells, CPU {cpu:.2} s, wall {wall:.2} s); explicit step {:.0} s",
                (n_steps * net.n_cells) as f64 / cpu / 1e6,
                (n_steps * net.n_cells) as f64 / wall / 1e6,
                net.n_cells,
                sim.stable_dt_s()
            );
        }
        g.bench_function(
            format!("step_1M_cells_1_pollutant_{threads}_threads"),
            |b| b.iter(|| pool.install(|| sim.step().unwrap())),
        );
    }
    g.finish();
}

/// Print the cell-steps per CPU-second and per simulated second of the implicit-dispersion path.
fn implicit_rate(
    pool: &rayon::ThreadPool,
    m: &rivsim::model::Model,
    net: &Network,
    hyd: &Hydraulics,
    threads: usize,
) {
    let o = TransportOptions {
        dispersion: DispersionMode::Implicit,
        ..TransportOptions::default()
    };
    let mut sim = Simulation::new(m, net, hyd, &o).unwrap();
    pool.install(|| {
        for _ in 0..20 {
            sim.step().unwrap();
        }
    });
    let t0 = sim.time_s();
    let n_steps = 100_000_000 / net.n_cells;
    let (cpu, wall) = timed_steps(pool, &mut sim, n_steps);
    if cpu > 0.0 {
        eprintln!(
            "transport implicit/{threads} thread(s): {:.1} M cell-steps per CPU-second, {:.1} M per wall \
             second, step {:.0} s ({n_steps} steps, {:.0} simulated s per wall second)",
            (n_steps * net.n_cells) as f64 / cpu / 1e6,
            (n_steps * net.n_cells) as f64 / wall / 1e6,
            sim.stable_dt_s(),
            (sim.time_s() - t0) / wall
        );
    }
}

/// Run `n_steps` steps of `sim` in `pool`; returns (process CPU seconds, wall seconds) they took.
fn timed_steps(pool: &rayon::ThreadPool, sim: &mut Simulation, n_steps: usize) -> (f64, f64) {
    let (c0, w0) = (cpu_seconds(), std::time::Instant::now());
    pool.install(|| {
        for _ in 0..n_steps {
            sim.step().unwrap();
        }
    });
    (cpu_seconds() - c0, w0.elapsed().as_secs_f64())
}

/// CPU time of this process (user + system), seconds; 0 where /proc is missing.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // fields after the command name (which is in parentheses and may contain spaces)
    let Some(rest) = stat.rsplit(')').next() else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the full line, 12 and 13 here
    let ticks: f64 = f.get(11).and_then(|u| u.parse::<f64>().ok()).unwrap_or(0.0)
        + f.get(12).and_then(|s| s.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// A district-sized network (20,000 cells) with seven pollutants: small enough that the pollutants, not the
/// cell chunks, are shared between the threads. Throughput counts cell-steps × pollutants.
fn district_sized(c: &mut Criterion) {
    let (m, net, hyd) = tree(40, 500, 7);
    let mut g = c.benchmark_group("transport");
    g.sample_size(20);
    g.throughput(Throughput::Elements((net.n_cells * 7) as u64));
    for threads in [1usize, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let mut sim = Simulation::new(&m, &net, &hyd, &TransportOptions::default()).unwrap();
        pool.install(|| {
            for _ in 0..50 {
                sim.step().unwrap();
            }
        });
        g.bench_function(
            format!("step_20k_cells_7_pollutants_{threads}_threads"),
            |b| b.iter(|| pool.install(|| sim.step().unwrap())),
        );
    }
    g.finish();
}

criterion_group!(benches, kernel, district_sized);
