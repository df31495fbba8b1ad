//! `inbox_ops`: random operations over several requests, on the real [`Inbox`] and on a
//! `Vec`-based reference model of RULES §2, §4 – §6.

use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use herald_core::list::{CapacityError, GrowableList, Limits, MessageList, MessageStore};
use herald_core::signer::MAX_VALUE_LEN;
use herald_core::truncate;
use herald_core::{
    AddError, Added, CookieAction, Inbox, KeyUsed, Level, LoadError, Loaded, Message, Plan,
    SessionAction, Signer, Storage,
};

use super::{ArbMessage, LevelPick, Owned, model_signed_len};

/// The inbox under test has the default capacities (the fixed list's, or the same limits
/// on the growable list).
const BYTES: usize = 3072;
const MSGS: usize = 32;
/// Fallback keys the server keeps after rotations.
const FALLBACKS: usize = 4;
const MAX_REQUESTS: usize = 12;
const MAX_OPS: usize = 24;

#[derive(Arbitrary, Debug, Clone, Copy)]
enum StoragePick {
    Cookie,
    Session,
    Fallback,
}

#[derive(Arbitrary, Debug)]
struct Scenario {
    storage: StoragePick,
    start: u64,
    requests: Vec<Request>,
}

#[derive(Arbitrary, Debug, Clone)]
struct Request {
    /// The server rotates its secret before this request (the old one becomes a
    /// fallback key; after [`FALLBACKS`] rotations it is forgotten).
    rotate: bool,
    client: Client,
    ops: Vec<Op>,
    max_len: u16,
    tick: u16,
}

#[derive(Arbitrary, Debug, Clone, Copy)]
enum Client {
    /// The browser sends back what it was given.
    Send,
    /// The browser lost the cookie.
    DropCookie,
    /// The cookie is altered at this position.
    CorruptCookie(u16),
    /// The server lost the session entry.
    LoseSession,
}

#[derive(Arbitrary, Debug, Clone)]
enum Op {
    Add(ArbMessage),
    /// Iterate, looking at the first `take` messages only (all when `None`).
    Iter(Option<u8>),
    Len,
    Contains(Probe),
    Keep,
    SetLevel(Option<LevelPick>),
}

/// The operations of a scenario in extension mode (RULES §11): the base ones, plus
/// `now`, the discards and filtered reads. A separate type, so that a scenario without
/// the mode bit decodes exactly as before (the committed seeds keep their meaning).
#[derive(Arbitrary, Debug, Clone)]
enum ExtOp {
    Base(Op),
    ///
    Now(ArbMessage),
    ///
    Discard,
    ///
    DiscardRead,
    /// reads the messages at these levels (several picks may be given).
    ReadLevels(Vec<LevelPick>),
    /// reads the messages whose id has this parity.
    ReadParity(bool),
}

#[derive(Arbitrary, Debug)]
struct ExtScenario {
    storage: StoragePick,
    start: u64,
    requests: Vec<ExtRequest>,
}

#[derive(Arbitrary, Debug, Clone)]
struct ExtRequest {
    rotate: bool,
    client: Client,
    ops: Vec<ExtOp>,
    max_len: u16,
    tick: u16,
}

/// The bit of [`Scenario::start`] that selects extension mode (no committed seed has it).
const EXTENSIONS: u64 = 1 << 62;

#[derive(Arbitrary, Debug, Clone)]
enum Probe {
    /// A message the inbox holds (by index, modulo its length).
    Held(u8),
    /// Any level and text.
    Other(LevelPick, String),
}

/// A message with the identity the fuzz target gave it (its text starts with the id).
#[derive(Clone, Debug)]
struct M {
    id: u32,
    msg: Owned,
}

/// The model of the messages cookie as the browser holds it.
#[derive(Clone, Debug)]
struct ModelCookie {
    msgs: Vec<M>,
    continued: bool,
    /// Whether the browser's value differs from the value the server wrote (two
    /// corruptions can restore it: `A` → `B` → `A`).
    corrupted: bool,
    /// The value the server wrote.
    written: String,
    /// The generation of the key that signed it.
    generation: u32,
    /// The issued-at the server stamped (RULES ).
    issued_at: u64,
}

