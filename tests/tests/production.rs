//! The kiosk as a board runs it: the `production` feature set of
//! kiosk-board (no simulator, no testkit, no crash hook, no committed test
//! key), started by the systemd unit's own command line under the kiosk
//! compositor `sway` (headless wlroots here: CI has no /dev/dri), the
//! screens captured from the compositor with `grim`.
//!
//! A touch through the compositor's input stack: CI has no touchscreen and
//! no /dev/uinput, so the test plugs a virtual pointer into sway's seat
//! (`zwlr_virtual_pointer_v1`, the device a libinput pointer would be) and
//! presses it on the attract screen's "take a number" button; the display
//! must then show the menu, as the software renderer draws it. sway 1.7
//! has no way to inject a touch event, so this is the pointer path of the
//! same seat, not the touch path (docs/architecture.md, "The display").
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
/// (absent here), its data and trust store in `dir`, the panel turned by
/// `rotation`.
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
        // The trust store's folders (CSCA certificates and CRLs): empty.
        .replace("/etc/cccd-kiosk", &dir.join("etc").display().to_string())
        .replace("listen = \"127.0.0.1:9464\"", "listen = \"127.0.0.1:0\"")
        .replace("rotation = 0", &format!("rotation = {rotation}"));
    assert!(text.contains(&format!("rotation = {rotation}")));
    for folder in ["etc/csca", "etc/crl"] {
        std::fs::create_dir_all(dir.join(folder)).unwrap();
    }
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

/// The unit's main process (sway, once the kiosk has replaced itself with
/// it) and the clients found under it: stopped by PID when dropped, the
/// clients first.
struct Running {
    main: std::process::Child,
    clients: Vec<i32>,
}

impl Drop for Running {
    fn drop(&mut self) {
        use nix::sys::signal::{Signal, kill};
        for pid in &self.clients {
            let _ = kill(nix::unistd::Pid::from_raw(*pid), Signal::SIGTERM);
        }
        let _ = self.main.kill();
        let _ = self.main.wait();
    }
}

/// The windows in sway's tree (`get_tree`): each one's process and size.
fn windows(node: &serde_json::Value, found: &mut Vec<(i32, u64, u64)>) {
    if let Some(pid) = node["pid"].as_i64() {
        let rect = &node["rect"];
        found.push((
            i32::try_from(pid).unwrap(),
            rect["width"].as_u64().unwrap_or(0),
            rect["height"].as_u64().unwrap_or(0),
        ));
    }
    for key in ["nodes", "floating_nodes"] {
        for child in node[key].as_array().into_iter().flatten() {
            windows(child, found);
        }
    }
}

/// A folder for one run: the kiosk binary, its configuration, the
/// compositor's runtime folder, what the test saves; run as a service user
/// (sway refuses to run as root: as root, the test runs it as `nobody`).
struct Stage {
    dir: tempfile::TempDir,
    xdg: PathBuf,
    out: PathBuf,
    config: PathBuf,
    bin: PathBuf,
    /// The uid to run as, when the test runs as root.
    runner: Option<u32>,
}

