//! Links and runs the whole herald-core API without std or alloc: add, update/plan,
//! encode+sign, `Set-Cookie` out and `Cookie` back in (cookie_header), verify+decode, a
//! deletion cookie, both truncation policies, the fallback session part, per-message
//! expiry (RULES) and encrypted cookies (R-11.6, feature `encryption`).
#![no_std]
#![no_main]

use core::panic::PanicInfo;

use herald_core::cookie_header::{self, CookieAttributes, SameSite};
use herald_core::inbox::{CookieAction, SessionAction};
use herald_core::truncate::{self, Policy};
use herald_core::{Cipher, Inbox, Level, Loaded, Message, Signer, Storage};

unsafe extern "C" {
    fn write(fd: i32, buf: *const u8, count: usize) -> isize;
    fn exit(code: i32) -> !;
}

fn say(s: &str) {
    // SAFETY: `s` is a valid buffer of `s.len()` bytes for the duration of the call.
    unsafe {
        write(1, s.as_ptr(), s.len());
    }
}

fn fail(what: &str) -> ! {
    say("herald no_std check FAILED: ");
    say(what);
    say("\n");
    // SAFETY: terminates the process.
    unsafe { exit(1) }
}

#[panic_handler]
fn panic(_: &PanicInfo) -> ! {
    fail("panic")
}

/// Unwinding tables of the precompiled `core` may reference this symbol; with
/// `panic = "abort"` it is never called.
#[unsafe(no_mangle)]
pub extern "C" fn rust_eh_personality() {}

const NOW: u64 = 1_700_000_000;

fn check() -> Result<(), &'static str> {
    let signer: Signer = Signer::new(b"the no_std check secret, 32 bytes", "herald.messages", "messages", &[b"the no_std check old secret, 32 bytes"])
        .map_err(|_| "signer")?;
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    inbox
        .add(Level::SUCCESS, "Profile saved.", "")
        .map_err(|_| "add")?;
    inbox
        .add(Level::WARNING, "Disk almost full", "disk")
        .map_err(|_| "add")?;
    let plan = inbox.plan(2048, NOW);
    let CookieAction::Set {
        messages,
        continued,
    } = plan.cookie
    else {
        return Err("plan");
    };
    let mut out = [0u8; 2048];
    let value = inbox
        .seal_cookie(messages, continued, &signer, NOW, &mut out)
        .map_err(|_| "seal")?;

    // The value goes out in a Set-Cookie header and comes back in a Cookie header,
    // among other cookies and headers.
    let attrs = CookieAttributes {
        same_site: SameSite::parse("strict"),
        secure: true,
        ..CookieAttributes::new()
    };
    let mut set_cookie = [0u8; 2200];
    let set = cookie_header::write_set_cookie(&mut set_cookie, "messages", value, attrs)
        .map_err(|_| "write_set_cookie")?;
    if cookie_header::set_cookie_len("messages", value, attrs) != Ok(set.len()) {
        return Err("set_cookie_len");
    }
    let name_value = set.split("; ").next().ok_or("set-cookie pair")?;
    let headers: [&[u8]; 2] = [b"csrftoken=abc; xmessages=no", name_value.as_bytes()];
    let received = cookie_header::find_cookie(headers, "messages")
        .map_err(|_| "find_cookie")?
        .ok_or("cookie not found")?;
    if cookie_header::cookie_value(headers, "messages") != Some(value) || received != value {
        return Err("cookie_value");
    }

    let mut next: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    let loaded = next
        .load_cookie(Some(received.as_bytes()), &signer, NOW, Some(3600))
        .map_err(|_| "load")?;
    if !matches!(loaded, Loaded::Messages { count: 2, .. }) {
        return Err("count");
    }
    let mut it = next.iter();
    if it.next().map(|m| m.message) != Some("Profile saved.") {
        return Err("order");
    }
    if next.plan(2048, NOW).cookie != CookieAction::Delete {
        return Err("read-once");
    }
    let mut delete = [0u8; 128];
    let deleted = cookie_header::write_delete_cookie(&mut delete, "messages", attrs)
        .map_err(|_| "write_delete_cookie")?;
    if cookie_header::delete_cookie_len("messages", attrs) != Ok(deleted.len())
        || !deleted.starts_with("messages=\"\"; expires=")
    {
        return Err("delete cookie");
    }

    // Both truncation policies and the fallback split through the session part.
    let mut fb: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    for _ in 0..20 {
        fb.add(
            Level::INFO,
            "A message long enough to overflow a small cookie.",
            "",
        )
        .map_err(|_| "add")?;
    }
    let newest = truncate::fit(fb.messages(0..20), Policy::KeepNewest, NOW, 300);
    let oldest = truncate::fit(fb.messages(0..20), Policy::KeepOldest, NOW, 300);
    if !(newest.continued && oldest.continued && newest.kept.end == 20 && oldest.kept.start == 0) {
        return Err("truncate");
    }
    let plan = fb.plan(300, NOW);
    let (
        CookieAction::Set {
            messages,
            continued,
        },
        SessionAction::Set { messages: rest },
    ) = (plan.cookie, plan.session)
    else {
        return Err("fallback plan");
    };
    let cookie = fb
        .seal_cookie(messages, continued, &signer, NOW, &mut out)
        .map_err(|_| "seal")?;
    let mut session = [0u8; 2048];
    let n = fb
        .encode_session(rest, NOW, &mut session)
        .map_err(|_| "session")?;
    let mut reader: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    reader
        .load_cookie(Some(cookie.as_bytes()), &signer, NOW, None)
        .map_err(|_| "load")?;
    if !reader.needs_session() {
        return Err("needs_session");
    }
    reader
        .load_session(Some(&session[..n]), NOW)
        .map_err(|_| "load session")?;
    if reader.iter().count() != 20 {
        return Err("fallback count");
    }
    encrypted_and_expiring()
}

