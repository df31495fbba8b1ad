//! Prints herald's benchmark table in markdown: the core rows against the limit, the
//! adapters against the bare frameworks and the Rust peers, Django's CookieStorage against
//! herald; then the allocations per request and the `Set-Cookie` sizes, which are counted
//! here and now (they are deterministic, unlike time).
//!
//! Times are criterion's median point estimates, read from
//! `<criterion-dir>/**/new/{benchmark,estimates}.json`; Django's are read from
//! `django-bench.json` (written by `benches/django_bench.sh`). A row that has no result
//! says "not run".
//!
//! Usage: `cargo run -p herald-benches --bin report [-- --criterion-dir DIR] [--django FILE]
//! [--no-allocs]`. The criterion directory defaults to `$CARGO_TARGET_DIR/criterion`, else
//! the workspace's `target/criterion`; the Django file to `django-bench.json` beside it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use herald_benches::adapters::{self, Row};
use herald_benches::alloc_count::Counting;
use serde_json::Value;

#[global_allocator]
static ALLOC: Counting = Counting;

const REPRODUCE: &str = "cargo bench -p herald-benches -- --warm-up-time 1 --measurement-time 3 && bash benches/django_bench.sh && cargo run --release -p herald-benches --bin core_ratios -- --json target/core-ratios.json && cargo run --release -p herald-benches --bin report";

/// Criterion results: full id (`group/function/param`) → median in ns.
struct Criterion {
    times: BTreeMap<String, f64>,
    newest: Option<SystemTime>,
}

fn read_criterion(dir: &Path) -> Criterion {
    let mut c = Criterion {
        times: BTreeMap::new(),
        newest: None,
    };
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if !p.is_dir() {
                continue;
            }
            if p.file_name().is_some_and(|n| n == "new") {
                let (Some(bench), Some(est)) = (
                    read_json(&p.join("benchmark.json")),
                    read_json(&p.join("estimates.json")),
                ) else {
                    continue;
                };
                let (Some(id), Some(ns)) = (
                    bench["full_id"].as_str(),
                    est["median"]["point_estimate"].as_f64(),
                ) else {
                    continue;
                };
                c.times.insert(id.to_owned(), ns);
                if let Ok(m) =
                    std::fs::metadata(p.join("estimates.json")).and_then(|m| m.modified())
                {
                    c.newest = c.newest.max(Some(m));
                }
            } else {
                stack.push(p);
            }
        }
    }
    c
}

fn read_json(p: &Path) -> Option<Value> {
    serde_json::from_str(&std::fs::read_to_string(p).ok()?).ok()
}

