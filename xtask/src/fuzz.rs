//! The fuzz targets of `firmware/fuzz` (cargo-fuzz, libFuzzer; issue 19):
//! set-up, the smoke run `cargo xtask test` does, the long run of
//! `cargo xtask fuzz`, and the seed corpus.
//!
//! - Set-up: the nightly toolchain and cargo-fuzz [`CARGO_FUZZ_VERSION`]
//!   from crates.io, installed when missing (unoptimised: it only drives
//!   cargo). `cargo xtask test` starts it in a thread beside its own
//!   set-up and checks ([`Background`]) and waits for it at the fuzz step.
//! - Build: one `cargo +nightly fuzz build` for every target, into
//!   `target/fuzz` (kept between runs, so only changed crates rebuild):
//!   the smoke run's build is unsanitised, with only the firmware, the
//!   cryptography and libFuzzer optimised (see [`Build::Smoke`] and the
//!   fuzz crate's `[profile.dev]`), and without the firmware's `store`
//!   feature (SQLite), to keep its cold cost in CI small; the long run's
//!   is optimised with AddressSanitizer.
//! - Smoke run: each target for a fixed number of inputs from its seeds
//!   (`firmware/fuzz/seeds/<target>`), one target per core; a crash or a
//!   target that does not compile fails the run.
//! - Long run: each target for N minutes, one at a time on one core, its
//!   corpus kept in `target/fuzz/corpus/<target>`; a crash leaves its input
//!   and a minimised reproducer (`cargo fuzz tmin`) in
//!   `firmware/fuzz/artifacts/<target>/` and fails the run.
//! - Seeds: `firmware/examples/fuzz_seeds.rs` writes them from the
//!   simulator cards.
//!
//! Cold cost on a fresh clone (issue 19 keeps it under three minutes of CI
//! time): see README, "Fuzzing".

use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
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
    // Certificates, CRLs and master lists checked against the trust store
    // (signatures): 20 000 inputs took 18 s of the smoke run (issue 19).
    ("trust_store", 5_000),
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

/// Installs the nightly toolchain and cargo-fuzz when missing, their
/// output on the terminal.
pub(crate) fn ensure(root: &Path) -> anyhow::Result<()> {
    ensure_with(root, &mut |name, cmd| super::step(name, cmd))
}

