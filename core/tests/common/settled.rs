//! A check both inbox models make before each response: an adapter may plan at
//! `Inbox::settled_time` instead of reading its clock again, so the plan there must write
//! what the plan at the response's time writes.

use herald_core::{CookieAction, Inbox, MessageStore, Open, SessionAction};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// Plans copies of `inbox` at its settled time (if it has one) and at `plan_now`, and
/// fails unless they write the same cookie, session and unstored range, with the same
/// issued-at when they write.
pub fn check_settled_plan<L, O>(
    inbox: &Inbox<L>,
    opener: &O,
    max: usize,
    plan_now: u64,
) -> Result<(), TestCaseError>
where
    L: MessageStore + Clone,
    O: Open + ?Sized,
{
    let Some(settled) = inbox.settled_time() else {
        return Ok(());
    };
    prop_assert!(settled <= plan_now, "the settled time is the request's");
    let at_settled = inbox.clone().plan_for(opener, max, settled);
    let later = inbox.clone().plan_for(opener, max, plan_now);
    prop_assert_eq!(
        (
            &at_settled.cookie,
            &at_settled.session,
            &at_settled.unstored
        ),
        (&later.cookie, &later.session, &later.unstored),
        "a plan at the settled time {} against one at {}",
        settled,
        plan_now
    );
    let writes = matches!(at_settled.cookie, CookieAction::Set { .. })
        || matches!(at_settled.session, SessionAction::Set { .. });
    if writes {
        prop_assert_eq!(
            at_settled.issued_at,
            later.issued_at,
            "the issued-at written"
        );
    }
    Ok(())
}
