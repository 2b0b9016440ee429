//! `zstest`: the guest-side userland test program for rust_zsmalloc.
//!
//! It feeds zswap and zram real, varied page content and checks that every
//! byte comes back. One static binary, no dependencies on the guest beyond
//! the kernel. Argument parsing is done by hand to stay dependency-free.
//!
//! Every run prints one summary line of `key=value` pairs on stdout; errors
//! and mismatch details go to stderr. Exit codes: 0 ok, 1 verification
//! failure, 2 usage or system error.

mod anon;
mod content;
mod pagegen;
mod files;
mod meminfo;
mod region;
mod report;
mod stress;

use content::{Generator, Mix, PAGE_SIZE};
use report::{CmdError, Summary, EXIT_ERROR, EXIT_OK};
use std::io::Write;
use std::process::ExitCode;
use std::path::PathBuf;
use std::time::Duration;

const USAGE: &str = "\
usage: zstest <command> [options]

  anon   --mib N [--seed S] [--mix M] [--pageout] [--passes K] [--hold-secs T]
         [--ready FILE] [--hold-until FILE]
         fill N MiB of anonymous memory, optionally MADV_PAGEOUT it, verify K times;
         after the fill create --ready FILE, hold T s and until --hold-until FILE exists
  files  --dir D --mib N [--seed S] [--mix M] write|verify
         write N MiB of generated files into D (fsynced), or verify them
  gen    --page P [--seed S] [--mix M] [--version V]
         write page P's 4096 bytes to stdout
  stress --mib N --secs T [--seed S] [--mix M] [--max-iters I]
         rewrite/pageout/discard/spot-check for T seconds, then verify all
  meminfo [--file PATH]
         SwapTotal/SwapFree/Zswap/Zswapped from /proc/meminfo

  M is a comma list of text,binary,random,half,sparse (kind:W for weight W);
  default: all five equally interleaved. S defaults to 1 (decimal or 0x hex).
exit: 0 ok, 1 verification failure, 2 usage or system error";

/// Parsed `--name value` options, `--flag`s and positional words.
struct Args {
    opts: Vec<(String, Option<String>)>,
    positional: Vec<String>,
}

impl Args {
    /// Splits `args` using `valued` (options that take a value) and `flags`
    /// (options that do not); anything else starting with `--` is an error.
    /// Accepts both `--mib 64` and `--mib=64`.
    fn parse(args: &[String], valued: &[&str], flags: &[&str]) -> Result<Args, CmdError> {
        let mut opts = Vec::new();
        let mut positional = Vec::new();
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if !a.starts_with("--") {
                positional.push(a.clone());
                continue;
            }
            let (name, inline) = match a.split_once('=') {
                Some((n, v)) => (n, Some(v.to_string())),
                None => (a.as_str(), None),
            };
            if valued.contains(&name) {
                let value = match inline {
                    Some(v) => v,
                    None => it
                        .next()
                        .cloned()
                        .ok_or_else(|| CmdError::Usage(format!("{name} needs a value")))?,
                };
                opts.push((name.to_string(), Some(value)));
            } else if flags.contains(&name) && inline.is_none() {
                opts.push((name.to_string(), None));
            } else {
                return Err(CmdError::Usage(format!("unknown option {a}")));
            }
        }
        Ok(Args { opts, positional })
    }

    /// The last value given for `name`.
    fn value(&self, name: &str) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .and_then(|(_, v)| v.as_deref())
    }

    fn flag(&self, name: &str) -> bool {
        self.opts.iter().any(|(n, _)| n == name)
    }

    fn u64_opt(&self, name: &str) -> Result<Option<u64>, CmdError> {
        self.value(name)
            .map(|v| {
                parse_u64(v).ok_or_else(|| CmdError::Usage(format!("{name}: not a number: {v}")))
            })
            .transpose()
    }

    fn u64_req(&self, name: &str) -> Result<u64, CmdError> {
        self.u64_opt(name)?
            .ok_or_else(|| CmdError::Usage(format!("{name} is required")))
    }

    /// Seconds as a non-negative decimal (`2`, `0.5`).
    fn secs_opt(&self, name: &str) -> Result<Option<Duration>, CmdError> {
        self.value(name)
            .map(|v| {
                v.parse::<f64>()
                    .ok()
                    .and_then(|s| Duration::try_from_secs_f64(s).ok())
                    .ok_or_else(|| {
                        CmdError::Usage(format!("{name}: not a duration in seconds: {v}"))
                    })
            })
            .transpose()
    }

    fn seed(&self) -> Result<u64, CmdError> {
        Ok(self.u64_opt("--seed")?.unwrap_or(1))
    }

    fn mix(&self) -> Result<Mix, CmdError> {
        match self.value("--mix") {
            Some(m) => Mix::parse(m).map_err(CmdError::Usage),
            None => Ok(Mix::default()),
        }
    }

    fn no_positional(&self) -> Result<(), CmdError> {
        match self.positional.first() {
            Some(p) => Err(CmdError::Usage(format!("unexpected argument {p}"))),
            None => Ok(()),
        }
    }
}

