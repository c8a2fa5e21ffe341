//! The fuzz targets of `firmware/fuzz` (cargo-fuzz, libFuzzer; issue 19):
//! set-up, the smoke run `cargo xtask test` does, the long run of
//! `cargo xtask fuzz`, and the seed corpus.
//!
//! - Set-up: the nightly toolchain and cargo-fuzz [`CARGO_FUZZ_VERSION`]
//!   from crates.io, installed when missing.
//! - Build: one `cargo +nightly fuzz build` for every target, into
//!   `target/fuzz` (kept between runs, so only changed crates rebuild):
//!   the smoke run's build is lightly optimised and unsanitised (see
//!   [`Build::Smoke`]) to keep its cold cost in CI small; the long run's is
//!   optimised with AddressSanitizer.
//! - Smoke run: each target for a fixed number of inputs from its seeds
//!   (`firmware/fuzz/seeds/<target>`); a crash or a target that does not
//!   compile fails the run.
//! - Long run: each target for N minutes, one at a time on one core, its
//!   corpus kept in `target/fuzz/corpus/<target>`; a crash leaves its input
//!   and a minimised reproducer (`cargo fuzz tmin`) in
//!   `firmware/fuzz/artifacts/<target>/` and fails the run.
//! - Seeds: `firmware/examples/fuzz_seeds.rs` writes them from the
//!   simulator cards.

use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The cargo-fuzz release the project builds with.
pub(crate) const CARGO_FUZZ_VERSION: &str = "0.13.2";

/// Inputs per target in the smoke run. Targets doing public-key
/// cryptography per input (a few hundred to a few thousand inputs a
/// second) run fewer, so the whole smoke run stays within seconds.
const SMOKE_RUNS: u32 = 20_000;
const SMOKE_RUNS_SLOW: &[(&str, u32)] = &[
    ("reader", 2_000),
    ("ca_dg14", 10_000),
    ("aa_verify", 10_000),
    // A whole PACE read with public-key cryptography per input.
    ("reader_sm", 100),
    ("trust", 5_000),
];

fn fuzz_dir(root: &Path) -> PathBuf {
    root.join("firmware/fuzz")
}

fn target_dir(root: &Path) -> PathBuf {
    root.join("target/fuzz")
}

/// `cargo +nightly ...` through rustup, without the environment of the
/// stable cargo that runs xtask (which would pin the toolchain).
fn nightly(root: &Path) -> Command {
    let mut cmd = Command::new("cargo");
    cmd.arg("+nightly")
        .current_dir(fuzz_dir(root))
        .env_remove("CARGO")
        .env_remove("RUSTC")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO_TARGET_DIR");
    cmd
}

