//! Scenario loading at scale: a generated 100,000-reach network (written once, outside the timing) loaded
//! with `rivsim::scenario::load` (TOML + CSV parse, validation, model build). Issue 2 asks for under 1 s.
use criterion::{BatchSize, Criterion, criterion_group};
use rivsim::generate::{GenerateOptions, generate};
use std::hint::black_box;

/// Reaches in the bench network.
const REACHES: usize = 100_000;
/// Loops in it (about 1 %: a plain network with some parallel channels).
const LOOPS: usize = 1_000;

fn load_100k(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = generate(&GenerateOptions::new(REACHES, LOOPS, 2025))
        .write(dir.path())
        .expect("write the generated scenario");
    let mut group = c.benchmark_group("scenario");
    group.sample_size(10);
    group.bench_function("load/100k_reaches", |b| {
        b.iter_batched(
            || path.clone(),
            // The result (a Model, or the placeholder loader's error) is dropped inside the timing on
            // purpose: freeing the model is part of a load-and-use cycle.
            |p| black_box(rivsim::scenario::load(&p).is_ok()),
            BatchSize::PerIteration,
        )
    });
    group.bench_function("generate/100k_reaches", |b| {
        b.iter(|| {
            black_box(
                generate(&GenerateOptions::new(REACHES, LOOPS, 2025))
                    .reaches
                    .len(),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, load_100k);