/// Decimal or `0x` hexadecimal.
fn parse_u64(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

fn cmd_anon(args: &[String]) -> Result<Summary, CmdError> {
    let a = Args::parse(
        args,
        &[
            "--mib",
            "--seed",
            "--mix",
            "--passes",
            "--hold-secs",
            "--ready",
            "--hold-until",
        ],
        &["--pageout"],
    )?;
    a.no_positional()?;
    let passes = a.u64_opt("--passes")?.unwrap_or(1);
    let passes = u32::try_from(passes)
        .ok()
        .filter(|&p| p > 0)
        .ok_or_else(|| CmdError::Usage(format!("bad --passes {passes}")))?;
    anon::run(&anon::AnonOpts {
        mib: a.u64_req("--mib")?,
        seed: a.seed()?,
        mix: a.mix()?,
        pageout: a.flag("--pageout"),
        passes,
        hold: a.secs_opt("--hold-secs")?.unwrap_or(Duration::ZERO),
        ready: a.value("--ready").map(PathBuf::from),
        hold_until: a.value("--hold-until").map(PathBuf::from),
    })
}

fn cmd_files(args: &[String]) -> Result<Summary, CmdError> {
    let a = Args::parse(args, &["--dir", "--mib", "--seed", "--mix"], &[])?;
    let mode = match a.positional.as_slice() {
        [m] if m == "write" => files::Mode::Write,
        [m] if m == "verify" => files::Mode::Verify,
        _ => {
            return Err(CmdError::Usage(
                "files needs exactly one of: write, verify".into(),
            ))
        }
    };
    let dir = a
        .value("--dir")
        .ok_or_else(|| CmdError::Usage("--dir is required".into()))?;
    files::run(&files::FilesOpts {
        dir: dir.into(),
        mib: a.u64_req("--mib")?,
        seed: a.seed()?,
        mix: a.mix()?,
        mode,
    })
}

/// `gen` writes raw bytes and no summary line, so stdout stays a clean page.
fn cmd_gen(args: &[String]) -> Result<(), CmdError> {
    let a = Args::parse(args, &["--page", "--seed", "--mix", "--version"], &[])?;
    a.no_positional()?;
    let gen = Generator::new(a.seed()?, a.mix()?);
    let mut page = [0u8; PAGE_SIZE];
    gen.anon_page(
        a.u64_req("--page")?,
        a.u64_opt("--version")?.unwrap_or(0),
        &mut page,
    );
    let mut out = std::io::stdout().lock();
    out.write_all(&page)
        .and_then(|()| out.flush())
        .map_err(|e| CmdError::sys("stdout", e))
}

fn cmd_stress(args: &[String]) -> Result<Summary, CmdError> {
    let a = Args::parse(
        args,
        &["--mib", "--secs", "--seed", "--mix", "--max-iters"],
        &[],
    )?;
    a.no_positional()?;
    stress::run(&stress::StressOpts {
        mib: a.u64_req("--mib")?,
        duration: a
            .secs_opt("--secs")?
            .ok_or_else(|| CmdError::Usage("--secs is required".into()))?,
        seed: a.seed()?,
        mix: a.mix()?,
        max_iters: a.u64_opt("--max-iters")?.unwrap_or(1_000_000),
    })
}

/// Prints the raw lines, then the summary line (sizes in KiB, `na` when the
/// kernel does not report a field, e.g. without zswap).
fn cmd_meminfo(args: &[String]) -> Result<Summary, CmdError> {
    let a = Args::parse(args, &["--file"], &[])?;
    a.no_positional()?;
    let path = a.value("--file").unwrap_or("/proc/meminfo");
    let (text, fields) = meminfo::read(path).map_err(|e| CmdError::sys(path, e))?;
    for line in text.lines() {
        let name = line.split(':').next().unwrap_or("");
        if meminfo::FIELDS.contains(&name) {
            println!("{line}");
        }
    }
    let mut s = Summary::new("meminfo");
    for (field, key) in meminfo::FIELDS.iter().zip([
        "swap_total_kib",
        "swap_free_kib",
        "zswap_kib",
        "zswapped_kib",
    ]) {
        s.put(key, meminfo::or_na(meminfo::lookup(&fields, field)));
    }
    Ok(s)
}

/// Runs one command; `Ok(None)` for `gen`, which prints no summary.
fn dispatch(cmd: &str, rest: &[String]) -> Result<Option<Summary>, CmdError> {
    match cmd {
        "anon" => cmd_anon(rest).map(Some),
        "files" => cmd_files(rest).map(Some),
        "stress" => cmd_stress(rest).map(Some),
        "meminfo" => cmd_meminfo(rest).map(Some),
        "gen" => cmd_gen(rest).map(|()| None),
        other => Err(CmdError::Usage(format!("unknown command {other}"))),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((cmd, rest)) = args.split_first() else {
        eprintln!("zstest: missing command\n{USAGE}");
        return ExitCode::from(EXIT_ERROR);
    };
    if matches!(cmd.as_str(), "help" | "--help" | "-h") {
        println!("{USAGE}");
        return ExitCode::from(EXIT_OK);
    }
    match dispatch(cmd, rest) {
        Ok(None) => ExitCode::from(EXIT_OK),
        Ok(Some(summary)) => {
            println!("{summary}");
            if let Some(m) = summary.first_mismatch() {
                eprintln!("zstest: {cmd}: verification failed: {m}");
            }
            ExitCode::from(summary.exit_code())
        }
        Err(CmdError::Usage(msg)) => {
            eprintln!("zstest: {msg}\n{USAGE}");
            ExitCode::from(EXIT_ERROR)
        }
        Err(CmdError::System(msg)) => {
            eprintln!("zstest: {cmd}: {msg}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parses_options_flags_and_positionals() {
        let a = Args::parse(
            &strings(&["--mib", "64", "--pageout", "--seed=0x10", "write"]),
            &["--mib", "--seed"],
            &["--pageout"],
        )
        .unwrap();
        assert_eq!(a.u64_req("--mib").unwrap(), 64);
        assert_eq!(a.seed().unwrap(), 16);
        assert!(a.flag("--pageout"));
        assert_eq!(a.positional, vec!["write"]);
    }

    #[test]
    fn rejects_bad_arguments() {
        let usage = |r: Result<Args, CmdError>| matches!(r, Err(CmdError::Usage(_)));
        assert!(usage(Args::parse(&strings(&["--bogus"]), &[], &[])));
        assert!(usage(Args::parse(&strings(&["--mib"]), &["--mib"], &[])));
        assert!(usage(Args::parse(
            &strings(&["--pageout=1"]),
            &[],
            &["--pageout"]
        )));
        let a = Args::parse(&strings(&["--mib", "x"]), &["--mib"], &[]).unwrap();
        assert!(a.u64_req("--mib").is_err());
        assert!(a.u64_req("--other").is_err());
        let a = Args::parse(&strings(&["--secs", "-1"]), &["--secs"], &[]).unwrap();
        assert!(a.secs_opt("--secs").is_err());
    }

    #[test]
    fn unknown_command_is_usage_error() {
        assert!(matches!(dispatch("nope", &[]), Err(CmdError::Usage(_))));
        assert!(matches!(
            dispatch("anon", &strings(&["--passes", "0", "--mib", "1"])),
            Err(CmdError::Usage(_))
        ));
    }
}