/// `1234.5` ns → "1.23 µs", etc.
fn fmt_ns(ns: f64) -> String {
    if ns < 1_000.0 {
        format!("{ns:.0} ns")
    } else if ns < 1_000_000.0 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (Howard Hinnant's
/// `civil_from_days`).
fn civil(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn fmt_date(t: SystemTime) -> String {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (y, m, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        s / 3600,
        s / 60 % 60
    )
}

/// The CPU model and whether it has the SHA extensions, from `/proc/cpuinfo` (the first
/// processor's `model name` and `flags`); `None` where that file cannot be read.
fn cpu() -> (String, Option<bool>) {
    let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
        return ("unknown (no /proc/cpuinfo)".to_owned(), None);
    };
    let field = |key: &str| {
        info.lines()
            .find(|l| l.split(':').next().is_some_and(|k| k.trim() == key))
            .and_then(|l| l.split_once(':'))
            .map(|(_, v)| v.trim().to_owned())
    };
    let model = field("model name").unwrap_or_else(|| "unknown".to_owned());
    (model, herald_benches::run_args::cpu_has_sha_ni())
}

struct Table {
    lines: Vec<String>,
}

impl Table {
    fn row(&mut self, section: &str, row: &str, time: Option<f64>, against: &str, ratio: &str) {
        let time = time.map_or_else(|| "not run".to_owned(), fmt_ns);
        self.lines.push(format!(
            "| {section} | {row} | {time} | {against} | {ratio} |"
        ));
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut criterion_dir = None;
    let mut django_file = None;
    let mut allocs = true;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--criterion-dir" => criterion_dir = args.next().map(PathBuf::from),
            "--django" => django_file = args.next().map(PathBuf::from),
            "--no-allocs" => allocs = false,
            other => {
                eprintln!(
                    "unknown argument {other}; usage: report [--criterion-dir DIR] [--django FILE] [--no-allocs]"
                );
                std::process::exit(2);
            }
        }
    }
    let criterion_dir = criterion_dir.unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
            .join("criterion")
    });
    let django_file = django_file.unwrap_or_else(|| {
        criterion_dir
            .parent()
            .unwrap_or(Path::new("."))
            .join("django-bench.json")
    });
    let crit = read_criterion(&criterion_dir);
    let django = read_json(&django_file);
    let t = |id: &str| crit.times.get(id).copied();

    println!(
        "Benchmarks of {} (criterion medians from `{}`{}), on a shared 2-core machine whose load \
         varies: wall times are noisy, ratios measured in the same run are the figures to read. \
         Reproduce with `{REPRODUCE}`.\n",
        crit.newest
            .map_or_else(|| "(no criterion results)".to_owned(), fmt_date),
        criterion_dir.display(),
        django
            .as_ref()
            .and_then(|d| Some(format!(
                "; Django {} on Python {}, timeit minimum of {} repeats, {}",
                d["django"].as_str()?,
                d["python"].as_str()?,
                d["repeat"].as_u64()?,
                d["date"].as_str()?
            )))
            .unwrap_or_else(|| "; Django not run".to_owned())
    );

    let (model, sha_ni) = cpu();
    println!("{}", herald_benches::run_args::sha_line());
    println!(
        "CPU: {model}; SHA extensions (`sha_ni` in /proc/cpuinfo): {}.\n",
        match sha_ni {
            Some(true) => "yes",
            Some(false) => "no",
            None => "unknown",
        }
    );

    let mut table = Table {
        lines: vec![
            "| | row | time | compared with | ratio |".to_owned(),
            "|---|---|---:|---|---:|".to_owned(),
        ],
    };

    // Core: herald against the limit for the same bytes.
    for r in SIGNED_ROWS {
        let h = t(&format!("core/herald_{r}"));
        let l = t(&format!("core/limit_{r}"));
        let (against, ratio) = match (h, l) {
            (Some(h), Some(l)) => (
                format!("limit (HMAC + base64url, same bytes) {}", fmt_ns(l)),
                format!("{:.2}× limit", h / l),
            ),
            _ => ("limit: not run".to_owned(), "—".to_owned()),
        };
        table.row("core", &format!("herald_{r}"), h, &against, &ratio);
    }
    // Encrypted cookies (RULES ): against the AEAD's own limit on the same bytes.
    for r in [
        "encrypt/1",
        "decrypt/1",
        "encrypt/10",
        "decrypt/10",
        "encrypt/50",
        "decrypt/50",
        "encrypt/200",
        "decrypt/200",
    ] {
        let h = t(&format!("core/herald_{r}"));
        let l = t(&format!("core/limit_{r}"));
        let (against, ratio) = match (h, l) {
            (Some(h), Some(l)) => (
                format!(
                    "limit (XChaCha20-Poly1305 + base64url, same bytes) {}",
                    fmt_ns(l)
                ),
                format!("{:.2}× limit", h / l),
            ),
            _ => ("limit: not run".to_owned(), "—".to_owned()),
        };
        table.row("core", &format!("herald_{r}"), h, &against, &ratio);
    }

    let growth = growth_table(&t, "criterion medians");

    // Adapters: overhead above the floor; peers as a multiple of herald's overhead.
    let overhead = |row: Row, n: usize| -> Option<f64> {
        let floor = row.floor()?;
        Some(t(&format!("adapters/{row}/{n}"))? - t(&format!("adapters/{floor}/{n}"))?)
    };
    let herald_for = |row: Row| match row {
        Row::AxumMessages | Row::AxumFlash => Some(Row::HeraldAxum),
        Row::ActixWebFlashMessages => Some(Row::HeraldActix),
        _ => None,
    };
    for n in [1usize, 10] {
        for &row in Row::ALL {
            let time = t(&format!("adapters/{row}/{n}"));
            let (against, ratio) = match (row.floor(), herald_for(row)) {
                (None, _) => ("— (floor: no flash layer)".to_owned(), "floor".to_owned()),
                (Some(floor), None) => match overhead(row, n) {
                    Some(o) => (
                        format!("overhead above {floor}: {}", fmt_ns(o)),
                        if row.is_flash() {
                            "herald"
                        } else {
                            "reference"
                        }
                        .to_owned(),
                    ),
                    None => (format!("{floor}: not run"), "—".to_owned()),
                },
                (Some(floor), Some(h)) => match (overhead(row, n), overhead(h, n)) {
                    (Some(o), Some(ho)) => (
                        format!(
                            "overhead above {floor}: {} vs {h}'s {}",
                            fmt_ns(o),
                            fmt_ns(ho)
                        ),
                        format!("{:.1}× herald", o / ho),
                    ),
                    _ => ("not run".to_owned(), "—".to_owned()),
                },
            };
            table.row(
                &format!("adapters, {n} msg"),
                &format!("{row}/{n} — {}", row.describe()),
                time,
                &against,
                &ratio,
            );
        }
    }

    // Django: its time over herald's for the same workload.
    let dj = |k: &str| -> Option<f64> { django.as_ref()?["rows"][k].as_f64() };
    let dj_note = |k: &str| -> String {
        django
            .as_ref()
            .and_then(|d| d["notes"][k].as_str().map(|s| format!(" ({s})")))
            .unwrap_or_default()
    };
    let django_rows: [(&str, &str); 12] = [
        ("encode/1", "core/herald_encode/1"),
        ("decode/1", "core/herald_decode/1"),
        ("encode/10", "core/herald_encode/10"),
        ("decode/10", "core/herald_decode/10"),
        ("encode/50", "core/herald_encode/50"),
        ("decode/50", "core/herald_decode/50"),
        ("encode/200", "core/herald_encode/200"),
        ("decode/200", "core/herald_decode/200"),
        (
            "truncate_keep_newest/200",
            "core/herald_truncate_keep_newest/200",
        ),
        (
            "truncate_keep_oldest/200",
            "core/herald_truncate_keep_oldest/200",
        ),
        (
            "truncate_keep_newest_random/200",
            "core/herald_truncate_keep_newest/200",
        ),
        (
            "truncate_keep_oldest_random/200",
            "core/herald_truncate_keep_oldest/200",
        ),
    ];
    for (k, herald_id) in django_rows {
        let d = dj(k);
        let h = t(herald_id);
        let (against, ratio) = match (d, h) {
            (Some(d), Some(h)) => (
                format!("{} {}", herald_id.trim_start_matches("core/"), fmt_ns(h)),
                format!("{:.0}× herald", d / h),
            ),
            (Some(_), None) => (format!("{herald_id}: not run"), "—".to_owned()),
            _ => ("—".to_owned(), "—".to_owned()),
        };
        table.row(
            "Django CookieStorage",
            &format!("django_{k}{}", dj_note(k)),
            d,
            &against,
            &ratio,
        );
    }
    let d_over = dj("roundtrip/1")
        .zip(dj("roundtrip_floor/1"))
        .map(|(a, b)| a - b);
    let h_over = overhead(Row::HeraldAxum, 1);
    let (against, ratio) = match (d_over, h_over) {
        (Some(d), Some(h)) => (
            format!(
                "storage overhead {} (round trip minus the same request/response objects without storage) vs herald_axum/1's overhead above axum_bare/1 {}",
                fmt_ns(d),
                fmt_ns(h)
            ),
            format!("{:.0}× herald", d / h),
        ),
        _ => ("not run".to_owned(), "—".to_owned()),
    };
    table.row(
        "Django CookieStorage",
        "django_roundtrip/1 (add, update a redirect, read on the next request, update the page)",
        dj("roundtrip/1"),
        &against,
        &ratio,
    );
    for l in &table.lines {
        println!("{l}");
    }
    print!("{growth}");
    let ratios_file = criterion_dir
        .parent()
        .unwrap_or(Path::new("."))
        .join("core-ratios.json");
    let core_ratios = read_json(&ratios_file);
    match &core_ratios {
        Some(r) => {
            println!(
                "\nThe core rows timed side by side (`core_ratios`: herald's blocks and the \
                 limit's alternate, {} rounds, the fastest block of each), from `{}`:\n",
                r["rounds"],
                ratios_file.display()
            );
            println!("| row | herald | limit | ratio |\n|---|---:|---:|---:|");
            if let Some(rows) = r["rows"].as_array() {
                for v in rows {
                    let row = v["row"].as_str().unwrap_or("?");
                    if let (Some(h), Some(l)) = (v["herald_ns"].as_f64(), v["limit_ns"].as_f64()) {
                        println!("| {row} | {} | {} | {:.2}× |", fmt_ns(h), fmt_ns(l), h / l);
                    }
                }
            }
            // The same growth, from the side-by-side figures: `core/herald_X/N` is the
            // row's herald time, `core/limit_X/N` its limit's.
            let side = |id: &str| -> Option<f64> {
                let id = id.strip_prefix("core/")?;
                match id.strip_prefix("limit_") {
                    Some(rest) => core_row(r, &format!("herald_{rest}"), "limit_ns"),
                    None => core_row(r, id, "herald_ns"),
                }
            };
            print!(
                "{}",
                growth_table(&side, "side by side, from `core_ratios`")
            );
        }
        None => println!(
            "\n(side-by-side core ratios not run: `cargo run --release -p herald-benches --bin \
             core_ratios -- --json {}`)",
            ratios_file.display()
        ),
    }

    let adapter_file = criterion_dir
        .parent()
        .unwrap_or(Path::new("."))
        .join("adapter-ratios.json");
    if let (Some(d), Some(r)) = (django.as_ref(), core_ratios.as_ref()) {
        print!(
            "{}",
            django_fastest_table(d, r, read_json(&adapter_file).as_ref())
        );
    }

    if allocs {
        if !herald_benches::alloc_count::installed() {
            println!("\n(allocations not counted: the counting allocator is not installed)");
            return;
        }
        let cycles = 100;
        let mut measured = adapters::measure(1, cycles);
        measured.extend(adapters::measure(10, cycles));
        println!(
            "\nHeap allocations per request, counted now by a counting global allocator on the \
             server side (service call + response body), mean over {cycles} cycles after 3 \
             warm-up cycles:\n"
        );
        print!("{}", adapters::alloc_table(&measured));
        println!("\n`Set-Cookie` sent by the first POST of one message (fresh client):\n");
        print!("{}", adapters::set_cookie_table(&measured));
        if let Some(s) = django.as_ref().and_then(|d| {
            Some((
                d["set_cookie_1"]["header_value_bytes"].as_u64()?,
                d["set_cookie_1"]["value_bytes"].as_u64()?,
            ))
        }) {
            println!(
                "| django CookieStorage | `messages=…` (see django-bench.json notes) | {} | {} |",
                s.0,
                s.1 + "messages=".len() as u64
            );
        }
    }
}