/// What became of a queued message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Stored for a later request.
    Pending,
    /// Read in a request that ended with the messages used: gone.
    Consumed,
    /// Reported unstored by a plan.
    Unstored,
    /// Lost through no fault of herald: the browser dropped or altered the cookie, the
    /// server lost the session or forgot the key.
    Dropped,
    /// Discarded by the application.
    Discarded,
}

#[derive(Default)]
struct World {
    /// The real cookie value and session entry.
    cookie: Option<String>,
    session: Option<Vec<u8>>,
    /// The model of both.
    m_cookie: Option<ModelCookie>,
    m_session: Option<Vec<M>>,
    /// The issued-at of the session entry (meaningful when `m_session` is set).
    m_session_issued_at: u64,
    generation: u32,
    now: u64,
    next_id: u32,
    fate: HashMap<u32, Fate>,
    /// When each queued message was added.
    added_at: HashMap<u32, u64>,
    /// the ids of `now` messages (never in `fate`: never stored).
    now_ids: BTreeSet<u32>,
}

/// The model of one request's inbox (Django's `BaseStorage` state).
struct ModelInbox {
    list: Vec<M>,
    loaded: usize,
    used: bool,
    added_new: bool,
    invalid_untouched: bool,
    level: Option<Level>,
    cookie_used: bool,
    session_used: bool,
    cookie_count: usize,
    cookie_continued: bool,
    cookie_key: Option<KeyUsed>,
    /// The list, loaded boundary and marks as they were before the plan compacted them.
    before_compaction: Vec<M>,
    loaded_before: usize,
    request_only_before: BTreeSet<u32>,
    read_before: BTreeSet<u32>,
    /// the ids loaded from each source (cookie, session) and its issued-at.
    sources: Vec<(BTreeSet<u32>, u64)>,
    /// ids for this request only (`now`, discarded).
    request_only: BTreeSet<u32>,
    /// ids read by a filtered read (cleared by `keep`).
    read: BTreeSet<u32>,
}

impl ModelInbox {
    fn touch(&mut self) {
        if self.invalid_untouched {
            self.invalid_untouched = false;
            self.used = true;
        }
    }
    fn level(&self) -> Level {
        self.level.unwrap_or(Level::INFO)
    }
}

/// An arbitrary scenario of up to 12 requests of up to 24 operations each (add, iterate
/// fully or partly, `len`, `contains`, `keep`, set the level), under one storage
/// (cookie, session or fallback), with key rotations and browser or server mishaps
/// between requests (cookie dropped or altered, session lost), each request planned
/// with its own cookie bound (0 to 4096 characters; the plan raises bounds below
/// [`MIN_VALUE_LEN`](truncate::MIN_VALUE_LEN) to it), then a final request that reads
/// everything. The real [`Inbox`] and the reference model (plain `Vec`s, RULES §2 with
/// the storage rules of §4 – §6 and R-4.7's truncation computed by brute force from the
/// README's byte layout) must agree on every result: each add, each iteration, `len`,
/// `contains`, each load and each [`Plan`]. Independently of the model, a ledger of
/// every queued message checks:
/// * **read-once**: an iteration never yields a message already consumed, reported
///   unstored or lost;
/// * **no loss**: after each request, the messages the next request would load are
///   exactly the pending ones (queued, not consumed, not reported unstored, not lost to
///   a mishap), and after the final read none is left;
/// * **order**: every iteration yields messages in the order they were added;
/// * **size bound**: every sealed cookie value is within its request's bound (re-signed
///   cookies included) and has the length the byte layout predicts;
/// * **issued-at** (RULES ): every written value carries the plan's issued-at, which is
///   never later than `now` nor than the adding time of any message it holds.
///
/// When bit 62 of the scenario's start time is set (no committed seed has it, so they keep
/// their meaning), the same bytes are read in **extension mode** (RULES §11), whose
/// operations add `now` messages, `discard`, `discard_read` and filtered reads (by levels
/// or by id parity). The model then also leaves request-only and filtered-read messages
/// out of the update and compacts its list as says, and the ledger checks that a
/// `now` message is shown only in its own request and never stored, that a filtered read
/// shows only pending messages, in order, and that a discarded message is gone.
pub fn inbox_ops(data: &[u8]) {
    let Ok(scenario) = Scenario::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    // Extension mode (RULES §11): the same bytes read with the extended operations.
    let mut scenario = if scenario.start & EXTENSIONS == 0 {
        ExtScenario {
            storage: scenario.storage,
            start: scenario.start,
            requests: scenario
                .requests
                .into_iter()
                .map(|r| ExtRequest {
                    rotate: r.rotate,
                    client: r.client,
                    ops: r.ops.into_iter().map(ExtOp::Base).collect(),
                    max_len: r.max_len,
                    tick: r.tick,
                })
                .collect(),
        }
    } else {
        let Ok(ext) = ExtScenario::arbitrary_take_rest(Unstructured::new(data)) else {
            return;
        };
        ext
    };
    let storage = match scenario.storage {
        StoragePick::Cookie => Storage::Cookie,
        StoragePick::Session => Storage::Session,
        StoragePick::Fallback => Storage::Fallback,
    };
    scenario.requests.truncate(MAX_REQUESTS);
    // Both message stores, under the same model and limits: the fixed list of the no_std
    // core, or the growable list of the std adapters. Chosen by the start time's low bit,
    // so that the committed seeds keep their meaning.
    let growable = scenario.start & 1 == 1;
    let mut world = World {
        now: scenario.start,
        ..World::default()
    };
    for request in &mut scenario.requests {
        request.ops.truncate(MAX_OPS);
        run_request(&mut world, storage, request, growable);
    }
    let drain = ExtRequest {
        rotate: false,
        client: Client::Send,
        ops: vec![ExtOp::Base(Op::Iter(None))],
        max_len: u16::MAX,
        tick: 1,
    };
    run_request(&mut world, storage, &drain, growable);
    let left: Vec<_> = world
        .fate
        .iter()
        .filter(|(_, f)| **f == Fate::Pending)
        .collect();
    assert!(left.is_empty(), "never delivered: {left:?}");
}

