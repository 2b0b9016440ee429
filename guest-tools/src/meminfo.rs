//! Reading swap and zswap counters from procfs.
//!
//! Only parsing: the numbers are reported so a test can see that pages really
//! went to swap, never used to decide pass or fail here.

use std::io;

/// The `/proc/meminfo` fields the `meminfo` subcommand reports, in order.
pub const FIELDS: [&str; 4] = ["SwapTotal", "SwapFree", "Zswap", "Zswapped"];

/// Parses `Name:   1234 kB` lines into `(name, number)` pairs; lines that do
/// not look like that are skipped.
pub fn parse(text: &str) -> Vec<(String, u64)> {
    text.lines()
        .filter_map(|line| {
            let (name, rest) = line.split_once(':')?;
            let value = rest.split_whitespace().next()?.parse().ok()?;
            Some((name.trim().to_string(), value))
        })
        .collect()
}

pub fn lookup(fields: &[(String, u64)], name: &str) -> Option<u64> {
    fields.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
}

/// Reads and parses a meminfo-style file.
pub fn read(path: &str) -> io::Result<(String, Vec<(String, u64)>)> {
    let text = std::fs::read_to_string(path)?;
    let fields = parse(&text);
    Ok((text, fields))
}

/// This process's swapped-out memory (`VmSwap` in `/proc/self/status`), in
/// KiB: the most direct evidence that our own pages left RAM.
pub fn self_vm_swap_kib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/status").ok()?;
    lookup(&parse(&text), "VmSwap")
}

/// `Some(n)` as `n`, `None` as `na` for summary lines.
pub fn or_na(v: Option<u64>) -> String {
    v.map_or_else(|| "na".to_string(), |n| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_meminfo_lines() {
        let f = parse("MemTotal:       16384 kB\nSwapTotal:  1024 kB\nZswapped:  0 kB\nHugePages_Total:       0\nbogus\n");
        assert_eq!(lookup(&f, "SwapTotal"), Some(1024));
        assert_eq!(lookup(&f, "Zswapped"), Some(0));
        assert_eq!(lookup(&f, "HugePages_Total"), Some(0));
        assert_eq!(lookup(&f, "Zswap"), None);
        assert_eq!(or_na(None), "na");
    }

    #[test]
    fn reads_own_status() {
        // Present on any Linux with swap support compiled in; a kernel
        // without CONFIG_SWAP omits it, so only check the parse is sane.
        if let Some(kib) = self_vm_swap_kib() {
            assert!(kib < 1 << 40);
        }
    }
}
