//! `herald`: inspect, decode and encode flash-message cookies, in herald's own format and
//! in Django's (`django.contrib.messages` `CookieStorage`).
//!
//! ```text
//! herald inspect COOKIE [--secret S]...
//! herald decode --secret S [--fallback-key K]... COOKIE
//! herald encode --secret S --timestamp T [--max-size N] [--keep-oldest]   < messages.json
//! herald django decode --secret S [--fallback-key K]... COOKIE
//! herald django encode --secret S --timestamp T [--max-size N] [--keep-oldest] < messages.json
//! ```
//!
//! COOKIE is the cookie value, `-` to read it from standard input, or a pasted
//! `messages=VALUE`, `Cookie: ...` or `Set-Cookie: ...` line.
//!
//! Exit status: 0 on success (for `decode`, also when the value is invalid: the JSON says
//! so), 1 for bad input (unreadable JSON, bad arguments' values; for `inspect`, a value
//! that does not verify or parse), 2 for usage errors.

use std::io::{Read as _, Write as _};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use herald_core::codec::{self, Header};
use herald_core::list::MessageList;
use herald_core::signer::{self, MAC_LEN, OpenError, Signer};
use herald_core::truncate::{self, Policy};
use herald_core::{Level, Message, TagTable};
use herald_flash::django::{
    self, DecodeError, DjangoCodec, DjangoItem, DjangoMessage, KeyUsed, MAX_COOKIE_SIZE,
};
use serde_json::{Value, json};

/// The most fallback keys the native signer accepts here.
const NATIVE_FALLBACKS: usize = 16;
/// Capacity for native messages (text bytes, count): far above what one cookie holds.
type NativeList = MessageList<65535, 4096>;

#[derive(Parser, Debug)]
#[command(
    name = "herald",
    version,
    about = "Inspect, decode and encode flash-message cookies (herald's format and Django's)",
    long_about = "Inspect, decode and encode flash-message cookies, in herald's own format \
                  and in Django's (django.contrib.messages CookieStorage).\n\n\
                  COOKIE is the cookie value, `-` to read it from standard input, or a pasted \
                  `messages=VALUE`, `Cookie: ...` or `Set-Cookie: ...` line."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Detect the format (herald or Django), show the messages, the signature's validity
    /// and the key that verified it (current or fallback N), the size and the timestamp.
    Inspect {
        /// The cookie value (or `-`, or a pasted cookie line).
        cookie: String,
        /// A secret to verify with; repeat it: the first is the current key, the next ones
        /// are fallback keys 0, 1, ... Without any, the signature is not checked.
        #[arg(long = "secret", value_name = "S")]
        secrets: Vec<String>,
        /// The cookie name herald's format binds into its signature.
        #[arg(long, default_value = "messages", value_name = "NAME")]
        cookie_name: String,
    },
    /// Decode a value in herald's own format; prints one JSON object.
    Decode(DecodeArgs),
    /// Encode a JSON array of messages (standard input) in herald's own format.
    Encode(EncodeArgs),
    /// Django's messages cookie (django.contrib.messages CookieStorage).
    #[command(subcommand)]
    Django(DjangoCommand),
}

#[derive(Subcommand, Debug)]
enum DjangoCommand {
    /// Decode and verify a Django messages cookie; prints one JSON object:
    /// {"result":"ok","messages":[...],"all_retrieved":..} or {"result":"invalid"}.
    Decode(DecodeArgs),
    /// Encode a JSON array of messages (standard input) as Django's CookieStorage would;
    /// prints {"value":...,"unstored_indices":[...]}.
    Encode(EncodeArgs),
}

#[derive(Args, Debug)]
struct DecodeArgs {
    /// The current secret (Django's SECRET_KEY).
    #[arg(long, value_name = "S")]
    secret: String,
    /// A fallback secret (Django's SECRET_KEY_FALLBACKS), tried in order; repeatable.
    #[arg(long = "fallback-key", value_name = "K")]
    fallback_keys: Vec<String>,
    /// The cookie name (herald's format binds it into the signature).
    #[arg(long, default_value = "messages", value_name = "NAME")]
    cookie_name: String,
    /// The cookie value (or `-`, or a pasted cookie line).
    cookie: String,
}

