//! `django.core.signing` for the messages cookie (RULES §3): base62 timestamps, Python's
//! non-validating base64 decoder, `salted_hmac`, the `TimestampSigner` layout with
//! fallback keys, and `sign_object`'s compress-if-smaller rule.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use herald_core::signer::KeyUsed;

use super::{DecodeError, MAX_INFLATED_LEN};

type HmacSha256 = Hmac<Sha256>;

/// The prefix `get_cookie_signer` puts in front of `SECRET_KEY`.
pub(crate) const SIGNER_KEY_PREFIX: &[u8] = b"django.http.cookies";
/// The HMAC key salt of the messages signer: `"django.contrib.messages" + "signer"`.
pub(crate) const HMAC_KEY_SALT: &[u8] = b"django.contrib.messagessigner";
/// Length of a signature: base64url without padding of a SHA-256 digest.
pub(crate) const SIGNATURE_LEN: usize = 43;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `django.core.signing.b62_encode`.
#[doc(hidden)]
pub fn b62_encode(n: i64) -> String {
    if n == 0 {
        return "0".to_owned();
    }
    let mut v = n.unsigned_abs();
    let mut digits = Vec::with_capacity(12);
    while v > 0 {
        digits.push(BASE62[(v % 62) as usize]);
        v /= 62;
    }
    if n < 0 {
        digits.push(b'-');
    }
    digits.reverse();
    String::from_utf8(digits).expect("ASCII")
}

/// `django.core.signing.b62_decode`: `"0"` is 0, a leading `-` negates (so `"-"`
/// alone is 0), every other character must be a base-62 digit. Values beyond the `i64`
/// range saturate. `None` where Python raises (an empty string or a bad digit).
#[doc(hidden)]
pub fn b62_decode(s: &str) -> Option<i64> {
    if s == "0" {
        return Some(0);
    }
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    let mut v: i128 = 0;
    for b in digits.bytes() {
        let d = BASE62.iter().position(|&c| c == b)? as i128;
        v = (v * 62 + d).min(i128::from(i64::MAX) + 1);
    }
    let v = if neg { -v } else { v };
    Some(v.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64)
}

/// `django.core.signing.b64_decode`: pads with `"=" * (-len % 4)` and decodes in
/// Python's non-validating mode (`binascii.a2b_base64(strict_mode=False)` after
/// `urlsafe_b64decode`'s `-_` → `+/` translation): bytes outside the alphabet are skipped,
/// a pad sequence ends the input once it completes a quantum, and a leftover of one data
/// character ("cannot be 1 more than a multiple of 4") or an unfinished quantum
/// ("Incorrect padding") is an error.
#[doc(hidden)]
pub fn python_b64_decode(input: &[u8]) -> Result<Vec<u8>, &'static str> {
    // Fast path: only URL-safe alphabet characters (every value Django writes). Python
    // then decodes exactly as a padding-free decoder that ignores the unused low bits.
    if input
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
        && let Ok(out) = LENIENT_URL_SAFE.decode(input)
    {
        return Ok(out);
    }
    python_b64_decode_exact(input)
}

/// base64url without padding, accepting non-zero unused bits (as Python does).
const LENIENT_URL_SAFE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone),
);

/// CPython's `a2b_base64(strict_mode=False)` loop, after Django's padding.
fn python_b64_decode_exact(input: &[u8]) -> Result<Vec<u8>, &'static str> {
    let pad = (4 - input.len() % 4) % 4;
    let mut out = Vec::with_capacity(input.len().div_ceil(4) * 3);
    let mut quad_pos = 0u8;
    let mut left: u8 = 0;
    let mut pads = 0u8;
    for &ch in input.iter().chain(std::iter::repeat_n(&b'=', pad)) {
        if ch == b'=' {
            if quad_pos >= 2 {
                pads += 1;
                if quad_pos + pads >= 4 {
                    return Ok(out);
                }
            }
            continue;
        }
        let v = match ch {
            b'A'..=b'Z' => ch - b'A',
            b'a'..=b'z' => ch - b'a' + 26,
            b'0'..=b'9' => ch - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => continue,
        };
        pads = 0;
        match quad_pos {
            0 => {
                quad_pos = 1;
                left = v;
            }
            1 => {
                quad_pos = 2;
                out.push((left << 2) | (v >> 4));
                left = v & 0x0f;
            }
            2 => {
                quad_pos = 3;
                out.push((left << 4) | (v >> 2));
                left = v & 0x03;
            }
            _ => {
                quad_pos = 0;
                out.push((left << 6) | v);
                left = 0;
            }
        }
    }
    match quad_pos {
        0 => Ok(out),
        1 => Err("number of data characters cannot be 1 more than a multiple of 4"),
        _ => Err("Incorrect padding"),
    }
}

