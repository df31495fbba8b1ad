//! Measures what one request through the picoserve example costs in RAM, on the host.
//!
//! ```sh
//! cargo run --release -p herald-picoserve-example --bin herald-picoserve-footprint
//! ```
//!
//! Sizes come from `size_of`. The stack peak is **measured**, in safe Rust, without a
//! painted stack: one request is served by picoserve from an in-memory socket (no tokio,
//! no timers, a no-op waker, as on a device with the TCP stack taken out) in a child
//! process, on a thread whose stack has first been eaten by `pad` frames of known size.
//! A binary search finds the most padding with which the request still completes; the
//! same search for an idle run (identical setup, nothing polled) gives the stack the
//! thread itself needs. The difference, in pad frames times the frame size, is the stack
//! the request needs below the caller, to within one pad frame (80 bytes in release).
//! An overflow hits the guard page and kills the child (`SIGSEGV`/`SIGABRT`), which is
//! what "does not fit" means. The connection's future and buffers live on the heap here,
//! as they live in static memory in an embassy task, so they are not part of the figure.
//!
//! `herald-picoserve-footprint probe SCENARIO PAD` is the child's entry point.

use std::future::Future;
use std::hint::black_box;
use std::pin::Pin;
use std::process::{Command, ExitCode, Stdio};
use std::task::{Context, Poll, Waker};

use herald_core::signer::{DEFAULT_FALLBACKS, MAX_RAW_LEN};
use herald_core::{Inbox, Level, Signer};
use herald_picoserve_example::{
    COOKIE_NAME, DELETE_COOKIE_CAP, Flash, HTTP_BUFFER_LEN, MAX_COOKIE_VALUE, SET_COOKIE_CAP, app,
};
use picoserve::io::{self, BaseWrite, ErrorType, Read, Socket};
use picoserve::mem::{BorrowedBuffer, BorrowedCursor};
use picoserve::routing::{PathRouter, get};
use picoserve::{Config, Timeouts, Timer};

const NOW: u64 = 1_700_000_000;
/// Signs the probe's in-memory requests only: this tool never listens on a socket, so a
/// fixed secret here cannot sign a cookie a browser sees. (The server itself has no
/// built-in secret; see `src/main.rs`.)
const SECRET: &[u8] = b"footprint probe secret, in-memory requests only";
/// The stack of the probe thread. Large enough for any request; the pad eats most of it.
const PROBE_STACK: usize = 4 * 1024 * 1024;
/// Bytes of each pad frame's array (the frame is a little larger; it is measured).
const PAD_BYTES: usize = 48;
const OUTPUT_LEN: usize = 32 * 1024;

static CONFIG: Config = Config::const_default();

fn clock() -> u64 {
    NOW
}

fn flash() -> Flash {
    Flash::new(SECRET, &[], Level::INFO, clock).expect("a long secret, no fallback keys")
}

// ---------------------------------------------------------------------------------------
// An in-memory socket, a timer that never fires and a busy-polling executor.
// ---------------------------------------------------------------------------------------

struct ProbeRuntime;

struct NeverTimer;

impl Timer<ProbeRuntime> for NeverTimer {
    #[allow(
        clippy::manual_async_fn,
        reason = "the trait's signature is `fn -> impl Future`"
    )]
    fn delay(&self, _: picoserve::time::Duration) -> impl Future<Output = ()> {
        std::future::pending()
    }
}

#[derive(Debug)]
struct OutputFull;

impl std::fmt::Display for OutputFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("probe output buffer full")
    }
}

impl std::error::Error for OutputFull {}

impl io::Error for OutputFull {
    fn kind(&self) -> io::ErrorKind {
        io::ErrorKind::OutOfMemory
    }
}

struct MemSocket<'a> {
    input: &'a [u8],
    read: usize,
    output: &'a mut [u8],
    written: &'a mut usize,
}

struct MemReader<'s> {
    input: &'s [u8],
    read: &'s mut usize,
}