fn quiet_success(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Installs the nightly toolchain and cargo-fuzz when missing.
pub(crate) fn ensure(root: &Path) -> anyhow::Result<()> {
    let has_nightly = quiet_success(Command::new("rustup").args(["toolchain", "list"]))
        .is_some_and(|list| list.lines().any(|l| l.starts_with("nightly")));
    if !has_nightly {
        super::step(
            "nightly toolchain (cargo-fuzz needs it)",
            Command::new("rustup").args([
                "toolchain",
                "install",
                "nightly",
                "--profile",
                "minimal",
            ]),
        )?;
    }
    let version = quiet_success(nightly(root).args(["fuzz", "--version"]));
    if !version.is_some_and(|v| v.split_whitespace().any(|w| w == CARGO_FUZZ_VERSION)) {
        super::step(
            "cargo-fuzz",
            Command::new("cargo").env_remove("RUSTUP_TOOLCHAIN").args([
                "install",
                "cargo-fuzz",
                "--version",
                CARGO_FUZZ_VERSION,
                "--locked",
            ]),
        )?;
    }
    Ok(())
}

/// The targets, as `cargo fuzz list` gives them.
fn targets(root: &Path) -> anyhow::Result<Vec<String>> {
    let out = nightly(root)
        .args(["fuzz", "list"])
        .output()
        .context("cannot run cargo +nightly fuzz list")?;
    if !out.status.success() {
        bail!(
            "cargo fuzz list failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect())
}

/// How the targets are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Build {
    /// The smoke run in `cargo xtask test`: the fuzz crate's dev profile
    /// (opt-level 1, debug assertions and overflow checks on) and no
    /// sanitizer. The firmware denies `unsafe`, so AddressSanitizer would
    /// only instrument memory-safe code; what a smoke run can find (a panic,
    /// an overflow, a hang, an allocation past the limit) it finds without
    /// it, and the cold build costs a fraction of an optimised ASan build.
    Smoke,
    /// The long run of `cargo xtask fuzz`: optimised, with AddressSanitizer
    /// (cargo-fuzz's default), for the most inputs per second and the
    /// sanitizer's view of dependencies' `unsafe` code.
    Long,
}

/// Builds every target in one cargo invocation.
fn build(root: &Path, mode: Build) -> anyhow::Result<()> {
    let mut cmd = nightly(root);
    cmd.args(["fuzz", "build", "--target-dir"])
        .arg(target_dir(root));
    if mode == Build::Smoke {
        cmd.args(["--dev", "--sanitizer", "none"]);
    }
    super::step("fuzz build (every target)", &mut cmd)
}

/// A log both of a run's streams append to.
fn log_file(path: &Path) -> anyhow::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open {}", path.display()))
}

/// Empties a log before a run.
fn clear_log(path: &Path) -> anyhow::Result<()> {
    std::fs::write(path, b"").with_context(|| format!("cannot write {}", path.display()))
}

/// The host triple cargo-fuzz builds for (its output directory).
fn host_triple() -> String {
    quiet_success(Command::new("rustc").args(["+nightly", "-vV"]))
        .and_then(|out| {
            out.lines()
                .find_map(|l| l.strip_prefix("host: "))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| "x86_64-unknown-linux-gnu".to_owned())
}

fn binary(root: &Path, target: &str, mode: Build) -> PathBuf {
    let profile = match mode {
        Build::Smoke => "debug",
        Build::Long => "release",
    };
    target_dir(root)
        .join(host_triple())
        .join(profile)
        .join(target)
}

fn artifacts(root: &Path, target: &str) -> PathBuf {
    fuzz_dir(root).join("artifacts").join(target)
}

fn seeds(root: &Path, target: &str) -> PathBuf {
    fuzz_dir(root).join("seeds").join(target)
}

/// Builds every target and runs each for a fixed number of inputs from its
/// seeds. Part of `cargo xtask test`.
pub(crate) fn smoke(root: &Path) -> anyhow::Result<()> {
    ensure(root)?;
    let targets = targets(root)?;
    build(root, Build::Smoke)?;
    println!(
        "fuzz: built {} targets: {}",
        targets.len(),
        targets.join(" ")
    );
    for target in &targets {
        let seeds = seeds(root, target);
        if !seeds.is_dir() {
            bail!(
                "fuzz target {target} has no seeds in {}: run `cargo xtask fuzz --seeds`",
                seeds.display()
            );
        }
        // New inputs go to a scratch corpus, not into the checked-in seeds.
        let scratch = target_dir(root).join("smoke").join(target);
        if scratch.exists() {
            std::fs::remove_dir_all(&scratch)
                .with_context(|| format!("cannot clear {}", scratch.display()))?;
        }
        let artifacts = artifacts(root, target);
        for dir in [&scratch, &artifacts] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let runs = SMOKE_RUNS_SLOW
            .iter()
            .find(|(t, _)| t == target)
            .map_or(SMOKE_RUNS, |(_, r)| *r);
        let log = target_dir(root).join("smoke").join(format!("{target}.log"));
        #[expect(
            clippy::disallowed_methods,
            reason = "a developer tool timing its steps"
        )]
        let start = Instant::now();
        clear_log(&log)?;
        let status = Command::new(binary(root, target, Build::Smoke))
            .arg(format!("-runs={runs}"))
            .arg(format!("-artifact_prefix={}/", artifacts.display()))
            .arg(&scratch)
            .arg(&seeds)
            .stdout(log_file(&log)?)
            .stderr(log_file(&log)?)
            .status()
            .with_context(|| format!("cannot run fuzz target {target}"))?;
        let seconds = start.elapsed().as_secs_f64();
        if !status.success() {
            bail!(
                "fuzz target {target} crashed in its smoke run ({status}); its input is in {} \
                 and its output in {}; reproduce with `cargo +nightly fuzz run {target} <input>` \
                 in firmware/fuzz",
                artifacts.display(),
                log.display()
            );
        }
        println!("fuzz: smoke-ran {target:<12} {runs:>6} inputs in {seconds:>5.1} s, no crash");
    }
    Ok(())
}

/// What libFuzzer's log says about a run.
#[derive(Debug, Default)]
struct Figures {
    inputs: Option<u64>,
    per_second: Option<u64>,
    coverage: Option<u64>,
}

fn figures(log: &str) -> Figures {
    let stat = |name: &str| {
        log.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
    };
    let coverage = log
        .lines()
        .rev()
        .find_map(|l| l.split("cov: ").nth(1))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok());
    Figures {
        inputs: stat("stat::number_of_executed_units:"),
        per_second: stat("stat::average_exec_per_sec:"),
        coverage,
    }
}

fn crash_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                ["crash-", "oom-", "timeout-", "leak-"]
                    .iter()
                    .any(|k| n.starts_with(k))
            })
        })
        .collect();
    files.sort();
    files
}

