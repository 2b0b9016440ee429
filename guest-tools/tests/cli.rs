//! End-to-end checks of the `zstest` binary: output format and exit codes,
//! which the guest test scripts depend on.

use std::fs;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::process::{Command, Output};

fn zstest(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_zstest"))
        .args(args)
        .output()
        .expect("run zstest")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A scratch directory unique to this test process, removed on drop.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let p = std::env::temp_dir().join(format!("zstest-cli-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&p);
        Scratch(p)
    }

    fn path(&self) -> &str {
        self.0.to_str().unwrap()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &[][..],
        &["bogus"],
        &["anon"],
        &["anon", "--mib", "x"],
        &["anon", "--mib", "1", "--nope"],
        &["files", "--dir", "/tmp", "--mib", "1"],
        &["files", "--dir", "/tmp", "--mib", "1", "read"],
        &["gen"],
        &["stress", "--mib", "1"],
        &["anon", "--mib", "1", "--mix", "text,bogus"],
    ] {
        let o = zstest(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(stderr(&o).contains("zstest: "), "{args:?}");
    }
}

#[test]
fn help_exits_0() {
    let o = zstest(&["--help"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("usage: zstest"));
}

#[test]
fn gen_is_one_deterministic_page() {
    let a = zstest(&["gen", "--page", "7", "--seed", "3"]);
    let b = zstest(&["gen", "--page", "7", "--seed", "3"]);
    let c = zstest(&["gen", "--page", "7", "--seed", "3", "--version", "1"]);
    assert_eq!(a.status.code(), Some(0));
    assert_eq!(a.stdout.len(), 4096);
    assert_eq!(a.stdout, b.stdout);
    assert_ne!(a.stdout, c.stdout);
}

#[test]
fn anon_summary_line() {
    let o = zstest(&["anon", "--mib", "4", "--pageout", "--passes", "2"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1);
    assert!(
        out.starts_with("anon ok mib=4 pages=1024 verified=2048 mismatches=0 secs="),
        "{out}"
    );
    assert!(out.contains(" pageout="));
}

#[test]
fn anon_ready_and_hold_until() {
    let dir = Scratch::new("hold");
    fs::create_dir_all(&dir.0).unwrap();
    let ready = dir.0.join("ready");
    let release = dir.0.join("release");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_zstest"))
        .args(["anon", "--mib", "2", "--ready", ready.to_str().unwrap()])
        .args(["--hold-until", release.to_str().unwrap()])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // It announces the held data, then holds it until released.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready.exists() {
        assert!(std::time::Instant::now() < deadline, "no --ready file");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(
        child.try_wait().unwrap().is_none(),
        "exited before --hold-until existed"
    );
    fs::write(&release, b"").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("anon ok mib=2 pages=512 verified=512 mismatches=0"));
}

#[test]
fn files_write_verify_and_corruption() {
    let dir = Scratch::new("files");
    let common = ["--dir", dir.path(), "--mib", "2", "--seed", "5"];
    let w = zstest(&[&["files"][..], &common, &["write"]].concat());
    assert_eq!(w.status.code(), Some(0), "{}", stderr(&w));
    assert!(stdout(&w).starts_with("files ok mode=write "));

    let v = zstest(&[&["files"][..], &common, &["verify"]].concat());
    assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));
    assert!(stdout(&v).contains(" mismatches=0 "));

    let f = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(dir.0.join("zs_000001.dat"))
        .unwrap();
    let mut b = [0u8; 1];
    f.read_exact_at(&mut b, 4096 + 9).unwrap();
    f.write_all_at(&[!b[0]], 4096 + 9).unwrap();
    drop(f);

    let v = zstest(&[&["files"][..], &common, &["verify"]].concat());
    assert_eq!(v.status.code(), Some(1));
    let out = stdout(&v);
    assert!(out.starts_with("files FAIL mode=verify "), "{out}");
    assert!(out.contains(" mismatches=1 "), "{out}");
    assert!(
        out.contains(&format!(
            "first_file=zs_000001.dat first_page=1 first_offset=4105 first_expected=0x{:02x} first_got=0x{:02x}",
            b[0], !b[0]
        )),
        "{out}"
    );
    assert!(stderr(&v).contains("verification failed: file=zs_000001.dat"));
}

#[test]
fn system_error_exits_2() {
    let dir = Scratch::new("syserr");
    fs::create_dir_all(&dir.0).unwrap();
    let file = dir.0.join("plain");
    fs::write(&file, b"x").unwrap();
    // A regular file where the directory should be.
    let o = zstest(&[
        "files",
        "--dir",
        file.to_str().unwrap(),
        "--mib",
        "1",
        "write",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
}

#[test]
fn meminfo_from_file() {
    let dir = Scratch::new("meminfo");
    fs::create_dir_all(&dir.0).unwrap();
    let f = dir.0.join("meminfo");
    fs::write(
        &f,
        "MemTotal: 100 kB\nSwapTotal: 2048 kB\nSwapFree: 1024 kB\nZswap: 10 kB\n",
    )
    .unwrap();
    let o = zstest(&["meminfo", "--file", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        "SwapTotal: 2048 kB\nSwapFree: 1024 kB\nZswap: 10 kB\n\
         meminfo ok swap_total_kib=2048 swap_free_kib=1024 zswap_kib=10 zswapped_kib=na\n"
    );
    let real = zstest(&["meminfo"]);
    assert_eq!(real.status.code(), Some(0));
    assert!(stdout(&real).contains("meminfo ok swap_total_kib="));
}

#[test]
fn stress_short_run() {
    let o = zstest(&["stress", "--mib", "2", "--secs", "0.5", "--seed", "4"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    assert!(
        out.starts_with("stress ok mib=2 pages=512 verified=512 mismatches=0 secs="),
        "{out}"
    );
}
