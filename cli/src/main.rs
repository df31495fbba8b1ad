//! `herald`: inspect, decode and encode flash-message cookies, in herald's own format and
//! in Django's (`django.contrib.messages` `CookieStorage`).
//!
//! ```text
//! herald inspect COOKIE [--secret S]... [--fallback-key K]...
//! herald decode --secret S [--fallback-key K]... COOKIE
//! herald encode --secret S --timestamp T [--max-size N] [--keep-oldest]   < messages.json
//! herald django decode --secret S [--fallback-key K]... COOKIE
//! herald django encode --secret S --timestamp T [--max-size N] [--keep-oldest] < messages.json
//! ```
//!
//! COOKIE is the cookie value, `-` to read it from standard input, or a pasted
//! `messages=VALUE`, `Cookie: ...` or `Set-Cookie: ...` line.
//!
//! Every `--secret S` can instead be `--secret-file PATH`, `--secret-env NAME` or the
//! `HERALD_SECRET` variable, and the `--fallback-key K` list `--fallback-keys-file PATH`,
//! `--fallback-keys-env NAME` or `HERALD_FALLBACK_SECRETS` (see [`SECRETS_HELP`]): a
//! command line is visible to every user of the machine (`ps`).
//!
//! Exit status: 0 on success (for `decode`, also when the value is invalid: the JSON says
//! so), 1 for bad input (unreadable JSON, bad arguments' values, a secret file that cannot
//! be read; for `inspect`, a value that does not verify or parse), 2 for usage errors.

use std::ffi::{OsStr, OsString};
use std::io::{Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use herald_core::codec::{self, Header};
use herald_core::cookie_header::{ParseError, find_cookie};
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

/// `println!` with the control characters of the line escaped ([`escape_controls`]):
/// every human-readable line goes through it, since so much of what it shows (texts,
/// tags, raw values, the signature part, decoder errors) comes from the cookie.
macro_rules! say {
    ($($arg:tt)*) => {
        println!("{}", escape_controls(&format!($($arg)*)))
    };
}

/// `eprintln!` with the control characters of the line escaped, as [`say!`].
macro_rules! warn {
    ($($arg:tt)*) => {
        eprintln!("{}", escape_controls(&format!($($arg)*)))
    };
}

/// The variable read for the current secret when no `--secret*` option is given.
const SECRET_VAR: &str = "HERALD_SECRET";
/// The variable read for the fallback secrets when no `--fallback-key*` option is given.
const FALLBACKS_VAR: &str = "HERALD_FALLBACK_SECRETS";

/// The `Secrets` section of `--help`.
const SECRETS_HELP: &str = "\
Secrets:
  A command line is visible to every user of the machine (`ps`, /proc), so prefer a file
  or an environment variable to --secret S and --fallback-key K:
    --secret-file PATH         the file's contents, with one trailing newline removed
    --secret-env NAME          the value of the environment variable NAME
    HERALD_SECRET              read when none of --secret, --secret-file, --secret-env
                               is given
    --fallback-keys-file PATH  a list of fallback secrets, tried in order
    --fallback-keys-env NAME   the same list in the environment variable NAME
    HERALD_FALLBACK_SECRETS    read when none of --fallback-key, --fallback-keys-file,
                               --fallback-keys-env is given
  A list holds one secret per line or, when it has no line break, secrets separated by
  commas; whitespace around each is removed and empty entries are skipped. Giving two
  forms of the same secret (say --secret and --secret-file) is a usage error; a file or
  variable that cannot be read, or an empty current secret, is an error too. `encode`
  signs with the current secret only.";

#[derive(Parser, Debug)]
#[command(
    name = "herald",
    version,
    about = "Inspect, decode and encode flash-message cookies (herald's format and Django's)",
    long_about = "Inspect, decode and encode flash-message cookies, in herald's own format \
                  and in Django's (django.contrib.messages CookieStorage).\n\n\
                  COOKIE is the cookie value, `-` to read it from standard input, or a pasted \
                  `messages=VALUE`, `Cookie: ...` or `Set-Cookie: ...` line.",
    after_help = SECRETS_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Detect the format (herald or Django), show the messages, the signature's validity
    /// and the key that verified it (current or fallback N), the size and the timestamp.
    ///
    /// Without a secret the signature is not checked. `--secret` may be repeated: the
    /// first is the current key, the next ones are fallback keys 0, 1, ... (before any
    /// `--fallback-key`).
    ///
    /// Texts, tags and raw values come from the cookie, which anyone can forge: control
    /// characters (C0, DEL, C1), bidi controls and line separators in them are printed as
    /// `\u{1b}`-style escapes, so a cookie cannot drive the terminal or forge a line.
    #[command(after_help = SECRETS_HELP)]
    Inspect {
        /// The cookie value (or `-`, or a pasted cookie line).
        cookie: String,
        #[command(flatten)]
        secret: SecretArgs,
        #[command(flatten)]
        fallbacks: FallbackArgs,
        /// The cookie name herald's format binds into its signature.
        #[arg(long, default_value = "messages", value_name = "NAME")]
        cookie_name: String,
    },
    /// Decode a value in herald's own format; prints one JSON object.
    #[command(after_help = SECRETS_HELP)]
    Decode(DecodeArgs),
    /// Encode a JSON array of messages (standard input) in herald's own format.
    #[command(after_help = SECRETS_HELP)]
    Encode(EncodeArgs),
    /// Django's messages cookie (django.contrib.messages CookieStorage).
    #[command(subcommand)]
    Django(DjangoCommand),
}

