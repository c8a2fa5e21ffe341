//! The Debian (bookworm) packages the project needs, installed idempotently.

use anyhow::{Context as _, bail};
use std::process::Command;

/// Each package and what needs it.
pub(crate) const PACKAGES: &[(&str, &str)] = &[
    ("pkg-config", "finding the C libraries below"),
    ("cmake", "nfc1 builds libnfc from source"),
    ("clang", "bindgen and the opencv crate's binding generator"),
    (
        "libclang-dev",
        "bindgen and the opencv crate's binding generator",
    ),
    (
        "libopencv-dev",
        "face detection and recognition (OpenCV 4.6)",
    ),
    (
        "libopenjp2-7-dev",
        "JPEG 2000 chip photos OpenCV cannot decode",
    ),
    (
        "libopenjp2-tools",
        "opj_compress, which makes the JPEG 2000 chip photos of the face tests",
    ),
    (
        "pcscd",
        "PC/SC readers, and the tests that run a private pcscd",
    ),
    ("libpcsclite-dev", "the pcsc crate and libnfc's pcsc driver"),
    (
        "vsmartcard-vpcd",
        "a virtual PC/SC reader for the simulated card",
    ),
    (
        "vsmartcard-vpicc",
        "vicc, vsmartcard's ePassport emulator: the third-party chip of the interop tests",
    ),
    (
        "python3-pycryptodome",
        "vicc's ciphers (Debian installs them as Cryptodome)",
    ),
    ("python3-pil", "vicc reads the size of the ePass photo"),
    (
        "patch",
        "applies tools/vicc/vicc-epass-py3.patch to a copy of vicc",
    ),
    ("fonts-noto-core", "Vietnamese fonts for the UI"),
    ("espeak-ng", "spoken guidance (Vietnamese voice)"),
    (
        "systemd",
        "systemd-analyze, which checks the shipped service unit",
    ),
    ("xvfb", "running the UI window headless"),
    (
        "sway",
        "the kiosk compositor the production unit runs, and swaymsg (tests/tests/production.rs, headless)",
    ),
    (
        "grim",
        "screenshots from the compositor (wlr-screencopy) in the production test",
    ),
    (
        "curl",
        "a server-sent-events listener in the centre's tests (tests/tests/centre.rs)",
    ),
    (
        "wayland-utils",
        "wayland-info: what the compositor offers (docs/architecture.md, \"The display\")",
    ),
    (
        "binutils",
        "nm: the production test checks the kiosk binary's symbols",
    ),
    (
        "postgresql",
        "the centre's queue database (kiosk-centre): its tests, demo and benchmark start a private server",
    ),
    (
        "chromium",
        "the browser the centre's counter and hall-display pages are tested in (tests/tests/centre_pages.rs)",
    ),
    (
        "chromium-driver",
        "chromedriver: WebDriver for those browser tests",
    ),
];

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| {
            o.status.success()
                && String::from_utf8_lossy(&o.stdout).ends_with("install ok installed")
        })
}

/// The packages not installed yet.
pub(crate) fn missing() -> Vec<&'static str> {
    PACKAGES
        .iter()
        .map(|(p, _)| *p)
        .filter(|p| !installed(p))
        .collect()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// The command line that installs `packages`.
pub(crate) fn install_command(packages: &[&str]) -> String {
    format!(
        "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends {}",
        packages.join(" ")
    )
}

/// Installs what is missing; does nothing when all is there.
pub(crate) fn ensure() -> anyhow::Result<()> {
    let missing = missing();
    if missing.is_empty() {
        println!("setup: all {} Debian packages present", PACKAGES.len());
        return Ok(());
    }
    if !is_root() {
        bail!(
            "setup: missing Debian packages: {}\nrun as root:\n  sudo sh -c '{}'",
            missing.join(" "),
            install_command(&missing)
        );
    }
    println!("setup: installing {}", missing.join(" "));
    let status = Command::new("sh")
        .arg("-c")
        .arg(install_command(&missing))
        .status()
        .context("cannot run apt-get")?;
    if !status.success() {
        bail!("setup: apt-get failed ({status})");
    }
    let still = self::missing();
    if !still.is_empty() {
        bail!("setup: still missing after apt-get: {}", still.join(" "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_command_is_non_interactive_and_minimal() {
        let c = install_command(&["pcscd", "cmake"]);
        assert!(c.contains("DEBIAN_FRONTEND=noninteractive"));
        assert!(c.contains("--no-install-recommends pcscd cmake"));
    }

    #[test]
    fn the_compositor_is_sway_without_cage_or_xwayland() {
        let names: Vec<&str> = PACKAGES.iter().map(|(p, _)| *p).collect();
        for wanted in ["sway", "grim"] {
            assert!(names.contains(&wanted), "{wanted}");
        }
        for gone in ["cage", "xwayland"] {
            assert!(!names.contains(&gone), "{gone} is no longer used");
        }
    }

    #[test]
    fn every_package_says_why_it_is_needed() {
        assert!(
            PACKAGES
                .iter()
                .all(|(p, why)| !p.is_empty() && !why.is_empty())
        );
    }
}