/// One signing key: the `salted_hmac` state for `b"django.http.cookies" + secret`
/// keyed once and cloned per signature.
#[derive(Clone)]
pub(crate) struct Key {
    mac: HmacSha256,
}

impl Key {
    pub(crate) fn new(secret: &[u8]) -> Self {
        let derived = Sha256::new()
            .chain_update(HMAC_KEY_SALT)
            .chain_update(SIGNER_KEY_PREFIX)
            .chain_update(secret)
            .finalize();
        Key {
            mac: HmacSha256::new_from_slice(&derived).expect("HMAC accepts keys of any length"),
        }
    }

    /// `Signer.signature(value, key)`: 43 base64url characters.
    pub(crate) fn signature(&self, value: &[u8]) -> [u8; SIGNATURE_LEN] {
        let mut mac = self.mac.clone();
        mac.update(value);
        let digest = mac.finalize().into_bytes();
        let mut out = [0u8; SIGNATURE_LEN];
        let n = URL_SAFE_NO_PAD
            .encode_slice(digest, &mut out)
            .expect("43 bytes hold a 32-byte digest");
        debug_assert_eq!(n, SIGNATURE_LEN);
        out
    }

    /// Whether `digest` (the 32 bytes a signature's text stands for) is this key's
    /// HMAC of `value`, compared in constant time by [`Mac::verify_slice`].
    pub(crate) fn verifies(&self, value: &[u8], digest: &[u8]) -> bool {
        #[cfg(test)]
        HMACS_VERIFIED.with(|n| n.set(n.get() + 1));
        let mut mac = self.mac.clone();
        mac.update(value);
        mac.verify_slice(digest).is_ok()
    }
}

#[cfg(test)]
thread_local! {
    /// How many HMACs [`Key::verifies`] computed on this thread, for the tests that check
    /// that a refused value costs none.
    pub(crate) static HMACS_VERIFIED: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The 32 bytes a signature text stands for, when it is written as [`Key::signature`]
/// writes one: exactly [`SIGNATURE_LEN`] URL-safe base64 characters, no padding, and the
/// two unused low bits of the last character zero. Every other text is refused, so two
/// texts that differ never verify against the same digest, exactly as Django's string
/// comparison behaves.
fn signature_digest(sig: &[u8]) -> Option<[u8; 32]> {
    if sig.len() != SIGNATURE_LEN {
        return None;
    }
    // Room for what 43 characters could hold; a canonical signature fills 32 bytes.
    let mut out = [0u8; 33];
    let n = URL_SAFE_NO_PAD.decode_slice(sig, &mut out).ok()?;
    (n == 32).then(|| out[..32].try_into().expect("32 bytes"))
}

/// The current key and the fallback keys.
#[derive(Clone)]
pub(crate) struct Keys {
    pub(crate) current: Key,
    pub(crate) fallbacks: Vec<Key>,
}

/// What `TimestampSigner.unsign` returns, plus which key verified it.
pub(crate) struct Unsigned<'v> {
    /// The signed part before the timestamp: `[.]BASE64`.
    pub(crate) payload: &'v str,
    pub(crate) timestamp: i64,
    pub(crate) key: KeyUsed,
}

impl Keys {
    /// `Signer.unsign` then `TimestampSigner.unsign`.
    pub(crate) fn unsign<'v>(&self, signed: &'v str) -> Result<Unsigned<'v>, DecodeError> {
        let (value, sig) = signed.rsplit_once(':').ok_or(DecodeError::BadSignature)?;
        // A text no key could have written is refused before any HMAC is computed.
        let digest = signature_digest(sig.as_bytes()).ok_or(DecodeError::BadSignature)?;
        let value_bytes = value.as_bytes();
        let key = if self.current.verifies(value_bytes, &digest) {
            KeyUsed::Current
        } else {
            let i = self
                .fallbacks
                .iter()
                .position(|k| k.verifies(value_bytes, &digest))
                .ok_or(DecodeError::BadSignature)?;
            KeyUsed::Fallback(i)
        };
        let (payload, ts) = value.rsplit_once(':').ok_or(DecodeError::BadTimestamp)?;
        let timestamp = b62_decode(ts).ok_or(DecodeError::BadTimestamp)?;
        Ok(Unsigned {
            payload,
            timestamp,
            key,
        })
    }
}