#[derive(Subcommand, Debug)]
enum DjangoCommand {
    /// Decode and verify a Django messages cookie; prints one JSON object:
    /// {"result":"ok","messages":[...],"all_retrieved":..} or {"result":"invalid"}.
    #[command(after_help = SECRETS_HELP)]
    Decode(DecodeArgs),
    /// Encode a JSON array of messages (standard input) as Django's CookieStorage would;
    /// prints {"value":...,"unstored_indices":[...]}.
    #[command(after_help = SECRETS_HELP)]
    Encode(EncodeArgs),
}

/// The current secret: at most one of `--secret`, `--secret-file` and `--secret-env`;
/// with none, `HERALD_SECRET`.
#[derive(Args, Debug)]
struct SecretArgs {
    /// The current secret (Django's SECRET_KEY). Other users can read it in `ps`: prefer
    /// --secret-file or HERALD_SECRET.
    #[arg(
        long = "secret",
        value_name = "S",
        conflicts_with_all = ["secret_file", "secret_env"]
    )]
    secret: Vec<String>,
    /// Read the current secret from the file PATH (its contents, with one trailing newline
    /// removed).
    #[arg(long, value_name = "PATH", conflicts_with = "secret_env")]
    secret_file: Option<PathBuf>,
    /// Read the current secret from the environment variable NAME [default when no
    /// --secret* option is given: HERALD_SECRET].
    #[arg(long, value_name = "NAME")]
    secret_env: Option<OsString>,
}

/// The fallback secrets: at most one of `--fallback-key`, `--fallback-keys-file` and
/// `--fallback-keys-env`; with none, `HERALD_FALLBACK_SECRETS`.
#[derive(Args, Debug)]
struct FallbackArgs {
    /// A fallback secret (Django's SECRET_KEY_FALLBACKS), tried in order; repeatable.
    /// Other users can read it in `ps`: prefer --fallback-keys-file or
    /// HERALD_FALLBACK_SECRETS.
    #[arg(
        long = "fallback-key",
        value_name = "K",
        conflicts_with_all = ["fallback_keys_file", "fallback_keys_env"]
    )]
    fallback_keys: Vec<String>,
    /// Read the fallback secrets from the file PATH: one per line (or, on one line,
    /// separated by commas).
    #[arg(long, value_name = "PATH", conflicts_with = "fallback_keys_env")]
    fallback_keys_file: Option<PathBuf>,
    /// Read the fallback secrets from the environment variable NAME, in the same list
    /// format [default when no --fallback-key* option is given: HERALD_FALLBACK_SECRETS].
    #[arg(long, value_name = "NAME")]
    fallback_keys_env: Option<OsString>,
}

#[derive(Args, Debug)]
struct DecodeArgs {
    #[command(flatten)]
    secret: SecretArgs,
    #[command(flatten)]
    fallbacks: FallbackArgs,
    /// The cookie name (herald's format binds it into the signature).
    #[arg(long, default_value = "messages", value_name = "NAME")]
    cookie_name: String,
    /// The cookie value (or `-`, or a pasted cookie line).
    cookie: String,
}