/// The server's signer after `generation` rotations (built once per generation).
fn signer_for(generation: u32) -> &'static Signer<FALLBACKS> {
    static SIGNERS: [OnceLock<Signer<FALLBACKS>>; MAX_REQUESTS + 2] =
        [const { OnceLock::new() }; MAX_REQUESTS + 2];
    SIGNERS[generation as usize].get_or_init(|| build_signer(generation))
}

fn build_signer(generation: u32) -> Signer<FALLBACKS> {
    let secret = |g: u32| format!("inbox_ops secret, 32 bytes or more: {g}").into_bytes();
    let current = secret(generation);
    let old: Vec<Vec<u8>> = (1..=FALLBACKS as u32)
        .filter_map(|back| generation.checked_sub(back).map(secret))
        .collect();
    let old: Vec<&[u8]> = old.iter().map(Vec::as_slice).collect();
    Signer::new(&current, super::PURPOSE, super::COOKIE, &old).expect("at most FALLBACKS keys")
}

/// Which key of generation `current` verifies a value signed by generation `signed`.
fn key_for(current: u32, signed: u32) -> Option<KeyUsed> {
    match current - signed {
        0 => Some(KeyUsed::Current),
        d if d as usize <= FALLBACKS => Some(KeyUsed::Fallback(d as usize - 1)),
        _ => None,
    }
}

/// The ids the next request would load, by the model.
fn reachable(world: &World, storage: Storage) -> BTreeSet<u32> {
    let ids = |v: &[M]| v.iter().map(|m| m.id).collect::<Vec<_>>();
    let cookie = world
        .m_cookie
        .as_ref()
        .filter(|c| !c.corrupted && key_for(world.generation, c.generation).is_some());
    let mut out = Vec::new();
    match storage {
        Storage::Cookie => out.extend(cookie.map(|c| ids(&c.msgs)).unwrap_or_default()),
        Storage::Session => out.extend(world.m_session.as_deref().map(ids).unwrap_or_default()),
        Storage::Fallback => {
            if let Some(c) = cookie {
                out.extend(ids(&c.msgs));
                if c.continued {
                    out.extend(world.m_session.as_deref().map(ids).unwrap_or_default());
                }
            }
        }
    }
    out.into_iter().collect()
}

fn run_request(world: &mut World, storage: Storage, request: &ExtRequest, growable: bool) {
    if growable {
        let limits = Limits {
            max_bytes: BYTES,
            max_messages: MSGS,
        };
        run_request_with(world, storage, request, GrowableList::new(limits));
    } else {
        run_request_with(world, storage, request, MessageList::<BYTES, MSGS>::new());
    }
}

