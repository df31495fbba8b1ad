//! herald's adapters against the Rust peers, same workload, same run: one full request
//! cycle in process (`POST /add` adding N messages → 303, then `GET /show` carrying the
//! cookies and rendering the texts), N = 1 and 10, for the bare frameworks (the floors),
//! herald's axum layer and actix middleware, axum-messages, axum-flash and
//! actix-web-flash-messages. Every row is checked to deliver its messages exactly once
//! before it is timed (`herald_benches::adapters::Client::check`). What is timed is the
//! server side of both requests (`Client::server_cycle`): the service call and the
//! reading of the body, without the client's request building and cookie jar.
//! `cargo run -p herald-benches --bin report` prints each row's overhead above its floor
//! as a ratio to herald's.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use herald_benches::adapters::Row;

fn adapters(c: &mut Criterion) {
    let mut g = c.benchmark_group("adapters");
    for n in [1usize, 10] {
        for &row in Row::ALL {
            let mut client = row.client(n);
            if let Err(why) = client.check() {
                panic!("{row}/{n} does not deliver its messages once: {why}");
            }
            // The server side only (the service call and the body): building the request
            // and the client's cookie jar are not the framework's or the layer's work.
            g.bench_function(format!("{row}/{n}"), |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| black_box(client.server_cycle()))
                        .sum::<Duration>()
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, adapters);
criterion_main!(benches);
