//! The shipped systemd unit agrees with the firmware and the board profiles:
//! `Type=notify` with a watchdog (board::notify pets it), the kiosk's own
//! user, its state directory where the profiles keep their data, hardening.
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failed unwrap is a failed test, with its message"
)]

use std::collections::BTreeMap;
use std::path::Path;

fn read(name: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(name)).unwrap()
}

/// `Key=value` lines of a unit (last one wins; comments and sections skipped),
/// with every value kept for repeated keys.
fn unit(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with('[') || line.is_empty() {
            continue;
        }
        let (k, v) = line.split_once('=').unwrap();
        keys.entry(k.to_owned()).or_default().push(v.to_owned());
    }
    keys
}

#[test]
fn the_unit_is_a_watched_notify_service_of_the_kiosk_user() {
    let u = unit(&read("systemd/cccd-kiosk.service"));
    let one = |k: &str| u.get(k).and_then(|v| v.last()).map(String::as_str);
    assert_eq!(one("Type"), Some("notify"));
    // The kiosk runs under the compositor, which is the main process.
    assert_eq!(one("NotifyAccess"), Some("all"));
    assert_eq!(one("LimitCORE"), Some("0"));
    let watchdog = one("WatchdogSec").unwrap();
    assert!(
        watchdog.ends_with('s') && watchdog.trim_end_matches('s').parse::<u32>().unwrap() >= 10
    );
    assert_eq!(one("Restart"), Some("always"));
    assert_eq!(one("User"), Some("cccd-kiosk"));
    assert!(read("systemd/cccd-kiosk.sysusers").contains("u cccd-kiosk -"));
    let exec = one("ExecStart").unwrap();
    assert!(
        exec.contains("--board linux --config /etc/cccd-kiosk/kiosk.toml --ui sway"),
        "{exec}"
    );
    for (k, v) in [
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("DevicePolicy", "closed"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert_eq!(one(k), Some(v), "{k}");
    }
    let devices = &u["DeviceAllow"];
    for class in ["video4linux", "usbmisc", "gpiochip"] {
        assert!(
            devices.iter().any(|d| d.contains(class)),
            "{class}: {devices:?}"
        );
    }
}

#[test]
fn the_profiles_keep_their_data_in_the_units_state_directory() {
    let u = unit(&read("systemd/cccd-kiosk.service"));
    let state = format!("/var/lib/{}", u["StateDirectory"][0]);
    for profile in ["config/rpi4-acr1252u.toml", "config/rk3568-acr1252u.toml"] {
        let text = read(profile);
        assert!(
            text.contains(&format!("data_dir = \"{state}\"")),
            "{profile} must keep its data in {state}"
        );
        assert!(text.contains("board = \"linux\""));
    }
}

#[test]
fn systemd_analyze_verifies_the_unit() {
    let dir = tempfile::tempdir().unwrap();
    // The binary is not installed here: point ExecStart at one that is.
    let text = read("systemd/cccd-kiosk.service").replace("/usr/bin/kiosk", "/bin/true");
    let path = dir.path().join("cccd-kiosk.service");
    std::fs::write(&path, text).unwrap();
    let out = std::process::Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap_or_else(|e| {
            panic!("systemd-analyze must be installed (Debian package systemd): {e}")
        });
    let stderr = String::from_utf8_lossy(&out.stderr);
    let problems: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("cccd-kiosk.service"))
        .collect();
    assert!(out.status.success() && problems.is_empty(), "{stderr}");
}

/// The `DeviceAllow=` class (or path) a device path needs, or what is
/// wrong with it: a path the list below does not know fails the test,
/// never passes it silently.
fn device_class(path: &str) -> Result<&'static str, String> {
    let classes = [
        ("/dev/video", "char-video4linux"),
        ("/dev/v4l/", "char-video4linux"),
        ("/dev/usb/lp", "char-usbmisc"),
        ("/dev/ttyUSB", "char-ttyUSB"),
        ("/dev/ttyACM", "char-ttyACM"),
        ("/dev/ttyAMA", "char-ttyAMA"),
        ("/dev/ttyS", "char-ttyS"),
        ("/dev/serial/", "char-ttyUSB"),
        ("/dev/gpiochip", "char-gpiochip"),
        ("/dev/i2c-", "char-i2c"),
        ("/dev/spidev", "char-spidev"),
    ];
    classes
        .iter()
        .find(|(prefix, _)| path.starts_with(prefix))
        .map(|(_, class)| *class)
        .ok_or_else(|| format!("no DeviceAllow class known for {path}"))
}

/// Every device a configuration names, with the field naming it.
fn devices(config: &kiosk_board::config::Config) -> Vec<(String, String)> {
    use kiosk_board::config::linux::ReaderConfig;
    use kiosk_board::drivers::printer::PrinterPort;
    let linux = config.linux.as_ref().unwrap();
    let mut named = vec![(
        "linux.camera.device".to_owned(),
        linux.camera.device.display().to_string(),
    )];
    match &linux.printer.port {
        PrinterPort::Usb(p) => named.push(("linux.printer.port".into(), p.display().to_string())),
        PrinterPort::Serial { path, .. } => {
            named.push(("linux.printer.port".into(), path.display().to_string()))
        }
        PrinterPort::Tcp(_) => {}
    }
    if let ReaderConfig::Nfc { connstring, .. } = &linux.card_reader {
        // libnfc's "driver:device[:speed]"; its pcsc driver goes through pcscd.
        let mut parts = connstring.split(':');
        if parts.next().is_some_and(|d| d.starts_with("pn532")) {
            let device = parts.next().unwrap_or_default();
            named.push(("linux.card_reader.connstring".into(), device.to_owned()));
        }
    }
    if let Some(gpio) = &linux.gpio {
        named.push(("linux.gpio.chip".into(), gpio.chip.display().to_string()));
    }
    named
}

