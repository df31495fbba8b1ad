//! Shared helpers for the Django tests: the conformance vectors, the vectors' JSON
//! descriptions of items, and a small, faithful model of Django's storages
//! (`BaseStorage`, `CookieStorage`, `SessionStorage`, `FallbackStorage`, SPEC §2, §4 – §6)
//! written on top of `herald_flash::django`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use herald_core::level::TagTable;
use herald_flash::django::{
    CookieSettings, DecodeError, DjangoCodec, DjangoItem, DjangoMessage, MAX_COOKIE_SIZE,
    decode_session, encode_session,
};
use serde_json::{Value, json};

/// Shared with `tests/common`: the rule for live tests whose tool is missing. A test
/// binary with both modules holds two copies, which behave the same.
#[allow(clippy::duplicate_mod)]
#[path = "../common/live.rs"]
pub mod live;

/// The Python with Django for the live checks: `HERALD_DJANGO_PYTHON`, else
/// `<repo>/.venv-django/bin/python`, if it can `import django`.
pub fn find_python() -> Option<PathBuf> {
    python_with_django().ok()
}

/// [`find_python`], saying why when there is none.
fn python_with_django() -> Result<PathBuf, String> {
    let (candidate, named) = match std::env::var_os("HERALD_DJANGO_PYTHON") {
        Some(p) => (PathBuf::from(p), "HERALD_DJANGO_PYTHON"),
        None => (
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../.venv-django/bin/python"),
            "the default (HERALD_DJANGO_PYTHON is not set)",
        ),
    };
    let status = Command::new(&candidate)
        .args(["-c", "import django"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    match status {
        Ok(s) if s.success() => Ok(candidate),
        Ok(s) => Err(format!(
            "no Python with Django: {} ({named}) cannot import django ({s})",
            candidate.display()
        )),
        Err(e) => Err(format!(
            "no Python with Django: {} ({named}) cannot be run: {e}",
            candidate.display()
        )),
    }
}

/// The Python with Django for the live test `test`: `None` only when the Django tests are
/// deselected (`HERALD_SKIP_LIVE=django` or `=all`), after reporting that `test` did not
/// run; a panic saying how to get Django when there is no such Python.
pub fn django_python(test: &str) -> Option<PathBuf> {
    live::require(live::Group::Django, test, python_with_django)
}

/// Runs `cases` through `django_support/django_live.py` in one Python process and returns
/// its answer: `{"django_version", "python_version", "zlib_version", "results": [...]}`,
/// one result per case.
pub fn run_django_helper(python: &Path, cases: &[Value]) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/django_support/django_live.py");
    let mut child = Command::new(python)
        .arg(&script)
        .env("PYTHONIOENCODING", "utf-8")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Django helper");
    let input = serde_json::to_vec(&json!({ "cases": cases })).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().expect("run the Django helper");
    writer
        .join()
        .unwrap()
        .expect("write cases to the Django helper");
    assert!(
        out.status.success(),
        "the Django helper failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let answer: Value = serde_json::from_slice(&out.stdout).expect("helper output is JSON");
    assert_eq!(
        answer["results"].as_array().map(Vec::len),
        Some(cases.len()),
        "one result per case"
    );
    answer
}

/// `../shared/conformance/` beside the repository root.
pub fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/conformance")
}

/// The visible Django vector file, parsed. Panics with a clear message when it is missing.
pub fn load_vectors() -> Value {
    let path = conformance_dir().join("django-vectors.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "\n\n*** Django conformance vectors not found at {}: {e}\n\
             *** The `shared` folder must sit beside the repository root \
             (shared/conformance/django-vectors.json).\n\n",
            path.display()
        )
    });
    serde_json::from_str(&text).expect("django-vectors.json is valid JSON")
}

/// An input message object of the vectors: `{"level","message","extra_tags","is_safe"}`
/// or `{"raw": value}`.
pub fn item_from_input(v: &Value) -> DjangoItem {
    if let Some(raw) = v.get("raw") {
        return DjangoItem::Raw(raw.clone());
    }
    DjangoItem::Message(DjangoMessage {
        level: v["level"].as_i64().expect("level") as i32,
        message: v["message"].as_str().expect("message").to_owned(),
        extra_tags: v["extra_tags"].as_str().map(str::to_owned),
        is_safe: v["is_safe"].as_bool().unwrap_or(false),
    })
}

