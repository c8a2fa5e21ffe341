//! The kiosk as a board runs it: the `production` feature set of
//! kiosk-board (no simulator, no testkit, no crash hook, no committed test
//! key), started by the systemd unit's own command line under the kiosk
//! compositor `cage` (headless wlroots here: CI has no /dev/dri), the
//! attract screen captured from the compositor with `grim`.
//!
//! Not shown here: a touch through cage's input stack. cage 0.1.4 offers
//! no virtual-pointer protocol and CI has no /dev/uinput; nested in a
//! headless sway (whose virtual pointer works), cage passed the button
//! presses to the kiosk but not the pointer's motion, so the click landed
//! at cage's initial cursor position (docs/architecture.md, "The display").
//!
//! The build goes into the shared target directory. Cargo links the
//! production `kiosk` to `target/debug/kiosk` too, where the other test
//! binaries expect the simulator's: that file is put back after the build.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed unwrap is a failed test, with its message"
)]
#![allow(
    clippy::disallowed_methods,
    reason = "a test waiting for processes it started: the clock and sleeps are real"
)]

use slint::ComponentHandle as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| workspace().join("target"), PathBuf::from)
}

const BUILD: [&str; 7] = [
    "-p",
    "kiosk-board",
    "--no-default-features",
    "--features",
    "production",
    "--bin",
    "kiosk",
];

/// Builds the production kiosk once; a copy in `target/production-test/kiosk`.
fn production_kiosk() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let uplifted = target_dir().join("debug/kiosk");
        let saved = target_dir().join("debug/.kiosk-before-production");
        let _ = std::fs::remove_file(&saved);
        let had = std::fs::hard_link(&uplifted, &saved).is_ok();
        let out = Command::new(&cargo)
            .current_dir(workspace())
            .arg("build")
            .args(BUILD)
            .arg("--message-format=json-render-diagnostics")
            .stderr(Stdio::inherit())
            .output()
            .expect("cargo runs");
        // The executable cargo names is the uplifted target/debug/kiosk:
        // copied before the simulator's kiosk is put back there.
        let exe = out.status.success().then(|| {
            String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .filter(|m| m["reason"] == "compiler-artifact" && m["target"]["name"] == "kiosk")
                .find_map(|m| m["executable"].as_str().map(PathBuf::from))
                .expect("cargo names the kiosk executable")
        });
        let copy = target_dir().join("production-test/kiosk");
        if let Some(exe) = &exe {
            std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
            let tmp = copy.with_extension("tmp");
            std::fs::copy(exe, &tmp).unwrap();
            std::fs::rename(&tmp, &copy).unwrap();
        }
        if had {
            std::fs::rename(&saved, &uplifted).expect("the simulator's kiosk is put back");
        }
        assert!(exe.is_some(), "the production build failed");
        copy
    })
}

/// Whether `tool` runs; prints why the test is skipped when not.
fn have(tool: &str, package: &str) -> bool {
    let ok = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        println!(
            "SKIPPED: {tool} is missing (Debian package {package}; `cargo xtask setup` installs it)"
        );
    }
    ok
}