fn run_request_with<L: MessageStore>(
    world: &mut World,
    storage: Storage,
    request: &ExtRequest,
    list: L,
) {
    // Between requests: rotation and mishaps. What they make unreachable is lost.
    let before = reachable(world, storage);
    if request.rotate {
        world.generation += 1;
    }
    match request.client {
        Client::Send => {}
        Client::DropCookie => {
            world.cookie = None;
            world.m_cookie = None;
        }
        Client::CorruptCookie(pos) => {
            if let (Some(value), Some(model)) = (world.cookie.as_mut(), world.m_cookie.as_mut()) {
                let mut bytes = std::mem::take(value).into_bytes();
                let i = usize::from(pos) % bytes.len();
                bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
                *value = String::from_utf8(bytes).expect("ASCII");
                model.corrupted = *value != model.written;
            }
        }
        Client::LoseSession => {
            world.session = None;
            world.m_session = None;
        }
    }
    let after = reachable(world, storage);
    for id in before.difference(&after) {
        world.fate.insert(*id, Fate::Dropped);
    }
    // A second corruption that restores the written value brings its messages back.
    for id in after.difference(&before) {
        if world.fate.get(id) == Some(&Fate::Dropped) {
            world.fate.insert(*id, Fate::Pending);
        }
    }

    let signer = signer_for(world.generation);
    let now = world.now;
    // Any bound up to MAX_VALUE_LEN; the plan raises those below MIN_VALUE_LEN to it.
    let asked = usize::from(request.max_len) % (MAX_VALUE_LEN + 1);
    let max_len = asked.max(truncate::MIN_VALUE_LEN);
    let mut inbox = Inbox::with_store(list, storage, Level::INFO);
    let mut model = ModelInbox {
        list: Vec::new(),
        loaded: 0,
        used: false,
        added_new: false,
        invalid_untouched: false,
        level: None,
        cookie_used: false,
        session_used: false,
        cookie_count: 0,
        cookie_continued: false,
        cookie_key: None,
        before_compaction: Vec::new(),
        loaded_before: 0,
        request_only_before: BTreeSet::new(),
        read_before: BTreeSet::new(),
        sources: Vec::new(),
        request_only: BTreeSet::new(),
        read: BTreeSet::new(),
    };

    // Load.
    let mut consult_session = storage == Storage::Session;
    if storage != Storage::Session {
        let got = inbox.load_cookie(
            world.cookie.as_deref().map(str::as_bytes),
            signer,
            now,
            None,
        );
        match &world.m_cookie {
            None => assert_eq!(got, Ok(Loaded::Absent)),
            Some(c) => match key_for(world.generation, c.generation).filter(|_| !c.corrupted) {
                Some(key) => {
                    assert_eq!(
                        got,
                        Ok(Loaded::Messages {
                            count: c.msgs.len(),
                            expired: 0,
                            continued: c.continued,
                            key
                        })
                    );
                    model.list.extend(c.msgs.iter().cloned());
                    model.cookie_used = !c.msgs.is_empty();
                    model.cookie_count = c.msgs.len();
                    model.cookie_continued = c.continued;
                    model.cookie_key = Some(key);
                    model
                        .sources
                        .push((c.msgs.iter().map(|m| m.id).collect(), c.issued_at));
                    consult_session = storage == Storage::Fallback && c.continued;
                }
                None => {
                    assert!(
                        matches!(got, Err(LoadError::Open(_))),
                        "an altered or unknown-key cookie was accepted: {got:?}"
                    );
                    model.invalid_untouched = storage == Storage::Cookie;
                }
            },
        }
    }
    assert_eq!(inbox.needs_session(), consult_session);
    if consult_session {
        let got = inbox.load_session(world.session.as_deref(), now);
        match &world.m_session {
            None => assert_eq!(got, Ok(Loaded::Absent)),
            Some(s) => {
                assert_eq!(
                    got,
                    Ok(Loaded::Messages {
                        count: s.len(),
                        expired: 0,
                        continued: false,
                        key: KeyUsed::Current
                    })
                );
                model.list.extend(s.iter().cloned());
                model.session_used = !s.is_empty();
                model
                    .sources
                    .push((s.iter().map(|m| m.id).collect(), world.m_session_issued_at));
            }
        }
    }
    model.loaded = model.list.len();

    // The handler.
    let mut bytes_used: usize = model.list.iter().map(|m| stored_bytes(&m.msg)).sum();
    let mut request_now: BTreeSet<u32> = BTreeSet::new();
    for op in &request.ops {
        let op = match op {
            ExtOp::Base(op) => op,
            ExtOp::Now(arb) => {
                let mut msg = arb.owned();
                let id = world.next_id;
                if !msg.message.is_empty() {
                    msg.message = format!("{id}~{}", msg.message);
                }
                let expected = expected_add(&msg, model.level(), model.list.len(), bytes_used);
                let got = inbox.add_message_now(msg.as_message());
                check_added(&got, expected, &msg, "add_now");
                if got == Ok(Added::Queued) {
                    world.next_id += 1;
                    bytes_used += stored_bytes(&msg);
                    model.list.push(M { id, msg });
                    model.request_only.insert(id);
                    world.now_ids.insert(id);
                    request_now.insert(id);
                }
                continue;
            }
            ExtOp::Discard => {
                model.touch();
                model.request_only.extend(model.list.iter().map(|m| m.id));
                inbox.discard();
                continue;
            }
            ExtOp::DiscardRead => {
                model.touch();
                if model.used {
                    let read: Vec<u32> = model.list[..model.loaded].iter().map(|m| m.id).collect();
                    model.request_only.extend(read);
                }
                let read: Vec<u32> = model.read.iter().copied().collect();
                model.request_only.extend(read);
                inbox.discard_read();
                continue;
            }
            ExtOp::ReadLevels(_) | ExtOp::ReadParity(_) => {
                model.touch();
                let accepts = |level: Level, text: &str| match op {
                    ExtOp::ReadLevels(picks) => picks.iter().any(|p| p.level() == level),
                    ExtOp::ReadParity(odd) => {
                        let id: u32 = text
                            .split('~')
                            .next()
                            .and_then(|i| i.parse().ok())
                            .unwrap_or(0);
                        (id % 2 == 1) == *odd
                    }
                    _ => unreachable!(),
                };
                let expected: Vec<M> = model
                    .list
                    .iter()
                    .filter(|m| accepts(m.msg.level, &m.msg.message))
                    .cloned()
                    .collect();
                let got: Vec<Owned> = inbox
                    .read_where(|m| accepts(m.level, m.message))
                    .map(|m| Owned::of(&m))
                    .collect();
                assert_eq!(got.len(), expected.len(), "filtered read length");
                let mut last = None;
                for (g, m) in got.iter().zip(&expected) {
                    assert!(m.msg.same_as(&g.as_message()), "read {g:?}, model {m:?}");
                    if world.now_ids.contains(&m.id) {
                        assert!(
                            request_now.contains(&m.id),
                            "now message {} shown again",
                            m.id
                        );
                    } else {
                        assert_eq!(
                            world.fate.get(&m.id),
                            Some(&Fate::Pending),
                            "read-once: message {} delivered again",
                            m.id
                        );
                    }
                    assert!(last < Some(m.id), "order: {} after {last:?}", m.id);
                    last = Some(m.id);
                }
                model.read.extend(expected.iter().map(|m| m.id));
                continue;
            }
        };
        match op {
            Op::Add(arb) => {
                let mut msg = arb.owned();
                let id = world.next_id;
                if !msg.message.is_empty() {
                    msg.message = format!("{id}~{}", msg.message);
                }
                let expected = expected_add(&msg, model.level(), model.list.len(), bytes_used);
                let got = inbox.add_message(msg.as_message());
                check_added(&got, expected, &msg, "add");
                if got == Ok(Added::Queued) {
                    world.next_id += 1;
                    bytes_used += stored_bytes(&msg);
                    model.list.push(M { id, msg });
                    model.added_new = true;
                    world.fate.insert(id, Fate::Pending);
                    world.added_at.insert(id, now);
                }
            }
            Op::Iter(take) => {
                model.touch();
                model.used = true;
                model.loaded = model.list.len();
                let take = take.map_or(usize::MAX, usize::from);
                let got: Vec<Owned> = inbox.iter().take(take).map(|m| Owned::of(&m)).collect();
                assert_eq!(got.len(), model.list.len().min(take), "iteration length");
                let mut last = None;
                for (g, m) in got.iter().zip(&model.list) {
                    assert!(m.msg.same_as(&g.as_message()), "read {g:?}, model {m:?}");
                    if world.now_ids.contains(&m.id) {
                        assert!(
                            request_now.contains(&m.id),
                            "now message {} shown again",
                            m.id
                        );
                        continue;
                    }
                    assert_eq!(
                        world.fate.get(&m.id),
                        Some(&Fate::Pending),
                        "read-once: message {} delivered again",
                        m.id
                    );
                    assert!(last < Some(m.id), "order: {} after {last:?}", m.id);
                    last = Some(m.id);
                }
            }
            Op::Len => {
                model.touch();
                assert_eq!(inbox.len(), model.list.len());
            }
            Op::Contains(probe) => {
                model.touch();
                let (level, text) = match probe {
                    Probe::Held(i) if !model.list.is_empty() => {
                        let m = &model.list[usize::from(*i) % model.list.len()].msg;
                        (m.level, m.message.clone())
                    }
                    Probe::Held(_) => (Level::INFO, "absent".to_owned()),
                    Probe::Other(level, text) => (level.level(), text.clone()),
                };
                let expected = model
                    .list
                    .iter()
                    .any(|m| m.msg.level == level && m.msg.message == text);
                assert_eq!(inbox.contains(&Message::new(level, &text)), expected);
            }
            Op::Keep => {
                model.used = false;
                model.read.clear();
                inbox.keep();
            }
            Op::SetLevel(level) => {
                model.level = level.map(LevelPick::level);
                inbox.set_level(model.level);
            }
        }
    }
    assert_eq!(inbox.used(), model.used);
    assert_eq!(inbox.added_new(), model.added_new);

    // The response.
    let expected = model_plan(&mut model, storage, max_len, now);
    let plan = inbox.plan(asked, now);
    assert_eq!(plan, expected, "plan differs from the model");
    // independently of the model: a written value is never younger than a message
    // it holds, and never stamped in the future.
    assert!(plan.issued_at <= now, "issued in the future");
    let in_cookie = match &plan.cookie {
        CookieAction::Set { messages, .. } => messages.clone(),
        _ => 0..0,
    };
    let in_session = match &plan.session {
        SessionAction::Set { messages } => messages.clone(),
        _ => 0..0,
    };
    for m in model.list[in_cookie].iter().chain(&model.list[in_session]) {
        assert!(
            !world.now_ids.contains(&m.id),
            "now message {} written (R-11.1)",
            m.id
        );
        assert!(
            plan.issued_at <= world.added_at[&m.id],
            "a value issued at {} holds message {} added at {}",
            plan.issued_at,
            m.id,
            world.added_at[&m.id]
        );
    }
    // What this request consumed or discarded (before the model's compaction, R-11.4).
    for (i, m) in model.before_compaction.iter().enumerate() {
        if world.now_ids.contains(&m.id) {
            continue;
        }
        if model.request_only_before.contains(&m.id) {
            world.fate.insert(m.id, Fate::Discarded);
        } else if (model.used && i < model.loaded_before) || model.read_before.contains(&m.id) {
            world.fate.insert(m.id, Fate::Consumed);
        }
    }
    for m in &model.list[plan.unstored.clone()] {
        world.fate.insert(m.id, Fate::Unstored);
    }
    match plan.cookie {
        CookieAction::Keep => {}
        CookieAction::Delete => {
            world.cookie = None;
            world.m_cookie = None;
        }
        CookieAction::Set {
            messages,
            continued,
        } => {
            let mut out = [0u8; MAX_VALUE_LEN];
            let value = inbox
                .seal_cookie(
                    messages.clone(),
                    continued,
                    signer,
                    plan.issued_at,
                    &mut out,
                )
                .expect("a planned cookie fits in MAX_VALUE_LEN");
            let mut scratch = [0u8; herald_core::signer::MAX_RAW_LEN];
            let opened = signer.open(value.as_bytes(), now, None, &mut scratch);
            assert_eq!(
                opened.map(|o| o.issued_at),
                Ok(plan.issued_at),
                "the sealed value's issued-at"
            );
            let msgs = model.list[messages].to_vec();
            assert!(
                value.len() <= max_len,
                "size bound: {} > {max_len}",
                value.len()
            );
            assert_eq!(
                value.len(),
                model_signed_len(msgs.iter().map(|m| &m.msg), plan.issued_at)
            );
            world.cookie = Some(value.to_owned());
            world.m_cookie = Some(ModelCookie {
                msgs,
                continued,
                corrupted: false,
                written: value.to_owned(),
                generation: world.generation,
                issued_at: plan.issued_at,
            });
        }
    }
    match plan.session {
        SessionAction::Keep => {}
        SessionAction::Remove => {
            world.session = None;
            world.m_session = None;
        }
        SessionAction::Set { messages } => {
            let mut entry = vec![0u8; inbox.session_len(messages.clone(), plan.issued_at)];
            assert_eq!(
                inbox.encode_session(messages.clone(), plan.issued_at, &mut entry),
                Ok(entry.len())
            );
            assert_eq!(
                herald_core::codec::peek_issued_at(&entry),
                Ok(plan.issued_at),
                "the session entry's issued-at"
            );
            world.session = Some(entry);
            world.m_session_issued_at = plan.issued_at;
            world.m_session = Some(model.list[messages].to_vec());
        }
    }

    // No loss: what the next request can load is exactly what is pending.
    let pending: BTreeSet<u32> = world
        .fate
        .iter()
        .filter(|(_, f)| **f == Fate::Pending)
        .map(|(id, _)| *id)
        .collect();
    assert_eq!(reachable(world, storage), pending, "no loss / read-once");
    world.now = now.saturating_add(u64::from(request.tick));
}

