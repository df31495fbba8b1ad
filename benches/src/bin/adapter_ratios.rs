//! The adapter rows timed side by side: for each message count, every row's client (bare
//! frameworks, herald, the peers) runs short blocks of POST + GET cycles in turn, 300
//! rounds, and each row keeps its fastest block. Criterion measures one row after another,
//! so on a shared machine a load change between two rows moves an overhead by as much as
//! the overhead itself; here every row sees the same moments. Then each flash row's
//! overhead above its floor, and each peer's against herald's on the same framework.
//!
//! Usage: `adapter_ratios [--rounds N]`. Prints markdown.

use std::hint::black_box;
use std::time::Instant;

use herald_benches::adapters::Row;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut rounds = 300;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rounds" => {
                rounds = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--rounds N")
            }
            other => {
                eprintln!("unknown argument {other}; usage: adapter_ratios [--rounds N]");
                std::process::exit(2);
            }
        }
    }
    println!(
        "| row | N | fastest cycle | overhead above its floor | this overhead / herald's on the same framework |"
    );
    println!("|---|---:|---:|---:|---:|");
    for n in [1usize, 10] {
        let mut clients: Vec<_> = Row::ALL
            .iter()
            .map(|&row| {
                let mut c = row.client(n);
                if let Err(why) = c.check() {
                    panic!("{row}/{n} does not deliver its messages once: {why}");
                }
                (row, c, f64::MAX)
            })
            .collect();
        // About 100 µs per block at 1 message.
        let cycles = if n == 1 { 20 } else { 10 };
        for _ in 0..rounds {
            for (_, client, best) in &mut clients {
                let t = Instant::now();
                for _ in 0..cycles {
                    black_box(client.cycle());
                }
                *best = best.min(t.elapsed().as_nanos() as f64 / cycles as f64);
            }
        }
        let time = |row: Row| {
            clients
                .iter()
                .find(|(r, _, _)| *r == row)
                .map(|(_, _, t)| *t)
                .expect("every row ran")
        };
        let overhead = |row: Row| row.floor().map(|f| time(row) - time(f));
        let herald_for = |row: Row| match row {
            Row::AxumMessages | Row::AxumFlash => Some(Row::HeraldAxum),
            Row::ActixWebFlashMessages => Some(Row::HeraldActix),
            _ => None,
        };
        for &row in Row::ALL {
            let o =
                overhead(row).map_or_else(|| "floor".to_owned(), |o| format!("{:.2} µs", o / 1e3));
            let vs = match (herald_for(row), overhead(row)) {
                (Some(h), Some(o)) => {
                    format!("{:.2}× ({h})", o / overhead(h).expect("herald has a floor"))
                }
                _ => String::new(),
            };
            println!("| {row} | {n} | {:.2} µs | {o} | {vs} |", time(row) / 1e3);
        }
    }
}
