//! A real `redis-server` for tests: started on a free loopback port with persistence off,
//! ready once PING answers, killed on drop. A missing `redis-server` fails the test unless
//! the Redis tests are deselected (see [`super::live`]).

use std::io::{BufRead, BufReader, Read, Write};
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

    /// Sends one command (each argument a bulk string) and reads its whole reply.
    pub fn call(&self, args: &[&[u8]]) -> Reply {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to redis");
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        s.write_all(&req).expect("send to redis");
        Reply::read(&mut BufReader::new(s))
    }

    /// Every value stored under a key (`KEYS *`, then `GET` each).
    pub fn values(&self) -> Vec<Vec<u8>> {
        let Reply::Array(keys) = self.call(&[b"KEYS", b"*"]) else {
            panic!("KEYS: not an array");
        };
        keys.into_iter()
            .filter_map(|k| match k {
                Reply::Bulk(Some(k)) => match self.call(&[b"GET", &k]) {
                    Reply::Bulk(v) => v,
                    other => panic!("GET: {other:?}"),
                },
                other => panic!("KEYS: {other:?}"),
            })
            .collect()
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

/// One RESP reply.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    /// `None` for the null bulk string.
    Bulk(Option<Vec<u8>>),
    Array(Vec<Reply>),
}

impl Reply {
    fn read(r: &mut impl BufRead) -> Reply {
        let mut line = String::new();
        r.read_line(&mut line).expect("read a redis reply");
        let line = line.trim_end_matches("\r\n");
        let (kind, rest) = line.split_at(1);
        let int = || rest.parse::<i64>().expect("an integer in a redis reply");
        match kind {
            "+" => Reply::Simple(rest.to_owned()),
            "-" => Reply::Error(rest.to_owned()),
            ":" => Reply::Integer(int()),
            "$" if int() < 0 => Reply::Bulk(None),
            "$" => {
                let mut buf = vec![0u8; int() as usize + 2];
                r.read_exact(&mut buf).expect("read a bulk string");
                buf.truncate(buf.len() - 2);
                Reply::Bulk(Some(buf))
            }
            "*" => Reply::Array((0..int().max(0)).map(|_| Reply::read(r)).collect()),
            _ => panic!("not a RESP reply: {line:?}"),
        }
    }
}

/// A tower-sessions Redis store over the server at `url`, connected with
/// `herald_flash::redis::connect` and its defaults (fail fast, reconnect by itself).
pub async fn session_store(url: &str) -> herald_flash::redis::Store {
    // The one documented way to connect, as the demo and the examples do.
    herald_flash::redis::connect(url, &herald_flash::redis::RedisOptions::default())
        .await
        .expect("connect to redis")
}