#[derive(Args, Debug)]
struct EncodeArgs {
    #[command(flatten)]
    secret: SecretArgs,
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

/// An error that ends the program with a message on standard error: status 1 for bad
/// input, 2 for a usage error.
struct Failure {
    msg: String,
    usage: bool,
}

impl Failure {
    /// Bad input: status 1.
    fn input(msg: String) -> Self {
        Failure { msg, usage: false }
    }

    /// A usage error (the arguments do not make sense): status 2, as clap's own.
    fn usage(msg: String) -> Self {
        Failure { msg, usage: true }
    }
}

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure::input(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Inspect {
            cookie,
            secret,
            fallbacks,
            cookie_name,
        } => {
            inspect_keys(&secret, &fallbacks).and_then(|keys| inspect(&cookie, &keys, &cookie_name))
        }
        Command::Decode(a) => native_decode(&a).map(|()| ExitCode::SUCCESS),
        Command::Encode(a) => native_encode(&a).map(|()| ExitCode::SUCCESS),
        Command::Django(DjangoCommand::Decode(a)) => django_decode(&a).map(|()| ExitCode::SUCCESS),
        Command::Django(DjangoCommand::Encode(a)) => django_encode(&a).map(|()| ExitCode::SUCCESS),
    };
    match result {
        Ok(code) => code,
        Err(Failure { msg, usage: false }) => {
            warn!("herald: error: {msg}");
            ExitCode::FAILURE
        }
        Err(Failure { msg, usage: true }) => {
            warn!("herald: error: {msg}");
            eprintln!("\nFor more information, try '--help'.");
            ExitCode::from(2)
        }
    }
}

// ------------------------------------------------------------------------------------
// Secrets
// ------------------------------------------------------------------------------------

/// A secret, as bytes (a file or a variable may hold any bytes; the signers take bytes).
type Key = Vec<u8>;

/// The keys to verify with: the current one first, then the fallback keys in order.
struct Keys {
    current: Key,
    fallbacks: Vec<Key>,
}

impl SecretArgs {
    /// The current secret(s) given (several only for a repeated `--secret`), from the
    /// one option given or else `HERALD_SECRET`; empty when there is none.
    fn resolve(&self) -> Result<Vec<Key>, Failure> {
        if !self.secret.is_empty() {
            return Ok(self.secret.iter().map(|s| s.clone().into_bytes()).collect());
        }
        let key = if let Some(path) = &self.secret_file {
            read_secret_file(path)?
        } else if let Some(name) = &self.secret_env {
            read_var(name, "--secret-env")?.ok_or_else(|| {
                Failure::input(format!("{} is not set (--secret-env)", show(name)))
            })?
        } else if let Some(value) = read_var(OsStr::new(SECRET_VAR), "")? {
            value
        } else {
            return Ok(Vec::new());
        };
        Ok(vec![key])
    }

    /// The one current secret that `decode` and `encode` need.
    fn one(&self) -> Result<Key, Failure> {
        let mut keys = self.resolve()?;
        match keys.len() {
            1 => Ok(keys.remove(0)),
            0 => Err(Failure::usage(format!(
                "no secret given: pass --secret-file PATH or --secret-env NAME, set \
                 {SECRET_VAR}, or pass --secret S (visible in `ps`)"
            ))),
            _ => Err(Failure::usage(
                "--secret is given more than once; pass older secrets as fallback keys \
                 (--fallback-key, --fallback-keys-file, --fallback-keys-env)"
                    .to_owned(),
            )),
        }
    }
}

impl FallbackArgs {
    /// The fallback secrets, from the one option given or else `HERALD_FALLBACK_SECRETS`
    /// (empty when there is none); `true` when they come from an option.
    fn resolve(&self) -> Result<(Vec<Key>, bool), Failure> {
        if !self.fallback_keys.is_empty() {
            let keys = self.fallback_keys.iter().map(|s| s.clone().into_bytes());
            return Ok((keys.collect(), true));
        }
        if let Some(path) = &self.fallback_keys_file {
            let text = std::fs::read(path).map_err(|e| {
                Failure::input(format!(
                    "cannot read the fallback keys file {}: {e}",
                    path.display()
                ))
            })?;
            return Ok((split_list(&text), true));
        }
        if let Some(name) = &self.fallback_keys_env {
            let text = std::env::var_os(name).ok_or_else(|| {
                Failure::input(format!("{} is not set (--fallback-keys-env)", show(name)))
            })?;
            return Ok((split_list(text.as_encoded_bytes()), true));
        }
        match std::env::var_os(FALLBACKS_VAR) {
            Some(text) => Ok((split_list(text.as_encoded_bytes()), false)),
            None => Ok((Vec::new(), false)),
        }
    }
}

