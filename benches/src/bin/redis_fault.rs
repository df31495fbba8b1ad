//! A load and fault run over loopback: the demo (`std-adapters/examples/demo.rs`, included
//! as it is) twice, with fallback storage and `--redis` (herald_flash::redis::connect,
//! default options), sharing one `redis-server` this binary starts on a free loopback port;
//! concurrent visitors, each with its own cookie jar; Redis killed (SIGKILL) mid-run and
//! restarted a few seconds later.
//!
//! Usage: `cargo run --release -p herald-benches --bin redis_fault [-- --clients 32
//! --cycles 40 --outage-ms 3000]`. Exits 1 when an invariant is broken, 2 on bad usage or
//! a missing `redis-server` (`$REDIS_SERVER` overrides the one in `PATH`). With
//! `REDIS_FAULT_DEBUG=1`, every request slower than 100 ms is listed on stderr.
//!
//! Bounded: at most 256 visitors × 200 cycles; each visitor starts one cycle every 250 ms
//! (spread over the period), no cycle starts after 40 s, the last GETs end by 50 s, and
//! the whole run is abandoned (exit 1) at 60 s. Redis is killed once a quarter of the
//! cycles' time has passed (about 2.5 s with 40 cycles) and restarted `--outage-ms` later.
//!
//! Each cycle of a visitor: POST `/add` with a unique message on one instance (one cycle in
//! four: 12 messages of 300 characters, which overflow the 2048-byte cookie into the
//! session) → 303 → `GET /api/messages` on the other instance → the same GET again. A GET
//! that fails is retried every 100 ms until it answers 200, so what was stored before or
//! during the outage is read after it.
//!
//! Redis runs with `appendfsync always`, so a kill loses no write Redis acknowledged: a
//! message missing at the end is the application's doing, not Redis's.
//!
//! Invariants (each breach is printed and makes the exit code 1):
//! * **shown twice** = 0: no message is in two 200 answers (or twice in one).
//! * **lost** = 0: every message of a POST that answered 303 is in some 200 answer by the
//!   end of the run (after the retries, and a last GET on both instances).
//! * **shown though its POST failed** = 0.
//! * **failures**: each failed request answers 503 (herald: the session could not be
//!   read) or 500 with an empty body (tower-sessions: a session could not be saved), within
//!   the bound (1 s, two commands of the default 500 ms); anything else (a timeout, a
//!   connection error, another status, a slow failure) is counted apart and is a breach.
//! * **recovery**: after Redis is back, each instance serves a request that needs the
//!   session within 5 s.

#[path = "../../../std-adapters/examples/demo.rs"]
#[allow(dead_code)]
mod demo;

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use herald_flash::Storage;

/// A failure must answer within this (the default options' bound for a request that needs
/// the session: two commands of 500 ms).
const BOUND: Duration = Duration::from_secs(1);
/// The client's own timeout: a request past it is an "other" failure.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long each instance may take to serve session requests again after Redis is back.
const RECOVERY: Duration = Duration::from_secs(5);
/// The delay before retrying a failed GET.
const RETRY: Duration = Duration::from_millis(100);
/// Everything, start-up included, must end by then.
const HARD_DEADLINE: Duration = Duration::from_secs(60);
/// Cycles stop being started after this; the last GETs end by [`DRAIN_DEADLINE`].
const CYCLE_DEADLINE: Duration = Duration::from_secs(40);
const DRAIN_DEADLINE: Duration = Duration::from_secs(50);
/// One cycle in this many overflows into the session.
const OVERFLOW_EVERY: usize = 4;
/// 12 messages of 300 characters: the overflow.
const OVERFLOW_COUNT: usize = 12;
const SECRET: &[u8] = b"the redis fault run secret, 32 bytes or more";

struct Settings {
    clients: usize,
    cycles: usize,
    outage: Duration,
    /// Time between the starts of two cycles of one visitor.
    period: Duration,
}

fn usage() -> ! {
    eprintln!(
        "usage: redis_fault [--clients N (1..=256, default 32)] [--cycles N (1..=200, default 40)] [--outage-ms MS (100..=10000, default 3000)]"
    );
    std::process::exit(2);
}

