//! End to end: a year of the bundled district scenario (all pollutants, daily output, its natural time step):
//! hydraulics of every flow period plus the whole transport run. Loading the files is outside the timing.
//!
//! Run: `cargo bench --bench rivsim -- end_to_end`.

use criterion::{Criterion, criterion_group};
use std::path::Path;

fn district_year(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios/district/scenario.toml");
    let p = rivsim::pipeline::prepare(&path).expect("the bundled district scenario loads");
    let mut g = c.benchmark_group("end_to_end");
    g.sample_size(10);
    g.bench_function("district_year_hydraulics_and_transport", |b| {
        b.iter(|| {
            let hyd = rivsim::pipeline::hydraulics(&p).expect("hydraulics");
            let res = rivsim::pipeline::simulate(&p, &hyd, false).expect("transport");
            std::hint::black_box(res.steps)
        })
    });
    g.finish();
}

criterion_group!(benches, district_year);
