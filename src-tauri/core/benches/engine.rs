//! Claim lines adjudicated per second on one core (issue 4's goal: 200,000).

use claimdesk_core::engine::adjudicate;
use claimdesk_core::engine::fixtures::{claim, context, line};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};

fn engine(c: &mut Criterion) {
    let ctx = context();
    // A typical mixed claim: 4 lines, one NCCI pair, copay and deductible lines.
    let typical = claim(vec![
        line(1, "99213", "150.00"),
        line(2, "80053", "60.00"),
        line(3, "80048", "40.00"),
        line(4, "29881", "2000.00"),
    ]);
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(typical.lines.len() as u64));
    group.bench_function("adjudicate_4_line_claim", |b| {
        b.iter_batched_ref(
            || typical.clone(),
            |cl| adjudicate(cl, &ctx),
            BatchSize::SmallInput,
        )
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