/// Reusable state for `sign_object`: the zlib stream (level 6, zlib wrapper, window 15,
/// memLevel 8: `zlib.compress` defaults), the compressed bytes and the payload being
/// built. Setting up a deflate stream allocates and clears about 256 KiB, so each thread
/// keeps one ([`with_scratch`]).
pub(crate) struct SignScratch {
    deflate: Compress,
    compressed: Vec<u8>,
    /// The payload buffer of the encoder's probes.
    pub(crate) payload: Vec<u8>,
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Option<SignScratch>> = const { std::cell::RefCell::new(None) };
    static INFLATE: std::cell::RefCell<Option<Decompress>> = const { std::cell::RefCell::new(None) };
}

/// Runs `f` with this thread's [`SignScratch`] (a fresh one if it is already in use).
pub(crate) fn with_scratch<R>(f: impl FnOnce(&mut SignScratch) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => f(slot.get_or_insert_with(SignScratch::new)),
        Err(_) => f(&mut SignScratch::new()),
    })
}

impl SignScratch {
    pub(crate) fn new() -> Self {
        SignScratch {
            deflate: Compress::new(Compression::new(6), true),
            compressed: Vec::new(),
            payload: Vec::new(),
        }
    }

    /// `zlib.compress(data)` into `self.compressed`.
    fn compress(&mut self, data: &[u8]) {
        self.deflate.reset();
        self.compressed.clear();
        self.compressed.reserve(data.len() + data.len() / 8 + 64);
        loop {
            let consumed = self.deflate.total_in() as usize;
            let status = self
                .deflate
                .compress_vec(
                    &data[consumed..],
                    &mut self.compressed,
                    FlushCompress::Finish,
                )
                .expect("deflate on a valid stream cannot fail");
            if status == Status::StreamEnd {
                break;
            }
            self.compressed.reserve(self.compressed.capacity().max(64));
        }
    }

    /// `TimestampSigner.sign_object(data, compress=True)` on already serialized bytes
    /// the value `[.]BASE64:TS:SIG`.
    pub(crate) fn sign_object(&mut self, key: &Key, data: &[u8], timestamp: i64) -> String {
        self.compress(data);
        let use_compressed = self.compressed.len() + 1 < data.len();
        let chosen: &[u8] = if use_compressed {
            &self.compressed
        } else {
            data
        };
        let ts = b62_encode(timestamp);
        let mut out = String::with_capacity(chosen.len() * 4 / 3 + ts.len() + SIGNATURE_LEN + 4);
        if use_compressed {
            out.push('.');
        }
        URL_SAFE_NO_PAD.encode_string(chosen, &mut out);
        out.push(':');
        out.push_str(&ts);
        let sig = key.signature(out.as_bytes());
        out.push(':');
        out.push_str(std::str::from_utf8(&sig).expect("base64 is ASCII"));
        out
    }
}

/// `zlib.decompress(data)` with a bound: a zlib stream with window up to 32 KiB, whose
/// inflated bytes are kept up to [`MAX_INFLATED_LEN`]; bytes after the end of the stream
/// are ignored, a stream that does not end is an error.
///
/// # Errors
/// [`DecodeError::InflatedTooLarge`] past the limit, [`DecodeError::BadCompression`]
/// for a stream that is not zlib or does not end.
pub(crate) fn zlib_decompress(data: &[u8]) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    zlib_decompress_into(data, &mut out)?;
    Ok(out)
}

/// [`zlib_decompress`] into `out` (cleared first), which holds whatever was inflated
/// when an error is returned.
///
/// Inflation stops as soon as the output passes the limit: `out` never grows beyond
/// `MAX_INFLATED_LEN + 1` bytes (when it starts without spare capacity), so memory and
/// time are bounded by the limit and the input, whatever the stream claims.
pub(crate) fn zlib_decompress_into(data: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    INFLATE.with(|cell| match cell.try_borrow_mut() {
        Ok(mut slot) => {
            let inflate = slot.get_or_insert_with(|| Decompress::new(true));
            inflate.reset(true);
            inflate_bounded(inflate, data, out)
        }
        Err(_) => inflate_bounded(&mut Decompress::new(true), data, out),
    })
}

