//! herald-core against the physical limit: encode+sign and verify+decode for 1, 10, 50 and 200
//! messages of ~60 characters, and truncation of 200 messages into 2048 bytes (both
//! policies), each beside HMAC-SHA256 + base64url over exactly the same number of bytes;
//! and encrypt+encode, decode+decrypt (feature `encryption`) beside XChaCha20-Poly1305 +
//! base64url of the same bytes.
//! `cargo run -p herald-benches --bin report` prints the ratios.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
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

fn signer() -> Signer {
    Signer::new(SECRET, "herald.messages", "messages", &[]).unwrap()
}

fn encode_decode(c: &mut Criterion) {
    let signer = signer();
    let limit = Limit::new();
    let mut g = c.benchmark_group("core");
    for n in [1usize, 10, 50, 200] {
        let l = list(n);
        let header = Header {
            issued_at: NOW,
            continued: false,
        };
        let raw_len = codec::body_len(&header, l.view());
        let mut out = vec![0u8; 32768];
        let value = codec::seal_body(&header, l.view(), &signer, &mut out)
            .unwrap()
            .to_owned();

        g.bench_function(format!("herald_encode/{n}"), |b| {
            b.iter(|| {
                let v = codec::seal_body(&header, black_box(l.view()), &signer, &mut out).unwrap();
                black_box(v.len())
            })
        });
        let mut buf = vec![7u8; raw_len + 32];
        let mut lout = vec![0u8; 32768];
        g.bench_function(format!("limit_encode/{n}"), |b| {
            b.iter(|| black_box(limit.sign(black_box(&mut buf), raw_len, &mut lout)))
        });

        let mut scratch = vec![0u8; 32768];
        let mut into = BigList::new();
        g.bench_function(format!("herald_decode/{n}"), |b| {
            b.iter(|| {
                into.clear();
                let opened = signer
                    .open(black_box(value.as_bytes()), NOW, None, &mut scratch)
                    .unwrap();
                codec::decode_body(opened.body, &mut into).unwrap();
                black_box(into.len())
            })
        });
        let lvalue = {
            let n = limit.sign(&mut buf, raw_len, &mut lout);
            lout[..n].to_vec()
        };
        assert_eq!(
            lvalue.len(),
            value.len(),
            "the limit works on the same number of bytes"
        );
        g.bench_function(format!("limit_decode/{n}"), |b| {
            b.iter(|| black_box(limit.verify(black_box(&lvalue), &mut scratch)))
        });
    }

    // Encrypted cookies: the same lists, the cipher against the AEAD's own limit.
    let cipher: Cipher = Cipher::new(SECRET, "herald.messages", "messages", &[]).unwrap();
    let aead = AeadLimit::new();
    for n in [1usize, 10, 50, 200] {
        let l = list(n);
        let header = Header {
            issued_at: NOW,
            continued: false,
        };
        let raw_len = codec::body_len(&header, l.view());
        let mut out = vec![0u8; 32768];
        let nonce = [9u8; 24];
        let value = cipher
            .with_nonce(nonce)
            .seal_messages(&header, l.view(), &mut out)
            .unwrap()
            .to_owned();
        g.bench_function(format!("herald_encrypt/{n}"), |b| {
            b.iter(|| {
                let v = cipher
                    .with_nonce(nonce)
                    .seal_messages(&header, black_box(l.view()), &mut out)
                    .unwrap();
                black_box(v.len())
            })
        });
        let mut buf = vec![7u8; 24 + raw_len + 16];
        let mut lout = vec![0u8; 32768];
        g.bench_function(format!("limit_encrypt/{n}"), |b| {
            b.iter(|| black_box(aead.encrypt(black_box(&mut buf), raw_len, &mut lout)))
        });
        let mut scratch = vec![0u8; 32768];
        let mut into = BigList::new();
        g.bench_function(format!("herald_decrypt/{n}"), |b| {
            b.iter(|| {
                into.clear();
                let opened = cipher
                    .open(black_box(value.as_bytes()), NOW, None, &mut scratch)
                    .unwrap();
                codec::decode_body(opened.body, &mut into).unwrap();
                black_box(into.len())
            })
        });
        let lvalue = {
            let n = aead.encrypt(&mut buf, raw_len, &mut lout);
            lout[..n].to_vec()
        };
        assert_eq!(
            lvalue.len(),
            value.len(),
            "the limit works on the same bytes"
        );
        g.bench_function(format!("limit_decrypt/{n}"), |b| {
            b.iter(|| black_box(aead.decrypt(black_box(&lvalue), &mut scratch)))
        });
    }

    let l = list(200);
    for (name, policy) in [
        ("keep_newest", Policy::KeepNewest),
        ("keep_oldest", Policy::KeepOldest),
    ] {
        let mut out = vec![0u8; 4096];
        let fit = truncate::fit(l.view(), policy, NOW, 2048);
        let header = Header {
            issued_at: NOW,
            continued: fit.continued,
        };
        let value_len = codec::seal_body(&header, l.slice(fit.kept.clone()), &signer, &mut out)
            .unwrap()
            .len();
        assert!(value_len <= 2048);
        g.bench_function(format!("herald_truncate_{name}/200"), |b| {
            b.iter(|| {
                let fit = truncate::fit(black_box(l.view()), policy, NOW, 2048);
                let header = Header {
                    issued_at: NOW,
                    continued: fit.continued,
                };
                let v = codec::seal_body(&header, l.slice(fit.kept), &signer, &mut out).unwrap();
                black_box(v.len())
            })
        });
        let raw_len = codec::body_len(&header, l.slice(fit.kept.clone()));
        let mut buf = vec![7u8; raw_len + 32];
        let mut lout = vec![0u8; 4096];
        g.bench_function(format!("limit_truncate_{name}/200"), |b| {
            b.iter(|| black_box(limit.sign(black_box(&mut buf), raw_len, &mut lout)))
        });
    }
    g.finish();
}

criterion_group!(benches, encode_decode);
criterion_main!(benches);
