//! Runs one core benchmark row a given number of times, for instruction counting under
//! `valgrind --tool=callgrind` (see `benches/callgrind.sh`): the script runs each row with
//! 0 and with N iterations and divides the difference by N, so set-up cost cancels out.
//!
//! Usage: `core_rows ROW ITERATIONS`, where ROW is one of the names `--list` prints.

use std::hint::black_box;

use herald_benches::{AeadLimit, Limit, NOW, SECRET, texts};
use herald_core::codec::{self, Header};
use herald_core::truncate::{self, Policy};
use herald_core::{Cipher, Level, Message, MessageList, Seal, Signer};

type BigList = MessageList<16384, 256>;

fn list(n: usize) -> BigList {
    let mut l = BigList::new();
    for t in texts(n) {
        l.push(Message::new(Level::SUCCESS, &t)).unwrap();
    }
    l
}

const ROWS: &[&str] = &[
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
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--list") {
        for r in ROWS {
            println!("{r}");
        }
        return;
    }
    let row = args
        .get(1)
        .expect("usage: core_rows ROW ITERATIONS")
        .as_str();
    let iters: usize = args
        .get(2)
        .and_then(|s| s.parse().ok())
        .expect("ITERATIONS");
    let (kind, n) = row.split_once('/').expect("ROW is name/count");
    let n: usize = n.parse().expect("count");
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
    assert_eq!(lvalue.len(), value.len());
    let mut scratch = vec![0u8; 32768];
    let mut into = BigList::new();
    // The encrypted rows: the cipher and the AEAD limit on the same bytes.
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
    assert_eq!(elvalue.len(), evalue.len());
    for _ in 0..iters {
        match kind {
            "herald_encrypt" => {
                let v = cipher
                    .with_nonce(nonce)
                    .seal_messages(&header, black_box(l.view()), &mut out)
                    .unwrap();
                black_box(v.len());
            }
            "limit_encrypt" => {
                black_box(aead.encrypt(black_box(&mut ebuf), raw_len, &mut lout));
            }
            "herald_decrypt" => {
                into.clear();
                let opened = cipher
                    .open(black_box(evalue.as_bytes()), NOW, None, &mut scratch)
                    .unwrap();
                codec::decode_body(opened.body, &mut into).unwrap();
                black_box(into.len());
            }
            "limit_decrypt" => {
                black_box(aead.decrypt(black_box(&elvalue), &mut scratch));
            }
            "herald_encode" => {
                let v = codec::seal_body(&header, black_box(l.view()), &signer, &mut out).unwrap();
                black_box(v.len());
            }
            "herald_decode" => {
                into.clear();
                let opened = signer
                    .open(black_box(value.as_bytes()), NOW, None, &mut scratch)
                    .unwrap();
                codec::decode_body(opened.body, &mut into).unwrap();
                black_box(into.len());
            }
            "limit_decode" => {
                black_box(limit.verify(black_box(&lvalue), &mut scratch));
            }
            k if k.starts_with("herald_truncate") => {
                let f = truncate::fit(black_box(l.view()), policy, NOW, 2048);
                let h = Header {
                    issued_at: NOW,
                    continued: f.continued,
                };
                let v = codec::seal_body(&h, l.slice(f.kept), &signer, &mut out).unwrap();
                black_box(v.len());
            }
            k if k.starts_with("limit_") => {
                black_box(limit.sign(black_box(&mut buf), raw_len, &mut lout));
            }
            other => panic!("unknown row {other}"),
        }
    }
}