#[test]
fn the_production_build_links_no_simulator_testkit_or_crash_hook() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    // The features cargo resolves for the production build: the inverted
    // tree of each of our crates and of slint lists every feature of it
    // that is on, with what turned it on.
    let mut tree = String::new();
    for package in ["kiosk-board", "kiosk-firmware", "kiosk-ui", "slint"] {
        let out = Command::new(&cargo)
            .current_dir(workspace())
            .args(["tree", "-e", "features", "--prefix", "none", "-i", package])
            .args(&BUILD[..5])
            .output()
            .expect("cargo tree runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        tree.push_str(&String::from_utf8_lossy(&out.stdout));
    }
    for wanted in [
        "kiosk-board feature \"production\"",
        "kiosk-board feature \"face\"",
        "kiosk-board feature \"linux\"",
        "kiosk-ui feature \"wayland\"",
        "slint feature \"backend-winit-wayland\"",
    ] {
        assert!(tree.contains(wanted), "{wanted} is missing from:\n{tree}");
    }
    for banned in [
        "kiosk-firmware feature \"testkit\"",
        "kiosk-board feature \"sim\"",
        "kiosk-board feature \"crash-hook\"",
        "kiosk-board feature \"desktop\"",
        "slint feature \"backend-winit-x11\"",
    ] {
        assert!(!tree.contains(banned), "the production build has {banned}");
    }

    let kiosk = production_kiosk();
    let bytes = std::fs::read(kiosk).unwrap();
    let contains = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    // Positive control: the scan sees the kiosk's own code.
    assert!(contains(b"the kiosk refuses to start on this board"));
    assert!(!contains(b"KIOSK_CRASH_AT"), "the crash hook is linked");
    // No committed test key or PIN in the binary.
    let sim = workspace().join("board/sim");
    for secret in [
        "outbox.key",
        "pki/kiosk.key",
        "pki/portal.key",
        "c06/verdict.key",
    ] {
        let key = std::fs::read(sim.join(secret)).unwrap();
        assert!(!contains(&key), "{secret} is in the production binary");
    }
    if !have("nm", "binutils") {
        return;
    }
    let nm = Command::new("nm")
        .args(["-C", "--defined-only"])
        .arg(kiosk)
        .output()
        .expect("nm runs");
    assert!(
        nm.status.success(),
        "{}",
        String::from_utf8_lossy(&nm.stderr)
    );
    let symbols = String::from_utf8_lossy(&nm.stdout);
    assert!(
        symbols.contains("kiosk_board::hardening::make_non_dumpable"),
        "nm does not show the kiosk's own symbols"
    );
    for banned in [
        "kiosk_firmware::testkit::",
        "kiosk_board::simulator::",
        "crash_point",
        "VirtualChip",
    ] {
        let hits: Vec<&str> = symbols
            .lines()
            .filter(|l| l.contains(banned))
            .take(3)
            .collect();
        assert!(hits.is_empty(), "{banned} is linked: {hits:?}");
    }
}

/// `ExecStart=` of the shipped unit, split into words.
fn unit_exec_start() -> Vec<String> {
    let unit =
        std::fs::read_to_string(workspace().join("board/systemd/cccd-kiosk.service")).unwrap();
    let line = unit
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("ExecStart="))
        .expect("the unit has ExecStart=");
    line.split_whitespace().map(str::to_owned).collect()
}

/// `Environment=` of the shipped unit.
fn unit_environment() -> Vec<(String, String)> {
    let unit =
        std::fs::read_to_string(workspace().join("board/systemd/cccd-kiosk.service")).unwrap();
    unit.lines()
        .filter_map(|l| l.trim().strip_prefix("Environment="))
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The Raspberry Pi profile as a test board: its devices stay as shipped
/// (absent here), its data in `dir`, the panel turned by `rotation`.
fn test_config(dir: &Path, rotation: u16) -> PathBuf {
    let profile =
        std::fs::read_to_string(workspace().join("board/config/rpi4-acr1252u.toml")).unwrap();
    let text = profile
        .replace(
            "/var/lib/cccd-kiosk",
            &dir.join("data").display().to_string(),
        )
        .replace(
            "/media/kiosk-usb",
            &dir.join("export").display().to_string(),
        )
        .replace(
            "/usr/share/cccd-kiosk/models",
            &dir.join("models").display().to_string(),
        )
        .replace("listen = \"127.0.0.1:9464\"", "listen = \"127.0.0.1:0\"")
        .replace("rotation = 0", &format!("rotation = {rotation}"));
    assert!(text.contains(&format!("rotation = {rotation}")));
    let path = dir.join("kiosk.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn chown_tree(path: &Path, uid: u32) {
    std::os::unix::fs::chown(path, Some(uid), Some(uid)).unwrap();
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_tree(&entry.unwrap().path(), uid);
        }
    }
}

