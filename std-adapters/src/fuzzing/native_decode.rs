//! `native_decode`: any bytes as a herald cookie value, and as a raw body.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use herald_core::codec::{self, DecodeError, Header};
use herald_core::signer::{self, KeyUsed, MAC_LEN, MAX_RAW_LEN, MAX_VALUE_LEN, OpenError};
use herald_core::{Inbox, LoadError, Loaded, MessageList, Storage};

use super::{Owned, old_signer, signer};

/// The capacities of the default [`Inbox`].
type Full = MessageList<3072, 32>;
/// A much smaller list, to reach the capacity errors.
type Small = MessageList<64, 3>;

/// Any bytes, taken two ways.
///
/// **As a cookie value** (what a client can send): through [`Inbox::load_cookie`] (under
/// cookie and fallback storage) and [`Signer::open`](herald_core::Signer::open).
/// * It never panics, and a value over
///   [`MAX_VALUE_LEN`] characters is refused as
///   `TooLong` before any work.
/// * Nothing is accepted without a valid MAC: when the inbox accepts the value, the
///   input is canonical base64url of `body || tag` and `tag` equals
///   [`Signer::mac`](herald_core::Signer::mac) of `body` under the key that the inbox
///   reported (current or fallback).
/// * The inbox holds exactly what [`codec::decode_body_at`] makes of that body at the
///   load's time (expired messages dropped and counted, R-11.5); the body re-encodes
///   canonically to at most its own length (postcard accepts over-long varints, so only a
///   canonical body re-encodes byte for byte; a format-1 body re-encodes as format 2,
///   which differs in the version byte only), and when it is canonical and of the current
///   format, re-sealing the decoded messages reproduces the input value exactly.
///
/// **As a body** (what only a key holder can produce): [`codec::decode_body`] never
/// panics, leaves the destination list untouched on error, and agrees with
/// [`codec::peek_issued_at`], a smaller list (same answer or a capacity error), a
/// re-encode (`decode(encode(decoded)) == decoded`, exact size prediction), and the inbox
/// loading the same body sealed with the real key.
pub fn native_decode(data: &[u8]) {
    as_cookie_value(data);
    as_body(data);
}

fn as_cookie_value(data: &[u8]) {
    let signer = signer();
    let mut scratch = [0u8; MAX_RAW_LEN];
    let opened = signer.open(data, 0, None, &mut scratch);
    if data.len() > MAX_VALUE_LEN {
        assert_eq!(
            opened,
            Err(OpenError::TooLong),
            "over-long value not refused"
        );
    }
    for storage in [Storage::Cookie, Storage::Fallback] {
        let mut inbox: Inbox = Inbox::new(storage, herald_core::Level::INFO);
        let loaded = inbox.load_cookie(Some(data), signer, 0, None);
        super::load_agrees_with_open(data, &loaded, &opened, "signer");
        let Ok(Loaded::Messages {
            count,
            expired,
            continued,
            key,
        }) = loaded
        else {
            if loaded.is_err() {
                assert_eq!(inbox.len(), 0, "a refused value left messages behind");
            }
            continue;
        };
        // An accepted value: check the MAC independently of `open`.
        let raw = URL_SAFE_NO_PAD
            .decode(data)
            .expect("an accepted value is base64url");
        assert_eq!(
            URL_SAFE_NO_PAD.encode(&raw).as_bytes(),
            data,
            "an accepted value is canonical base64url"
        );
        assert!(raw.len() > MAC_LEN);
        let (body, tag) = raw.split_at(raw.len() - MAC_LEN);
        let expected = match key {
            KeyUsed::Current => signer.mac(body),
            KeyUsed::Fallback(0) => old_signer().mac(body),
            KeyUsed::Fallback(i) => panic!("no fallback key {i}"),
        };
        assert_eq!(tag, expected, "accepted without a valid MAC");
        // The inbox holds exactly the decoded body, less what had expired at its time.
        let mut list = Full::new();
        let header = codec::decode_body(body, &mut list).expect("an accepted body decodes");
        let mut unexpired = Full::new();
        let at = codec::decode_body_at(body, &mut unexpired, 0).expect("it decoded");
        assert_eq!(
            (count, expired, continued),
            (unexpired.len(), at.expired, header.continued)
        );
        assert_eq!((at.count, at.header), (list.len(), header));
        let held: Vec<Owned> = inbox.iter().map(|m| Owned::of(&m)).collect();
        assert_eq!(held.len(), unexpired.len());
        for (h, m) in held.iter().zip(unexpired.iter()) {
            assert!(h.same_as(&m), "inbox holds {h:?}, body has {m:?}");
        }
        // Re-encoding: canonical, never longer; equal length means identical bytes, and
        // then re-sealing reproduces the value.
        let mut enc = vec![0u8; codec::body_len(&header, list.view())];
        let n = codec::encode_body(&header, list.view(), &mut enc).expect("exact size");
        assert_eq!(n, enc.len());
        assert!(
            enc.len() <= body.len(),
            "canonical encoding longer than input"
        );
        if enc.len() == body.len() && body[0] != codec::FORMAT_VERSION {
            assert_eq!(
                enc[1..],
                body[1..],
                "an older format re-encodes but for its version"
            );
        } else if enc.len() == body.len() {
            assert_eq!(enc, body, "same length but different bytes");
            let resigner = if key == KeyUsed::Current {
                signer
            } else {
                old_signer()
            };
            let mut out = [0u8; MAX_VALUE_LEN];
            let resealed = codec::seal_body(&header, list.view(), resigner, &mut out)
                .expect("fits: it was read");
            assert_eq!(resealed.as_bytes(), data, "re-sealing differs");
        }
    }
}

