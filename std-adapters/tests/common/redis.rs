//! A real `redis-server` for tests: started on a free loopback port with persistence off,
//! ready once PING answers, killed on drop.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
}

/// The `redis-server` binary, if installed.
fn binary() -> Option<String> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join("redis-server"))
        .find(|p| p.is_file())
        .map(|p| p.to_string_lossy().into_owned())
}

impl RedisServer {
    /// Starts redis-server, or — when it is not installed — fails under CI (env `CI` set)
    /// and otherwise says so loudly and returns `None` so the caller skips.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        let Some(bin) = binary() else {
            let msg = format!(
                "redis-server is not installed: test `{test}` needs it (apt-get install -y redis-server)"
            );
            if std::env::var_os("CI").is_some() {
                panic!("{msg}");
            }
            eprintln!("\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!");
            eprintln!("!!! SKIPPED: {msg}");
            eprintln!("!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n");
            return None;
        };
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("addr").port()
        };
        let mut server = RedisServer { child: None, port };
        server.spawn(&bin);
        Some(server)
    }

    fn spawn(&mut self, bin: &str) {
        let child = Command::new(bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if self.command(b"*1\r\n$4\r\nPING\r\n").as_deref() == Some("+PONG\r\n") {
                return;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!(
            "redis-server on port {} did not answer PING within 10 s",
            self.port
        );
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Sends one raw RESP command and returns the first reply chunk.
    pub fn command(&self, resp: &[u8]) -> Option<String> {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.write_all(resp).ok()?;
        let mut buf = [0u8; 512];
        let n = s.read(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).into_owned())
    }

    /// The number of keys (`DBSIZE`).
    pub fn dbsize(&self) -> usize {
        let reply = self.command(b"*1\r\n$6\r\nDBSIZE\r\n").expect("DBSIZE");
        reply
            .trim_start_matches(':')
            .trim()
            .parse()
            .expect("integer reply")
    }

    /// Kills the server (the data is lost: persistence is off).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port.
    pub fn restart(&mut self) {
        self.kill();
        let bin = binary().expect("redis-server");
        self.spawn(&bin);
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
