//! Proof that every core operation allocates nothing: a counting global allocator whose
//! thread-local counter only counts inside `count_allocs`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use herald_core::codec::{self, Header};
use herald_core::inbox::CookieAction;
use herald_core::truncate::{self, Policy};
use herald_core::{Inbox, Level, MessageList, Signer, Storage};

struct Counting;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if COUNTING.with(Cell::get) {
            COUNT.with(|c| c.set(c.get() + 1));
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn count_allocs<R>(f: impl FnOnce() -> R) -> (R, usize) {
    COUNT.with(|c| c.set(0));
    COUNTING.with(|c| c.set(true));
    let r = f();
    COUNTING.with(|c| c.set(false));
    (r, COUNT.with(Cell::get))
}

const NOW: u64 = 1_700_000_000;

#[test]
fn the_counter_counts() {
    let (_, n) = count_allocs(|| Box::new(7u64));
    assert_eq!(n, 1, "the counting allocator must see a Box");
}

#[test]
fn every_core_operation_allocates_nothing() {
    let signer: Signer = Signer::new(
        b"the allocation test secret, 32 bytes",
        "herald.messages",
        "messages",
        &[b"the allocation test old secret, 32 bytes"],
    )
    .unwrap();
    let texts: Vec<String> = (0..30).map(|i| format!("Message number {i} — ✓")).collect();

    let ((), n) = count_allocs(|| {
        // add + update + plan + encode+sign
        let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
        for t in &texts {
            inbox.add(Level::SUCCESS, t, "tag").unwrap();
        }
        let plan = inbox.plan(2048, NOW);
        let CookieAction::Set {
            messages,
            continued,
        } = plan.cookie
        else {
            panic!("expected a cookie")
        };
        let mut out = [0u8; 2048];
        let value = inbox
            .seal_cookie(messages, continued, &signer, NOW, &mut out)
            .unwrap();
        assert!(value.len() <= 2048);

        // verify + decode, then iterate
        let mut next: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
        next.load_cookie(Some(value.as_bytes()), &signer, NOW, None)
            .unwrap();
        assert!(next.iter().count() > 0);
        let _ = next.update();

        // truncation, both policies, and the plain codec
        let mut list: MessageList = MessageList::new();
        for t in &texts {
            list.push(herald_core::Message::new(Level::INFO, t))
                .unwrap();
        }
        let a = truncate::fit(list.view(), Policy::KeepNewest, NOW, 600);
        let b = truncate::fit(list.view(), Policy::KeepOldest, NOW, 600);
        assert!(a.continued && b.continued);
        let mut body = [0u8; 4096];
        let header = Header {
            issued_at: NOW,
            continued: false,
        };
        let n = codec::encode_body(&header, list.view(), &mut body).unwrap();
        let mut back: MessageList = MessageList::new();
        codec::decode_body(&body[..n], &mut back).unwrap();
        assert_eq!(back.len(), list.len());

        // Cookie header parsing and Set-Cookie writing
        let headers: [&[u8]; 2] = [b"a=1; b=\"2\"", b"messages=abc; messages=def"];
        assert_eq!(
            herald_core::cookie_header::cookie_value(headers, "messages"),
            Some("abc")
        );
        let mut header = [0u8; 256];
        let attrs = herald_core::cookie_header::CookieAttributes::new();
        let set =
            herald_core::cookie_header::write_set_cookie(&mut header, "messages", "abc", attrs)
                .unwrap();
        assert!(set.starts_with("messages=abc"));
        let del = herald_core::cookie_header::write_delete_cookie(&mut header, "messages", attrs)
            .unwrap();
        assert!(del.contains("Max-Age=0"));

        // fallback: session part encode and load
        let mut fb: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
        for t in &texts {
            fb.add(Level::INFO, t, "").unwrap();
        }
        let plan = fb.plan(600, NOW);
        if let herald_core::SessionAction::Set { messages } = plan.session {
            let n = fb.encode_session(messages, NOW, &mut body).unwrap();
            let mut reader: Inbox = Inbox::new(Storage::Session, Level::INFO);
            reader.load_session(Some(&body[..n]), NOW).unwrap();
        } else {
            panic!("expected overflow into the session");
        }
    });
    assert_eq!(n, 0, "core operations allocated {n} times");
}

/// The growable store (feature `alloc`): a request with a few messages allocates nothing
/// (they live inline), and one with many allocates once per buffer when it moves to the
/// heap, then only when a buffer doubles; loading a cookie reserves its room at once.
/// The herald extensions (RULES §11) on the fixed store: `now`, filtered reads, discards
/// and the compaction of the update allocate nothing either (the marks are inline).
#[test]
fn the_extensions_allocate_nothing_on_the_fixed_store() {
    let signer: Signer = Signer::new(
        b"the allocation test secret, 32 bytes",
        "herald.messages",
        "messages",
        &[],
    )
    .unwrap();
    let texts: Vec<String> = (0..20).map(|i| format!("Message number {i} — ✓")).collect();
    let mut out = [0u8; 2048];
    let mut fixed: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    for (i, t) in texts.iter().enumerate() {
        let level = if i % 3 == 0 {
            Level::ERROR
        } else {
            Level::INFO
        };
        fixed.add(level, t, "").unwrap();
    }
    let plan = fixed.plan(2048, NOW);
    let CookieAction::Set {
        messages,
        continued,
    } = plan.cookie
    else {
        panic!("expected a cookie")
    };
    let value = fixed
        .seal_cookie(messages, continued, &signer, plan.issued_at, &mut out)
        .unwrap()
        .to_owned();
    let (kept, n) = count_allocs(|| {
        let mut inbox: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
        inbox
            .load_cookie(Some(value.as_bytes()), &signer, NOW, None)
            .unwrap();
        inbox
            .add_now(Level::WARNING, "for this request", "")
            .unwrap();
        let errors = inbox.read_where(|m| m.level == Level::ERROR).count();
        inbox.add(Level::INFO, "new", "").unwrap();
        inbox.discard_read();
        let plan = inbox.plan(2048, NOW);
        let CookieAction::Set {
            messages,
            continued,
        } = plan.cookie
        else {
            panic!("expected a cookie")
        };
        let mut out = [0u8; 2048];
        inbox
            .seal_cookie(
                messages.clone(),
                continued,
                &signer,
                plan.issued_at,
                &mut out,
            )
            .unwrap();
        let mut discarding: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
        discarding.add(Level::INFO, "x", "").unwrap();
        discarding.discard();
        assert_eq!(discarding.plan(2048, NOW).cookie, CookieAction::Delete);
        (errors, messages.len())
    });
    assert_eq!(
        kept,
        (7, 14),
        "7 errors read; 13 others and the new one kept"
    );
    assert_eq!(n, 0, "the extensions allocated {n} times");
}

/// and encrypted cookies (feature `encryption`) on the fixed store: loading with
/// expired messages, adding with an expiry, planning, encrypting and decrypting allocate
/// nothing.
#[test]
fn expiry_and_encryption_allocate_nothing_on_the_fixed_store() {
    let signer: Signer = Signer::new(
        b"the allocation test secret, 32 bytes",
        "herald.messages",
        "messages",
        &[],
    )
    .unwrap();
    let mut writer: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
    for i in 0..20u64 {
        let m = herald_core::Message::new(Level::INFO, "a message that may expire")
            .with_expires_at(NOW + i);
        writer.add_message(m).unwrap();
    }
    let plan = writer.plan(2048, NOW);
    let CookieAction::Set {
        messages,
        continued,
    } = plan.cookie
    else {
        panic!("expected a cookie")
    };
    let mut out = [0u8; 2048];
    let value = writer
        .seal_cookie(messages, continued, &signer, plan.issued_at, &mut out)
        .unwrap()
        .to_owned();
    let (shown, n) = count_allocs(|| {
        let mut inbox: Inbox = Inbox::new(Storage::Fallback, Level::INFO);
        inbox
            .load_cookie(Some(value.as_bytes()), &signer, NOW + 10, None)
            .unwrap();
        let shown = inbox.iter().count();
        inbox.keep();
        let m = herald_core::Message::new(Level::INFO, "brief").with_expires_at(NOW + 60);
        inbox.add_message(m).unwrap();
        let _ = inbox.plan(2048, NOW + 11);
        shown
    });
    assert!(
        shown > 0 && shown < 20,
        "{shown}: the expired ones are dropped"
    );
    assert_eq!(n, 0, "expiry allocated {n} times");

    #[cfg(feature = "encryption")]
    {
        let cipher: herald_core::Cipher = herald_core::Cipher::new(
            b"the allocation test secret, 32 bytes",
            "herald.messages",
            "messages",
            &[],
        )
        .unwrap();
        let texts: Vec<String> = (0..20).map(|i| format!("Secret number {i} — ✓")).collect();
        let (loaded, n) = count_allocs(|| {
            let mut inbox: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
            inbox.load_cookie(None, &cipher, NOW, None).unwrap();
            for t in &texts {
                inbox.add(Level::INFO, t, "").unwrap();
            }
            let plan = inbox.plan_for(&cipher, 2048, NOW);
            let CookieAction::Set {
                messages,
                continued,
            } = plan.cookie
            else {
                panic!("expected a cookie")
            };
            let mut out = [0u8; 2048];
            let value = inbox
                .seal_cookie(
                    messages,
                    continued,
                    &cipher.with_nonce([5; 24]),
                    plan.issued_at,
                    &mut out,
                )
                .unwrap();
            let mut reader: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
            let loaded = reader
                .load_cookie(Some(value.as_bytes()), &cipher, NOW, None)
                .unwrap();
            let _ = reader.iter().count();
            let _ = reader.plan_for(&cipher, 2048, NOW);
            loaded
        });
        assert!(matches!(
            loaded,
            herald_core::Loaded::Messages { count: 20, .. }
        ));
        assert_eq!(n, 0, "encryption allocated {n} times");
    }
}

#[cfg(feature = "alloc")]
#[test]
fn the_growable_store_allocates_only_for_what_it_holds() {
    use herald_core::list::{GrowableList, Limits};
    let signer: Signer = Signer::new(
        b"the allocation test secret, 32 bytes",
        "herald.messages",
        "messages",
        &[],
    )
    .unwrap();
    let texts: Vec<String> = (0..200)
        .map(|i| format!("Message number {i} — ✓"))
        .collect();
    let grow = || {
        Inbox::with_store(
            GrowableList::new(Limits::DEFAULT),
            Storage::Fallback,
            Level::INFO,
        )
    };

    // Two short messages: inline, no allocation, through add, plan and seal.
    let ((), n) = count_allocs(|| {
        let mut inbox = grow();
        inbox.add(Level::SUCCESS, &texts[0], "").unwrap();
        inbox.add(Level::SUCCESS, &texts[1], "").unwrap();
        let CookieAction::Set {
            messages,
            continued,
        } = inbox.plan(2048, NOW).cookie
        else {
            panic!("expected a cookie")
        };
        let mut out = [0u8; 2048];
        inbox
            .seal_cookie(messages, continued, &signer, NOW, &mut out)
            .unwrap();
    });
    assert_eq!(n, 0, "two inline messages allocated {n} times");

    // 200 messages: the move to the heap (2 buffers) and then doubling, never per message.
    let (inbox, n) = count_allocs(|| {
        let mut inbox = grow();
        for t in &texts {
            inbox.add(Level::INFO, t, "").unwrap();
        }
        inbox
    });
    assert!(n <= 16, "200 adds allocated {n} times");
    assert_eq!(inbox.clone().len(), 200);

    // Loading a full cookie of many messages reserves once per buffer.
    let mut fixed: Inbox = Inbox::new(Storage::Cookie, Level::INFO);
    for t in &texts[..30] {
        fixed.add(Level::INFO, t, "").unwrap();
    }
    let CookieAction::Set {
        messages,
        continued,
    } = fixed.plan(2048, NOW).cookie
    else {
        panic!("expected a cookie")
    };
    let mut out = [0u8; 2048];
    let value = fixed
        .seal_cookie(messages, continued, &signer, NOW, &mut out)
        .unwrap();
    let (count, n) = count_allocs(|| {
        let mut next = grow();
        next.load_cookie(Some(value.as_bytes()), &signer, NOW, None)
            .unwrap();
        next.len()
    });
    assert!(count > 8, "the cookie holds more than the inline room");
    assert_eq!(
        n, 2,
        "loading a cookie allocated {n} times (arena + entries)"
    );
}