/// A decoded message as the vectors describe it, with the default tag table.
pub fn describe_message(m: &DjangoMessage) -> Value {
    let table = TagTable::defaults();
    json!({
        "level": m.level,
        "message": m.message,
        "extra_tags": m.extra_tags,
        "is_safe": m.is_safe,
        "level_tag": m.level_tag(&table),
        "tags": m.tags(&table),
    })
}

/// A decoded item as the vectors describe it: a message, or `{"raw": ...}` where nested
/// messages appear as `{"message_object": ...}`.
pub fn describe_item(item: &DjangoItem) -> Value {
    match item {
        DjangoItem::Message(m) => describe_message(m),
        DjangoItem::Raw(v) => json!({ "raw": plain(v) }),
    }
}

fn plain(v: &Value) -> Value {
    if let Some(m) = DjangoMessage::from_json_array(v) {
        return json!({ "message_object": describe_message(&m) });
    }
    match v {
        Value::Array(a) => Value::Array(a.iter().map(plain).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        other => other.clone(),
    }
}

/// A list of items, described.
pub fn describe_list(items: &[DjangoItem]) -> Value {
    Value::Array(items.iter().map(describe_item).collect())
}

/// The vector's `settings` object as cookie settings.
pub fn cookie_settings(settings: &Value) -> CookieSettings {
    CookieSettings::default()
        .domain(settings["SESSION_COOKIE_DOMAIN"].as_str())
        .secure(settings["SESSION_COOKIE_SECURE"].as_bool().unwrap_or(false))
        .httponly(
            settings["SESSION_COOKIE_HTTPONLY"]
                .as_bool()
                .unwrap_or(true),
        )
        .samesite(settings["SESSION_COOKIE_SAMESITE"].as_str())
        .expect("valid SameSite in the vectors")
}

/// The codec of a vector's signing context.
pub fn codec_of(v: &Value) -> DjangoCodec {
    let fallbacks: Vec<&str> = v["fallback_keys"]
        .as_array()
        .map(|a| a.iter().map(|k| k.as_str().expect("key")).collect())
        .unwrap_or_default();
    DjangoCodec::new(v["secret_key"].as_str().expect("secret_key")).with_fallback_keys(fallbacks)
}

/// The full list Django's `_decode` returns: the items with the sentinel put back.
pub fn decode_with_sentinel(codec: &DjangoCodec, value: &str) -> Vec<DjangoItem> {
    let d = codec.decode(value).expect("decodes").expect("not absent");
    let mut items = d.items;
    if !d.all_retrieved {
        items.push(DjangoItem::not_finished());
    }
    items
}

// ------------------------------------------------------------------------------------
// A model of Django's storages on top of the codec.
// ------------------------------------------------------------------------------------

/// The configuration of one request: keys, cookie settings, frozen time, `MESSAGE_LEVEL`.
pub struct Ctx {
    pub codec: DjangoCodec,
    pub settings: CookieSettings,
    pub timestamp: i64,
    pub message_level: Option<i32>,
    pub max_cookie_size: usize,
}

impl Ctx {
    pub fn new(codec: DjangoCodec, timestamp: i64) -> Self {
        Ctx {
            codec,
            settings: CookieSettings::default(),
            timestamp,
            message_level: None,
            max_cookie_size: MAX_COOKIE_SIZE,
        }
    }
}

/// Which storage class: `CookieStorage` alone, `SessionStorage` alone, or
/// `FallbackStorage` (cookie, then session).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Cookie,
    Session,
    Fallback,
}

/// One storage object for one request (Django's `BaseStorage` state, SPEC §2).
pub struct Storage<'c> {
    ctx: &'c Ctx,
    kind: Kind,
    /// `request.COOKIES["messages"]`.
    pub request_cookie: Option<String>,
    /// `request.session` (a dict of JSON strings); `None` for a request without session.
    pub session: Option<BTreeMap<String, String>>,
    queued: Vec<DjangoItem>,
    loaded: Option<Vec<DjangoItem>>,
    pub used: bool,
    pub added_new: bool,
    level: Option<i32>,
    /// `FallbackStorage._used_storages`: (cookie, session).
    used_storages: (bool, bool),
    /// The `Set-Cookie` header for `messages` on the response, if any.
    pub set_cookie: Option<String>,
    /// The cookie value on the response: `None` without header, `Some(None)` for the
    /// deletion cookie.
    pub response_cookie: Option<Option<String>>,
    /// How many times the session sub-storage was read or written.
    pub session_get_calls: usize,
    pub session_store_calls: usize,
}

