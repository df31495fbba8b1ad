//! Size-bounded truncation (RULES ): choose, in one pass over predicted sizes, which
//! messages fit in a sealed (signed or encrypted) value of at most `max_value_len`
//! characters.
//!
//! Sizes are additive in herald's format (no compression), so "fits" is monotonic and the
//! longest fitting suffix (or prefix) is exactly what Django's bisection finds. After the
//! choice there is one encode and one HMAC; nothing is signed twice.

use core::ops::Range;

use crate::codec::{self, Header};
use crate::list::{ListView, RawSizes};
use crate::signer::{self, MAC_LEN};

/// The smallest usable maximum value length: the longest marker-only value (no message,
/// the not-finished marker, a 10-byte issued-at varint: 45 raw bytes, 60 characters).
/// [`Inbox::plan`](crate::Inbox::plan) raises smaller bounds to this, because when nothing
/// fits it must still write the marker; adapters reject smaller settings at start-up.
pub const MIN_VALUE_LEN: usize = min_value_len(MAC_LEN);

/// The smallest usable maximum value length for a sealing that adds `overhead` raw bytes
/// to a body (the longest marker-only value): [`MIN_VALUE_LEN`] for signing, 71 for
/// encryption (`cipher::OVERHEAD` = 40, feature `encryption`).
pub const fn min_value_len(overhead: usize) -> usize {
    signer::encoded_len(1 + 10 + 1 + 1 + overhead)
}

/// Which messages to keep when not all fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Policy {
    /// Keep the newest messages and drop the oldest (Django's `remove_oldest=True`, used
    /// by cookie-only storage).
    KeepNewest,
    /// Keep the oldest messages and leave the newest for the next storage (Django's
    /// `remove_oldest=False`, used by fallback storage, whose session takes the rest).
    KeepOldest,
}

/// The outcome of [`fit`]: which messages of the view go into the value and which do not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fit {
    /// The messages that fit, as a range of the view.
    pub kept: Range<usize>,
    /// The messages that do not fit (the oldest for [`Policy::KeepNewest`], the newest for
    /// [`Policy::KeepOldest`]), as a range of the view.
    pub unstored: Range<usize>,
    /// Whether the value must carry the not-finished marker: set exactly when something
    /// was left out (R-4.7: the sentinel is only appended when something was dropped).
    pub continued: bool,
}

/// The exact length of the signed value holding `messages` with `header`.
pub fn signed_len(header: &Header, messages: ListView<'_>) -> usize {
    sealed_len(header, messages, MAC_LEN)
}

/// The exact length of the value holding `messages` with `header`, sealed by a sealing
/// that adds `overhead` raw bytes ([`Open::overhead`](crate::seal::Open::overhead)).
pub fn sealed_len(header: &Header, messages: ListView<'_>, overhead: usize) -> usize {
    signer::encoded_len(codec::body_len(header, messages) + overhead)
}

/// Chooses which messages of `messages` fit in a signed value of at most `max_value_len`
/// characters issued at `issued_at`, under `policy`.
///
/// When not even one message fits, `kept` is empty and `continued` is set: the value is
/// the marker alone (R-4.7, "sentinel-only"). If even the empty marker value exceeds
/// `max_value_len`, `kept` is empty too; the caller sees this through
/// [`signed_len`] of the empty view.
pub fn fit(messages: ListView<'_>, policy: Policy, issued_at: u64, max_value_len: usize) -> Fit {
    fit_sealed(messages, policy, issued_at, max_value_len, MAC_LEN)
}

