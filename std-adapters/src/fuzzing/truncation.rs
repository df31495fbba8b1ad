//! `truncation`: [`truncate::fit`] on arbitrary lists and bounds, both policies.

use arbitrary::{Arbitrary, Unstructured};
use herald_core::MessageList;
use herald_core::codec::{self, Header};
use herald_core::signer::MAX_RAW_LEN;
use herald_core::truncate::{self, Policy};

use super::{ArbMessage, model_signed_len, signer};

/// A list big enough for any drawn input; [`truncate::fit`] works on any view.
type Big = MessageList<16384, 64>;

#[derive(Arbitrary, Debug)]
struct Input {
    messages: Vec<ArbMessage>,
    issued_at: u64,
    max_len: u16,
}

/// Arbitrary message lists (up to 64 messages, texts up to
/// [`MAX_TEXT`](super::MAX_TEXT) bytes), issue times and bounds from 0 to 4499
/// characters, under both [`Policy`]s:
/// * `kept` and `unstored` partition the input: `unstored` is a prefix for
///   [`Policy::KeepNewest`] and a suffix for [`Policy::KeepOldest`], `kept` the rest, so
///   kept + unstored = input, in order; `continued` is set exactly when something is
///   unstored.
/// * The value actually sealed for `kept` has the predicted length
///   ([`truncate::signed_len`], and the README's byte layout computed independently) and
///   is within the bound, unless nothing is kept and even the empty value is longer than
///   the bound (the documented caller-checked case).
/// * Maximality: sealing one more message (the next older for `KeepNewest`, the next newer
///   for `KeepOldest`) gives a value longer than the bound.
/// * The sealed value opens and decodes to exactly the kept messages, in order.
pub fn truncation(data: &[u8]) {
    let Ok(input) = Input::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let mut list = Big::new();
    let mut owned = Vec::new();
    for m in &input.messages {
        let m = m.storable();
        if list.push(m.as_message()).is_err() {
            break;
        }
        owned.push(m);
    }
    let n = owned.len();
    let max_len = usize::from(input.max_len) % 4500;
    let now = input.issued_at;
    for policy in [Policy::KeepNewest, Policy::KeepOldest] {
        let fit = truncate::fit(list.view(), policy, now, max_len);
        assert_eq!(
            fit.kept.len() + fit.unstored.len(),
            n,
            "{policy:?}: not a partition"
        );
        match policy {
            Policy::KeepNewest => {
                assert_eq!(fit.unstored.start, 0, "KeepNewest drops a prefix");
                assert_eq!(fit.unstored.end, fit.kept.start);
                assert_eq!(fit.kept.end, n);
            }
            Policy::KeepOldest => {
                assert_eq!(fit.kept.start, 0, "KeepOldest keeps a prefix");
                assert_eq!(fit.kept.end, fit.unstored.start);
                assert_eq!(fit.unstored.end, n);
            }
        }
        assert_eq!(
            fit.continued,
            fit.kept.len() < n,
            "marker iff something dropped"
        );

        let header = Header {
            issued_at: now,
            continued: fit.continued,
        };
        let kept = list.slice(fit.kept.clone());
        let value = seal(&header, kept);
        assert_eq!(value.len(), truncate::signed_len(&header, kept));
        assert_eq!(
            value.len(),
            model_signed_len(&owned[fit.kept.clone()], now),
            "size differs from the byte layout"
        );
        if value.len() > max_len {
            assert!(
                fit.kept.is_empty(),
                "{policy:?}: kept {:?} in {} > {max_len} characters",
                fit.kept,
                value.len()
            );
        }
        // Maximality: one more message would not fit.
        if !fit.unstored.is_empty() {
            let more = match policy {
                Policy::KeepNewest => fit.kept.start - 1..n,
                Policy::KeepOldest => 0..fit.kept.end + 1,
            };
            let header = Header {
                issued_at: now,
                continued: more.len() < n,
            };
            let bigger = seal(&header, list.slice(more.clone()));
            assert!(
                bigger.len() > max_len,
                "{policy:?}: {more:?} fits in {max_len} ({} characters) but only {:?} kept",
                bigger.len(),
                fit.kept
            );
        }
        // The sealed value reads back as exactly the kept messages.
        if value.len() <= herald_core::signer::MAX_VALUE_LEN {
            let mut scratch = [0u8; MAX_RAW_LEN];
            let opened = signer()
                .open(value.as_bytes(), now, None, &mut scratch)
                .expect("own value opens");
            let mut back = Big::new();
            assert_eq!(codec::decode_body(opened.body, &mut back), Ok(header));
            assert_eq!(back.len(), fit.kept.len());
            for (b, o) in back.iter().zip(&owned[fit.kept.clone()]) {
                assert!(o.same_as(&b), "read back {b:?}, kept {o:?}");
            }
        }
    }
}

fn seal(header: &Header, messages: herald_core::ListView<'_>) -> String {
    let mut out = vec![0u8; truncate::signed_len(header, messages)];
    codec::seal_body(header, messages, signer(), &mut out)
        .expect("buffer of the exact signed length")
        .to_owned()
}

/// The input as this target reads it (`Debug` of the decoded structure), for triage of
/// a crash file.
pub fn describe(data: &[u8]) -> String {
    format!("{:#?}", Input::arbitrary_take_rest(Unstructured::new(data)))
}