struct Running(std::process::Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A folder for one run: the kiosk binary, its configuration, the
/// compositors' runtime folder, what the test saves; run as a service user
/// (cage refuses to run as root: as root, the test runs it as `nobody`).
struct Stage {
    _dir: tempfile::TempDir,
    xdg: PathBuf,
    out: PathBuf,
    config: PathBuf,
    bin: PathBuf,
    /// The uid to run as, when the test runs as root.
    runner: Option<u32>,
}

impl Stage {
    fn new(name: &str, rotation: u16) -> Stage {
        use std::os::unix::fs::PermissionsExt as _;
        let kiosk = production_kiosk();
        let out = target_dir().join("production-test").join(name);
        let _ = std::fs::remove_dir_all(&out);
        std::fs::create_dir_all(&out).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let bin = root.join("kiosk");
        std::fs::copy(kiosk, &bin).unwrap();
        let config = test_config(&root, rotation);
        let xdg = root.join("xdg");
        std::fs::create_dir(&xdg).unwrap();
        std::fs::set_permissions(&xdg, std::fs::Permissions::from_mode(0o700)).unwrap();
        let euid = Command::new("id").arg("-u").output().unwrap();
        let uid = String::from_utf8_lossy(&euid.stdout)
            .trim()
            .parse::<u32>()
            .unwrap();
        let runner = (uid == 0).then_some(65534);
        if let Some(r) = runner {
            chown_tree(&root, r);
            chown_tree(&out, r);
        }
        Stage {
            _dir: dir,
            xdg,
            out,
            config,
            bin,
            runner,
        }
    }

    fn command(&self, program: &Path) -> Command {
        let mut cmd = Command::new(program);
        cmd.env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("XDG_RUNTIME_DIR", &self.xdg)
            .stdin(Stdio::null());
        if let Some(r) = self.runner {
            use std::os::unix::process::CommandExt as _;
            cmd.uid(r).gid(r);
        }
        cmd
    }

    fn log(&self, name: &str) -> std::fs::File {
        std::fs::File::create(self.out.join(name)).unwrap()
    }

    fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.out.join(name)).unwrap_or_default()
    }

    /// The unit's command line, with only the installed paths replaced:
    /// the built binary for /usr/bin/kiosk, the test board's configuration
    /// for /etc/cccd-kiosk/kiosk.toml. `backend` is the wlroots backend
    /// cage draws on.
    fn start_kiosk(&self, backend: &[(&str, &str)]) -> Running {
        let exec = unit_exec_start();
        assert_eq!(exec[0], "/usr/bin/kiosk", "{exec:?}");
        let at = exec.iter().position(|a| a == "--config").unwrap();
        assert_eq!(exec[at + 1], "/etc/cccd-kiosk/kiosk.toml");
        assert!(exec.windows(2).any(|w| w == ["--ui", "cage"]), "{exec:?}");
        let mut args: Vec<String> = exec[1..].to_vec();
        args[at] = self.config.display().to_string();
        println!("unit: {}", exec.join(" "));
        println!("run:  {} {}", self.bin.display(), args.join(" "));
        let log = self.log("kiosk.log");
        let mut cmd = self.command(&self.bin);
        cmd.args(&args)
            .envs(unit_environment())
            // As systemd and pam_systemd would: the unit's RuntimeDirectory
            // (here a private folder) and a read-only XDG_RUNTIME_DIR that
            // `--ui cage` must not give cage.
            .env("RUNTIME_DIRECTORY", &self.xdg)
            .env("XDG_RUNTIME_DIR", "/proc")
            .envs(backend.iter().copied())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let mut running = Running(cmd.spawn().expect("the kiosk starts"));
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        while !self
            .read("kiosk.log")
            .contains("cold start: attract screen shown")
        {
            if let Ok(Some(status)) = running.0.try_wait() {
                panic!(
                    "the kiosk stopped ({status}) before the attract screen; log:\n{}",
                    self.read("kiosk.log")
                );
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no attract screen within 90 s; log:\n{}",
                self.read("kiosk.log")
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        let log = self.read("kiosk.log");
        assert!(log.contains("starting the kiosk compositor"), "{log}");
        running
    }

    /// A screenshot of the display `socket` (wlr-screencopy, by grim),
    /// once it is not one colour.
    fn screenshot(&self, socket: &str, name: &str) -> image::RgbImage {
        let path = self.out.join(name);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::time::Instant::now() < deadline {
            let status = self
                .command(Path::new("grim"))
                .arg(&path)
                .env("WAYLAND_DISPLAY", socket)
                .status()
                .expect("grim runs");
            if status.success() {
                let img = image::open(&path).unwrap().to_rgb8();
                let first = *img.get_pixel(0, 0);
                if img.pixels().any(|p| *p != first) {
                    return img;
                }
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        panic!("{socket} stayed blank; log:\n{}", self.read("kiosk.log"))
    }

    /// The Wayland sockets in the runtime folder.
    fn sockets(&self) -> Vec<String> {
        let mut s: Vec<String> = std::fs::read_dir(&self.xdg)
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.starts_with("wayland-") && !n.ends_with(".lock"))
            .collect();
        s.sort();
        s
    }
}

/// The attract screen of `config` drawn by the software renderer at `size`,
/// and the kiosk screen model behind it.
fn attract(config: &Path, size: (u32, u32)) -> kiosk_ui::kiosk::Kiosk {
    kiosk_ui::headless::init().unwrap();
    let cfg = kiosk_board::config::Config::load(config).unwrap();
    let view =
        kiosk_firmware::session::Session::new(cfg.session, kiosk_firmware::time::Timestamp::ZERO)
            .view();
    let ui = kiosk_ui::kiosk::Kiosk::new(
        view,
        kiosk_board::frontends::ui::offers(&cfg),
        kiosk_board::frontends::ui::procedures(&cfg),
        &kiosk_ui::adapters::Display::default(),
    )
    .unwrap();
    ui.set_staff_button(kiosk_board::frontends::ui::staff_button(&cfg));
    ui.window()
        .window()
        .set_size(slint::PhysicalSize::new(size.0, size.1));
    ui
}

#[test]
fn the_units_command_line_shows_the_attract_screen_under_cage() {
    if !have("cage", "cage") || !have("grim", "grim") || !have("Xwayland", "xwayland") {
        return;
    }
    // A portrait panel mounted landscape: [linux.display] rotation = 90.
    let stage = Stage::new("cage-headless", 90);
    // cage without a display or input devices (CI has no /dev/dri):
    // wlroots' headless backend and its pixman renderer.
    let _kiosk = stage.start_kiosk(&[
        ("WLR_BACKENDS", "headless"),
        ("WLR_RENDERER", "pixman"),
        ("WLR_LIBINPUT_NO_DEVICES", "1"),
    ]);
    assert_eq!(stage.sockets(), ["wayland-0"], "cage's socket");
    // The first frame cage shows may come before the window has taken the
    // rotated output's size (its configure arrives after the first commit):
    // look again until the display settles on the attract screen, for up
    // to 20 s, and judge the last look.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut drawn_for = None;
    loop {
        let shot = stage.screenshot("wayland-0", "attract.png");
        // wlroots' headless output is 1280×720; rotation = 90 turns it
        // into the portrait screen the kiosk is drawn for.
        assert_eq!(shot.dimensions(), (720, 1280), "the rotated output");
        let drawn = match &drawn_for {
            Some(d) => image::RgbImage::clone(d),
            None => {
                let ui = attract(&stage.config, shot.dimensions());
                let d = kiosk_ui::headless::snapshot(ui.window()).unwrap();
                d.save(stage.out.join("attract-software.png")).unwrap();
                drawn_for = Some(d.clone());
                d
            }
        };
        // The card on the reader is animated (its phase differs between
        // the two): the bands above it (title and guidance) and below it
        // (the slot's label and the buttons) are still, and must match.
        let (w, h) = shot.dimensions();
        let mut worst = ("", 0.0_f64);
        for (name, top, bottom) in [("top", 0, h * 28 / 100), ("bottom", h * 78 / 100, h)] {
            let band = |img: &image::RgbImage| {
                image::imageops::crop_imm(img, 0, top, w, bottom - top).to_image()
            };
            let d = kiosk_ui::headless::compare(&band(&shot), &band(&drawn), 24);
            println!(
                "{name} band ({top}..{bottom}): {:.2} % of pixels differ from the software rendering",
                d.fraction * 100.0
            );
            if d.fraction > worst.1 {
                worst = (name, d.fraction);
            }
        }
        if worst.1 < 0.02 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the display does not show the attract screen ({} band: {:.2} % differ; see {})",
            worst.0,
            worst.1 * 100.0,
            stage.out.display()
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}