/// The keys of `decode`: a current secret is required.
fn decode_keys(secret: &SecretArgs, fallbacks: &FallbackArgs) -> Result<Keys, Failure> {
    let current = secret.one()?;
    let (fallbacks, _) = fallbacks.resolve()?;
    Ok(Keys { current, fallbacks })
}

/// The keys of `inspect`, current first: none (the signature is not checked) when no
/// secret is given. Fallback keys from an option need a secret; from
/// `HERALD_FALLBACK_SECRETS` alone they are ignored.
fn inspect_keys(secret: &SecretArgs, fallbacks: &FallbackArgs) -> Result<Vec<Key>, Failure> {
    let mut keys = secret.resolve()?;
    let (more, explicit) = fallbacks.resolve()?;
    if keys.is_empty() {
        if explicit {
            return Err(Failure::usage(format!(
                "fallback keys are given but no current secret (--secret-file, \
                 --secret-env, {SECRET_VAR} or --secret)"
            )));
        }
        return Ok(keys);
    }
    keys.extend(more);
    Ok(keys)
}

/// The secret in the file `path`: its bytes, one trailing newline (`\n` or `\r\n`)
/// removed.
fn read_secret_file(path: &Path) -> Result<Key, Failure> {
    let mut bytes = std::fs::read(path).map_err(|e| {
        Failure::input(format!(
            "cannot read the secret file {}: {e}",
            path.display()
        ))
    })?;
    if bytes.ends_with(b"\n") {
        bytes.pop();
        if bytes.ends_with(b"\r") {
            bytes.pop();
        }
    }
    if bytes.is_empty() {
        return Err(Failure::input(format!(
            "the secret file {} is empty",
            path.display()
        )));
    }
    Ok(bytes)
}

/// The value of the environment variable `name`, `None` when it is not set. An empty
/// value is an error (`option` names the option that named the variable, if any).
fn read_var(name: &OsStr, option: &str) -> Result<Option<Key>, Failure> {
    let Some(value) = std::env::var_os(name) else {
        return Ok(None);
    };
    if value.is_empty() {
        let from = if option.is_empty() {
            String::new()
        } else {
            format!(" ({option})")
        };
        return Err(Failure::input(format!(
            "{} is set but empty{from}: it holds no secret",
            show(name)
        )));
    }
    Ok(Some(value.into_encoded_bytes()))
}

/// A list of secrets: one per line, or, with no line break, separated by commas. Spaces,
/// tabs and carriage returns around each are removed; empty entries are skipped.
fn split_list(text: &[u8]) -> Vec<Key> {
    let sep = if text.contains(&b'\n') { b'\n' } else { b',' };
    text.split(|&b| b == sep)
        .map(|k| k.trim_ascii())
        .filter(|k| !k.is_empty())
        .map(<[u8]>::to_vec)
        .collect()
}

/// An environment variable's name for a message.
fn show(name: &OsStr) -> String {
    name.to_string_lossy().into_owned()
}

// ------------------------------------------------------------------------------------
// Input helpers
// ------------------------------------------------------------------------------------