struct MemWriter<'s> {
    output: &'s mut [u8],
    written: &'s mut usize,
}

impl ErrorType for MemReader<'_> {
    type Error = OutputFull;
}

impl Read for MemReader<'_> {
    async fn read(&mut self, buf: &mut [u8]) -> Result<usize, OutputFull> {
        let rest = self.input.get(*self.read..).unwrap_or_default();
        let n = rest.len().min(buf.len());
        buf[..n].copy_from_slice(&rest[..n]);
        *self.read += n;
        Ok(n)
    }
}

impl ErrorType for MemWriter<'_> {
    type Error = OutputFull;
}

impl BaseWrite for MemWriter<'_> {
    async fn write(&mut self, buf: &[u8]) -> Result<usize, OutputFull> {
        let start = *self.written;
        let dst = self
            .output
            .get_mut(start..start + buf.len())
            .ok_or(OutputFull)?;
        dst.copy_from_slice(buf);
        *self.written += buf.len();
        Ok(buf.len())
    }

    async fn flush(&mut self) -> Result<(), OutputFull> {
        Ok(())
    }
}

impl io::Write for MemWriter<'_> {
    async fn write_with<F: FnOnce(BorrowedCursor<'_>) -> R, R>(
        &mut self,
        f: F,
    ) -> Result<R, OutputFull> {
        // Like embassy's TCP writer: the cursor is the free part of the transmit buffer.
        let free = self.output.get_mut(*self.written..).ok_or(OutputFull)?;
        let mut buffer = BorrowedBuffer::new(free);
        let out = f(buffer.unfilled());
        *self.written += buffer.len();
        Ok(out)
    }
}

impl Socket<ProbeRuntime> for MemSocket<'_> {
    type Error = OutputFull;
    type ReadHalf<'s>
        = MemReader<'s>
    where
        Self: 's;
    type WriteHalf<'s>
        = MemWriter<'s>
    where
        Self: 's;

    fn split(&mut self) -> (MemReader<'_>, MemWriter<'_>) {
        (
            MemReader {
                input: self.input,
                read: &mut self.read,
            },
            MemWriter {
                output: &mut *self.output,
                written: &mut *self.written,
            },
        )
    }

    async fn abort<T: Timer<ProbeRuntime>>(
        self,
        _: &Timeouts,
        _: &T,
    ) -> Result<(), picoserve::Error<OutputFull>> {
        Ok(())
    }

    async fn shutdown<T: Timer<ProbeRuntime>>(
        self,
        _: &Timeouts,
        _: &T,
    ) -> Result<(), picoserve::Error<OutputFull>> {
        Ok(())
    }
}

/// Polls to completion. The socket never blocks, so this never spins for long.
fn block_on<F: Future>(mut future: Pin<&mut F>) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    for _ in 0..1_000_000 {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
    }
    panic!("the request did not complete");
}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scenario {
    /// The same setup as `Get`, nothing polled: the baseline of the herald app.
    Idle,
    /// `GET /` with a full messages cookie: verify, decode, mark read, delete, render.
    Get,
    /// `POST /add` with a full cookie: verify, decode, add, truncate, seal, set.
    Post,
    /// The same setup as `Plain`, nothing polled: the baseline of the plain app.
    PlainIdle,
    /// The same `GET /` request to a picoserve app without herald that answers a fixed
    /// page: what picoserve itself needs.
    Plain,
}

impl Scenario {
    const ALL: [Scenario; 5] = [
        Scenario::Idle,
        Scenario::Get,
        Scenario::Post,
        Scenario::PlainIdle,
        Scenario::Plain,
    ];