fn inflate_bounded(
    inflate: &mut Decompress,
    data: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    // One byte past the limit tells a stream that is over it from one that ends on it.
    const CEILING: usize = MAX_INFLATED_LEN + 1;
    out.clear();
    out.reserve_exact((data.len() * 4 + 64).min(CEILING));
    loop {
        let consumed = inflate.total_in() as usize;
        let before_out = inflate.total_out();
        // zlib writes into the spare capacity only, which is never grown past CEILING.
        let status = inflate
            .decompress_vec(&data[consumed..], out, FlushDecompress::None)
            .map_err(|e| DecodeError::BadCompression(e.to_string()))?;
        if out.len() > MAX_INFLATED_LEN {
            return Err(DecodeError::InflatedTooLarge);
        }
        match status {
            Status::StreamEnd => return Ok(()),
            _ if out.len() == out.capacity() => {
                let grow = out.capacity().min(CEILING - out.len());
                out.reserve_exact(grow);
            }
            _ if inflate.total_in() as usize == data.len() && inflate.total_out() == before_out => {
                return Err(DecodeError::BadCompression(
                    "incomplete or truncated stream".to_owned(),
                ));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn r_3_2_base62() {
        assert_eq!(b62_encode(0), "0");
        assert_eq!(b62_encode(1_700_000_000), "1r31eq");
        assert_eq!(b62_encode(1_767_225_600), "1vb66i");
        assert_eq!(b62_encode(-61), "-z");
        assert_eq!(b62_decode("1r31eq"), Some(1_700_000_000));
        assert_eq!(b62_decode("-z"), Some(-61));
        assert_eq!(b62_decode("-"), Some(0));
        assert_eq!(b62_decode("00"), Some(0));
        assert_eq!(b62_decode(""), None);
        assert_eq!(b62_decode("1r3!"), None);
        assert_eq!(b62_decode("zzzzzzzzzzzzzzzzzzzzzzzz"), Some(i64::MAX));
        for n in [i64::MIN + 1, -1, 1, 61, 62, 4_102_444_800, i64::MAX] {
            assert_eq!(b62_decode(&b62_encode(n)), Some(n));
        }
    }

    #[test]
    fn r_3_1_python_base64_is_non_validating() {
        assert_eq!(python_b64_decode(b"W10").unwrap(), b"[]");
        // Junk is skipped, but it counts for the padding Django adds first.
        assert_eq!(python_b64_decode(b"W1  0").unwrap(), b"[]");
        assert_eq!(python_b64_decode(b"W1 0"), Err("Incorrect padding"));
        assert_eq!(
            python_b64_decode(b"W+0").unwrap(),
            python_b64_decode(b"W-0").unwrap()
        );
        assert_eq!(python_b64_decode(b"").unwrap(), b"");
        assert!(
            python_b64_decode(b"A").is_err(),
            "1 more than a multiple of 4"
        );
        assert!(python_b64_decode(b"AAAAA").is_err());
        // "A.B" pads to "A.B=": the dot is skipped, the quantum is left unfinished.
        assert_eq!(python_b64_decode(b"A.B"), Err("Incorrect padding"));
        // A completed pad sequence stops decoding: later data is ignored.
        assert_eq!(python_b64_decode(b"YQ==YWJj").unwrap(), b"a");
        // Pads before the second character of a quantum are ignored.
        assert_eq!(python_b64_decode(b"=YWJj").unwrap(), b"abc");
    }

    #[test]
    fn r_3_1_fast_path_equals_the_exact_loop() {
        let alphabet = b"AQgwZ09-_";
        let mut x: u64 = 7;
        for len in 0..40 {
            for _ in 0..50 {
                let s: Vec<u8> = (0..len)
                    .map(|_| {
                        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                        alphabet[(x >> 33) as usize % alphabet.len()]
                    })
                    .collect();
                assert_eq!(python_b64_decode(&s), python_b64_decode_exact(&s), "{s:?}");
            }
        }
    }

    #[test]
    fn zlib_round_trip_and_errors() {
        let mut s = SignScratch::new();
        let data = b"[[\"__json_message\",0,20,\"aaaaaaaaaaaaaaaaaaaaaaaaaaaa\",\"\"]]".repeat(3);
        s.compress(&data);
        assert_eq!(zlib_decompress(&s.compressed).unwrap(), data);
        let mut trailing = s.compressed.clone();
        trailing.extend_from_slice(b"junk");
        assert_eq!(zlib_decompress(&trailing).unwrap(), data);
        assert!(zlib_decompress(&s.compressed[..s.compressed.len() - 1]).is_err());
        assert!(zlib_decompress(b"[]").is_err());
        assert!(zlib_decompress(b"").is_err());
    }

    /// `zlib.compress(data)`.
    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut s = SignScratch::new();
        s.compress(data);
        s.compressed
    }

    #[test]
    fn inflation_is_read_in_full_up_to_the_limit() {
        assert_eq!(MAX_INFLATED_LEN, 65_536);
        let at = b"[\"__json_message\",0,20,\"x\"],".repeat(MAX_INFLATED_LEN / 27 + 1);
        let at = &at[..MAX_INFLATED_LEN];
        let out = zlib_decompress(&zlib(at)).unwrap();
        assert_eq!(out, at);
        assert!(out.capacity() <= MAX_INFLATED_LEN + 1, "{}", out.capacity());
    }

    #[test]
    fn inflation_past_the_limit_is_refused_and_stops_at_it() {
        let over = vec![b' '; MAX_INFLATED_LEN + 1];
        assert_eq!(
            zlib_decompress(&zlib(&over)),
            Err(DecodeError::InflatedTooLarge)
        );
        // The case: about a kilobyte of zlib that inflates to 1 MiB.
        let bomb = zlib(&vec![b' '; 1 << 20]);
        assert!(bomb.len() < 1100, "{}", bomb.len());
        let mut out = Vec::new();
        assert_eq!(
            zlib_decompress_into(&bomb, &mut out),
            Err(DecodeError::InflatedTooLarge)
        );
        // Inflation stopped one byte past the limit, in a buffer never grown beyond it.
        assert_eq!(out.len(), MAX_INFLATED_LEN + 1);
        assert!(out.capacity() <= MAX_INFLATED_LEN + 1, "{}", out.capacity());
        assert!(out.iter().all(|&b| b == b' '));
        // Cut short after the limit: still the limit error (inflation stops first);
        // cut short before it: a truncated stream.
        assert_eq!(
            zlib_decompress(&bomb[..bomb.len() - 8]),
            Err(DecodeError::InflatedTooLarge)
        );
        assert!(matches!(
            zlib_decompress(&bomb[..20]),
            Err(DecodeError::BadCompression(_))
        ));
    }

    fn signed(key: &Key, value: &str) -> String {
        let sig = key.signature(value.as_bytes());
        format!("{value}:{}", std::str::from_utf8(&sig).unwrap())
    }

    fn hmacs() -> usize {
        HMACS_VERIFIED.with(std::cell::Cell::get)
    }

    #[test]
    fn signatures_are_verified_in_constant_time_against_each_key() {
        let keys = Keys {
            current: Key::new(b"current"),
            fallbacks: vec![Key::new(b"old 0"), Key::new(b"old 1")],
        };
        let value = "W10:1r31eq";
        let current = signed(&keys.current, value);
        let ok = keys.unsign(&current).unwrap();
        assert_eq!(
            (ok.payload, ok.timestamp, ok.key),
            ("W10", 1_700_000_000, KeyUsed::Current)
        );
        let before = hmacs();
        let fallback = signed(&keys.fallbacks[1], value);
        let old = keys.unsign(&fallback).unwrap();
        assert_eq!(old.key, KeyUsed::Fallback(1));
        assert_eq!(hmacs() - before, 3, "current, fallback 0, fallback 1");
        let other = signed(&Key::new(b"another"), value);
        assert!(matches!(
            keys.unsign(&other),
            Err(DecodeError::BadSignature)
        ));
    }

    #[test]
    fn a_signature_text_must_be_exactly_the_one_written() {
        let key = Key::new(b"current");
        let keys = Keys {
            current: key.clone(),
            fallbacks: Vec::new(),
        };
        let value = "W10:1r31eq";
        let good = signed(&key, value);
        assert!(keys.unsign(&good).is_ok());
        // The last of the 43 characters carries two unused bits: flipping one gives a
        // text that a lenient decoder maps to the same digest, but Django compares text.
        let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let last = *good.as_bytes().last().unwrap();
        let i = alphabet.iter().position(|&c| c == last).unwrap();
        assert_eq!(i & 3, 0, "a digest leaves the unused bits zero");
        let mut tweaked = good.clone();
        tweaked.pop();
        tweaked.push(char::from(alphabet[i | 1]));
        let malformed = [
            tweaked,
            format!("{good}="),
            good[..good.len() - 1].to_owned(),
            format!("{good}A"),
            format!("{value}:"),
            good.replace('-', "+").replace('_', "/") + "==",
        ];
        let before = hmacs();
        for v in &malformed {
            assert!(
                matches!(keys.unsign(v), Err(DecodeError::BadSignature)),
                "{v}"
            );
        }
        assert_eq!(
            hmacs(),
            before,
            "no HMAC for a text no key could have written"
        );
    }
}