#[derive(Args, Debug)]
struct EncodeArgs {
    /// The secret to sign with (Django's SECRET_KEY).
    #[arg(long, value_name = "S")]
    secret: String,
    /// The signing time, in seconds since the epoch (Django's int(time.time())).
    #[arg(long, value_name = "T", allow_negative_numbers = true)]
    timestamp: i64,
    /// The largest cookie value, in characters; 0 means no limit.
    #[arg(long, default_value_t = MAX_COOKIE_SIZE, value_name = "N")]
    max_size: usize,
    /// Keep the oldest messages when not all fit (Django's remove_oldest=False, used by
    /// the fallback storage); by default the newest are kept.
    #[arg(long)]
    keep_oldest: bool,
    /// The cookie name (herald's format binds it into the signature).
    #[arg(long, default_value = "messages", value_name = "NAME")]
    cookie_name: String,
}

/// An error that ends the program with status 1 and a message on standard error.
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect {
            cookie,
            secrets,
            cookie_name,
        } => inspect(&cookie, &secrets, &cookie_name),
        Command::Decode(a) => native_decode(&a).map(|()| ExitCode::SUCCESS),
        Command::Encode(a) => native_encode(&a).map(|()| ExitCode::SUCCESS),
        Command::Django(DjangoCommand::Decode(a)) => django_decode(&a).map(|()| ExitCode::SUCCESS),
        Command::Django(DjangoCommand::Encode(a)) => django_encode(&a).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(Failure(msg)) => {
            eprintln!("herald: error: {msg}");
            ExitCode::FAILURE
        }
    }
}

// ------------------------------------------------------------------------------------
// Input helpers
// ------------------------------------------------------------------------------------

/// The cookie value from the COOKIE argument: `-` reads standard input; a pasted
/// `NAME=VALUE`, `Cookie: ...` or `Set-Cookie: ...` line is parsed.
fn cookie_arg(arg: &str, name: &str) -> Result<String, Failure> {
    let raw = if arg == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| Failure(format!("cannot read the cookie from standard input: {e}")))?;
        s
    } else {
        arg.to_owned()
    };
    let text = raw.trim();
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("cookie:") {
        let header = &text["cookie:".len()..];
        return find_cookie(header, name)
            .ok_or_else(|| Failure(format!("no `{name}` cookie in the given Cookie header")));
    }
    let text = if lower.starts_with("set-cookie:") {
        text["set-cookie:".len()..].trim_start()
    } else {
        text
    };
    if let Some(rest) = text.strip_prefix(name).and_then(|r| r.strip_prefix('=')) {
        let value = rest.split(';').next().unwrap_or("").trim();
        return Ok(django::python_cookie_unquote(value).into_owned());
    }
    Ok(text.to_owned())
}

/// The last `name` cookie of a `Cookie` header, parsed as Django's `parse_cookie`.
fn find_cookie(header: &str, name: &str) -> Option<String> {
    let mut found = None;
    for chunk in header.split(';') {
        if let Some((n, v)) = chunk.split_once('=')
            && n.trim() == name
        {
            found = Some(django::python_cookie_unquote(v.trim()).into_owned());
        }
    }
    found
}

/// One message of the JSON input of `encode`.
enum InputItem {
    Message(DjangoMessage),
    Raw(Value),
}

