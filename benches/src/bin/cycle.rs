//! Runs one adapters row's request cycle many times, for a profiler or an instruction
//! counter: `valgrind --tool=callgrind target/release/cycle herald_axum 1 2000`.
//!
//! Usage: `cycle ROW N CYCLES` (ROW as in `adapters/<row>/<n>`, e.g. `herald_actix`).

use std::hint::black_box;

use herald_benches::adapters::Row;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [row, n, cycles] = args.as_slice() else {
        eprintln!("usage: cycle ROW N CYCLES   (ROW: one of {:?})", names());
        std::process::exit(2);
    };
    let Some(row) = Row::ALL.iter().copied().find(|r| r.name() == row) else {
        eprintln!("unknown row {row:?}; rows: {:?}", names());
        std::process::exit(2);
    };
    let n: usize = n.parse().expect("N: a number of messages");
    let cycles: u32 = cycles.parse().expect("CYCLES: a number");
    let mut client = row.client(n);
    if let Err(why) = client.check() {
        eprintln!("{row:?}/{n} does not deliver its messages once: {why}");
        std::process::exit(1);
    }
    for _ in 0..cycles {
        black_box(client.cycle());
    }
}

fn names() -> Vec<&'static str> {
    Row::ALL.iter().map(|r| r.name()).collect()
}