/// Bytes a message takes in the inbox's arena.
/// What the model expects an add (or an add for this request only) of `msg` to do, with
/// `len` messages and `bytes_used` bytes already held: the empty and level rules, then the
/// count, then the bytes.
fn expected_add(
    msg: &Owned,
    level: Level,
    len: usize,
    bytes_used: usize,
) -> Result<Added, CapacityError> {
    if msg.message.is_empty() {
        Ok(Added::IgnoredEmpty)
    } else if msg.level < level {
        Ok(Added::IgnoredBelowLevel)
    } else if len == MSGS {
        Err(CapacityError::TooManyMessages)
    } else if bytes_used + stored_bytes(msg) > BYTES {
        Err(CapacityError::TooManyBytes)
    } else {
        Ok(Added::Queued)
    }
}

/// The inbox's answer to an add matches the model's, and a refused message is handed back.
fn check_added(
    got: &Result<Added, AddError<'_>>,
    expected: Result<Added, CapacityError>,
    msg: &Owned,
    what: &str,
) {
    match (got, expected) {
        (Ok(g), Ok(e)) => assert_eq!(*g, e, "{what} {msg:?}"),
        (Err(AddError { message, reason }), Err(e)) => {
            assert_eq!(*reason, e, "{what} {msg:?}");
            assert!(msg.same_as(message), "handed back another message");
        }
        (g, e) => panic!("{what} {msg:?}: got {g:?}, model says {e:?}"),
    }
}