/// An encrypted cookie with an expiring message: shown before its expiry, dropped after.
fn encrypted_and_expiring() -> Result<(), &'static str> {
    let cipher: Cipher = Cipher::new(b"the no_std check secret, 32 bytes", "herald.messages", "messages", &[])
        .map_err(|_| "cipher")?;
    let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    inbox.load_cookie(None, &cipher, NOW, None).map_err(|_| "load")?;
    inbox
        .add_message(Message::new(Level::INFO, "Export ready.").with_expires_at(NOW + 600))
        .map_err(|_| "add")?;
    inbox.add(Level::INFO, "Saved.", "").map_err(|_| "add")?;
    let plan = inbox.plan_for(&cipher, 2048, NOW);
    let CookieAction::Set {
        messages,
        continued,
    } = plan.cookie
    else {
        return Err("encrypted plan");
    };
    let mut out = [0u8; 2048];
    let value = inbox
        .seal_cookie(messages, continued, &cipher.with_nonce([7; 24]), plan.issued_at, &mut out)
        .map_err(|_| "encrypt")?;
    if value.as_bytes().windows(6).any(|w| w == b"U2F2ZW") {
        return Err("plaintext visible");
    }
    for (now, shown, expired) in [(NOW + 599, 2, 0), (NOW + 600, 1, 1)] {
        let mut reader: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
        match reader.load_cookie(Some(value.as_bytes()), &cipher, now, None) {
            Ok(Loaded::Messages { count, expired: e, .. }) if count == shown && e == expired => {}
            _ => return Err("decrypt"),
        }
    }
    let mut bad = [0u8; 2048];
    bad[..value.len()].copy_from_slice(value.as_bytes());
    bad[10] ^= 1;
    let mut reader: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    if reader.load_cookie(Some(&bad[..value.len()]), &cipher, NOW, None).is_ok() {
        return Err("tampered value accepted");
    }
    Ok(())
}

#[unsafe(no_mangle)]
pub extern "C" fn main(_argc: i32, _argv: *const *const u8) -> i32 {
    match check() {
        Ok(()) => {
            say("herald no_std check: ok\n");
            0
        }
        Err(what) => fail(what),
    }
}