fn as_body(data: &[u8]) {
    // Into a list that already holds a message: an error must leave it untouched.
    let mut prefilled = Full::new();
    prefilled
        .push(herald_core::Message::new(
            herald_core::Level::INFO,
            "already here",
        ))
        .expect("fits");
    if let Err(e) = codec::decode_body(data, &mut prefilled) {
        assert_eq!(
            prefilled.len(),
            1,
            "decode error {e:?} left messages behind"
        );
        assert_eq!(prefilled.bytes_used(), "already here".len());
        assert_eq!(prefilled.get(0).map(|m| m.message), Some("already here"));
    }
    let mut list = Full::new();
    let result = codec::decode_body(data, &mut list);
    let peeked = codec::peek_issued_at(data);
    let header = match result {
        Err(e) => {
            assert!(list.is_empty(), "decode error {e:?} left messages behind");
            check_sealed_body(data, Err(e), &[]);
            return;
        }
        Ok(h) => h,
    };
    assert_eq!(peeked, Ok(header.issued_at), "peek disagrees with decode");
    let decoded: Vec<Owned> = list.iter().map(|m| Owned::of(&m)).collect();
    assert!(
        decoded.iter().all(|m| !m.message.is_empty()),
        "decoded an empty text"
    );
    // A smaller list: the same messages or a capacity error, and untouched on error.
    let mut small = Small::new();
    match codec::decode_body(data, &mut small) {
        Ok(h) => {
            assert_eq!(h, header);
            assert_eq!(small.len(), decoded.len());
        }
        Err(DecodeError::Capacity(_)) => {
            assert!(small.is_empty());
            let bytes: usize = decoded
                .iter()
                .map(|m| m.message.len() + m.extra_tags.as_ref().map_or(0, String::len))
                .sum();
            assert!(decoded.len() > 3 || bytes > 64, "spurious capacity error");
        }
        Err(e) => panic!("small list: {e:?} where the full one decoded"),
    }
    // decode(encode(decoded)) == decoded, with the exact predicted size.
    let view = list.view();
    let predicted = codec::body_len(&header, view);
    let mut enc = vec![0u8; predicted];
    assert_eq!(codec::encode_body(&header, view, &mut enc), Ok(predicted));
    assert!(
        predicted <= data.len(),
        "canonical encoding longer than input"
    );
    if predicted == data.len() && data[0] != codec::FORMAT_VERSION {
        assert_eq!(
            enc[1..],
            data[1..],
            "an older format re-encodes but for its version"
        );
    } else if predicted == data.len() {
        assert_eq!(enc, data, "same length but different bytes");
    }
    let mut again = Full::new();
    assert_eq!(codec::decode_body(&enc, &mut again), Ok(header));
    assert_eq!(again.len(), decoded.len());
    for (a, d) in again.iter().zip(&decoded) {
        assert!(d.same_as(&a), "re-decoded {a:?}, expected {d:?}");
    }
    check_sealed_body(data, Ok(header), &decoded);
}

/// The body sealed with the real key: the inbox must load exactly what `decode_body`
/// made of it.
fn check_sealed_body(body: &[u8], decoded: Result<Header, DecodeError>, msgs: &[Owned]) {
    if body.is_empty() || signer::encoded_len(body.len() + MAC_LEN) > MAX_VALUE_LEN {
        return;
    }
    let mut out = [0u8; MAX_VALUE_LEN];
    let value = signer()
        .seal(body, &mut out)
        .expect("fits by the check above");
    let mut inbox: Inbox = Inbox::new(Storage::Fallback, herald_core::Level::INFO);
    let loaded = inbox.load_cookie(Some(value.as_bytes()), signer(), 0, None);
    match (decoded, loaded) {
        (
            Ok(h),
            Ok(Loaded::Messages {
                count,
                expired,
                continued,
                key,
            }),
        ) => {
            // The load's time is 0: only a message expiring at 0 has expired.
            let shown: Vec<&Owned> = msgs.iter().filter(|m| m.expires_at != Some(0)).collect();
            assert_eq!(
                (count, expired, continued, key),
                (
                    shown.len(),
                    msgs.len() - shown.len(),
                    h.continued,
                    KeyUsed::Current
                )
            );
            let held: Vec<Owned> = inbox.iter().map(|m| Owned::of(&m)).collect();
            assert_eq!(held.len(), shown.len());
            for (h, m) in held.iter().zip(shown) {
                assert!(m.same_as(&h.as_message()));
            }
        }
        // A header `open` already refuses is reported by `open`; the rest by the decoder.
        (Err(_), Err(LoadError::Open(OpenError::Body(o)))) => {
            assert_eq!(codec::peek_issued_at(body), Err(o));
        }
        (Err(e), Err(LoadError::Decode(d))) => assert_eq!(e, d),
        (d, l) => panic!("decode_body said {d:?}, the inbox {l:?}"),
    }
}