fn stored_bytes(m: &Owned) -> usize {
    m.message.len() + m.extra_tags.as_ref().map_or(0, String::len)
}

/// The plan by RULES and §4 – §6, with R-4.7's cut found by brute force.
fn model_plan(model: &mut ModelInbox, storage: Storage, max_len: usize, now: u64) -> Plan {
    enum Update {
        Unchanged,
        Clear,
        Store(Range<usize>),
    }
    model.before_compaction = model.list.clone();
    model.loaded_before = model.loaded;
    model.request_only_before = model.request_only.clone();
    model.read_before = model.read.clone();
    let source_dropped = model
        .sources
        .iter()
        .flat_map(|(ids, _)| ids)
        .any(|id| model.request_only.contains(id) || model.read.contains(id));
    let len = model.list.len();
    let candidates = if model.used {
        Some(model.loaded..len)
    } else if model.added_new {
        model.touch();
        Some(0..len)
    } else if source_dropped {
        Some(0..len)
    } else {
        None
    };
    // the dropped messages are left out; a gap compacts the list.
    let dropped = |m: &M| model.request_only.contains(&m.id) || model.read.contains(&m.id);
    let update = match candidates {
        None => Update::Unchanged,
        Some(r) => {
            let kept: Vec<M> = model.list[r.clone()]
                .iter()
                .filter(|m| !dropped(m))
                .cloned()
                .collect();
            if kept.is_empty() {
                Update::Clear
            } else if kept.len() == r.len() {
                Update::Store(r)
            } else {
                let n = kept.len();
                model.list = kept;
                Update::Store(0..n)
            }
        }
    };
    let fits_at = |r: Range<usize>, issued_at: u64| {
        model_signed_len(model.list[r].iter().map(|m| &m.msg), issued_at) <= max_len
    };
    // a value holding a message loaded from a source is issued at the earliest such
    // source's issued-at (never later than `now`); new messages count as issued at the
    // request's time, which is `now` here (the load and the response share one time).
    let issued_for = |r: &Range<usize>| {
        let ids: BTreeSet<u32> = model.list[r.clone()].iter().map(|m| m.id).collect();
        model
            .sources
            .iter()
            .filter(|(src, _)| !src.is_disjoint(&ids))
            .fold(now, |t, (_, s)| t.min(*s))
    };
    let keep = Plan {
        cookie: CookieAction::Keep,
        session: SessionAction::Keep,
        unstored: 0..0,
        issued_at: now,
    };
    let mut plan = match (storage, update) {
        (_, Update::Unchanged) => keep,
        (Storage::Cookie, Update::Clear) => Plan {
            cookie: CookieAction::Delete,
            ..keep
        },
        (Storage::Session, Update::Clear) => Plan {
            session: SessionAction::Remove,
            ..keep
        },
        (Storage::Fallback, Update::Clear) => Plan {
            cookie: if model.cookie_used {
                CookieAction::Delete
            } else {
                CookieAction::Keep
            },
            session: if model.session_used {
                SessionAction::Remove
            } else {
                SessionAction::Keep
            },
            ..keep
        },
        (Storage::Session, Update::Store(r)) => Plan {
            issued_at: issued_for(&r),
            session: SessionAction::Set { messages: r },
            ..keep
        },
        (Storage::Cookie, Update::Store(r)) => {
            let issued_at = issued_for(&r);
            let cut = (r.start..=r.end)
                .find(|&c| fits_at(c..r.end, issued_at))
                .expect("the empty suffix always fits in MIN_VALUE_LEN");
            Plan {
                cookie: CookieAction::Set {
                    messages: cut..r.end,
                    continued: cut > r.start,
                },
                session: SessionAction::Keep,
                unstored: r.start..cut,
                issued_at,
            }
        }
        (Storage::Fallback, Update::Store(r)) => {
            let issued_at = issued_for(&r);
            let cut = (r.start..=r.end)
                .rev()
                .find(|&c| fits_at(r.start..c, issued_at))
                .expect("the empty prefix always fits in MIN_VALUE_LEN");
            Plan {
                cookie: CookieAction::Set {
                    messages: r.start..cut,
                    continued: cut < r.end,
                },
                session: if cut < r.end {
                    SessionAction::Set {
                        messages: cut..r.end,
                    }
                } else if model.session_used {
                    SessionAction::Remove
                } else {
                    SessionAction::Keep
                },
                unstored: r.end..r.end,
                issued_at,
            }
        }
    };
    // Re-signed with the current key, keeping its issued-at, only when the
    // re-signed value fits the bound.
    let cookie_issued_at = model.sources.first().map_or(now, |(_, t)| (*t).min(now));
    let resign = matches!(model.cookie_key, Some(KeyUsed::Fallback(_)))
        && plan.cookie == CookieAction::Keep
        && storage != Storage::Session
        && fits_at(0..model.cookie_count, cookie_issued_at);
    if resign {
        plan.cookie = CookieAction::Set {
            messages: 0..model.cookie_count,
            continued: model.cookie_continued,
        };
        plan.issued_at = cookie_issued_at;
    }
    plan
}

/// The input as this target reads it (`Debug` of the decoded structure), for triage of
/// a crash file.
pub fn describe(data: &[u8]) -> String {
    match Scenario::arbitrary_take_rest(Unstructured::new(data)) {
        Ok(s) if s.start & EXTENSIONS != 0 => format!(
            "{:#?}",
            ExtScenario::arbitrary_take_rest(Unstructured::new(data))
        ),
        other => format!("{other:#?}"),
    }
}