/// The cookie value from the COOKIE argument: `-` reads standard input; a pasted
/// `NAME=VALUE`, `Cookie: ...` or `Set-Cookie: ...` line is parsed.
fn cookie_arg(arg: &str, name: &str) -> Result<String, Failure> {
    let raw = if arg == "-" {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s).map_err(|e| {
            Failure::input(format!("cannot read the cookie from standard input: {e}"))
        })?;
        s
    } else {
        arg.to_owned()
    };
    let text = raw.trim();
    let lower = text.to_ascii_lowercase();
    if lower.starts_with("cookie:") {
        return cookie_from_headers(text, name);
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

/// The `name` cookie of one or more pasted `Cookie:` lines (one header per line, in the
/// order received), read by the parser the servers use,
/// [`herald_core::cookie_header::find_cookie`]: the **first** cookie with the name
/// decides, across all the headers (browsers send the one with the longest path first;
/// Django's `parse_cookie` would take the last), and a malformed first value is no
/// cookie, not a reason to look further.
fn cookie_from_headers(text: &str, name: &str) -> Result<String, Failure> {
    let mut headers = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let line = line.as_bytes();
        let Some(value) = line
            .get(..7)
            .filter(|p| p.eq_ignore_ascii_case(b"cookie:"))
            .map(|_| &line[7..])
        else {
            return Err(Failure::input(format!(
                "line {} is not a Cookie header: after a `Cookie:` line, give only \
                 `Cookie:` lines",
                i + 1
            )));
        };
        headers.push(value);
    }
    match find_cookie(headers.iter().copied(), name) {
        Ok(Some(value)) => Ok(value.to_owned()),
        Ok(None) => Err(Failure::input(format!(
            "no `{name}` cookie in the given Cookie header"
        ))),
        Err(ParseError::InvalidName) => Err(Failure::usage(format!(
            "{name:?} is not a cookie name (--cookie-name)"
        ))),
        Err(e) => Err(Failure::input(format!(
            "the first `{name}` cookie in the given Cookie header is malformed ({e}); \
             as in the servers, a later one is not used instead"
        ))),
    }
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
        .map_err(|e| Failure::input(format!("cannot read standard input: {e}")))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| {
        Failure::input(format!(
            "standard input is not valid JSON ({e}); expected an array of \
             {{\"level\", \"message\", \"extra_tags\", \"is_safe\"}} objects"
        ))
    })?;
    let Value::Array(items) = value else {
        return Err(Failure::input(
            "standard input must be a JSON array of message objects".to_owned(),
        ));
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            parse_input_item(item).map_err(|e| Failure::input(format!("item {i}: {e}")))
        })
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

/// Prints `v` as one line of JSON. serde_json escapes `"`, `\` and the C0 controls
/// (U+0000 – U+001F) in strings but writes DEL, the C1 controls and the bidi controls
/// as they are; those are escaped here too (`\u007f`, `\u009b`, `\u202e`: the same
/// JSON value), so that no output of the tool can drive a terminal.
fn print_json(v: &Value) -> Result<(), Failure> {
    let text = v.to_string();
    let text = json_escape_controls(&text);
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").map_err(|e| Failure::input(format!("cannot write the output: {e}")))
}

// ------------------------------------------------------------------------------------
// Terminal safety
// ------------------------------------------------------------------------------------

/// A character that can make a terminal (or a reader) see something else than the text:
/// the C0 controls, DEL and the C1 controls (Unicode `Cc`: ESC starts escape sequences,
/// U+009B is a one-character CSI, CR and BS overwrite, LF forges lines), the bidi
/// formatting characters (U+061C, U+200E, U+200F, U+202A – U+202E, U+2066 – U+2069, as
/// in "Trojan Source") and the line and paragraph separators U+2028, U+2029.
fn is_terminal_control(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// `s` with every [`is_terminal_control`] character written as a Rust-style escape,
/// `\u{1b}`, `\u{202e}` (lower-case hex). Other characters, backslashes included, are
/// kept as they are.
fn escape_controls(s: &str) -> std::borrow::Cow<'_, str> {
    escape_with(s, |c, out| {
        use std::fmt::Write as _;
        let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
    })
}

/// A JSON text with every [`is_terminal_control`] character written as a JSON `\uXXXX`
/// escape. Outside strings a JSON text holds none of them, so the result is the same
/// JSON value.
fn json_escape_controls(json: &str) -> std::borrow::Cow<'_, str> {
    escape_with(json, |c, out| {
        use std::fmt::Write as _;
        // Every such character is in the Basic Multilingual Plane: one `\uXXXX`.
        let _ = write!(out, "\\u{:04x}", u32::from(c));
    })
}

fn escape_with(s: &str, escape: impl Fn(char, &mut String)) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_terminal_control) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if is_terminal_control(c) {
            escape(c, &mut out);
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
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
    let keys = decode_keys(&a.secret, &a.fallbacks)?;
    let value = cookie_arg(&a.cookie, &a.cookie_name)?;
    let codec = DjangoCodec::new(&keys.current).with_fallback_keys(&keys.fallbacks);
    let out = match codec.decode(&value) {
        Ok(Some(d)) => json!({
            "result": "ok",
            "messages": d.items.iter().map(describe_item).collect::<Vec<_>>(),
            "all_retrieved": d.all_retrieved,
        }),
        Ok(None) => {
            warn!(
                "herald: the value is empty or holds JSON null: Django reads no messages and leaves the cookie alone"
            );
            json!({ "result": "absent" })
        }
        Err(e) => {
            warn!("herald: invalid: {e}");
            json!({ "result": "invalid" })
        }
    };
    print_json(&out)
}