/// [`fit`] for a sealing that adds `overhead` raw bytes to the body (for example
/// encryption: [`Open::overhead`](crate::seal::Open::overhead)).
pub fn fit_sealed(
    messages: ListView<'_>,
    policy: Policy,
    issued_at: u64,
    max_value_len: usize,
    overhead: usize,
) -> Fit {
    let n = messages.len();
    let header = Header {
        issued_at,
        continued: false,
    };
    let budget = signer::max_raw_len(max_value_len);
    let fixed = overhead + codec::framing_len(&header, 0) - codec::varint_len(0);
    let (kept, unstored) = match policy {
        Policy::KeepNewest => {
            let k = fitting(messages.sizes().rev(), issued_at, fixed, budget);
            (n - k..n, 0..n - k)
        }
        Policy::KeepOldest => {
            let k = fitting(messages.sizes(), issued_at, fixed, budget);
            (0..k, k..n)
        }
    };
    Fit {
        continued: kept.len() < n,
        kept,
        unstored,
    }
}

/// How many of `sizes`, taken in order, fit in `budget` raw bytes with `fixed` bytes of
/// framing and overhead besides the message count.
#[inline(always)]
fn fitting(
    sizes: impl Iterator<Item = RawSizes>,
    issued_at: u64,
    fixed: usize,
    budget: usize,
) -> usize {
    let mut sum = 0;
    let mut kept = 0;
    for m in sizes {
        let next = sum + codec::sizes_message_len(&m, issued_at);
        if fixed + codec::varint_len(kept as u64 + 1) + next > budget {
            break;
        }
        sum = next;
        kept += 1;
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::level::Level;
    use crate::list::MessageList;
    use crate::message::Message;

    const TEXTS: [&str; 8] = [
        "a",
        "bb",
        "ccc",
        "dddd",
        "eeeee",
        "ffffff",
        "g",
        "hhhhhhhhhhhhhhhh",
    ];

    fn list() -> MessageList<256, 8> {
        let mut l = MessageList::new();
        for t in TEXTS {
            l.push(Message::new(Level::INFO, t)).unwrap();
        }
        l
    }

    /// Brute force: the longest suffix/prefix whose signed length fits.
    fn brute(view: ListView<'_>, policy: Policy, max: usize) -> usize {
        let n = view.len();
        let h = Header {
            issued_at: 1_700_000_000,
            continued: false,
        };
        (0..=n)
            .rev()
            .find(|&k| {
                let r = match policy {
                    Policy::KeepNewest => n - k..n,
                    Policy::KeepOldest => 0..k,
                };
                signed_len(&h, view.slice(r)) <= max
            })
            .unwrap_or(0)
    }

    #[test]
    fn matches_brute_force_at_every_bound() {
        let l = list();
        for max in 0..200 {
            for policy in [Policy::KeepNewest, Policy::KeepOldest] {
                let f = fit(l.view(), policy, 1_700_000_000, max);
                let k = f.kept.len();
                assert_eq!(k, brute(l.view(), policy, max), "max {max} {policy:?}");
                assert_eq!(f.kept.len() + f.unstored.len(), TEXTS.len());
                assert_eq!(f.continued, k < TEXTS.len());
                match policy {
                    Policy::KeepNewest => assert_eq!(f.kept.end, TEXTS.len()),
                    Policy::KeepOldest => assert_eq!(f.kept.start, 0),
                }
            }
        }
    }

    #[test]
    fn min_value_len_holds_the_longest_marker_only_value() {
        let h = Header {
            issued_at: u64::MAX,
            continued: true,
        };
        assert_eq!(signed_len(&h, ListView::empty()), MIN_VALUE_LEN);
        assert_eq!(MIN_VALUE_LEN, 60);
    }

    #[test]
    fn everything_fits_means_no_marker() {
        let l = list();
        let f = fit(l.view(), Policy::KeepOldest, 0, 2048);
        assert_eq!(
            f,
            Fit {
                kept: 0..8,
                unstored: 8..8,
                continued: false
            }
        );
        let f = fit(ListView::empty(), Policy::KeepNewest, 0, 2048);
        assert_eq!(
            f,
            Fit {
                kept: 0..0,
                unstored: 0..0,
                continued: false
            }
        );
    }
}