/// Reads the JSON array of messages from standard input.
fn read_input_items() -> Result<Vec<InputItem>, Failure> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| Failure(format!("cannot read standard input: {e}")))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        Failure(format!(
            "standard input is not valid JSON ({e}); expected an array of \
             {{\"level\", \"message\", \"extra_tags\", \"is_safe\"}} objects"
        ))
    })?;
    let Value::Array(items) = value else {
        return Err(Failure(
            "standard input must be a JSON array of message objects".to_owned(),
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| parse_input_item(item).map_err(|e| Failure(format!("item {i}: {e}"))))
        .collect()
}

fn parse_input_item(item: Value) -> Result<InputItem, String> {
    let Value::Object(mut obj) = item else {
        return Err(format!("expected a message object, got {item}"));
    };
    if let Some(raw) = obj.remove("raw") {
        if !obj.is_empty() {
            return Err("a {\"raw\": value} item takes no other key".to_owned());
        }
        return Ok(InputItem::Raw(raw));
    }
    for key in obj.keys() {
        if !["level", "message", "extra_tags", "is_safe"].contains(&key.as_str()) {
            return Err(format!(
                "unknown key {key:?} (expected level, message, extra_tags, is_safe)"
            ));
        }
    }
    let level = match obj.get("level") {
        Some(Value::Number(n)) => n
            .as_i64()
            .and_then(|l| i32::try_from(l).ok())
            .ok_or_else(|| format!("\"level\" must be an integer in the i32 range, got {n}"))?,
        Some(other) => return Err(format!("\"level\" must be an integer, got {other}")),
        None => return Err("missing \"level\"".to_owned()),
    };
    let message = match obj.get("message") {
        Some(Value::String(s)) => s.clone(),
        Some(other) => return Err(format!("\"message\" must be a string, got {other}")),
        None => return Err("missing \"message\"".to_owned()),
    };
    let extra_tags = match obj.get("extra_tags") {
        None => Some(String::new()),
        Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => {
            return Err(format!(
                "\"extra_tags\" must be a string or null, got {other}"
            ));
        }
    };
    let is_safe = match obj.get("is_safe") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => return Err(format!("\"is_safe\" must be true or false, got {other}")),
    };
    Ok(InputItem::Message(DjangoMessage {
        level,
        message,
        extra_tags,
        is_safe,
    }))
}

fn print_json(v: &Value) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{v}").map_err(|e| Failure(format!("cannot write the output: {e}")))
}

fn describe(level: i32, text: &str, extra_tags: Option<&str>, safe: bool) -> Value {
    let table = TagTable::defaults();
    json!({
        "level": level,
        "message": text,
        "extra_tags": extra_tags,
        "is_safe": safe,
        "level_tag": table.level_tag(Level(level)),
        "tags": table.tags(Level(level), extra_tags).to_string(),
    })
}

fn describe_item(item: &DjangoItem) -> Value {
    match item {
        DjangoItem::Message(m) => describe(m.level, &m.message, m.extra_tags.as_deref(), m.is_safe),
        DjangoItem::Raw(v) => json!({ "raw": plain(v) }),
    }
}

/// A raw value for output: messages nested in it (which Django decodes anywhere inside
/// lists and dict values) are shown as `{"message_object": {...}}`, as in the conformance
/// vectors.
fn plain(v: &Value) -> Value {
    if let Some(m) = DjangoMessage::from_json_array(v) {
        return json!({
            "message_object": describe(m.level, &m.message, m.extra_tags.as_deref(), m.is_safe)
        });
    }
    match v {
        Value::Array(a) => Value::Array(a.iter().map(plain).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), plain(v))).collect()),
        other => other.clone(),
    }
}

fn key_name(key: KeyUsed) -> String {
    match key {
        KeyUsed::Current => "current key".to_owned(),
        KeyUsed::Fallback(i) => format!("fallback key {i}"),
    }
}

// ------------------------------------------------------------------------------------
// Django
// ------------------------------------------------------------------------------------

fn django_decode(a: &DecodeArgs) -> Result<(), Failure> {
    let value = cookie_arg(&a.cookie, &a.cookie_name)?;
    let codec = DjangoCodec::new(&a.secret).with_fallback_keys(&a.fallback_keys);
    let out = match codec.decode(&value) {
        Ok(Some(d)) => json!({
            "result": "ok",
            "messages": d.items.iter().map(describe_item).collect::<Vec<_>>(),
            "all_retrieved": d.all_retrieved,
        }),
        Ok(None) => {
            eprintln!(
                "herald: the value is empty or holds JSON null: Django reads no messages and leaves the cookie alone"
            );
            json!({ "result": "absent" })
        }
        Err(e) => {
            eprintln!("herald: invalid: {e}");
            json!({ "result": "invalid" })
        }
    };
    print_json(&out)
}

