//! The core rows' workloads, one operation at a time: what `core_rows` runs under callgrind
//! and `core_ratios` times side by side with its limit. The lists, keys and values are the
//! criterion rows' own (`benches/benches/core.rs`): 1 to 200 messages of about 60
//! characters, truncation of 200 into 2048 bytes.

use std::hint::black_box;

use herald_core::codec::{self, Header};
use herald_core::truncate::{self, Policy};
use herald_core::{Cipher, Level, Message, MessageList, Open, Seal, Signer};

use crate::{AeadLimit, Limit, NOW, SECRET, texts};

type BigList = MessageList<16384, 256>;

/// Every row name, herald's and its limit's (`herald_X/N` is measured against `limit_X/N`).
pub const ROWS: &[&str] = &[
    "herald_encode/1",
    "limit_encode/1",
    "herald_decode/1",
    "limit_decode/1",
    "herald_encode/10",
    "limit_encode/10",
    "herald_decode/10",
    "limit_decode/10",
    "herald_encode/50",
    "limit_encode/50",
    "herald_decode/50",
    "limit_decode/50",
    "herald_encode/200",
    "limit_encode/200",
    "herald_decode/200",
    "limit_decode/200",
    "herald_truncate_keep_newest/200",
    "limit_truncate_keep_newest/200",
    "herald_truncate_keep_oldest/200",
    "limit_truncate_keep_oldest/200",
    "herald_encrypt/1",
    "limit_encrypt/1",
    "herald_decrypt/1",
    "limit_decrypt/1",
    "herald_encrypt/10",
    "limit_encrypt/10",
    "herald_decrypt/10",
    "limit_decrypt/10",
    "herald_encrypt/50",
    "limit_encrypt/50",
    "herald_decrypt/50",
    "limit_decrypt/50",
    "herald_encrypt/200",
    "limit_encrypt/200",
    "herald_decrypt/200",
    "limit_decrypt/200",
];

fn list(n: usize) -> BigList {
    let mut l = BigList::new();
    for t in texts(n) {
        l.push(Message::new(Level::SUCCESS, &t)).unwrap();
    }
    l
}

/// One row, set up: its list, keys, values and buffers. [`Work::run`] does one operation.
pub struct Work {
    kind: String,
    policy: Policy,
    header: Header,
    raw_len: usize,
    list: BigList,
    signer: Signer,
    limit: Limit,
    cipher: Cipher,
    aead: AeadLimit,
    nonce: [u8; 24],
    value: String,
    lvalue: Vec<u8>,
    evalue: String,
    elvalue: Vec<u8>,
    out: Vec<u8>,
    lout: Vec<u8>,
    buf: Vec<u8>,
    ebuf: Vec<u8>,
    scratch: Vec<u8>,
    into: BigList,
}

impl Work {
    /// The row named `row` (one of [`ROWS`]), or `None` for another name.
    pub fn new(row: &str) -> Option<Work> {
        if !ROWS.contains(&row) {
            return None;
        }
        let (kind, n) = row.split_once('/')?;
        let n: usize = n.parse().ok()?;
        let signer: Signer = Signer::new(SECRET, "herald.messages", "messages", &[]).unwrap();
        let limit = Limit::new();
        let l = list(n);
        let policy = if kind.contains("keep_oldest") {
            Policy::KeepOldest
        } else {
            Policy::KeepNewest
        };
        let (range, continued) = if kind.contains("truncate") {
            let f = truncate::fit(l.view(), policy, NOW, 2048);
            (f.kept, f.continued)
        } else {
            (0..n, false)
        };
        let header = Header {
            issued_at: NOW,
            continued,
        };
        let raw_len = codec::body_len(&header, l.slice(range.clone()));
        let mut out = vec![0u8; 32768];
        let value = codec::seal_body(&header, l.slice(range.clone()), &signer, &mut out)
            .unwrap()
            .to_owned();
        let mut buf = vec![7u8; raw_len + 32];
        let mut lout = vec![0u8; 32768];
        let lvalue = {
            let k = limit.sign(&mut buf, raw_len, &mut lout);
            lout[..k].to_vec()
        };
        assert_eq!(
            lvalue.len(),
            value.len(),
            "the limit works on the same bytes"
        );
        let cipher: Cipher = Cipher::new(SECRET, "herald.messages", "messages", &[]).unwrap();
        let aead = AeadLimit::new();
        let nonce = [9u8; 24];
        let evalue = cipher
            .with_nonce(nonce)
            .seal_messages(&header, l.slice(range.clone()), &mut out)
            .unwrap()
            .to_owned();
        let mut ebuf = vec![7u8; 24 + raw_len + 16];
        let elvalue = {
            let k = aead.encrypt(&mut ebuf, raw_len, &mut lout);
            lout[..k].to_vec()
        };
        assert_eq!(
            elvalue.len(),
            evalue.len(),
            "the limit works on the same bytes"
        );
        Some(Work {
            kind: kind.to_owned(),
            policy,
            header,
            raw_len,
            list: l,
            signer,
            limit,
            cipher,
            aead,
            nonce,
            value,
            lvalue,
            evalue,
            elvalue,
            out,
            lout,
            buf,
            ebuf,
            scratch: vec![0u8; 32768],
            into: BigList::new(),
        })
    }

    /// Does the row's operation once.
    pub fn run(&mut self) {
        match self.kind.as_str() {
            "herald_encrypt" => {
                let v = self
                    .cipher
                    .with_nonce(self.nonce)
                    .seal_messages(&self.header, black_box(self.list.view()), &mut self.out)
                    .unwrap();
                black_box(v.len());
            }
            "limit_encrypt" => {
                black_box(self.aead.encrypt(
                    black_box(&mut self.ebuf),
                    self.raw_len,
                    &mut self.lout,
                ));
            }
            "herald_decrypt" => open_and_decode(
                &self.cipher,
                &self.evalue,
                &mut self.scratch,
                &mut self.into,
            ),
            "limit_decrypt" => {
                black_box(
                    self.aead
                        .decrypt(black_box(&self.elvalue), &mut self.scratch),
                );
            }
            "herald_encode" => {
                let v = codec::seal_body(
                    &self.header,
                    black_box(self.list.view()),
                    &self.signer,
                    &mut self.out,
                )
                .unwrap();
                black_box(v.len());
            }
            "herald_decode" => {
                open_and_decode(&self.signer, &self.value, &mut self.scratch, &mut self.into)
            }
            "limit_decode" => {
                black_box(
                    self.limit
                        .verify(black_box(&self.lvalue), &mut self.scratch),
                );
            }
            k if k.starts_with("herald_truncate") => {
                let f = truncate::fit(black_box(self.list.view()), self.policy, NOW, 2048);
                let h = Header {
                    issued_at: NOW,
                    continued: f.continued,
                };
                let v = codec::seal_body(&h, self.list.slice(f.kept), &self.signer, &mut self.out)
                    .unwrap();
                black_box(v.len());
            }
            k if k.starts_with("limit_") => {
                black_box(
                    self.limit
                        .sign(black_box(&mut self.buf), self.raw_len, &mut self.lout),
                );
            }
            other => unreachable!("row kinds are checked by Work::new: {other}"),
        }
    }
}

/// herald's read of a value: open it (verify or decrypt) and decode its messages.
fn open_and_decode(opener: &impl Open, value: &str, scratch: &mut [u8], into: &mut BigList) {
    into.clear();
    let opened = opener
        .open(black_box(value.as_bytes()), NOW, None, scratch)
        .unwrap();
    codec::decode_body(opened.body, into).unwrap();
    black_box(into.len());
}