fn settings() -> Settings {
    let mut s = Settings {
        clients: 32,
        cycles: 40,
        outage: Duration::from_secs(3),
        period: Duration::from_millis(250),
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value: u64 = match args.next().map(|v| v.parse()) {
            Some(Ok(v)) => v,
            _ => usage(),
        };
        match flag.as_str() {
            "--clients" if (1..=256).contains(&value) => s.clients = value as usize,
            "--cycles" if (1..=200).contains(&value) => s.cycles = value as usize,
            "--outage-ms" if (100..=10_000).contains(&value) => {
                s.outage = Duration::from_millis(value)
            }
            _ => usage(),
        }
    }
    s
}

// ---------------------------------------------------------------------------------------
// redis-server

/// The `redis-server` binary: `$REDIS_SERVER`, else the first in `PATH`.
fn redis_binary() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("REDIS_SERVER") {
        return Some(PathBuf::from(p)).filter(|p| p.is_file());
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
}

/// A `redis-server` on 127.0.0.1 with its append-only file in a private directory.
struct Redis {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Redis {
    fn start(bin: PathBuf) -> Redis {
        let port = free_port();
        let dir = std::env::temp_dir().join(format!("herald-redis-fault-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("a temporary directory for redis-server");
        let mut redis = Redis {
            bin,
            dir,
            port,
            child: None,
        };
        redis.spawn();
        redis
    }

    fn spawn(&mut self) {
        let child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
            ])
            .arg("--dir")
            .arg(&self.dir)
            .args(["--daemonize", "no", "--loglevel", "warning"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                eprintln!("cannot run {}: {e}", self.bin.display());
                std::process::exit(2)
            });
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if ping(self.port) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!(
            "redis-server on port {} did not answer PING within 10 s",
            self.port
        );
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: a crash, not a shutdown.
    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
    let mut buf = [0u8; 16];
    s.write_all(b"*1\r\n$4\r\nPING\r\n").is_ok()
        && s.read(&mut buf).is_ok_and(|n| &buf[..n] == b"+PONG\r\n")
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

// ---------------------------------------------------------------------------------------
// What each request did

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Phase {
    Post,
    Get,
    GetAgain,
    Drain,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Outcome {
    /// The expected answer (303 for a POST, 200 for a GET).
    Ok,
    /// 503 "Service Unavailable": herald could not read the session.
    Unavailable,
    /// 500 with an empty body: tower-sessions could not save the session.
    SaveFailed,
    /// Anything else.
    Other(String),
}

#[derive(Clone, Debug)]
struct Req {
    instance: usize,
    phase: Phase,
    /// The request reads or writes the session (an overflow cycle's POST, and its first
    /// GET when the POST was accepted).
    needs_session: bool,
    /// Since the run began.
    start: Duration,
    latency: Duration,
    outcome: Outcome,
}

#[derive(Default)]
struct Visitor {
    reqs: Vec<Req>,
    /// Messages of POSTs that answered 303, with the POST's start.
    accepted: Vec<(String, Duration)>,
    /// Messages of POSTs that failed.
    refused: Vec<String>,
    /// Every message in every 200 answer, in order.
    shown: Vec<String>,
    cycles: usize,
    overflow_cycles: usize,
}

struct Run {
    t0: Instant,
    bases: [String; 2],
}

impl Run {
    fn now(&self) -> Duration {
        self.t0.elapsed()
    }
}

fn classify(status: u16, body: &str, expected: u16) -> Outcome {
    match status {
        s if s == expected => Outcome::Ok,
        503 if body == "Service Unavailable" => Outcome::Unavailable,
        // A POST whose messages the failing backend could not store: herald turns the
        // handler's 303 into a 503 (the body is the handler's, empty for a redirect).
        503 if expected == 303 => Outcome::Unavailable,
        500 if body.is_empty() => Outcome::SaveFailed,
        s => Outcome::Other(format!("status {s}, body {:?}", truncate(body))),
    }
}

fn truncate(s: &str) -> &str {
    &s[..s.floor_char_boundary(80)]
}

/// The messages of a `/api/messages` answer.
fn parse_messages(body: &str) -> Result<Vec<String>, String> {
    let v: serde_json::Value = serde_json::from_str(body).map_err(|e| e.to_string())?;
    v.as_array()
        .ok_or("not an array")?
        .iter()
        .map(|m| {
            m["message"]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| "no message".to_owned())
        })
        .collect()
}

impl Visitor {
    /// `GET /api/messages` on `instance` until it answers 200 (retried every [`RETRY`]
    /// until `until`). Returns whether it did.
    async fn get(
        &mut self,
        run: &Run,
        c: &reqwest::Client,
        instance: usize,
        phase: Phase,
        needs_session: bool,
        until: Duration,
    ) -> bool {
        loop {
            let start = run.now();
            let t = Instant::now();
            let answer = c
                .get(format!("{}/api/messages", run.bases[instance]))
                .send()
                .await;
            let (outcome, shown) = match answer {
                Err(e) => (Outcome::Other(format!("GET: {e}")), None),
                Ok(res) => {
                    let status = res.status().as_u16();
                    let body = res.text().await.unwrap_or_default();
                    match classify(status, &body, 200) {
                        Outcome::Ok => match parse_messages(&body) {
                            Ok(m) => (Outcome::Ok, Some(m)),
                            Err(e) => (Outcome::Other(format!("200 with bad JSON: {e}")), None),
                        },
                        other => (other, None),
                    }
                }
            };
            let ok = outcome == Outcome::Ok;
            self.reqs.push(Req {
                instance,
                phase,
                needs_session,
                start,
                latency: t.elapsed(),
                outcome,
            });
            if let Some(m) = shown {
                self.shown.extend(m);
            }
            if ok {
                return true;
            }
            if run.now() + RETRY >= until {
                return false;
            }
            tokio::time::sleep(RETRY).await;
        }
    }

    async fn cycle(&mut self, run: &Run, c: &reqwest::Client, client: usize, cycle: usize) {
        let id = format!("c{client:03}-{cycle:03}");
        let overflow = (client + cycle).is_multiple_of(OVERFLOW_EVERY);
        // The direction varies with the visitor and alternates between its overflow
        // cycles, so both instances write and read the session.
        let (post_to, get_from) = if (client ^ (cycle >> 2)) & 1 == 0 {
            (0, 1)
        } else {
            (1, 0)
        };
        let (form, messages) = if overflow {
            let text = format!("{id} {}", "x".repeat(300 - id.len() - 1));
            let messages: Vec<String> = (1..=OVERFLOW_COUNT)
                .map(|i| format!("{text} (#{i})"))
                .collect();
            (
                vec![
                    ("text", text),
                    ("level", "25".to_owned()),
                    ("repeat", OVERFLOW_COUNT.to_string()),
                ],
                messages,
            )
        } else {
            let text = format!("{id} saved");
            (
                vec![
                    ("text", text.clone()),
                    ("level", "25".to_owned()),
                    ("repeat", "1".to_owned()),
                ],
                vec![text],
            )
        };
        self.cycles += 1;
        self.overflow_cycles += usize::from(overflow);

        let start = run.now();
        let t = Instant::now();
        let answer = c
            .post(format!("{}/add", run.bases[post_to]))
            .form(&form)
            .send()
            .await;
        let outcome = match answer {
            Err(e) => Outcome::Other(format!("POST: {e}")),
            Ok(res) => {
                let status = res.status().as_u16();
                let location_ok = res.headers().get("location").is_some_and(|l| l == "/");
                let body = res.text().await.unwrap_or_default();
                match classify(status, &body, 303) {
                    Outcome::Ok if !location_ok => Outcome::Other("303 not to /".into()),
                    o => o,
                }
            }
        };
        let accepted = outcome == Outcome::Ok;
        self.reqs.push(Req {
            instance: post_to,
            phase: Phase::Post,
            needs_session: overflow,
            start,
            latency: t.elapsed(),
            outcome,
        });
        if accepted {
            self.accepted
                .extend(messages.into_iter().map(|m| (m, start)));
        } else {
            self.refused.extend(messages);
        }
        let read = self
            .get(
                run,
                c,
                get_from,
                Phase::Get,
                overflow && accepted,
                CYCLE_DEADLINE,
            )
            .await;
        if read {
            self.get(run, c, get_from, Phase::GetAgain, false, CYCLE_DEADLINE)
                .await;
        }
    }
}

async fn visitor(run: Arc<Run>, settings: Arc<Settings>, client: usize) -> Visitor {
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(CLIENT_TIMEOUT)
        .build()
        .expect("an HTTP client");
    let mut v = Visitor::default();
    // Spread the visitors over one period, then one cycle per period (or back to back
    // when a cycle runs late).
    let offset = settings
        .period
        .mul_f64(client as f64 / settings.clients as f64);
    for cycle in 0..settings.cycles {
        let at = offset + settings.period * cycle as u32;
        if let Some(wait) = at.checked_sub(run.now()) {
            tokio::time::sleep(wait).await;
        }
        if run.now() >= CYCLE_DEADLINE {
            break;
        }
        v.cycle(&run, &c, client, cycle).await;
    }
    // A last look on both instances: anything still stored is delivered now.
    for instance in [0, 1] {
        v.get(&run, &c, instance, Phase::Drain, false, DRAIN_DEADLINE)
            .await;
    }
    v
}

// ---------------------------------------------------------------------------------------
// The run

struct Outage {
    killed: Duration,
    restarted: Duration,
    /// redis-server answered PING again.
    ready: Duration,
}

async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback listener");
    let addr = listener.local_addr().expect("its address");
    tokio::spawn(async move {
        axum::serve(listener, app).await.expect("serve the demo");
    });
    addr
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn latencies(reqs: &[&Req]) -> String {
    let mut l: Vec<Duration> = reqs.iter().map(|r| r.latency).collect();
    l.sort();
    if l.is_empty() {
        return "—".into();
    }
    format!(
        "p50 {}, p99 {}, max {}",
        ms(percentile(&l, 0.5)),
        ms(percentile(&l, 0.99)),
        ms(*l.last().unwrap())
    )
}

fn main() {
    let settings = Arc::new(settings());
    let Some(bin) = redis_binary() else {
        eprintln!(
            "redis_fault needs redis-server, which is not in PATH (nor in $REDIS_SERVER).\n\
             Install it: Debian/Ubuntu `apt-get install -y redis-server`, Fedora `dnf install redis`, \
             macOS `brew install redis`; or set REDIS_SERVER=/path/to/redis-server."
        );
        std::process::exit(2);
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");
    let started = Instant::now();
    let mut redis = Redis::start(bin);
    let version = Command::new(&redis.bin)
        .arg("--version")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| {
            s.split_whitespace()
                .find_map(|w| w.strip_prefix("v=").map(str::to_owned))
        })
        .unwrap_or_default();
    let url = redis.url();

    let result = rt.block_on(async {
        tokio::time::timeout(HARD_DEADLINE, async {
            let mut bases = Vec::new();
            for _ in 0..2 {
                let app = demo::app(SECRET.to_vec(), Storage::Fallback, Some(&url))
                    .await
                    .expect("the demo app builds");
                bases.push(format!("http://{}", serve(app).await));
            }
            let run = Arc::new(Run {
                t0: Instant::now(),
                bases: [bases[0].clone(), bases[1].clone()],
            });
            let visitors: Vec<_> = (0..settings.clients)
                .map(|i| tokio::spawn(visitor(run.clone(), settings.clone(), i)))
                .collect();

            // The fault: kill Redis once a quarter of the cycles' time has passed, half a
            // visitor slot after a cycle start (so that no POST starts with the kill).
            let kill_at = settings.period * (settings.cycles as u32 / 4).max(1)
                + settings.period / (2 * settings.clients as u32);
            tokio::time::sleep(kill_at.saturating_sub(run.now())).await;
            let killed = run.now();
            redis.kill();
            tokio::time::sleep(settings.outage).await;
            let restarted = run.now();
            let redis = tokio::task::spawn_blocking(move || {
                redis.spawn();
                redis
            })
            .await
            .expect("restart redis-server");
            let outage = Outage {
                killed,
                restarted,
                ready: run.now(),
            };
            let mut all = Vec::new();
            for v in visitors {
                all.push(v.await.expect("a visitor task"));
            }
            (all, outage, redis, run.now())
        })
        .await
    });
    let Ok((visitors, outage, redis, run_time)) = result else {
        eprintln!("redis_fault: the run did not end within the hard deadline of {HARD_DEADLINE:?}");
        std::process::exit(1);
    };
    report(
        &settings,
        &visitors,
        &outage,
        run_time,
        started.elapsed(),
        &version,
        &redis,
    );
}

fn report(
    settings: &Settings,
    visitors: &[Visitor],
    outage: &Outage,
    run_time: Duration,
    wall: Duration,
    version: &str,
    redis: &Redis,
) {
    let reqs: Vec<&Req> = visitors.iter().flat_map(|v| &v.reqs).collect();
    let cycles: usize = visitors.iter().map(|v| v.cycles).sum();
    let overflow: usize = visitors.iter().map(|v| v.overflow_cycles).sum();
    let mut shown: HashMap<&str, u32> = HashMap::new();
    for m in visitors.iter().flat_map(|v| &v.shown) {
        *shown.entry(m.as_str()).or_default() += 1;
    }
    let twice = shown.values().filter(|&&n| n > 1).count();
    let accepted: Vec<&(String, Duration)> = visitors.iter().flat_map(|v| &v.accepted).collect();
    let lost: Vec<&(String, Duration)> = accepted
        .iter()
        .copied()
        .filter(|(m, _)| !shown.contains_key(m.as_str()))
        .collect();
    let outage_end = outage.ready + RECOVERY;
    let lost_in_outage = lost
        .iter()
        .filter(|(_, t)| *t >= outage.killed && *t < outage_end)
        .count();
    let refused: Vec<&String> = visitors.iter().flat_map(|v| &v.refused).collect();
    let phantom = refused
        .iter()
        .filter(|m| shown.contains_key(m.as_str()))
        .count();

    let failed = |o: &Outcome| -> Vec<&Req> {
        reqs.iter()
            .copied()
            .filter(|r| &r.outcome == o && r.latency <= BOUND)
            .collect()
    };
    let unavailable = failed(&Outcome::Unavailable);
    let save_failed = failed(&Outcome::SaveFailed);
    let other: Vec<&Req> = reqs
        .iter()
        .copied()
        .filter(|r| {
            matches!(r.outcome, Outcome::Other(_))
                || (r.outcome != Outcome::Ok && r.latency > BOUND)
        })
        .collect();
    let ok: Vec<&Req> = reqs
        .iter()
        .copied()
        .filter(|r| r.outcome == Outcome::Ok)
        .collect();
    let session_ok: Vec<&Req> = ok.iter().copied().filter(|r| r.needs_session).collect();
    let posts = reqs.iter().filter(|r| r.phase == Phase::Post).count();
    let posts_ok = ok.iter().filter(|r| r.phase == Phase::Post).count();
    let no_session_in_outage: Vec<&Req> = reqs
        .iter()
        .copied()
        .filter(|r| {
            !r.needs_session
                && r.phase != Phase::Drain
                && r.start >= outage.killed
                && r.start < outage.restarted
        })
        .collect();
    let no_session_failed = no_session_in_outage
        .iter()
        .filter(|r| r.outcome != Outcome::Ok)
        .count();

    // Recovery: per instance, the first request that needs the session started after
    // redis-server answered again and succeeded; and the end of the last failure.
    let mut recovery = Vec::new();
    let mut recovered = true;
    for instance in [0, 1] {
        let first_ok = session_ok
            .iter()
            .filter(|r| r.instance == instance && r.start >= outage.ready)
            .map(|r| r.start + r.latency)
            .min();
        let last_fail = reqs
            .iter()
            .filter(|r| r.instance == instance && r.outcome != Outcome::Ok)
            .map(|r| r.start + r.latency)
            .max();
        let since = |t: Duration| {
            if t >= outage.ready {
                format!("+{}", ms(t - outage.ready))
            } else {
                format!("−{}", ms(outage.ready - t))
            }
        };
        match first_ok {
            Some(t) if t - outage.ready <= RECOVERY => {}
            _ => recovered = false,
        }
        recovery.push(format!(
            "{}: first session success {}, last failure {}",
            ["A", "B"][instance],
            first_ok.map_or("none".into(), since),
            last_fail.map_or("none".into(), since),
        ));
    }

    println!(
        "redis_fault: {} visitors × {} cycles, 2 demo instances (fallback storage, herald_flash::redis::connect defaults), redis-server {version} on 127.0.0.1:{} (appendfsync always), {}",
        settings.clients,
        settings.cycles,
        redis.port,
        cpu_model()
    );
    println!(
        "Redis killed (SIGKILL) at +{:.2} s, restarted at +{:.2} s, answering again at +{:.2} s; the visitors' run took {:.2} s ({:.2} s with start-up).\n",
        outage.killed.as_secs_f64(),
        outage.restarted.as_secs_f64(),
        outage.ready.as_secs_f64(),
        run_time.as_secs_f64(),
        wall.as_secs_f64()
    );
    println!("| | count | detail |");
    println!("|---|---:|---|");
    println!(
        "| cycles | {cycles} | {overflow} overflowing into the session (12 × 300 characters) |"
    );
    println!(
        "| requests | {} | {posts} POSTs ({posts_ok} answered 303), {} GETs; successes {} |",
        reqs.len(),
        reqs.len() - posts,
        latencies(&ok)
    );
    println!(
        "| messages accepted (their POST answered 303) | {} | |",
        accepted.len()
    );
    println!(
        "| messages shown | {} | distinct, in 200 answers |",
        shown.len()
    );
    println!("| **shown twice** | **{twice}** | must be 0 |");
    let lost_window = match (
        lost.iter().map(|(_, t)| *t).min(),
        lost.iter().map(|(_, t)| *t).max(),
    ) {
        (Some(a), Some(b)) => format!(
            "; their POSTs started from +{:.3} s to +{:.3} s",
            a.as_secs_f64(),
            b.as_secs_f64()
        ),
        _ => String::new(),
    };
    println!(
        "| **lost** | **{}** | accepted, never shown by the end (GETs retried after the outage); {lost_in_outage} of them POSTed between the kill and recovery{lost_window}; must be 0 |",
        lost.len()
    );
    println!(
        "| shown though the POST failed | {phantom} | of {} messages refused; must be 0 |",
        refused.len()
    );
    println!(
        "| failed: 503, herald could not read the session | {} | {} |",
        unavailable.len(),
        latencies(&unavailable)
    );
    println!(
        "| failed: 500, tower-sessions could not save the session | {} | {} |",
        save_failed.len(),
        latencies(&save_failed)
    );
    println!(
        "| **failed otherwise** (timeout, error, other status, slower than {}) | **{}** | must be 0 |",
        ms(BOUND),
        other.len()
    );
    println!(
        "| requests not needing the session during the outage | {} | {no_session_failed} failed |",
        no_session_in_outage.len()
    );
    println!(
        "| recovery after Redis answers again | | {} |",
        recovery.join("; ")
    );
    let mut slow = ok.clone();
    slow.sort_by_key(|r| std::cmp::Reverse(r.latency));
    let slow: Vec<String> = slow
        .iter()
        .take(3)
        .map(|r| {
            format!(
                "{:?} on {} at +{:.3} s: {}",
                r.phase,
                ["A", "B"][r.instance],
                r.start.as_secs_f64(),
                ms(r.latency)
            )
        })
        .collect();
    println!("| slowest successes | | {} |", slow.join("; "));
    if std::env::var_os("REDIS_FAULT_DEBUG").is_some() {
        // Every request slower than 100 ms, on stderr.
        for r in reqs
            .iter()
            .filter(|r| r.latency > Duration::from_millis(100))
        {
            eprintln!(
                "slow: {:?} on {} at +{:.3} s: {}, {:?}, needs the session: {}",
                r.phase,
                ["A", "B"][r.instance],
                r.start.as_secs_f64(),
                ms(r.latency),
                r.outcome,
                r.needs_session
            );
        }
    }

    let mut broken = Vec::new();
    if twice > 0 {
        broken.push(format!("{twice} messages shown twice"));
    }
    if !lost.is_empty() {
        broken.push(format!(
            "{} messages lost, e.g. {:?}",
            lost.len(),
            truncate(&lost[0].0)
        ));
    }
    if phantom > 0 {
        broken.push(format!("{phantom} messages shown though their POST failed"));
    }
    if !other.is_empty() {
        let r = other[0];
        broken.push(format!(
            "{} other failures, e.g. {:?} on {} at +{:.3} s after {}: {:?}",
            other.len(),
            r.phase,
            ["A", "B"][r.instance],
            r.start.as_secs_f64(),
            ms(r.latency),
            r.outcome
        ));
    }
    if no_session_failed > 0 {
        broken.push(format!(
            "{no_session_failed} requests that do not need the session failed during the outage"
        ));
    }
    if !recovered {
        broken.push(format!("an instance did not recover within {RECOVERY:?}"));
    }
    if cycles < settings.clients * settings.cycles {
        broken.push(format!(
            "only {cycles} of {} cycles ran before the cycle deadline",
            settings.clients * settings.cycles
        ));
    }
    if broken.is_empty() {
        println!("\nAll invariants hold.");
    } else {
        println!("\nINVARIANTS BROKEN:");
        for b in &broken {
            println!("* {b}");
        }
        std::process::exit(1);
    }
}