fn django_encode(a: &EncodeArgs) -> Result<(), Failure> {
    let items: Vec<DjangoItem> = read_input_items()?
        .into_iter()
        .map(|i| match i {
            InputItem::Message(m) => DjangoItem::Message(m),
            InputItem::Raw(v) => DjangoItem::Raw(v),
        })
        .collect();
    let codec = DjangoCodec::new(&a.secret);
    let enc = codec.encode(&items, !a.keep_oldest, a.timestamp, a.max_size);
    print_json(&json!({
        "value": enc.value,
        "unstored_indices": enc.unstored.collect::<Vec<_>>(),
    }))
}

// ------------------------------------------------------------------------------------
// herald's own format
// ------------------------------------------------------------------------------------

fn native_signer(
    secret: &str,
    fallbacks: &[String],
    cookie_name: &str,
) -> Result<Signer<NATIVE_FALLBACKS>, Failure> {
    let fb: Vec<&[u8]> = fallbacks.iter().map(|k| k.as_bytes()).collect();
    Ok(Signer::new(
        secret.as_bytes(),
        herald_flash::config::SIGNING_PURPOSE,
        cookie_name,
        &fb,
    )?)
}

/// Verifies and decodes a native value.
fn native_open(
    signer: &Signer<NATIVE_FALLBACKS>,
    value: &str,
    list: &mut NativeList,
) -> Result<(Header, KeyUsed), String> {
    let mut scratch = vec![0u8; signer::scratch_len(value.len())];
    let opened = open_unbounded(signer, value, &mut scratch).map_err(|e| e.to_string())?;
    let header = codec::decode_body(opened.0, list).map_err(|e| e.to_string())?;
    Ok((header, opened.1))
}

/// `Signer::open` without its 4096-character cap (a debugging tool reads what it is given).
fn open_unbounded<'s>(
    signer: &Signer<NATIVE_FALLBACKS>,
    value: &str,
    scratch: &'s mut [u8],
) -> Result<(&'s [u8], KeyUsed), OpenError> {
    let raw = native_b64(value, scratch)?;
    if raw.len() <= MAC_LEN {
        return Err(OpenError::TooShort);
    }
    let (body, tag) = raw.split_at(raw.len() - MAC_LEN);
    let key = signer.verify(body, tag)?;
    Ok((body, key))
}

fn native_b64<'s>(value: &str, scratch: &'s mut [u8]) -> Result<&'s [u8], OpenError> {
    use base64::Engine as _;
    let n = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode_slice(value.as_bytes(), scratch)
        .map_err(|_| OpenError::BadBase64)?;
    Ok(&scratch[..n])
}

fn native_decode(a: &DecodeArgs) -> Result<(), Failure> {
    let value = cookie_arg(&a.cookie, &a.cookie_name)?;
    let signer = native_signer(&a.secret, &a.fallback_keys, &a.cookie_name)?;
    let mut list = Box::new(NativeList::new());
    let out = match native_open(&signer, &value, &mut list) {
        Ok((header, _key)) => json!({
            "result": "ok",
            "messages": list
                .iter()
                .map(|m| describe(m.level.0, m.text, m.extra_tags, m.safe))
                .collect::<Vec<_>>(),
            "all_retrieved": !header.continued,
        }),
        Err(e) => {
            eprintln!("herald: invalid: {e}");
            json!({ "result": "invalid" })
        }
    };
    print_json(&out)
}