/// The signed core rows (without the `herald_`/`limit_` prefix), which Django's are
/// measured against too.
const SIGNED_ROWS: [&str; 10] = [
    "encode/1",
    "decode/1",
    "encode/10",
    "decode/10",
    "encode/50",
    "decode/50",
    "encode/200",
    "decode/200",
    "truncate_keep_newest/200",
    "truncate_keep_oldest/200",
];

/// One figure (`herald_ns` or `limit_ns`) of the row named `row` in `core_ratios`' JSON.
fn core_row(core: &Value, row: &str, field: &str) -> Option<f64> {
    core["rows"]
        .as_array()?
        .iter()
        .find(|v| v["row"].as_str() == Some(row))?[field]
        .as_f64()
}

/// Django against herald's fastest blocks (`core_ratios`, and for the round trip
/// `adapter_ratios`' server side): Django's timeit figures are minima of repeats, so this is
/// a minimum against a minimum, where the criterion rows above set Django's minimum
/// against herald's median. Beside each, Django against the limit itself: what a signer
/// doing nothing beyond the HMAC and base64 would reach.
fn django_fastest_table(django: &Value, core: &Value, adapters: Option<&Value>) -> String {
    let mut out = String::from(
        "\nDjango against herald's fastest blocks (`core_ratios`; the round trip: \
         `adapter_ratios`' server side), a minimum against a minimum, and against the limit:\n\n\
         | Django row | Django | herald | Django / herald | limit | Django / limit |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for k in SIGNED_ROWS {
        let (Some(d), Some(h), Some(l)) = (
            django["rows"][k].as_f64(),
            core_row(core, &format!("herald_{k}"), "herald_ns"),
            core_row(core, &format!("herald_{k}"), "limit_ns"),
        ) else {
            continue;
        };
        out += &format!(
            "| django_{k} | {} | {} | {:.0}× | {} | {:.0}× |\n",
            fmt_ns(d),
            fmt_ns(h),
            d / h,
            fmt_ns(l),
            d / l
        );
    }
    let server = |row: &str| -> Option<f64> {
        adapters?["rows"]
            .as_array()?
            .iter()
            .find(|v| v["row"].as_str() == Some(row) && v["n"].as_u64() == Some(1))?["server_ns"]
            .as_f64()
    };
    let d_over = django["rows"]["roundtrip/1"]
        .as_f64()
        .zip(django["rows"]["roundtrip_floor/1"].as_f64())
        .map(|(a, b)| a - b);
    if let (Some(d), Some(h), Some(f)) = (d_over, server("herald_axum"), server("axum_bare")) {
        out += &format!(
            "| django_roundtrip/1 (storage overhead; herald: herald_axum/1 above axum_bare/1) | {} | {} | {:.0}× | — | — |\n",
            fmt_ns(d),
            fmt_ns(h - f),
            d / (h - f)
        );
    }
    out
}

