//! Runs the picoserve example on the host with tokio.
//!
//! ```sh
//! cargo run -p herald-picoserve-example            # http://127.0.0.1:3001
//! cargo run -p herald-picoserve-example -- 127.0.0.1:0   # any free port
//! ```
//!
//! The address comes from the first argument, else `HERALD_PICOSERVE_ADDR`, else
//! `127.0.0.1:3001`; the minimum level from `HERALD_MIN_LEVEL` (a tag or a number, default
//! `info`). Once listening it prints `listening on http://ADDR` on stdout.
//!
//! The signing secret comes from `HERALD_SECRET`, which must hold at least
//! [`MIN_SECRET_LEN`] bytes (the program refuses to start otherwise). Without it the
//! program draws a random secret from the operating system for this run and says so on
//! stderr: messages still work, but cookies from before a restart are no longer accepted.
//! There is no built-in secret.
//!
//! Only this file uses std: the socket, the environment, the random secret and the clock.
//! Each connection is
//! served by picoserve in its own task with a fixed [`HTTP_BUFFER_LEN`]-byte buffer, as
//! one embassy task per socket would on a device.

use std::io::Write as _;
use std::net::SocketAddr;
use std::process::ExitCode;
use std::rc::Rc;
use std::time::{SystemTime, UNIX_EPOCH};

use herald_core::Level;
use herald_picoserve_example::{Flash, HTTP_BUFFER_LEN, MIN_SECRET_LEN, app, form::parse_level};

const DEFAULT_ADDR: &str = "127.0.0.1:3001";

static CONFIG: picoserve::Config = picoserve::Config::const_default().keep_connection_alive();

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("herald-picoserve-example: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let addr = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("HERALD_PICOSERVE_ADDR").ok())
        .unwrap_or_else(|| DEFAULT_ADDR.to_string());
    let addr: SocketAddr = addr
        .parse()
        .map_err(|e| format!("bad address {addr:?}: {e}"))?;
    let secret = secret()?;
    let min_level = match std::env::var("HERALD_MIN_LEVEL") {
        Ok(level) => parse_level(&level).ok_or(format!("bad HERALD_MIN_LEVEL {level:?}"))?,
        Err(_) => Level::INFO,
    };
    let flash =
        Flash::new(&secret, &[], min_level, unix_now).map_err(|e| format!("signer: {e}"))?;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?;
    runtime.block_on(serve(addr, flash))
}

/// The signing secret: `HERALD_SECRET`'s bytes, or a random one for this run.
fn secret() -> Result<Vec<u8>, String> {
    match std::env::var_os("HERALD_SECRET") {
        Some(value) => {
            let secret = value.into_encoded_bytes();
            if secret.len() < MIN_SECRET_LEN {
                return Err(format!(
                    "HERALD_SECRET is {} bytes long; use at least {MIN_SECRET_LEN} random bytes",
                    secret.len()
                ));
            }
            Ok(secret)
        }
        None => {
            let mut secret = vec![0u8; MIN_SECRET_LEN];
            getrandom::fill(&mut secret)
                .map_err(|e| format!("cannot draw a random secret: {e}"))?;
            eprintln!(
                "HERALD_SECRET is not set: signing with a random secret generated for this run \
                 (messages cookies from earlier runs will be ignored)"
            );
            Ok(secret)
        }
    }
}

async fn serve(addr: SocketAddr, flash: Flash) -> Result<(), String> {
    let app = Rc::new(app(flash));
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot bind {addr}: {e}"))?;
    let bound = listener.local_addr().map_err(|e| e.to_string())?;
    println!("listening on http://{bound}");
    std::io::stdout().flush().map_err(|e| e.to_string())?;

    tokio::task::LocalSet::new()
        .run_until(async move {
            loop {
                let (stream, peer) = match listener.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        eprintln!("accept: {e}");
                        continue;
                    }
                };
                let app = Rc::clone(&app);
                tokio::task::spawn_local(async move {
                    let mut http_buffer = [0u8; HTTP_BUFFER_LEN];
                    let server = picoserve::Server::new_tokio(&app, &CONFIG, &mut http_buffer);
                    if let Err(e) = server.serve(stream).await {
                        eprintln!("{peer}: {e:?}");
                    }
                });
            }
        })
        .await
}