fn native_encode(a: &EncodeArgs) -> Result<(), Failure> {
    let items = read_input_items()?;
    let issued_at = u64::try_from(a.timestamp)
        .map_err(|_| Failure("herald's format needs a timestamp of 0 or more".to_owned()))?;
    let mut list = Box::new(NativeList::new());
    for (i, item) in items.iter().enumerate() {
        match item {
            InputItem::Raw(_) => {
                return Err(Failure(format!(
                    "item {i}: herald's format holds messages only, not raw JSON values"
                )));
            }
            InputItem::Message(m) if m.message.is_empty() => {
                return Err(Failure(format!(
                    "item {i}: herald's format does not store messages with an empty text"
                )));
            }
            InputItem::Message(m) => list
                .push(Message {
                    level: Level(m.level),
                    text: &m.message,
                    extra_tags: m.extra_tags.as_deref(),
                    safe: m.is_safe,
                })
                .map_err(|e| Failure(format!("item {i}: {e}")))?,
        }
    }
    if list.is_empty() {
        return print_json(&json!({ "value": null, "unstored_indices": [] }));
    }
    let policy = if a.keep_oldest {
        Policy::KeepOldest
    } else {
        Policy::KeepNewest
    };
    let max = if a.max_size == 0 {
        usize::MAX / 8
    } else {
        a.max_size
    };
    let fit = truncate::fit(list.view(), policy, issued_at, max);
    let header = Header {
        issued_at,
        continued: fit.continued,
    };
    let kept = list.view().slice(fit.kept.clone());
    let signer = native_signer(&a.secret, &[], &a.cookie_name)?;
    let mut out = vec![0u8; truncate::signed_len(&header, kept)];
    let value = codec::seal_body(&header, kept, &signer, &mut out)?;
    print_json(&json!({
        "value": value,
        "unstored_indices": fit.unstored.collect::<Vec<_>>(),
    }))
}

