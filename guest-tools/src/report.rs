//! Results, errors and the one-line `key=value` summary every run prints.
//!
//! Exit codes are part of the interface the guest test scripts rely on:
//! 0 success, 1 data came back wrong, 2 usage or system error.

use std::fmt;
use std::time::Duration;

pub const EXIT_OK: u8 = 0;
pub const EXIT_MISMATCH: u8 = 1;
pub const EXIT_ERROR: u8 = 2;

/// A failure that is not about the data: bad arguments or a failing syscall.
#[derive(Debug)]
pub enum CmdError {
    Usage(String),
    System(String),
}

impl CmdError {
    /// A system error with context, e.g. `sys("mmap 64 MiB", err)`.
    pub fn sys(what: impl fmt::Display, err: impl fmt::Display) -> CmdError {
        CmdError::System(format!("{what}: {err}"))
    }
}

/// The first byte that did not come back as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mismatch {
    /// Where, as `key=value` pairs, e.g. `page=12` or
    /// `file=zs_000003.dat`.
    pub location: Vec<(&'static str, String)>,
    /// Byte offset within that location (the page, or the file).
    pub offset: u64,
    /// `None` when no byte should be there (file too long).
    pub expected: Option<u8>,
    /// `None` when there was no byte at all (file too short or missing).
    pub got: Option<u8>,
}

impl Mismatch {
    /// All fields as `key=value` pairs, location first.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut v = self.location.clone();
        v.push(("offset", self.offset.to_string()));
        v.push(("expected", byte_or_eof(self.expected)));
        v.push(("got", byte_or_eof(self.got)));
        v
    }
}

/// `0xab`, or `eof` for a byte that is not there.
fn byte_or_eof(b: Option<u8>) -> String {
    b.map_or_else(|| "eof".to_string(), |b| format!("0x{b:02x}"))
}

impl fmt::Display for Mismatch {
    /// `page=3 offset=17 expected=0xab got=0x00`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pairs: Vec<String> = self
            .pairs()
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        f.write_str(&pairs.join(" "))
    }
}

/// The summary line: `<command> ok|FAIL key=value ...`.
pub struct Summary {
    command: &'static str,
    pairs: Vec<(&'static str, String)>,
    first_mismatch: Option<Mismatch>,
}

impl Summary {
    pub fn new(command: &'static str) -> Summary {
        Summary {
            command,
            pairs: Vec::new(),
            first_mismatch: None,
        }
    }

    /// Appends `key=value`; values must not contain spaces.
    pub fn put(&mut self, key: &'static str, value: impl fmt::Display) -> &mut Self {
        self.pairs.push((key, value.to_string()));
        self
    }

    pub fn put_secs(&mut self, key: &'static str, d: Duration) -> &mut Self {
        self.put(key, format!("{:.2}", d.as_secs_f64()))
    }

    /// Records a mismatch; only the first one is kept for the report.
    pub fn mismatch(&mut self, m: Mismatch) {
        if self.first_mismatch.is_none() {
            self.first_mismatch = Some(m);
        }
    }

    pub fn first_mismatch(&self) -> Option<&Mismatch> {
        self.first_mismatch.as_ref()
    }

    pub fn exit_code(&self) -> u8 {
        if self.first_mismatch.is_some() {
            EXIT_MISMATCH
        } else {
            EXIT_OK
        }
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = if self.first_mismatch.is_some() {
            "FAIL"
        } else {
            "ok"
        };
        write!(f, "{} {}", self.command, status)?;
        for (k, v) in &self.pairs {
            write!(f, " {k}={v}")?;
        }
        if let Some(m) = &self.first_mismatch {
            for (k, v) in m.pairs() {
                write!(f, " first_{k}={v}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_format_and_exit_code() {
        let mut s = Summary::new("anon");
        s.put("mib", 64).put("mismatches", 0);
        assert_eq!(s.to_string(), "anon ok mib=64 mismatches=0");
        assert_eq!(s.exit_code(), EXIT_OK);
        s.mismatch(Mismatch {
            location: vec![("page", "3".into())],
            offset: 17,
            expected: Some(0xab),
            got: Some(0),
        });
        s.mismatch(Mismatch {
            location: vec![("page", "9".into())],
            offset: 1,
            expected: Some(1),
            got: None,
        });
        assert_eq!(s.exit_code(), EXIT_MISMATCH);
        assert_eq!(
            s.to_string(),
            "anon FAIL mib=64 mismatches=0 first_page=3 first_offset=17 \
             first_expected=0xab first_got=0x00"
        );
    }
}