impl<'c> Storage<'c> {
    pub fn new(
        ctx: &'c Ctx,
        kind: Kind,
        request_cookie: Option<String>,
        session: Option<BTreeMap<String, String>>,
    ) -> Self {
        if kind != Kind::Cookie {
            assert!(
                session.is_some(),
                "FallbackStorage needs request.session (R-5.1, R-6.1)"
            );
        }
        Storage {
            ctx,
            kind,
            request_cookie,
            session,
            queued: Vec::new(),
            loaded: None,
            used: false,
            added_new: false,
            level: None,
            used_storages: (false, false),
            set_cookie: None,
            response_cookie: None,
            session_get_calls: 0,
            session_store_calls: 0,
        }
    }

    /// `CookieStorage._get`. Django's exceptions panic here.
    fn cookie_get(&mut self) -> (Option<Vec<DjangoItem>>, bool) {
        let Some(value) = self.request_cookie.clone() else {
            return (None, true);
        };
        match self.ctx.codec.decode(&value) {
            Ok(None) => (None, true),
            Ok(Some(d)) => (Some(d.items), d.all_retrieved),
            Err(e) if e.marks_used() => {
                // The cookie sub-storage marks *itself* used; only CookieStorage alone
                // is that object.
                if self.kind == Kind::Cookie {
                    self.used = true;
                }
                (None, true)
            }
            Err(e) => panic!("Django raises here (R-4.21): {e}"),
        }
    }

    /// `SessionStorage._get`.
    fn session_get(&mut self) -> (Option<Vec<DjangoItem>>, bool) {
        self.session_get_calls += 1;
        let session = self.session.as_ref().expect("session");
        match session.get(herald_flash::django::SESSION_KEY) {
            None => (None, true),
            Some(data) => (
                decode_session(data).unwrap_or_else(|e: DecodeError| panic!("session: {e}")),
                true,
            ),
        }
    }

    /// `_get` of the storage class.
    fn get(&mut self) -> (Option<Vec<DjangoItem>>, bool) {
        match self.kind {
            Kind::Cookie => self.cookie_get(),
            Kind::Session => self.session_get(),
            Kind::Fallback => {
                //
                let mut all = Vec::new();
                let (msgs, all_retrieved) = self.cookie_get();
                let Some(msgs) = msgs else {
                    return (Some(all), all_retrieved);
                };
                if !msgs.is_empty() {
                    self.used_storages.0 = true;
                }
                all.extend(msgs);
                if all_retrieved {
                    return (Some(all), true);
                }
                let (msgs, all_retrieved) = self.session_get();
                let Some(msgs) = msgs else {
                    return (Some(all), all_retrieved);
                };
                if !msgs.is_empty() {
                    self.used_storages.1 = true;
                }
                all.extend(msgs);
                (Some(all), all_retrieved)
            }
        }
    }

    /// `CookieStorage._store(messages, response, remove_oldest)`.
    fn cookie_store(&mut self, messages: Vec<DjangoItem>, remove_oldest: bool) -> Vec<DjangoItem> {
        let enc = self.ctx.codec.encode(
            &messages,
            remove_oldest,
            self.ctx.timestamp,
            self.ctx.max_cookie_size,
        );
        self.set_cookie = Some(enc.set_cookie_header(&self.ctx.settings));
        self.response_cookie = Some(enc.value.clone());
        messages[enc.unstored].to_vec()
    }

    /// `SessionStorage._store`.
    fn session_store(&mut self, messages: Vec<DjangoItem>) -> Vec<DjangoItem> {
        self.session_store_calls += 1;
        let session = self.session.as_mut().expect("session");
        match encode_session(&messages) {
            Some(s) => {
                session.insert(herald_flash::django::SESSION_KEY.to_owned(), s);
            }
            None => {
                session.remove(herald_flash::django::SESSION_KEY);
            }
        }
        Vec::new()
    }

