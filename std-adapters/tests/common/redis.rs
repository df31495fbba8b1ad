//! A real `redis-server` for tests: started on a free loopback port with persistence off,
//! ready once PING answers, killed on drop. A missing `redis-server` fails the test unless
//! the Redis tests are deselected (see [`super::live`]).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::live;

pub struct RedisServer {
    bin: PathBuf,
    child: Option<Child>,
    pub port: u16,
}

impl RedisServer {
    /// Starts `redis-server` for the live test `test` on a free loopback port.
    ///
    /// Returns `None` only when the Redis tests are deselected (`HERALD_SKIP_LIVE=redis` or
    /// `=all`), after reporting that `test` did not run (see [`super::live`]). When
    /// `redis-server` is missing (not on `PATH`, or not at `HERALD_REDIS_SERVER`) and the
    /// tests are not deselected, panics with a message saying how to install it.
    pub fn start_or_skip(test: &str) -> Option<Self> {
        let bin = live::require(live::Group::Redis, test, live::redis_server_from_env)?;
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").expect("free port");
            l.local_addr().expect("addr").port()
        };
        let mut server = RedisServer {
            bin,
            child: None,
            port,
        };
        server.spawn();
        Some(server)
    }

    fn spawn(&mut self) {
        let child = Command::new(&self.bin)
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
        self.spawn();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
    }
}