/// Installs the nightly toolchain and cargo-fuzz when missing, running
/// each step through `run`.
fn ensure_with(
    root: &Path,
    run: &mut dyn FnMut(&str, &mut Command) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let has_nightly = quiet_success(Command::new("rustup").args(["toolchain", "list"]))
        .is_some_and(|list| list.lines().any(|l| l.starts_with("nightly")));
    if !has_nightly {
        run(
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
        // Unoptimised: cargo-fuzz only drives cargo and libFuzzer, and its
        // cold install at opt-level 0 took 42 s (38 s of CPU) against 83 s
        // (79 s of CPU) at the release profile's opt-level 3, both on the
        // shared 2-core machine (load 3.5-4). Its own temporary target
        // directory, not the developer's CARGO_TARGET_DIR.
        run(
            "cargo-fuzz",
            Command::new("cargo")
                .env_remove("RUSTUP_TOOLCHAIN")
                .env_remove("CARGO_TARGET_DIR")
                .env("CARGO_PROFILE_RELEASE_OPT_LEVEL", "0")
                .args([
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

/// The fuzz step's set-up (nightly, cargo-fuzz) running in a thread beside
/// the rest of `cargo xtask test`, its output in a log. Dropping it waits
/// for the thread, so no install is left running when xtask exits.
#[derive(Debug)]
pub(crate) struct Background {
    handle: Option<std::thread::JoinHandle<anyhow::Result<Duration>>>,
    log: PathBuf,
}

impl Background {
    /// Starts [`ensure`] in a thread, logging to `target/fuzz/setup.log`.
    pub(crate) fn start(root: &Path) -> Background {
        let log = target_dir(root).join("setup.log");
        println!(
            "fuzz: set-up (nightly, cargo-fuzz {CARGO_FUZZ_VERSION}) runs in the background; \
             log {}",
            log.display()
        );
        let (root, path) = (root.to_path_buf(), log.clone());
        let handle = std::thread::spawn(move || {
            #[expect(
                clippy::disallowed_methods,
                reason = "a developer tool timing its steps"
            )]
            let start = Instant::now();
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            clear_log(&path)?;
            ensure_with(&root, &mut |name, cmd| logged_step(name, cmd, &path))?;
            Ok(start.elapsed())
        });
        Background {
            handle: Some(handle),
            log,
        }
    }

    /// Waits for the set-up; says how long it took and how long it was
    /// waited for.
    fn wait(&mut self) -> anyhow::Result<()> {
        let Some(handle) = self.handle.take() else {
            return Ok(());
        };
        #[expect(
            clippy::disallowed_methods,
            reason = "a developer tool timing its steps"
        )]
        let start = Instant::now();
        let took = handle
            .join()
            .map_err(|_| anyhow::anyhow!("the fuzz set-up thread panicked"))?
            .with_context(|| format!("fuzz set-up failed; its log: {}", self.log.display()))?;
        println!(
            "fuzz: set-up (nightly, cargo-fuzz {CARGO_FUZZ_VERSION}) took {:.1} s beside the \
             other steps, waited for {:.1} s; log {}",
            took.as_secs_f64(),
            start.elapsed().as_secs_f64(),
            self.log.display()
        );
        Ok(())
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            // An install cut off half-way helps no one: let it finish.
            drop(handle.join());
        }
    }
}

/// Runs a set-up step with both its streams appended to `log`.
fn logged_step(name: &str, cmd: &mut Command, log: &Path) -> anyhow::Result<()> {
    let shown: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    {
        use std::io::Write as _;
        writeln!(log_file(log)?, "==> {name}: {}", shown.join(" "))
            .with_context(|| format!("cannot write {}", log.display()))?;
    }
    let status = cmd
        .stdout(log_file(log)?)
        .stderr(log_file(log)?)
        .status()
        .with_context(|| format!("cannot start {}", shown.join(" ")))?;
    if !status.success() {
        bail!("{name} failed ({status}); see {}", log.display());
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
    /// (opt-level 1 for the firmware, the cryptography and libFuzzer, 0 for
    /// the rest; debug assertions and overflow checks on) and no sanitizer.
    /// The firmware denies `unsafe`, so AddressSanitizer would only
    /// instrument memory-safe code; what a smoke run can find (a panic, an
    /// overflow, a hang, an allocation past the limit) it finds without it,
    /// and the cold build costs a fraction of an optimised ASan build.
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
/// seeds: `cargo xtask fuzz --smoke`, the fuzz step of `cargo xtask test`
/// alone.
pub(crate) fn smoke(root: &Path) -> anyhow::Result<()> {
    smoke_after(root, Background::start(root))
}

/// The fuzz step of `cargo xtask test`: waits for the set-up started by
/// [`Background::start`], then builds and smoke-runs every target.
pub(crate) fn smoke_after(root: &Path, mut setup: Background) -> anyhow::Result<()> {
    setup.wait()?;
    smoke_built(root)
}

/// One smoke run's outcome.
#[derive(Debug)]
struct SmokeRun {
    runs: u32,
    seconds: f64,
}

fn smoke_built(root: &Path) -> anyhow::Result<()> {
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
    }
    // One libFuzzer process per core: each is single-threaded, and the
    // smoke runs took 38 s one after the other.
    let jobs = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, targets.len().max(1));
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<(usize, anyhow::Result<SmokeRun>)>> = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(target) = targets.get(i) else {
                        break;
                    };
                    let outcome = smoke_run(root, target);
                    done.lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push((i, outcome));
                }
            });
        }
    });
    let mut done = done.into_inner().unwrap_or_else(PoisonError::into_inner);
    done.sort_by_key(|(i, _)| *i);
    let mut failed = Vec::new();
    for ((_, outcome), target) in done.into_iter().zip(&targets) {
        match outcome {
            Ok(SmokeRun { runs, seconds }) => println!(
                "fuzz: smoke-ran {target:<12} {runs:>6} inputs in {seconds:>5.1} s, no crash"
            ),
            Err(e) => {
                println!("fuzz: smoke-ran {target:<12} FAILED: {e:#}");
                failed.push(format!("{e:#}"));
            }
        }
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    Ok(())
}

/// Runs `target` for its fixed number of inputs from its seeds.
fn smoke_run(root: &Path, target: &str) -> anyhow::Result<SmokeRun> {
    // New inputs go to a scratch corpus, not into the checked-in seeds.
    let scratch = target_dir(root).join("smoke").join(target);
    if scratch.exists() {
        std::fs::remove_dir_all(&scratch)
            .with_context(|| format!("cannot clear {}", scratch.display()))?;
    }
    let artifacts = artifacts(root, target);
    for dir in [&scratch, &artifacts] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let runs = SMOKE_RUNS_SLOW
        .iter()
        .find(|(t, _)| *t == target)
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
        .arg(seeds(root, target))
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
    Ok(SmokeRun { runs, seconds })
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