#[test]
fn every_device_a_profile_names_is_allowed_by_the_unit() {
    let u = unit(&read("systemd/cccd-kiosk.service"));
    assert_eq!(u["DevicePolicy"], ["closed"]);
    let allowed: Vec<&str> = u["DeviceAllow"]
        .iter()
        .map(|d| d.split_whitespace().next().unwrap())
        .collect();
    let allows = |class: &str| allowed.contains(&class);
    // Every kiosk: the display, the touchscreen, the seat's VT, sound.
    for class in ["char-drm", "char-input", "char-alsa"] {
        assert!(allows(class), "{class} is not in DeviceAllow: {allowed:?}");
    }
    let tty = u["TTYPath"].last().unwrap();
    assert!(allows(tty), "{tty} is not in DeviceAllow");
    // The shipped profiles, and each of them with the other readers and
    // printer ports docs/deploy.md describes (PN532 on UART, I2C and SPI;
    // serial printers).
    let variants = [
        ("", ""),
        (
            "kind = \"pcsc\"\n# A part of the name pcscd gives the reader (`pcsc_scan` lists them).\nname = \"ACS ACR1252\"\nextended_length = true",
            "kind = \"nfc\"\nconnstring = \"pn532_uart:/dev/ttyAMA0\"",
        ),
        (
            "kind = \"pcsc\"\n# A part of the name pcscd gives the reader (`pcsc_scan` lists them).\nname = \"ACS ACR1252\"\nextended_length = true",
            "kind = \"nfc\"\nconnstring = \"pn532_i2c:/dev/i2c-1\"",
        ),
        (
            "kind = \"pcsc\"\n# A part of the name pcscd gives the reader (`pcsc_scan` lists them).\nname = \"ACS ACR1252\"\nextended_length = true",
            "kind = \"nfc\"\nconnstring = \"pn532_spi:/dev/spidev0.0:500000\"",
        ),
        ("usb:/dev/usb/lp0", "serial:/dev/ttyUSB0@115200"),
        ("usb:/dev/usb/lp0", "serial:/dev/ttyS1@9600"),
    ];
    let mut checked = 0;
    for profile in ["config/rpi4-acr1252u.toml", "config/rk3568-acr1252u.toml"] {
        let text = read(profile);
        for (from, to) in variants {
            assert!(text.contains(from), "{profile} no longer has {from:?}");
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(profile);
            let config = kiosk_board::config::Config::parse(&text.replacen(from, to, 1), &path)
                .unwrap_or_else(|e| panic!("{profile} with {to:?}: {e}"));
            let named = devices(&config);
            assert!(named.len() >= 3, "{named:?}");
            for (field, device) in named {
                let class =
                    device_class(&device).unwrap_or_else(|e| panic!("{profile} {field}: {e}"));
                assert!(
                    allows(class),
                    "{profile} {field} = {device} needs DeviceAllow={class} rw"
                );
                checked += 1;
            }
            if config.linux.as_ref().unwrap().speaker.enabled {
                assert!(allows("char-alsa"));
            }
        }
    }
    assert!(checked >= 24, "{checked}");
    // The map itself refuses what it does not know.
    assert!(device_class("/dev/mystery0").is_err());
}

#[test]
fn every_path_the_profiles_write_is_writable_under_protect_system_strict() {
    let u = unit(&read("systemd/cccd-kiosk.service"));
    assert_eq!(u["ProtectSystem"], ["strict"]);
    let mut writable: Vec<String> = u["StateDirectory"]
        .iter()
        .map(|d| format!("/var/lib/{d}"))
        .chain(u["RuntimeDirectory"].iter().map(|d| format!("/run/{d}")))
        .collect();
    writable.extend(
        u.get("ReadWritePaths")
            .into_iter()
            .flatten()
            .flat_map(|v| v.split_whitespace())
            .map(|p| p.trim_start_matches('-').to_owned()),
    );
    let under = |p: &Path| writable.iter().any(|w| p.starts_with(w));
    for profile in ["config/rpi4-acr1252u.toml", "config/rk3568-acr1252u.toml"] {
        let config =
            kiosk_board::config::Config::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join(profile))
                .unwrap();
        let mut written = vec![("kiosk.data_dir", config.kiosk.data_dir.clone())];
        if let Some(export) = &config.staff.export_dir {
            written.push(("staff.export_dir", export.clone()));
        }
        assert!(written.len() == 2, "{profile}: {written:?}");
        for (field, path) in written {
            assert!(
                under(&path),
                "{profile}: {field} = {} is read-only under ProtectSystem=strict (writable: {writable:?})",
                path.display()
            );
        }
    }
    // The compositor's folder is the unit's RuntimeDirectory (the kiosk
    // writes sway's configuration there and gives it to sway as
    // XDG_RUNTIME_DIR), not one PAM names.
    assert_eq!(u["RuntimeDirectory"], ["cccd-kiosk"]);
    assert!(
        !u["Environment"]
            .iter()
            .any(|e| e.starts_with("XDG_RUNTIME_DIR=")),
        "PAM's XDG_RUNTIME_DIR would override it anyway"
    );
}