    fn name(self) -> &'static str {
        match self {
            Scenario::Idle => "idle",
            Scenario::Get => "get",
            Scenario::Post => "post",
            Scenario::PlainIdle => "plain-idle",
            Scenario::Plain => "plain",
        }
    }

    fn parse(name: &str) -> Option<Self> {
        Scenario::ALL.into_iter().find(|s| s.name() == name)
    }

    /// The scenario whose stack need is subtracted.
    fn baseline(self) -> Scenario {
        match self {
            Scenario::Plain | Scenario::PlainIdle => Scenario::PlainIdle,
            _ => Scenario::Idle,
        }
    }

    fn polls(self) -> bool {
        !matches!(self, Scenario::Idle | Scenario::PlainIdle)
    }

    fn request(self) -> Vec<u8> {
        let cookie = full_cookie();
        match self {
            Scenario::Idle | Scenario::Get | Scenario::PlainIdle | Scenario::Plain => format!(
                "GET / HTTP/1.1\r\nHost: device.local\r\nUser-Agent: footprint-probe\r\n\
                 Accept: text/html\r\nCookie: csrftoken=abcdef; {COOKIE_NAME}={cookie}\r\n\r\n"
            )
            .into_bytes(),
            Scenario::Post => {
                let body = format!(
                    "level=warning&message={}&extra_tags=probe",
                    "A+new+message+with+some+length.".repeat(6)
                );
                format!(
                    "POST /add HTTP/1.1\r\nHost: device.local\r\n\
                     Content-Type: application/x-www-form-urlencoded\r\n\
                     Content-Length: {}\r\nCookie: {COOKIE_NAME}={cookie}\r\n\r\n{body}",
                    body.len()
                )
                .into_bytes()
            }
        }
    }

    /// Whether `response` is what the app must answer.
    fn check(self, response: &str) -> Result<(), String> {
        let ok = match self {
            Scenario::Idle | Scenario::PlainIdle => response.is_empty(),
            Scenario::Plain => {
                response.starts_with("HTTP/1.1 200") && response.contains(PLAIN_PAGE)
            }
            Scenario::Get => {
                response.starts_with("HTTP/1.1 200")
                    && response.contains("Set-Cookie: messages=\"\"; expires=")
                    && response.matches("<li class=").count() > 20
            }
            Scenario::Post => {
                response.starts_with("HTTP/1.1 303")
                    && response.contains("Location: /")
                    && response.contains("Set-Cookie: messages=")
                    && !response.contains("Set-Cookie: messages=\"\"")
            }
        };
        if ok {
            Ok(())
        } else {
            Err(format!(
                "{}: unexpected response:\n{response:.600}",
                self.name()
            ))
        }
    }
}

/// A cookie value as large as the app writes: as many messages as fit in 2048 bytes.
fn full_cookie() -> String {
    let flash = flash();
    let mut inbox: Inbox = flash.inbox();
    for i in 0..32 {
        let text = format!("Message {i:02}: long enough to fill the cookie.");
        inbox
            .add(Level::SUCCESS, &text, "")
            .expect("fits in the inbox");
    }
    let mut header = [0u8; SET_COOKIE_CAP];
    let header = flash
        .set_cookie(&mut inbox, &mut header)
        .expect("writable")
        .expect("a cookie is set");
    let value = header
        .strip_prefix("messages=")
        .and_then(|rest| rest.split(';').next())
        .expect("name=value");
    value.to_string()
}

/// Serves `scenario`'s request after eating `pad_frames` frames of stack (for an idle
/// scenario: builds everything and polls nothing). Returns the response and the size of
/// the connection's future.
fn serve_once(scenario: Scenario, pad_frames: usize) -> Result<(String, usize), String> {
    match scenario {
        Scenario::Plain | Scenario::PlainIdle => serve_with(&plain_app(), scenario, pad_frames),
        _ => serve_with(&app(flash()), scenario, pad_frames),
    }
}

const PLAIN_PAGE: &str = "<!doctype html><title>plain</title><p>picoserve without herald</p>";

/// A picoserve app without herald, for comparison.
fn plain_app() -> picoserve::Router<impl PathRouter> {
    picoserve::Router::new().route(
        "/",
        get(async || {
            picoserve::response::Response::ok(PLAIN_PAGE)
                .with_content_type("text/html; charset=utf-8")
        }),
    )
}

