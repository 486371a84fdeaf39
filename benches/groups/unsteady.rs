//! Unsteady hydraulics: one hydraulic step (5 minutes) of the project's generated 100,000-reach network with
//! 300 loops (`rivsim::generate`, written to a temporary folder and loaded like any scenario), on 1 and on 2
//! threads, started from the steady state; and a year of the tidal district (`scenarios/district/tidal.toml`,
//! 5-minute steps). Set-up outside the timing.

use criterion::{Criterion, criterion_group};
use rivsim::hydraulics::unsteady::{self, Unsteady, UnsteadyOptions};
use rivsim::model::FlowModel;
use rivsim::network::Network;
use std::hint::black_box;

fn step_100k(c: &mut Criterion) {
    use rivsim::generate::{GenerateOptions, generate};
    let dir = tempfile::tempdir().expect("temporary folder");
    let scenario = generate(&GenerateOptions::new(100_000, 300, 7))
        .write(dir.path())
        .expect("write the generated scenario");
    let mut model = rivsim::scenario::load(&scenario).expect("load the generated scenario");
    model.sim.hydraulics = FlowModel::Unsteady {
        step_s: 300.0,
        theta: 0.65,
    };
    model.sim.end_s = 1e9;
    let net = Network::build(&model);
    eprintln!(
        "unsteady 100k: {} nodes, {} reaches, {} cells",
        net.n_nodes, net.n_reaches, net.n_cells
    );
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("thread pool");
        let mut state = pool.install(|| {
            Unsteady::new(&model, &net, UnsteadyOptions::default()).expect("initial state")
        });
        c.bench_function(
            &format!("unsteady/step_100k_reaches/{threads}_threads"),
            |b| {
                b.iter(|| {
                    pool.install(|| {
                        let t = state.time_s();
                        black_box(state.step(t + 300.0).expect("step"))
                    })
                })
            },
        );
        let s = state.stats();
        eprintln!(
            "{threads} threads: {} steps, {:.2} iterations per step, {} unconverged",
            s.steps,
            s.iterations as f64 / s.steps as f64,
            s.unconverged
        );
    }
}

fn district_year(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/district/tidal.toml");
    let model = rivsim::scenario::load(std::path::Path::new(path)).expect("tidal district");
    let net = Network::build(&model);
    c.bench_function("unsteady/district_tidal_year", |b| {
        b.iter(|| {
            black_box(
                unsteady::run(&model, &net, &UnsteadyOptions::default(), &mut |_| {}).expect("run"),
            )
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = step_100k, district_year
}