/// The long run: `target` (every target when `None`) for `minutes` each,
/// one at a time on one core.
pub(crate) fn long(root: &Path, target: Option<&str>, minutes: u64) -> anyhow::Result<()> {
    ensure(root)?;
    let all = targets(root)?;
    let chosen: Vec<String> = match target {
        Some(t) if all.iter().any(|a| a == t) => vec![t.to_owned()],
        Some(t) => bail!("no fuzz target {t:?}; the targets: {}", all.join(" ")),
        None => all,
    };
    build(root, Build::Long)?;
    let mut crashed = Vec::new();
    for target in &chosen {
        let corpus = target_dir(root).join("corpus").join(target);
        let artifacts = artifacts(root, target);
        let logs = target_dir(root).join("logs");
        for dir in [&corpus, &artifacts, &logs] {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let before = crash_files(&artifacts);
        let log = logs.join(format!("{target}.log"));
        println!(
            "\n==> fuzz {target} for {minutes} min (corpus {}, log {})",
            corpus.display(),
            log.display()
        );
        clear_log(&log)?;
        let mut cmd = Command::new(binary(root, target, Build::Long));
        cmd.arg(format!("-artifact_prefix={}/", artifacts.display()))
            .arg("-print_final_stats=1")
            .arg(&corpus)
            .arg(seeds(root, target))
            .arg(format!("-max_total_time={}", minutes * 60))
            .stdout(log_file(&log)?)
            .stderr(log_file(&log)?);
        let status = cmd
            .status()
            .with_context(|| format!("cannot run fuzz target {target}"))?;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let f = figures(&text);
        let show = |v: Option<u64>| v.map_or_else(|| "?".to_owned(), |v| v.to_string());
        println!(
            "fuzz: {target}: {} inputs, {} inputs/s, cov {}",
            show(f.inputs),
            show(f.per_second),
            show(f.coverage)
        );
        let new: Vec<PathBuf> = crash_files(&artifacts)
            .into_iter()
            .filter(|p| !before.contains(p))
            .collect();
        if status.success() && new.is_empty() {
            println!("fuzz: {target}: no crash");
            continue;
        }
        println!("fuzz: {target}: CRASH ({status}); log {}", log.display());
        for input in &new {
            println!("fuzz: {target}: crashing input {}", input.display());
            let name = input
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("input");
            let minimised = artifacts.join(format!("minimised-{name}"));
            let mut tmin = nightly(root);
            tmin.args(["fuzz", "tmin", "--target-dir"])
                .arg(target_dir(root))
                .arg(target)
                .arg(input)
                .args(["--runs", "2000", "--"])
                .arg(format!("-exact_artifact_path={}", minimised.display()));
            match super::step("minimise the crash (cargo fuzz tmin)", &mut tmin) {
                Ok(()) => println!(
                    "fuzz: {target}: minimised reproducer {}",
                    minimised.display()
                ),
                Err(e) => println!("fuzz: {target}: could not minimise: {e}"),
            }
        }
        crashed.push(target.clone());
    }
    if !crashed.is_empty() {
        bail!(
            "fuzz targets crashed: {}. Turn each reproducer into a unit test in firmware \
             (it must fail), then fix the parser.",
            crashed.join(" ")
        );
    }
    Ok(())
}

/// Rewrites the seed corpus from the simulator cards.
pub(crate) fn write_seeds(root: &Path) -> anyhow::Result<()> {
    let dir = fuzz_dir(root).join("seeds");
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("cannot clear {}", dir.display()))?;
    }
    let mut cmd = super::cargo(root);
    cmd.args([
        "run",
        "-p",
        "kiosk-firmware",
        "--all-features",
        "--example",
        "fuzz_seeds",
        "--",
    ])
    .arg(&dir);
    super::step("fuzz seeds", &mut cmd)
}

/// `cargo xtask fuzz [TARGET] [--minutes N] | --seeds | --smoke`.
pub(crate) fn command(root: &Path, args: &[String]) -> anyhow::Result<()> {
    let mut target = None;
    let mut minutes = 10;
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--seeds" => return write_seeds(root),
            "--smoke" => return smoke(root),
            "--minutes" => {
                minutes = it
                    .next()
                    .and_then(|m| m.parse().ok())
                    .context("--minutes takes a whole number")?;
            }
            t if !t.starts_with('-') && target.is_none() => target = Some(t),
            other => bail!("unexpected argument {other:?} to fuzz"),
        }
    }
    if minutes == 0 {
        bail!("--minutes must be at least 1");
    }
    #[expect(
        clippy::disallowed_methods,
        reason = "a developer tool timing its steps"
    )]
    let start = Instant::now();
    let result = long(root, target, minutes);
    println!("fuzz: finished in {}", humane(start.elapsed()));
    result
}

fn humane(d: Duration) -> String {
    let s = d.as_secs();
    format!("{} min {} s", s / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_figures_of_a_run_come_from_libfuzzers_final_stats() {
        let log = "#1000\tNEW    cov: 10 ft: 12 corp: 3/40b\n\
                   #2000\tDONE   cov: 17 ft: 20 corp: 5/90b exec/s: 666\n\
                   Done 2000 runs in 3 second(s)\n\
                   stat::number_of_executed_units: 2000\n\
                   stat::average_exec_per_sec:     666\n";
        let f = figures(log);
        assert_eq!(f.inputs, Some(2000));
        assert_eq!(f.per_second, Some(666));
        assert_eq!(f.coverage, Some(17));
    }
}