    /// `_store` of the storage class, as `update()` calls it.
    fn store(&mut self, messages: Vec<DjangoItem>) -> Vec<DjangoItem> {
        match self.kind {
            Kind::Cookie => self.cookie_store(messages, true),
            Kind::Session => self.session_store(messages),
            Kind::Fallback => {
                //
                let mut messages = messages;
                if !messages.is_empty() {
                    messages = self.cookie_store(messages, false);
                } else if self.used_storages.0 {
                    self.cookie_store(Vec::new(), true);
                    self.used_storages.0 = false;
                }
                if !messages.is_empty() {
                    messages = self.session_store(messages);
                } else if self.used_storages.1 {
                    self.session_store(Vec::new());
                    self.used_storages.1 = false;
                }
                messages
            }
        }
    }

    fn loaded_messages(&mut self) -> &mut Vec<DjangoItem> {
        if self.loaded.is_none() {
            let (msgs, _) = self.get();
            self.loaded = Some(msgs.unwrap_or_default());
        }
        self.loaded.as_mut().expect("loaded")
    }

    /// The test suite's `get_storage(data)`: sets the loaded data directly, so `_get` is
    /// never called.
    pub fn preload(&mut self, items: Vec<DjangoItem>) {
        self.loaded = Some(items);
    }

    /// `storage.level`.
    pub fn level(&mut self) -> i32 {
        *self
            .level
            .get_or_insert(self.ctx.message_level.unwrap_or(20))
    }

    /// `storage.level = value`; `None` where no level was cached panics as
    /// Django's `int(None)` raises.
    pub fn set_level(&mut self, level: Option<i32>) {
        match level {
            None if self.level.is_some() => self.level = None,
            None => panic!("int(None) raises TypeError (R-2.2)"),
            Some(l) => self.level = Some(l),
        }
    }

    /// `storage.add(level, message, extra_tags)`.
    pub fn add(&mut self, level: i32, message: &str, extra_tags: Option<&str>) {
        if message.is_empty() || level < self.level() {
            return;
        }
        self.added_new = true;
        self.queued.push(DjangoItem::Message(
            DjangoMessage::new(level, message).with_extra_tags(extra_tags),
        ));
    }

    /// `list(storage)`.
    pub fn iter(&mut self) -> Vec<DjangoItem> {
        self.used = true;
        let queued = std::mem::take(&mut self.queued);
        let loaded = self.loaded_messages();
        loaded.extend(queued);
        loaded.clone()
    }

    /// `len(storage)`.
    pub fn len(&mut self) -> usize {
        self.loaded_messages().len() + self.queued.len()
    }

    /// `Message(level, message) in storage`.
    pub fn contains(&mut self, level: i32, message: &str) -> bool {
        let probe = DjangoItem::Message(DjangoMessage::new(level, message));
        self.loaded_messages().iter().any(|m| m.django_eq(&probe))
            || self.queued.iter().any(|m| m.django_eq(&probe))
    }

    /// `storage.update(response)`: `None` when nothing was stored.
    pub fn update(&mut self) -> Option<Vec<DjangoItem>> {
        if self.used {
            let queued = std::mem::take(&mut self.queued);
            Some(self.store(queued))
        } else if self.added_new {
            let mut messages = self.loaded_messages().clone();
            messages.append(&mut self.queued);
            Some(self.store(messages))
        } else {
            None
        }
    }
}

impl Storage<'_> {
    /// Django's `stored_cookie_messages_count`: messages in the response cookie, without
    /// the sentinel; 0 without a cookie or for the deletion cookie.
    pub fn stored_cookie_count(&self) -> usize {
        match &self.response_cookie {
            Some(Some(value)) => match self.ctx.codec.decode(value) {
                Ok(Some(d)) => d.items.len(),
                _ => 0,
            },
            _ => 0,
        }
    }

    /// Django's `stored_session_messages_count`: messages under `_messages`.
    pub fn stored_session_count(&self) -> usize {
        self.session
            .as_ref()
            .and_then(|s| s.get(herald_flash::django::SESSION_KEY))
            .map_or(0, |data| {
                decode_session(data).unwrap().unwrap_or_default().len()
            })
    }
}

// ------------------------------------------------------------------------------------
// A small deterministic RNG for tests (SplitMix64).
// ------------------------------------------------------------------------------------

/// SplitMix64: seeded, reproducible, no dependency.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}