// ------------------------------------------------------------------------------------
// inspect
// ------------------------------------------------------------------------------------

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time (proleptic Gregorian, UTC).
fn iso_utc(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

fn print_messages(items: Vec<(Option<Message<'_>>, String)>) {
    let table = TagTable::defaults();
    println!("messages: {}", items.len());
    for (i, (m, raw)) in items.into_iter().enumerate() {
        match m {
            Some(m) => {
                let extra = match m.extra_tags {
                    Some(t) => format!("{t:?}"),
                    None => "None".to_owned(),
                };
                println!(
                    "  [{i}] level {} ({}), tags {:?}, extra_tags {extra}{}: {}",
                    m.level,
                    match table.level_tag(m.level) {
                        "" => "no tag",
                        t => t,
                    },
                    m.tags(&table).to_string(),
                    if m.safe { ", safe HTML" } else { "" },
                    m.text
                );
            }
            None => println!("  [{i}] raw JSON value: {raw}"),
        }
    }
}

fn inspect(arg: &str, secrets: &[String], cookie_name: &str) -> Result<ExitCode, Failure> {
    let value = cookie_arg(arg, cookie_name)?;
    if value.is_empty() {
        return Err(Failure("the cookie value is empty".to_owned()));
    }
    if value.contains(':') {
        Ok(inspect_django(&value, secrets))
    } else {
        inspect_native(&value, secrets, cookie_name)
    }
}

fn inspect_django(value: &str, secrets: &[String]) -> ExitCode {
    println!("format: Django (django.contrib.messages CookieStorage)");
    println!(
        "size: {} characters ({} Django's {MAX_COOKIE_SIZE}-character limit)",
        django::cookie_size(value),
        if django::fits_default_limit(value) {
            "within"
        } else {
            "over"
        }
    );
    let mut parts = value.rsplitn(3, ':');
    let (sig, ts, payload) = (parts.next(), parts.next(), parts.next());
    let ts_value = ts.and_then(django::b62_decode);
    match (ts, ts_value) {
        (Some(ts), Some(t)) => println!("timestamp: {t} ({ts} in base62), {}", iso_utc(t)),
        (Some(ts), None) => println!("timestamp: {ts:?} is not base62"),
        _ => println!("timestamp: missing"),
    }
    if let Some(sig) = sig {
        println!("signature text: {sig} ({} characters)", sig.len());
    }

    let mut ok = true;
    if secrets.is_empty() {
        println!("signature: not checked (pass --secret to verify)");
    } else {
        let codec = DjangoCodec::new(&secrets[0]).with_fallback_keys(&secrets[1..]);
        match codec.decode(value) {
            Ok(Some(d)) => println!("signature: valid ({})", key_name(d.key)),
            Ok(None) => {
                println!("signature: valid; the payload is JSON null (Django: no messages)")
            }
            Err(DecodeError::BadSignature) => {
                ok = false;
                println!(
                    "signature: INVALID (no key among the {} given verifies it)",
                    secrets.len()
                );
            }
            Err(e) => {
                ok = false;
                println!("signature: valid, but the value does not decode: {e}");
                println!(
                    "django: {}",
                    if e.marks_used() {
                        "rejects it as invalid (and deletes the cookie on the next update)"
                    } else {
                        "raises an exception on it"
                    }
                );
            }
        }
    }
    let Some(payload) = payload else {
        println!("payload: missing (a Django value is PAYLOAD:TIMESTAMP:SIGNATURE)");
        return ExitCode::FAILURE;
    };
    let (compressed, b64) = match payload.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, payload),
    };
    println!(
        "compressed: {}",
        if compressed { "yes (zlib)" } else { "no" }
    );
    match django::decode_payload(b64, compressed) {
        Ok(Some(items)) => {
            let continued = items.last().is_some_and(DjangoItem::is_not_finished);
            println!(
                "not-finished sentinel: {}",
                if continued {
                    "yes (more messages are in the session)"
                } else {
                    "no"
                }
            );
            let shown = &items[..items.len() - usize::from(continued)];
            print_messages(
                shown
                    .iter()
                    .map(|it| {
                        (
                            it.as_message().map(DjangoMessage::as_message),
                            match it {
                                DjangoItem::Raw(v) => v.to_string(),
                                DjangoItem::Message(_) => String::new(),
                            },
                        )
                    })
                    .collect(),
            );
        }
        Ok(None) => println!("payload: JSON null"),
        Err(e) => {
            ok = false;
            println!("payload: does not decode: {e}");
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn inspect_native(value: &str, secrets: &[String], cookie_name: &str) -> Result<ExitCode, Failure> {
    println!("format: herald (base64url of body and HMAC-SHA256)");
    println!("size: {} characters", value.len());
    let mut scratch = vec![0u8; signer::scratch_len(value.len())];
    let raw = match native_b64(value, &mut scratch) {
        Ok(raw) => raw.to_vec(),
        Err(_) => {
            println!(
                "value: not canonical base64url and not a Django value (no ':'): not a messages cookie"
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    if raw.len() <= MAC_LEN {
        println!("value: too short to hold a body and its MAC");
        return Ok(ExitCode::FAILURE);
    }
    let body = &raw[..raw.len() - MAC_LEN];
    let mut ok = true;
    if secrets.is_empty() {
        println!("signature: not checked (pass --secret to verify)");
    } else {
        let signer = native_signer(&secrets[0], &secrets[1..], cookie_name)?;
        let mut list = Box::new(NativeList::new());
        match native_open(&signer, value, &mut list) {
            Ok((_, key)) => println!("signature: valid ({})", key_name(key)),
            Err(e) => {
                ok = false;
                println!(
                    "signature: INVALID ({e}; cookie name {cookie_name:?}, {} key(s) tried)",
                    secrets.len()
                );
            }
        }
    }
    let mut list = Box::new(NativeList::new());
    match codec::decode_body(body, &mut list) {
        Ok(header) => {
            let t = i64::try_from(header.issued_at).unwrap_or(i64::MAX);
            println!("format version: {}", codec::FORMAT_VERSION);
            println!("timestamp: {} ({})", header.issued_at, iso_utc(t));
            println!(
                "not-finished marker: {}",
                if header.continued {
                    "yes (more messages are in the session)"
                } else {
                    "no"
                }
            );
            print_messages(list.iter().map(|m| (Some(m), String::new())).collect());
        }
        Err(e) => {
            ok = false;
            println!("body: does not decode: {e}");
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