/// sway without a display or input devices (CI has no /dev/dri): wlroots'
/// headless backend (one 1280×720 output) and its pixman renderer.
const HEADLESS: [(&str, &str); 3] = [
    ("WLR_BACKENDS", "headless"),
    ("WLR_RENDERER", "pixman"),
    ("WLR_LIBINPUT_NO_DEVICES", "1"),
];

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
            dir,
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
    /// for /etc/cccd-kiosk/kiosk.toml; sway on the headless backend.
    fn start_kiosk(&self) -> Running {
        let exec = unit_exec_start();
        assert_eq!(exec[0], "/usr/bin/kiosk", "{exec:?}");
        let at = exec.iter().position(|a| a == "--config").unwrap();
        assert_eq!(exec[at + 1], "/etc/cccd-kiosk/kiosk.toml");
        assert!(exec.windows(2).any(|w| w == ["--ui", "sway"]), "{exec:?}");
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
            // `--ui sway` must not give sway.
            .env("RUNTIME_DIRECTORY", &self.xdg)
            .env("XDG_RUNTIME_DIR", "/proc")
            .envs(HEADLESS)
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let mut running = Running {
            main: cmd.spawn().expect("the kiosk starts"),
            clients: Vec::new(),
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(90);
        while !self
            .read("kiosk.log")
            .contains("cold start: attract screen shown")
        {
            if let Ok(Some(status)) = running.main.try_wait() {
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

    /// The sockets in the runtime folder whose names start with `prefix`.
    fn sockets(&self, prefix: &str) -> Vec<String> {
        use std::os::unix::fs::FileTypeExt as _;
        let mut s: Vec<String> = std::fs::read_dir(&self.xdg)
            .unwrap()
            .filter_map(|e| {
                let e = e.ok()?;
                e.file_type().ok()?.is_socket().then_some(())?;
                e.file_name().into_string().ok()
            })
            .filter(|n| n.starts_with(prefix))
            .collect();
        s.sort();
        s
    }

    /// `swaymsg -t <kind>` on the compositor's IPC socket, as JSON.
    fn sway_ipc(&self, kind: &str) -> serde_json::Value {
        let ipc = self.sockets("sway-ipc.");
        assert_eq!(ipc.len(), 1, "sway's IPC socket: {ipc:?}");
        let out = self
            .command(Path::new("swaymsg"))
            .arg("-s")
            .arg(self.xdg.join(&ipc[0]))
            .args(["-r", "-t", kind])
            .output()
            .expect("swaymsg runs");
        assert!(
            out.status.success(),
            "swaymsg -t {kind}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// The kiosk screen model of `config` at the attract screen, drawn by the
/// software renderer at `size`.
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

/// The screen the session shows after `input` at the attract screen,
/// drawn by the software renderer at `size`.
fn after(
    config: &Path,
    size: (u32, u32),
    input: kiosk_firmware::session::Input,
) -> image::RgbImage {
    use kiosk_firmware::time::Timestamp;
    let cfg = kiosk_board::config::Config::load(config).unwrap();
    let mut session = kiosk_firmware::session::Session::new(cfg.session, Timestamp::ZERO);
    session.handle_input(input, Timestamp::ZERO);
    let ui = attract(config, size);
    ui.update(&session.view(), &[]);
    kiosk_ui::headless::snapshot(ui.window()).unwrap()
}

/// Where a finger on the drawn attract screen of `ui` gives `wanted`: the
/// middle of the run of such points along the row `y`, found from the
/// right edge (where the action row's primary button sits), then the
/// middle of the run down the column through it.
fn button_at(
    ui: &kiosk_ui::kiosk::Kiosk,
    size: (u32, u32),
    y: u32,
    wanted: &kiosk_ui::presenter::Touch,
) -> (u32, u32) {
    let hits = |x: u32, y: u32| {
        kiosk_ui::headless::tap(ui.window(), x as f32, y as f32);
        let t = ui.take_touches();
        assert!(
            t.iter().all(|t| t == wanted),
            "a probe at ({x}, {y}) touched {t:?}, not only {wanted:?}"
        );
        !t.is_empty()
    };
    let run = |points: &mut dyn Iterator<Item = u32>, hit: &dyn Fn(u32) -> bool| {
        let inside: Vec<u32> = points
            .skip_while(|&p| !hit(p))
            .take_while(|&p| hit(p))
            .collect();
        assert!(!inside.is_empty(), "no point gives {wanted:?}");
        (inside[0] + inside[inside.len() - 1]) / 2
    };
    let x = run(&mut (size.0 / 2..size.0).rev().step_by(4), &|x| hits(x, y));
    let y = run(&mut (0..size.1).rev().step_by(4), &|y| hits(x, y));
    (x, y)
}

/// A pointer device of the test's own on the compositor's seat
/// (`zwlr_virtual_pointer_v1`): what a mouse or touchscreen would be to
/// sway's input stack. It stays plugged in while this is held.
mod virtual_pointer {
    use std::os::unix::net::UnixStream;
    use std::path::Path;
    use wayland_client::globals::{GlobalListContents, registry_queue_init};
    use wayland_client::protocol::wl_pointer::ButtonState;
    use wayland_client::protocol::{wl_registry, wl_seat};
    use wayland_client::{Connection, Dispatch, EventQueue, QueueHandle, delegate_noop};
    use wayland_protocols_wlr::virtual_pointer::v1::client::{
        zwlr_virtual_pointer_manager_v1::ZwlrVirtualPointerManagerV1,
        zwlr_virtual_pointer_v1::ZwlrVirtualPointerV1,
    };

    /// linux/input-event-codes.h
    const BTN_LEFT: u32 = 0x110;

    pub(super) struct State;

    impl Dispatch<wl_registry::WlRegistry, GlobalListContents> for State {
        fn event(
            _: &mut State,
            _: &wl_registry::WlRegistry,
            _: wl_registry::Event,
            _: &GlobalListContents,
            _: &Connection,
            _: &QueueHandle<State>,
        ) {
        }
    }
    delegate_noop!(State: ignore wl_seat::WlSeat);
    delegate_noop!(State: ZwlrVirtualPointerManagerV1);
    delegate_noop!(State: ZwlrVirtualPointerV1);

    pub(super) struct VirtualPointer {
        queue: EventQueue<State>,
        pointer: ZwlrVirtualPointerV1,
        /// Milliseconds, for the events' timestamps.
        time: u32,
    }

    impl VirtualPointer {
        /// Plugs a pointer into the seat of the compositor at `socket`.
        pub(super) fn plug(socket: &Path) -> VirtualPointer {
            let stream = UnixStream::connect(socket).expect("the compositor's socket answers");
            let conn = Connection::from_socket(stream).unwrap();
            let (globals, mut queue) = registry_queue_init::<State>(&conn).unwrap();
            let qh = queue.handle();
            let seat: wl_seat::WlSeat = globals.bind(&qh, 1..=1, ()).unwrap();
            let manager: ZwlrVirtualPointerManagerV1 = globals
                .bind(&qh, 1..=1, ())
                .expect("the compositor offers zwlr_virtual_pointer_manager_v1");
            let pointer = manager.create_virtual_pointer(Some(&seat), &qh, ());
            queue.roundtrip(&mut State).unwrap();
            VirtualPointer {
                queue,
                pointer,
                time: 0,
            }
        }

        fn send(&mut self) {
            self.pointer.frame();
            self.queue.roundtrip(&mut State).unwrap();
            std::thread::sleep(std::time::Duration::from_millis(100));
            self.time += 100;
        }

        /// Moves to `(x, y)` of the output (`extent`: its size in the
        /// layout, after rotation), presses and releases the left button.
        pub(super) fn click(&mut self, (x, y): (u32, u32), extent: (u32, u32)) {
            self.pointer
                .motion_absolute(self.time, x, y, extent.0, extent.1);
            self.send();
            self.pointer
                .button(self.time, BTN_LEFT, ButtonState::Pressed);
            self.send();
            self.pointer
                .button(self.time, BTN_LEFT, ButtonState::Released);
            self.send();
        }
    }
}

/// How far a screenshot is from a drawn screen, as the worst share of
/// differing pixels in the still bands (`bands`: top and bottom fractions
/// of the height), and in which band.
fn distance(
    shot: &image::RgbImage,
    drawn: &image::RgbImage,
    bands: &[(&'static str, u32, u32)],
) -> (&'static str, f64) {
    let (w, h) = shot.dimensions();
    let mut worst = ("", 0.0_f64);
    for &(name, top, bottom) in bands {
        let (top, bottom) = (h * top / 100, h * bottom / 100);
        let band = |img: &image::RgbImage| {
            image::imageops::crop_imm(img, 0, top, w, bottom - top).to_image()
        };
        let d = kiosk_ui::headless::compare(&band(shot), &band(drawn), 24);
        if d.fraction >= worst.1 {
            worst = (name, d.fraction);
        }
    }
    worst
}

/// The card on the reader is animated (its phase differs between the two):
/// the bands above it (title and guidance) and below it (the slot's label
/// and the buttons) are still, and must match.
const ATTRACT_BANDS: [(&str, u32, u32); 2] = [("top", 0, 28), ("bottom", 78, 100)];
/// The menu has no animation: all of it must match.
const WHOLE: [(&str, u32, u32); 1] = [("whole screen", 0, 100)];

#[test]
fn the_units_command_line_shows_the_attract_screen_under_sway_and_a_touch_changes_it() {
    if !have("sway", "sway") || !have("swaymsg", "sway") || !have("grim", "grim") {
        return;
    }
    // A portrait panel mounted landscape: [linux.display] rotation = 90.
    let stage = Stage::new("sway-headless", 90);
    let mut running = stage.start_kiosk();
    let wayland = stage.sockets("wayland-");
    assert_eq!(wayland.len(), 1, "sway's Wayland socket: {wayland:?}");
    let socket = wayland[0].as_str();

    // The configuration `--ui sway` wrote: the panel's rotation, no
    // bindings; and sway itself accepts it (`sway -C` checks and exits).
    let written = std::fs::read_to_string(stage.xdg.join("sway.config")).unwrap();
    std::fs::write(stage.out.join("sway.config"), &written).unwrap();
    assert!(written.contains("\noutput * transform 90\n"), "{written}");
    assert!(
        !written.contains("bindsym") && !written.contains("bindcode"),
        "{written}"
    );
    let check_xdg = stage.dir.path().join("check-xdg");
    std::fs::create_dir(&check_xdg).unwrap();
    if let Some(r) = stage.runner {
        chown_tree(&check_xdg, r);
    }
    let check = stage
        .command(Path::new("sway"))
        .args(["-C", "-c"])
        .arg(stage.xdg.join("sway.config"))
        .env("XDG_RUNTIME_DIR", &check_xdg)
        .envs(HEADLESS)
        .output()
        .expect("sway runs");
    assert!(
        check.status.success(),
        "sway -C refuses the configuration:\n{written}\n{}",
        String::from_utf8_lossy(&check.stderr)
    );

    // The first frame sway shows may come before the window has taken the
    // rotated output's size (its configure arrives after the first commit):
    // look again until the display settles on the attract screen, for up
    // to 20 s, and judge the last look.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let mut drawn_for = None;
    let size = loop {
        let shot = stage.screenshot(socket, "1-attract.png");
        // wlroots' headless output is 1280×720; rotation = 90 turns it
        // into the portrait screen the kiosk is drawn for.
        assert_eq!(shot.dimensions(), (720, 1280), "the rotated output");
        let drawn = drawn_for
            .get_or_insert_with(|| {
                let ui = attract(&stage.config, shot.dimensions());
                let d = kiosk_ui::headless::snapshot(ui.window()).unwrap();
                d.save(stage.out.join("1-attract-software.png")).unwrap();
                d
            })
            .clone();
        let worst = distance(&shot, &drawn, &ATTRACT_BANDS);
        println!(
            "attract: {:.2} % of the {} band's pixels differ from the software rendering",
            worst.1 * 100.0,
            worst.0
        );
        if worst.1 < 0.02 {
            break shot.dimensions();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the display does not show the attract screen ({} band: {:.2} % differ; see {})",
            worst.0,
            worst.1 * 100.0,
            stage.out.display()
        );
        std::thread::sleep(Duration::from_millis(500));
    };

    // The kiosk's window is sway's only client, the whole (rotated) screen.
    let mut clients = Vec::new();
    windows(&stage.sway_ipc("get_tree"), &mut clients);
    running.clients = clients.iter().map(|c| c.0).collect();
    assert_eq!(
        clients.len(),
        1,
        "sway's windows (pid, width, height): {clients:?}"
    );
    assert_eq!(
        (clients[0].1, clients[0].2),
        (720, 1280),
        "the kiosk's window"
    );

    // Where "take a number" is on the screen as drawn at the output's
    // size: the right button of the action row, 48 px above the bottom
    // edge; the probe finds its middle.
    let walk_in = kiosk_ui::presenter::Touch::Input(kiosk_firmware::session::Input::WalkIn);
    let ui = attract(&stage.config, size);
    let at = button_at(&ui, size, size.1 - 48 - 60, &walk_in);
    drop(ui);
    println!("\"take a number\" is at {at:?} of the {size:?} screen");
    let menu = after(&stage.config, size, kiosk_firmware::session::Input::WalkIn);
    menu.save(stage.out.join("2-menu-software.png")).unwrap();
    let attract_drawn = drawn_for.unwrap();
    assert!(
        distance(&menu, &attract_drawn, &WHOLE).1 > 0.05,
        "the menu must look unlike the attract screen for this test to tell them apart"
    );

    // The touch: a pointer plugged into sway's seat, moved to the button
    // and clicked. sway must see the device first (the seat gains the
    // pointer capability, which the kiosk's window then binds).
    let mut pointer = virtual_pointer::VirtualPointer::plug(&stage.xdg.join(socket));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let seats = stage.sway_ipc("get_seats");
        let seat0 = seats
            .as_array()
            .and_then(|s| s.iter().find(|s| s["name"] == "seat0"))
            .cloned()
            .unwrap_or_default();
        // WL_SEAT_CAPABILITY_POINTER
        if seat0["capabilities"].as_u64().is_some_and(|c| c & 1 != 0) {
            println!("seat0: {seat0}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "sway's seat has no pointer after the virtual pointer was plugged in: {seats}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Time for the window to bind the seat's new pointer.
    std::thread::sleep(Duration::from_secs(1));
    pointer.click(at, size);

    // The display shows the menu, as the software renderer draws it.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let shot = stage.screenshot(socket, "3-after-touch.png");
        let to_menu = distance(&shot, &menu, &WHOLE);
        let to_attract = distance(&shot, &attract_drawn, &ATTRACT_BANDS);
        println!(
            "after the touch: {:.2} % of pixels differ from the menu, {:.2} % ({} band) from the attract screen",
            to_menu.1 * 100.0,
            to_attract.1 * 100.0,
            to_attract.0
        );
        if to_menu.1 < 0.02 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a click at {at:?} on \"take a number\" did not bring the menu: {:.2} % of pixels differ from it \
             ({:.2} % in the {} band from the attract screen); compare 1-attract.png, 3-after-touch.png and \
             2-menu-software.png in {}; kiosk log:\n{}",
            to_menu.1 * 100.0,
            to_attract.1 * 100.0,
            to_attract.0,
            stage.out.display(),
            stage.read("kiosk.log")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    drop(pointer);

    // The kiosk's end is sway's end: the unit's main process exits (and
    // systemd would restart the unit).
    for pid in &running.clients {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*pid),
            nix::sys::signal::Signal::SIGTERM,
        );
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = running.main.try_wait().unwrap() {
            break status;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "sway still runs 10 s after the kiosk was stopped; log:\n{}",
            stage.read("kiosk.log")
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    println!("the kiosk stopped; sway exited too ({status})");
}