fn serve_with<P: PathRouter>(
    app: &picoserve::Router<P>,
    scenario: Scenario,
    pad_frames: usize,
) -> Result<(String, usize), String> {
    let request = scenario.request();
    let mut http_buffer = vec![0u8; HTTP_BUFFER_LEN];
    let mut output = vec![0u8; OUTPUT_LEN];
    let mut written = 0;
    let socket = MemSocket {
        input: &request,
        read: 0,
        output: &mut output,
        written: &mut written,
    };
    let server = picoserve::Server::custom(app, NeverTimer, &CONFIG, &mut http_buffer);
    let mut future = Box::pin(server.serve(socket));
    let future_size = std::mem::size_of_val(&*future);
    let mut result = Ok(());
    pad(pad_frames, &mut || {
        if scenario.polls() {
            result = block_on(future.as_mut())
                .map(drop)
                .map_err(|e| format!("serve: {e:?}"));
        }
    });
    drop(future);
    result?;
    let response = String::from_utf8_lossy(&output[..written]).into_owned();
    scenario.check(&response)?;
    Ok((response, future_size))
}

/// Eats `depth` frames of stack, then calls `bottom`.
#[inline(never)]
fn pad(depth: usize, bottom: &mut dyn FnMut()) -> u8 {
    let frame = black_box([depth as u8; PAD_BYTES]);
    if depth == 0 {
        bottom();
        frame[0]
    } else {
        // Using the frame after the call keeps it alive (no tail call).
        pad(depth - 1, bottom).wrapping_add(black_box(&frame)[1])
    }
}

/// The size of one `pad` frame, from the address of a local at two depths.
fn pad_frame_size() -> usize {
    let bottom_address = |depth| {
        let mut address = 0usize;
        pad(depth, &mut || {
            let local = black_box(0u8);
            address = black_box(&local) as *const u8 as usize;
        });
        address
    };
    (bottom_address(0) - bottom_address(1000)) / 1000
}

// ---------------------------------------------------------------------------------------
// Parent: the search
// ---------------------------------------------------------------------------------------

/// Runs one child: `Ok(true)` if the request fit, `Ok(false)` if the stack overflowed.
fn fits(scenario: Scenario, pad_frames: usize) -> Result<bool, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let output = Command::new(exe)
        .args(["probe", scenario.name(), &pad_frames.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| e.to_string())?;
    match output.status.code() {
        Some(0) => Ok(true),
        // Killed by a signal: the guard page was hit.
        None => Ok(false),
        Some(code) => Err(format!(
            "probe {} {pad_frames} failed with exit code {code}: {}",
            scenario.name(),
            String::from_utf8_lossy(&output.stderr)
        )),
    }
}