/// How the core rows' cost grows with the messages: the time per extra body byte from 1 to
/// 200 messages, `(t(200) - t(1)) / (bytes(200) - bytes(1))`, herald's beside its limit's
/// (the limits work on the same bytes, so they share the byte counts).
fn growth_table(t: &impl Fn(&str) -> Option<f64>, source: &str) -> String {
    use herald_core::codec::{self, Header};
    let bytes = |n: usize| {
        let mut list: herald_core::MessageList<16384, 256> = herald_core::MessageList::new();
        for text in herald_benches::texts(n) {
            list.push(herald_core::Message::new(
                herald_core::Level::SUCCESS,
                &text,
            ))
            .expect("the benchmark list holds 200 messages");
        }
        let header = Header {
            issued_at: herald_benches::NOW,
            continued: false,
        };
        codec::body_len(&header, list.view()) as f64
    };
    let extra = bytes(200) - bytes(1);
    let mut out = format!(
        "\nCost per extra message byte, from 1 to 200 messages ({source}; {extra:.0} more body \
         bytes; `(t(200) - t(1)) / {extra:.0}`):\n\n\
         | direction | herald | limit | ratio |\n|---|---:|---:|---:|\n"
    );
    for (dir, limit) in [
        ("encode", "HMAC + base64url"),
        ("decode", "HMAC + base64url"),
        ("encrypt", "XChaCha20-Poly1305 + base64url"),
        ("decrypt", "XChaCha20-Poly1305 + base64url"),
    ] {
        let slope = |who: &str| {
            Some(
                (t(&format!("core/{who}_{dir}/200"))? - t(&format!("core/{who}_{dir}/1"))?) / extra,
            )
        };
        match (slope("herald"), slope("limit")) {
            (Some(h), Some(l)) => out.push_str(&format!(
                "| {dir} | {h:.3} ns/byte | {l:.3} ns/byte ({limit}) | {:.2}× |\n",
                h / l
            )),
            _ => out.push_str(&format!("| {dir} | not run | not run | — |\n")),
        }
    }
    out
}
