//! Developer tasks of the CCCD kiosk. Run as `cargo xtask <command>`.
//!
//! - `setup [--no-apt] [--no-models]`: install the Debian packages, fetch
//!   and verify the model files and the face-test photos (idempotent).
//! - `sim [--no-setup] [--headless] [-- ARGS]`: set up, then run the kiosk
//!   on the simulator board in a desktop window (Slint, winit); with
//!   `--headless`, play the happy-path scenario on the real screens rendered
//!   headless and write its screenshots into `target/sim-headless`. Without
//!   a display (neither `DISPLAY` nor `WAYLAND_DISPLAY` set) it says so and
//!   does the headless run instead of failing to open a window.
//! - `test [--no-setup]`: set up, then `cargo fmt --check`, and one build
//!   with clippy (`-D warnings`) as the compiler of the workspace's crates
//!   (the production feature set, then every test target), then every test
//!   (cargo-nextest when installed) and the fuzz smoke run. This is what CI
//!   runs.
//! - `fuzz [TARGET] [--minutes N]`: the long fuzz run (every target, or
//!   one, N minutes each, default 10); `fuzz --seeds` rewrites the seed
//!   corpus; `fuzz --smoke` is the fuzz step of `test`, which builds
//!   every fuzz target and smoke-runs each (see `fuzz.rs`).
//! - `centre [--no-setup] [--kiosks N] [--headless]`: a whole centre on
//!   one machine (PostgreSQL, the centre, N simulated kiosks numbering
//!   through it, the hall display and a counter page; see `centre.rs`).
//! - `models-dir`: print where the model files are.
//! - `face-reference`: make a Python with OpenCV 4.8+ (PyPI's
//!   opencv-python-headless, pinned) in `.cache/face-ref-venv`, for
//!   `kioskctl bench face --python` to compare with OpenCV's own pipeline.

mod apt;
mod centre;
mod fixtures;
mod fuzz;
mod models;

