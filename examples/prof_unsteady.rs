//! Times hydraulic steps of a generated 100,000-reach looped network (300 loops, seed 7), started from its
//! steady state: `cargo run --release --example prof_unsteady -- N` steps N times (default 20) and prints the
//! mean time per step and the Newton iterations per step. The scenario is generated once into the temporary
//! folder and reused. The figures are in BENCHMARKS.md.

use rivsim::hydraulics::unsteady::{Unsteady, UnsteadyOptions};
use rivsim::model::FlowModel;
use rivsim::network::Network;
fn main() {
    use rivsim::generate::{GenerateOptions, generate};
    let dir = std::env::temp_dir().join("rivsim_gen100k");
    let dir = dir.as_path();
    let scenario = if dir.join("scenario.toml").exists() {
        dir.join("scenario.toml")
    } else {
        std::fs::create_dir_all(dir).unwrap();
        generate(&GenerateOptions::new(100_000, 300, 7))
            .write(dir)
            .unwrap()
    };
    let mut model = rivsim::scenario::load(&scenario).unwrap();
    model.sim.hydraulics = FlowModel::Unsteady {
        step_s: 300.0,
        theta: 0.65,
    };
    model.sim.end_s = 1e9;
    let net = Network::build(&model);
    let n: usize = std::env::args()
        .nth(1)
        .map(|s| s.parse().unwrap())
        .unwrap_or(20);
    let mut state = Unsteady::new(&model, &net, UnsteadyOptions::default()).unwrap();
    let t0 = std::time::Instant::now();
    for _ in 0..n {
        let t = state.time_s();
        state.step(t + 300.0).unwrap();
    }
    let el = t0.elapsed().as_secs_f64();
    let s = state.stats();
    eprintln!(
        "{} steps {:.1} ms/step, {:.2} it/step",
        n,
        1000.0 * el / n as f64,
        s.iterations as f64 / s.steps as f64
    );
}
