//! What the side-by-side bins (`core_ratios`, `adapter_ratios`) share: their arguments, and
//! the line saying which SHA-256 they ran on.

/// `--rounds N` and `--json FILE`, the arguments of a side-by-side bin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunArgs {
    /// How many rounds of blocks each row runs.
    pub rounds: usize,
    /// Where to write the rows as JSON, if anywhere.
    pub json: Option<String>,
}

impl RunArgs {
    /// Parses `args` (without the program name); on an unknown argument prints `usage`
    /// and exits with status 2.
    pub fn parse(args: impl IntoIterator<Item = String>, rounds: usize, usage: &str) -> RunArgs {
        let mut parsed = RunArgs { rounds, json: None };
        let mut args = args.into_iter();
        while let Some(a) = args.next() {
            match a.as_str() {
                "--rounds" => {
                    parsed.rounds = args
                        .next()
                        .and_then(|n| n.parse().ok())
                        .expect("--rounds N")
                }
                "--json" => parsed.json = Some(args.next().expect("--json FILE")),
                other => {
                    eprintln!("unknown argument {other}; usage: {usage}");
                    std::process::exit(2);
                }
            }
        }
        parsed
    }

    /// Writes `rows` (JSON objects) to the `--json` file, if one was given, with the
    /// rounds and whether SHA-256 ran in software.
    pub fn write_json(&self, rows: &[String]) {
        if let Some(path) = &self.json {
            let body = format!(
                "{{\"rounds\": {}, \"soft_sha\": {SOFT_SHA}, \"rows\": [{}]}}\n",
                self.rounds,
                rows.join(", ")
            );
            std::fs::write(path, body).unwrap_or_else(|e| panic!("writing {path}: {e}"));
        }
    }
}

/// Whether this build forces SHA-256 to run in software (feature `soft-sha`, which turns
/// on `sha2`'s `force-soft`): herald and every limit then hash as on a CPU without SHA
/// extensions, whatever this one has.
pub const SOFT_SHA: bool = cfg!(feature = "soft-sha");

/// Whether `/proc/cpuinfo` lists `sha_ni` (`None` when it cannot be read).
pub fn cpu_has_sha_ni() -> Option<bool> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let flags = info.lines().find(|l| l.starts_with("flags"))?;
    Some(flags.split_whitespace().any(|w| w == "sha_ni"))
}

/// One line for a report: which SHA-256 the figures come from.
pub fn sha_line() -> String {
    let cpu = match cpu_has_sha_ni() {
        Some(true) => "the CPU has SHA extensions (`sha_ni`)",
        Some(false) => "the CPU has no SHA extensions",
        None => "the CPU's SHA extensions are unknown",
    };
    if SOFT_SHA {
        format!(
            "SHA-256 in software (feature `soft-sha`: `sha2` built with `force-soft`, as on a CPU without SHA extensions); {cpu}."
        )
    } else {
        format!("SHA-256 as `sha2` picks it at run time; {cpu}.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rounds_and_json() {
        let args = ["--rounds", "7", "--json", "out.json"].map(String::from);
        assert_eq!(
            RunArgs::parse(args, 300, "x"),
            RunArgs {
                rounds: 7,
                json: Some("out.json".to_owned())
            }
        );
        assert_eq!(RunArgs::parse([], 300, "x").rounds, 300);
    }
}