use anyhow::{Context as _, bail};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const USAGE: &str = "\
usage: cargo xtask <command>

  setup [--no-apt] [--no-models]   install Debian packages, fetch and verify model files
  sim [--no-setup] [--headless] [-- ARGS]
                                   set up, then run the kiosk on the simulator board in a
                                   window; --headless plays the happy-path scenario instead
  test [--no-setup]                set up, then fmt check, clippy -D warnings, every test,
                                   and a smoke run of every fuzz target
  fuzz [TARGET] [--minutes N]      fuzz every target (or one) N minutes each (default 10),
                                   one at a time; crashes and minimised reproducers go to
                                   firmware/fuzz/artifacts/TARGET
  fuzz --seeds                     rewrite firmware/fuzz/seeds from the simulator cards
  fuzz --smoke                     only the fuzz step of test: build every target, run each
                                   briefly from its seeds
  centre [--no-setup] [--kiosks N] [--headless]
                                   a whole centre on this machine: PostgreSQL, the centre,
                                   N simulated kiosks (default 2) numbering through it, the
                                   hall display and a counter page in Chromium; --headless
                                   plays the happy path on each kiosk and calls a number
  models-dir                       print the model directory
  face-reference                   make .cache/face-ref-venv (OpenCV's Python pipeline, for bench face)

environment:
  KIOSK_MODEL_DIR     use (and only verify) model files in this folder
  KIOSK_MODEL_MIRROR  a folder to copy model files from first (none unless set)
  KIOSK_FACE_FIXTURES where the face-test photos go (default .cache/face-fixtures)";

fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn main() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(args: &[String]) -> anyhow::Result<()> {
    let root = root();
    let (command, rest) = args
        .split_first()
        .map_or(("help", &[][..]), |(c, r)| (c.as_str(), r));
    let flag = |name: &str| rest.iter().take_while(|a| *a != "--").any(|a| a == name);
    match command {
        "setup" => {
            setup(&root, !flag("--no-apt"), !flag("--no-models"))?;
            Ok(())
        }
        "models-dir" => {
            println!("{}", models::model_dir(&root).0.display());
            Ok(())
        }
        "sim" => {
            let model_dir = if flag("--no-setup") {
                models::model_dir(&root).0
            } else {
                setup(&root, true, true)?
            };
            let extra: Vec<&String> = rest.iter().skip_while(|a| *a != "--").skip(1).collect();
            let headless = flag("--headless");
            if !headless && !has_display() {
                println!(
                    "sim: no display (neither DISPLAY nor WAYLAND_DISPLAY is set), so no window \
                     can open: playing the happy-path scenario headless instead; its screenshots \
                     go to {}. Run `cargo xtask sim` in a desktop session for the window.",
                    root.join("target/sim-headless").display()
                );
            }
            if headless || !has_display() {
                let out = root.join("target/sim-headless");
                let mut cmd = cargo(&root);
                cmd.args([
                    "run",
                    "-p",
                    "kiosk-board",
                    "--bin",
                    "kioskctl",
                    "--",
                    "sim",
                    "run",
                ])
                .arg("--config")
                .arg(root.join("board/config/sim.toml"))
                .arg("--scenario")
                .arg(root.join("board/sim/scenarios/happy-path.toml"))
                .arg("--out")
                .arg(&out)
                .arg("--speech")
                .env("KIOSK_MODEL_DIR", &model_dir)
                // The happy path's chip photo and camera faces.
                .env("KIOSK_FACE_FIXTURES", fixtures::fixture_dir(&root));
                step("the happy path, headless", &mut cmd)?;
                println!("screenshots, speech and report.json in {}", out.display());
                return Ok(());
            }
            let mut cmd = cargo(&root);
            cmd.args([
                "run",
                "-p",
                "kiosk-board",
                "--features",
                "desktop",
                "--bin",
                "kiosk",
                "--",
                "--board",
                "sim",
                "--config",
            ])
            .arg(root.join("board/config/sim.toml"))
            .args(extra)
            .env("KIOSK_MODEL_DIR", &model_dir);
            step("kiosk on the simulator", &mut cmd)?;
            Ok(())
        }
        "centre" => {
            let model_dir = if flag("--no-setup") {
                models::model_dir(&root).0
            } else {
                setup(&root, true, true)?
            };
            let kiosks = match rest.iter().position(|a| a == "--kiosks") {
                Some(i) => rest
                    .get(i + 1)
                    .and_then(|n| n.parse().ok())
                    .context("--kiosks needs a number (1–9)")?,
                None => 2,
            };
            let headless = flag("--headless") || !has_display();
            if headless && !flag("--headless") {
                println!(
                    "centre: no display (neither DISPLAY nor WAYLAND_DISPLAY is set): the kiosks \
                     play the happy path headless instead of opening windows"
                );
            }
            let mut build = cargo(&root);
            build.args([
                "build",
                "-p",
                "kiosk-centre",
                "--bin",
                "kiosk-centre",
                "-p",
                "kiosk-board",
                "--bin",
                "kioskctl",
            ]);
            if !headless {
                build.args(["--bin", "kiosk", "--features", "kiosk-board/desktop"]);
            }
            step("build the centre and the kiosk", &mut build)?;
            let target = std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target"));
            let target = if target.is_relative() {
                root.join(target)
            } else {
                target
            };
            centre::run(
                &root,
                &target,
                &centre::Options {
                    kiosks,
                    headless,
                    model_dir,
                    fixtures: fixtures::fixture_dir(&root),
                },
            )
        }
        "test" => test(&root, !flag("--no-setup")),
        "fuzz" => fuzz::command(&root, rest),
        "face-reference" => {
            let python = face_reference(&root)?;
            println!("{}", python.display());
            Ok(())
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown command {other:?}\n{USAGE}"),
    }
}

/// Whether a window can open: a Wayland or X11 display is named.
fn has_display() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"]
        .iter()
        .any(|v| std::env::var_os(v).is_some_and(|d| !d.is_empty()))
}

fn setup(root: &Path, apt: bool, models: bool) -> anyhow::Result<PathBuf> {
    if apt {
        apt::ensure()?;
    }
    let dir = if models {
        fixtures::ensure(root)?;
        models::ensure(root)?
    } else {
        models::model_dir(root).0
    };
    println!("setup: model directory {}", dir.display());
    Ok(dir)
}

/// The OpenCV Python reference for `kioskctl bench face --python`: a venv
/// with a pinned opencv-python-headless from PyPI (benchmark comparison
/// only; the kiosk never uses it).
fn face_reference(root: &Path) -> anyhow::Result<PathBuf> {
    let venv = root.join(".cache/face-ref-venv");
    let python = venv.join("bin/python");
    let ready = Command::new(&python)
        .args([
            "-c",
            "import cv2, sys; sys.exit(0 if cv2.__version__ == '4.10.0' else 1)",
        ])
        .status()
        .is_ok_and(|s| s.success());
    if !ready {
        let mut venv_cmd = Command::new("python3");
        venv_cmd.args(["-m", "venv"]).arg(&venv);
        step("face reference venv", &mut venv_cmd)?;
        let mut pip = Command::new(&python);
        pip.args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "opencv-python-headless==4.10.0.84",
            "numpy<2.3",
        ]);
        step("OpenCV 4.10 for Python", &mut pip)?;
    }
    Ok(python)
}

fn cargo(root: &Path) -> Command {
    let mut cmd = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.current_dir(root);
    cmd
}

fn step(name: &str, cmd: &mut Command) -> anyhow::Result<()> {
    let shown: Vec<String> = std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    println!("\n==> {name}: {}", shown.join(" "));
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {}", shown.join(" ")))?;
    if !status.success() {
        bail!("{name} failed ({status})");
    }
    Ok(())
}