/// The largest pad with which `scenario` completes.
fn max_pad(scenario: Scenario, frame: usize) -> Result<usize, String> {
    let (mut lo, mut hi) = (0, PROBE_STACK / frame);
    if !fits(scenario, lo)? {
        return Err(format!(
            "{} does not fit in {PROBE_STACK} bytes",
            scenario.name()
        ));
    }
    if fits(scenario, hi)? {
        return Err("the pad does not overflow the probe stack".into());
    }
    while hi - lo > 1 {
        let mid = lo + (hi - lo) / 2;
        if fits(scenario, mid)? {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(lo)
}

fn report() -> Result<(), String> {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let (get_response, future_size) = serve_once(Scenario::Get, 0)?;
    let (post_response, _) = serve_once(Scenario::Post, 0)?;
    let cookie = full_cookie();

    let inbox = size_of::<Inbox>();
    let post_sum = inbox + MAX_RAW_LEN + MAX_COOKIE_VALUE + SET_COOKIE_CAP;
    let get_sum = inbox + MAX_RAW_LEN + DELETE_COOKIE_CAP;
    println!("herald picoserve example: footprint of one request ({profile} build)");
    println!();
    println!("herald's fixed buffers in the request path (bytes)");
    println!("  size_of::<Inbox>() (default capacity)            {inbox:>6}");
    println!(
        "  signer scratch inside Inbox::load_cookie         {MAX_RAW_LEN:>6}   herald_core::signer::MAX_RAW_LEN"
    );
    println!(
        "  signed cookie value (POST only)                  {MAX_COOKIE_VALUE:>6}   MAX_COOKIE_VALUE"
    );
    println!(
        "  Set-Cookie header value, POST                    {SET_COOKIE_CAP:>6}   SET_COOKIE_CAP"
    );
    println!(
        "  Set-Cookie header value, GET (a deletion)        {DELETE_COOKIE_CAP:>6}   DELETE_COOKIE_CAP"
    );
    println!("  sum, POST /add                                   {post_sum:>6}");
    println!("  sum, GET /                                       {get_sum:>6}");
    println!();
    println!("per connection and shared (bytes)");
    println!(
        "  picoserve HTTP buffer (per connection)           {HTTP_BUFFER_LEN:>6}   request line + headers + form, parsed in place"
    );
    println!(
        "  connection future, size_of_val                   {future_size:>6}   picoserve state + the handler's locals held across .await"
    );
    println!(
        "  size_of::<Flash>() (app state, shared)           {:>6}   Signer<{DEFAULT_FALLBACKS}> = {}",
        size_of::<Flash>(),
        size_of::<Signer>()
    );
    println!();
    println!(
        "scenario: a {}-byte messages cookie ({} messages); GET answers {} bytes, POST {} bytes",
        cookie.len(),
        get_response.matches("<li class=").count(),
        get_response.len(),
        post_response.len()
    );

    let frame = pad_frame_size();
    println!();
    println!("measured stack peak while polling one request to completion (±{frame} bytes)");
    let mut peaks = Vec::new();
    for (scenario, label) in [
        (
            Scenario::Get,
            "GET /     (verify + decode, mark read, delete, render)",
        ),
        (
            Scenario::Post,
            "POST /add (verify + decode, add, truncate, seal, set) ",
        ),
        (
            Scenario::Plain,
            "GET /     of a plain picoserve app, no herald         ",
        ),
    ] {
        let baseline = max_pad(scenario.baseline(), frame)?;
        let peak = baseline.saturating_sub(max_pad(scenario, frame)?) * frame;
        if scenario != Scenario::Plain {
            peaks.push(peak);
        }
        println!("  {label}  {peak:>6}");
    }
    let peak = peaks.into_iter().max().unwrap_or(0);
    println!();
    println!(
        "one connection needs: future {future_size} + HTTP buffer {HTTP_BUFFER_LEN} + stack peak {peak} = {} bytes",
        future_size + HTTP_BUFFER_LEN + peak
    );
    Ok(())
}

fn probe(scenario: &str, pad: &str) -> ExitCode {
    let (Some(scenario), Ok(pad)) = (Scenario::parse(scenario), pad.parse::<usize>()) else {
        eprintln!("usage: herald-picoserve-footprint probe idle|get|post|plain-idle|plain PAD");
        return ExitCode::from(2);
    };
    let thread = std::thread::Builder::new()
        .stack_size(PROBE_STACK)
        .spawn(move || serve_once(scenario, pad).map(drop));
    match thread.map(|t| t.join()) {
        Ok(Ok(Ok(()))) => ExitCode::SUCCESS,
        Ok(Ok(Err(e))) => {
            eprintln!("{e}");
            ExitCode::from(3)
        }
        Ok(Err(_)) | Err(_) => ExitCode::from(4),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [cmd, scenario, pad] if cmd == "probe" => probe(scenario, pad),
        [] => match report() {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("herald-picoserve-footprint: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: herald-picoserve-footprint");
            ExitCode::from(2)
        }
    }
}