fn django_encode(a: &EncodeArgs) -> Result<(), Failure> {
    let secret = a.secret.one()?;
    let items: Vec<DjangoItem> = read_input_items()?
        .into_iter()
        .map(|i| match i {
            InputItem::Message(m) => DjangoItem::Message(m),
            InputItem::Raw(v) => DjangoItem::Raw(v),
        })
        .collect();
    let codec = DjangoCodec::new(&secret);
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
    secret: &[u8],
    fallbacks: &[Key],
    cookie_name: &str,
) -> Result<Signer<NATIVE_FALLBACKS>, Failure> {
    let fb: Vec<&[u8]> = fallbacks.iter().map(Vec::as_slice).collect();
    Ok(Signer::new(
        secret,
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
    let keys = decode_keys(&a.secret, &a.fallbacks)?;
    let value = cookie_arg(&a.cookie, &a.cookie_name)?;
    let signer = native_signer(&keys.current, &keys.fallbacks, &a.cookie_name)?;
    let mut list = Box::new(NativeList::new());
    let out = match native_open(&signer, &value, &mut list) {
        Ok((header, _key)) => json!({
            "result": "ok",
            "messages": list
                .iter()
                .map(|m| {
                    let mut d = describe(m.level.0, m.message, m.extra_tags, m.is_safe);
                    // herald's format 2 may carry a per-message expiry (RULES R-11.5).
                    if let Some(t) = m.expires_at {
                        d["expires_at"] = json!(t);
                    }
                    d
                })
                .collect::<Vec<_>>(),
            "all_retrieved": !header.continued,
        }),
        Err(e) => {
            warn!("herald: invalid: {e}");
            json!({ "result": "invalid" })
        }
    };
    print_json(&out)
}

fn native_encode(a: &EncodeArgs) -> Result<(), Failure> {
    let secret = a.secret.one()?;
    let items = read_input_items()?;
    let issued_at = u64::try_from(a.timestamp)
        .map_err(|_| Failure::input("herald's format needs a timestamp of 0 or more".to_owned()))?;
    let mut list = Box::new(NativeList::new());
    for (i, item) in items.iter().enumerate() {
        match item {
            InputItem::Raw(_) => {
                return Err(Failure::input(format!(
                    "item {i}: herald's format holds messages only, not raw JSON values"
                )));
            }
            InputItem::Message(m) if m.message.is_empty() => {
                return Err(Failure::input(format!(
                    "item {i}: herald's format does not store messages with an empty text"
                )));
            }
            InputItem::Message(m) => list
                .push(Message {
                    level: Level(m.level),
                    message: &m.message,
                    extra_tags: m.extra_tags.as_deref(),
                    is_safe: m.is_safe,
                    expires_at: None,
                })
                .map_err(|e| Failure::input(format!("item {i}: {e}")))?,
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
    let signer = native_signer(&secret, &[], &a.cookie_name)?;
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
    say!("messages: {}", items.len());
    for (i, (m, raw)) in items.into_iter().enumerate() {
        match m {
            Some(m) => {
                let extra = match m.extra_tags {
                    Some(t) => format!("{t:?}"),
                    None => "None".to_owned(),
                };
                let expiry = m
                    .expires_at
                    .map_or(String::new(), |t| format!(", expires at {t}"));
                say!(
                    "  [{i}] level {} ({}), tags {:?}, extra_tags {extra}{}{expiry}: {}",
                    m.level,
                    match table.level_tag(m.level) {
                        "" => "no tag",
                        t => t,
                    },
                    m.tags(&table).to_string(),
                    if m.is_safe { ", safe HTML" } else { "" },
                    m.message
                );
            }
            None => say!("  [{i}] raw JSON value: {raw}"),
        }
    }
}

fn inspect(arg: &str, secrets: &[Key], cookie_name: &str) -> Result<ExitCode, Failure> {
    let value = cookie_arg(arg, cookie_name)?;
    if value.is_empty() {
        return Err(Failure::input("the cookie value is empty".to_owned()));
    }
    if value.contains(':') {
        Ok(inspect_django(&value, secrets))
    } else {
        inspect_native(&value, secrets, cookie_name)
    }
}

fn inspect_django(value: &str, secrets: &[Key]) -> ExitCode {
    say!("format: Django (django.contrib.messages CookieStorage)");
    say!(
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
        (Some(ts), Some(t)) => say!("timestamp: {t} ({ts} in base62), {}", iso_utc(t)),
        (Some(ts), None) => say!("timestamp: {ts:?} is not base62"),
        _ => say!("timestamp: missing"),
    }
    if let Some(sig) = sig {
        say!("signature text: {sig} ({} characters)", sig.len());
    }

    let mut ok = true;
    if secrets.is_empty() {
        say!(
            "signature: not checked (give a secret to verify: --secret-file, --secret-env, {SECRET_VAR} or --secret)"
        );
    } else {
        let codec = DjangoCodec::new(&secrets[0]).with_fallback_keys(&secrets[1..]);
        match codec.decode(value) {
            Ok(Some(d)) => say!("signature: valid ({})", key_name(d.key)),
            Ok(None) => {
                say!("signature: valid; the payload is JSON null (Django: no messages)")
            }
            Err(DecodeError::BadSignature) => {
                ok = false;
                say!(
                    "signature: INVALID (no key among the {} given verifies it)",
                    secrets.len()
                );
            }
            Err(e @ DecodeError::TooLong(_)) => {
                ok = false;
                say!(
                    "signature: not checked: {e} (herald refuses such values before any verification)"
                );
            }
            Err(e @ DecodeError::InflatedTooLarge) => {
                ok = false;
                say!("signature: valid, but {e} (herald refuses to inflate it)");
            }
            Err(e) => {
                ok = false;
                say!("signature: valid, but the value does not decode: {e}");
                say!(
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
        say!("payload: missing (a Django value is PAYLOAD:TIMESTAMP:SIGNATURE)");
        return ExitCode::FAILURE;
    };
    let (compressed, b64) = match payload.strip_prefix('.') {
        Some(rest) => (true, rest),
        None => (false, payload),
    };
    say!(
        "compressed: {}",
        if compressed { "yes (zlib)" } else { "no" }
    );
    match django::decode_payload(b64, compressed) {
        Ok(Some(items)) => {
            let continued = items.last().is_some_and(DjangoItem::is_not_finished);
            say!(
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
        Ok(None) => say!("payload: JSON null"),
        Err(e) => {
            ok = false;
            say!("payload: does not decode: {e}");
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn inspect_native(value: &str, secrets: &[Key], cookie_name: &str) -> Result<ExitCode, Failure> {
    say!("format: herald (base64url of body and HMAC-SHA256)");
    say!("size: {} characters", value.len());
    let mut scratch = vec![0u8; signer::scratch_len(value.len())];
    let raw = match native_b64(value, &mut scratch) {
        Ok(raw) => raw.to_vec(),
        Err(_) => {
            say!(
                "value: not canonical base64url and not a Django value (no ':'): not a messages cookie"
            );
            return Ok(ExitCode::FAILURE);
        }
    };
    if raw.len() <= MAC_LEN {
        say!("value: too short to hold a body and its MAC");
        return Ok(ExitCode::FAILURE);
    }
    let body = &raw[..raw.len() - MAC_LEN];
    let mut ok = true;
    if secrets.is_empty() {
        say!(
            "signature: not checked (give a secret to verify: --secret-file, --secret-env, {SECRET_VAR} or --secret)"
        );
    } else {
        let signer = native_signer(&secrets[0], &secrets[1..], cookie_name)?;
        let mut list = Box::new(NativeList::new());
        match native_open(&signer, value, &mut list) {
            Ok((_, key)) => say!("signature: valid ({})", key_name(key)),
            Err(e) => {
                ok = false;
                say!(
                    "signature: INVALID ({e}; cookie name {cookie_name:?}, {} key(s) tried)",
                    secrets.len()
                );
            }
        }
    }
    let mut list = Box::new(NativeList::new());
    match codec::decode_body(body, &mut *list) {
        Ok(header) => {
            let t = i64::try_from(header.issued_at).unwrap_or(i64::MAX);
            say!("format version: {}", codec::FORMAT_VERSION);
            say!("timestamp: {} ({})", header.issued_at, iso_utc(t));
            say!(
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
            say!("body: does not decode: {e}");
        }
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