/// How `cargo xtask test` lints: clippy runs as the compiler of the
/// workspace's own crates (`RUSTC_WORKSPACE_WRAPPER=clippy-driver`, what
/// `cargo clippy` itself sets) inside the builds the tests need, with
/// `-D warnings`, so there is one build per run instead of a `cargo
/// clippy` check build of every dependency beside the test build. The two
/// builds together (the production feature set and the test build) compile
/// every feature `--all-features` would, and the `not(feature = "wayland")`
/// code too.
fn lint_while_building(cmd: &mut Command) -> anyhow::Result<()> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .context("cannot run rustc --print sysroot")?;
    if !out.status.success() {
        bail!("rustc --print sysroot failed");
    }
    let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let driver = sysroot.join("bin/clippy-driver");
    if !driver.is_file() {
        bail!(
            "clippy is not installed ({} is missing): run `rustup component add clippy`",
            driver.display()
        );
    }
    cmd.env("RUSTC_WORKSPACE_WRAPPER", driver)
        .env("CLIPPY_ARGS", clippy_args(&["-D", "warnings"]));
    Ok(())
}

/// Arguments for clippy-driver as `cargo clippy -- ARGS` passes them.
fn clippy_args(args: &[&str]) -> String {
    args.iter()
        .map(|a| format!("{a}__CLIPPY_HACKERY__"))
        .collect()
}

/// Whether cargo-nextest is installed.
fn has_nextest(root: &Path) -> bool {
    cargo(root)
        .args(["nextest", "--version"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn test(root: &Path, with_setup: bool) -> anyhow::Result<()> {
    #[expect(
        clippy::disallowed_methods,
        reason = "a developer tool timing its steps"
    )]
    let start = Instant::now();
    // The fuzz step's set-up (cargo-fuzz's install on a fresh machine, 42 s)
    // runs beside set-up and the checks instead of at the fuzz step.
    let fuzz_setup = fuzz::Background::start(root);
    let model_dir = if with_setup {
        setup(root, true, true)?
    } else {
        models::model_dir(root).0
    };
    let nextest = has_nextest(root);
    if !nextest {
        println!(
            "xtask test: cargo-nextest is not installed, so the test binaries run one after \
             another with `cargo test` (slower; `cargo install cargo-nextest --locked` for the \
             parallel run CI uses)"
        );
    }
    // Every feature a test uses: the tests crate turns on each board
    // feature (sim, pcsc, nfc, linux, face) and the firmware's testkit and
    // OpenCV engine, so the workspace's default features are all of them
    // but `desktop` and `wayland`, the winit window. The production feature
    // set (with `wayland`) is built first: tests/tests/production.rs runs
    // it, and its own `cargo build` of it then finds it built.
    let mut steps: Vec<(&str, Vec<&str>, bool)> = vec![
        ("format", vec!["fmt", "--all", "--check"], false),
        (
            "production build",
            vec![
                "build",
                "-p",
                "kiosk-board",
                "--no-default-features",
                "--features",
                "production",
                "--bin",
                "kiosk",
                "--locked",
            ],
            true,
        ),
    ];
    if nextest {
        // One pool of test threads over every test binary (the slow
        // pcscd, compositor and face tests overlap with the rest;
        // `.config/nextest.toml` keeps what must not overlap apart), and
        // the doc tests, which nextest does not run.
        steps.push((
            "tests",
            vec![
                "nextest",
                "run",
                "--workspace",
                "--locked",
                "--no-fail-fast",
            ],
            true,
        ));
        steps.push((
            "doc tests",
            vec!["test", "--workspace", "--locked", "--doc"],
            true,
        ));
    } else {
        steps.push((
            "tests",
            vec!["test", "--workspace", "--locked", "--no-fail-fast"],
            true,
        ));
    }
    let mut times = Vec::new();
    for (name, args, builds) in steps {
        #[expect(
            clippy::disallowed_methods,
            reason = "a developer tool timing its steps"
        )]
        let t = Instant::now();
        let mut cmd = cargo(root);
        cmd.args(&args)
            .env("KIOSK_MODEL_DIR", &model_dir)
            .env("KIOSK_FACE_FIXTURES", fixtures::fixture_dir(root));
        if builds {
            lint_while_building(&mut cmd)?;
            // A cold build in CI: incremental compilation's bookkeeping
            // only costs there.
            if std::env::var_os("CI").is_some() && std::env::var_os("CARGO_INCREMENTAL").is_none() {
                cmd.env("CARGO_INCREMENTAL", "0");
            }
        }
        let result = step(name, &mut cmd);
        times.push((name, t.elapsed()));
        if let Err(e) = result {
            bail!("{e}; fix it and run `cargo xtask test` again");
        }
    }
    #[expect(
        clippy::disallowed_methods,
        reason = "a developer tool timing its steps"
    )]
    let t = Instant::now();
    let result = fuzz::smoke_after(root, fuzz_setup);
    times.push(("fuzz", t.elapsed()));
    if let Err(e) = result {
        bail!("{e:#}; fix it and run `cargo xtask test` again");
    }
    println!();
    for (name, t) in &times {
        println!("xtask test: {name:<16} {:>6.1} s", t.as_secs_f64());
    }
    println!(
        "xtask test: all steps passed in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
