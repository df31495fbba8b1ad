//! The adapter rows timed side by side: for each message count, every row's client (bare
//! frameworks, herald, the peers) runs short blocks of POST + GET cycles in turn, 300
//! rounds, and each row keeps its fastest block, of the server side (the service call and
//! the body) and of the whole cycle (the client's request building and jar included).
//! Criterion measures one row after another, so on a shared machine a load change between
//! two rows moves an overhead by as much as the overhead itself; here every row sees the
//! same moments. Then each flash row's
//! overhead above its floor, and each peer's against herald's on the same framework.
//!
//! Usage: `adapter_ratios [--rounds N] [--json FILE]`. Prints markdown; with `--json`, also
//! writes the rows (read by the `report` bin: `$CARGO_TARGET_DIR/adapter-ratios.json`).

use std::hint::black_box;
use std::time::{Duration, Instant};

use herald_benches::adapters::Row;
use herald_benches::run_args::{self, RunArgs};

/// Index of the server side's time (the service call and the body) in a row's bests.
const SERVER: usize = 0;
/// Index of the whole cycle's time (the client's request building and jar included).
const WHOLE: usize = 1;

fn main() {
    let args = RunArgs::parse(
        std::env::args().skip(1),
        300,
        "adapter_ratios [--rounds N] [--json FILE]",
    );
    let rounds = args.rounds;
    println!("{}\n", run_args::sha_line());
    let mut rows = Vec::new();
    println!(
        "| row | N | server side | overhead above its floor (× herald's) | whole cycle, client included | overhead above its floor (× herald's) |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for n in [1usize, 10] {
        let mut clients: Vec<_> = Row::ALL
            .iter()
            .map(|&row| {
                let mut c = row.client(n);
                if let Err(why) = c.check() {
                    panic!("{row}/{n} does not deliver its messages once: {why}");
                }
                (row, c, [f64::MAX; 2])
            })
            .collect();
        // About 100 µs per block at 1 message.
        let cycles = if n == 1 { 20 } else { 10 };
        for _ in 0..rounds {
            for (_, client, best) in &mut clients {
                let t = Instant::now();
                let mut server = Duration::ZERO;
                for _ in 0..cycles {
                    server += black_box(client.server_cycle());
                }
                let whole = t.elapsed();
                best[SERVER] = best[SERVER].min(server.as_nanos() as f64 / cycles as f64);
                best[WHOLE] = best[WHOLE].min(whole.as_nanos() as f64 / cycles as f64);
            }
        }
        let time = |row: Row, which: usize| {
            clients
                .iter()
                .find(|(r, _, _)| *r == row)
                .map(|(_, _, t)| t[which])
                .expect("every row ran")
        };
        let overhead = |row: Row, which| row.floor().map(|f| time(row, which) - time(f, which));
        let herald_for = |row: Row| match row {
            Row::AxumMessages | Row::AxumFlash => Some(Row::HeraldAxum),
            Row::ActixWebFlashMessages => Some(Row::HeraldActix),
            _ => None,
        };
        for &row in Row::ALL {
            let cells = [SERVER, WHOLE].map(|which| {
                let o = overhead(row, which)
                    .map_or_else(|| "floor".to_owned(), |o| format!("{:.2} µs", o / 1e3));
                let vs = match (herald_for(row), overhead(row, which)) {
                    (Some(h), Some(o)) => format!(
                        " ({:.2}× {h})",
                        o / overhead(h, which).expect("herald has a floor")
                    ),
                    _ => String::new(),
                };
                format!("{:.2} µs | {o}{vs}", time(row, which) / 1e3)
            });
            println!("| {row} | {n} | {} | {} |", cells[0], cells[1]);
            rows.push(format!(
                "{{\"row\": \"{row}\", \"n\": {n}, \"server_ns\": {:.1}, \"whole_ns\": {:.1}}}",
                time(row, SERVER),
                time(row, WHOLE)
            ));
        }
    }
    args.write_json(&rows);
}
