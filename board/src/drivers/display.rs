//! The display: the kiosk compositor `sway` (Debian bookworm's sway 1.7,
//! wlroots 0.15) and the configuration the kiosk writes for it
//! (docs/architecture.md, "The display").
//!
//! `kiosk --ui sway` writes [`sway_config`] into the unit's runtime folder
//! ([`runtime_dir`], [`write_sway_config`]) and replaces itself with
//! `sway -c <that file>`: sway is the unit's main process and runs the
//! kiosk's window (`--ui window`) as its only client. The configuration is
//! the whole of sway's behaviour, since `-c` reads no other file:
//!
//! - no key or mouse bindings at all (`bindsym`, `bindcode`, `bindswitch`
//!   are never written): no terminal, no exit, no reload, no workspace
//!   switching from the screen or a keyboard; the keyboard's own server
//!   keys (Ctrl+Alt+F1…F12, which sway 1.7 always turns into a VT switch)
//!   are mapped away with the XKB option `srvrkeys:none`;
//! - no bar, no borders, no Xwayland, no swaynag;
//! - the panel's rotation (`output * transform`), and the panel kept on
//!   (`output * dpms on`; sway blanks nothing by itself, and no swayidle
//!   runs);
//! - the kiosk started once, and sway told to exit when it ends, so the
//!   unit stops and systemd restarts it.

use crate::config::linux::DisplayConfig;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

/// The kiosk compositor, installed by Debian's `sway` package.
pub const SWAY: &str = "/usr/bin/sway";
/// sway's command client (same package): the kiosk's exit ends sway.
pub const SWAYMSG: &str = "/usr/bin/swaymsg";
/// The name of the configuration file in the runtime folder.
pub const CONFIG_FILE: &str = "sway.config";

/// Why the compositor cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum DisplayError {
    /// A path holds a character sway's configuration language or the shell
    /// it starts the kiosk with would interpret (quotes, `$`, `;`, spaces…).
    /// Remedy: install the kiosk and its configuration under plain paths.
    #[error(
        "the {what} {} has characters the compositor's configuration cannot carry (only letters, digits and / . _ - + are allowed)",
        path.display()
    )]
    UnsafePath {
        /// Which path.
        what: &'static str,
        /// The path.
        path: PathBuf,
    },
    /// `[linux.display] rotation` is not a quarter turn (the configuration
    /// loader refuses it; only a hand-built configuration gets here).
    #[error("rotation {0} is not 0, 90, 180 or 270 degrees")]
    Rotation(u16),
    /// Neither `RUNTIME_DIRECTORY` (systemd's `RuntimeDirectory=`) nor
    /// `XDG_RUNTIME_DIR` names a folder. Remedy: run the kiosk from the
    /// systemd unit, or set `XDG_RUNTIME_DIR`.
    #[error(
        "no runtime folder for the compositor: neither RUNTIME_DIRECTORY nor XDG_RUNTIME_DIR is set"
    )]
    NoRuntimeDir,
    /// The runtime folder is not a folder of the kiosk's own user that only
    /// it may write (someone else could replace the compositor's
    /// configuration). Remedy: `RuntimeDirectoryMode=0700` in the unit.
    #[error("the runtime folder {}: {problem}", path.display())]
    UnsafeRuntimeDir {
        /// The folder.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The configuration file cannot be written.
    #[error("cannot write the compositor's configuration {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
}

/// What sway starts: the kiosk binary with its board configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KioskCommand {
    /// The kiosk's own binary.
    pub program: PathBuf,
    /// The board configuration file.
    pub config: PathBuf,
    /// No spoken guidance (`--mute`).
    pub mute: bool,
}

/// Refuses a path sway's parser (`"`, `'`, `$` variables, `;` and `,`
/// command separators, spaces) or `sh -c` could read as anything but itself.
fn plain(what: &'static str, path: &Path) -> Result<String, DisplayError> {
    let text = path.to_str().filter(|t| {
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "/._-+".contains(c))
    });
    text.map(str::to_owned)
        .ok_or_else(|| DisplayError::UnsafePath {
            what,
            path: path.to_path_buf(),
        })
}

/// sway's `output * transform` for `rotation`: the same turn as cage's
/// `-r` given `rotation / 90` times (the wl_output transform 90, 180 or
/// 270), touches turned with the picture.
pub fn transform(display: &DisplayConfig) -> Result<&'static str, DisplayError> {
    match display.rotation {
        0 => Ok("normal"),
        90 => Ok("90"),
        180 => Ok("180"),
        270 => Ok("270"),
        other => Err(DisplayError::Rotation(other)),
    }
}

/// The whole of sway's configuration for the kiosk (see the module docs).
pub fn sway_config(display: &DisplayConfig, kiosk: &KioskCommand) -> Result<String, DisplayError> {
    let program = plain("kiosk binary", &kiosk.program)?;
    let config = plain("board configuration", &kiosk.config)?;
    let transform = transform(display)?;
    let mute = if kiosk.mute { " --mute" } else { "" };
    Ok(format!(
        "# Written by `kiosk --ui sway` at every start (docs/architecture.md, \"The display\").
# No bindings of any kind: nothing on the screen or a keyboard opens a
# terminal, reloads this file, switches workspaces or exits sway.
xwayland disable
swaynag_command -
default_border none
default_floating_border none
focus_on_window_activation none
# Ctrl+Alt+F1..F12 would switch virtual terminals: plain F keys instead.
input type:keyboard xkb_options srvrkeys:none
# The panel as mounted ([linux.display] rotation = {rotation}), never blanked.
output * transform {transform}
output * dpms on
# The kiosk, full screen; when it ends, sway ends, and systemd restarts the unit.
exec \"{program} --board linux --config {config} --ui window{mute}; {SWAYMSG} exit\"
",
        rotation = display.rotation,
    ))
}

/// The folder for sway's configuration and sockets: systemd's
/// `RuntimeDirectory=` (`RUNTIME_DIRECTORY`, the first when it lists
/// several), else `XDG_RUNTIME_DIR` (the kiosk started by hand in a
/// login session).
pub fn runtime_dir() -> Result<PathBuf, DisplayError> {
    let from_systemd = std::env::var_os("RUNTIME_DIRECTORY")
        .and_then(|v| std::env::split_paths(&v).next())
        .filter(|p| !p.as_os_str().is_empty());
    from_systemd
        .or_else(|| {
            std::env::var_os("XDG_RUNTIME_DIR")
                .map(PathBuf::from)
                .filter(|p| !p.as_os_str().is_empty())
        })
        .ok_or(DisplayError::NoRuntimeDir)
}

/// Checks that `dir` is a real folder of this process's user that no one
/// else may write.
fn check_runtime_dir(dir: &Path) -> Result<(), DisplayError> {
    let unsafe_dir = |problem: String| DisplayError::UnsafeRuntimeDir {
        path: dir.to_path_buf(),
        problem,
    };
    let meta = std::fs::symlink_metadata(dir).map_err(|e| unsafe_dir(e.to_string()))?;
    if !meta.is_dir() {
        return Err(unsafe_dir("not a folder".into()));
    }
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(unsafe_dir(format!(
            "belongs to uid {}, not to the kiosk's user (uid {euid})",
            meta.uid()
        )));
    }
    if meta.mode() & 0o022 != 0 {
        return Err(unsafe_dir(format!(
            "mode {:o}: others may write it",
            meta.mode() & 0o7777
        )));
    }
    Ok(())
}

/// Writes `text` as [`CONFIG_FILE`] in `dir` (mode 0600, replacing an old
/// one whole), after checking the folder; returns the file's path.
pub fn write_sway_config(dir: &Path, text: &str) -> Result<PathBuf, DisplayError> {
    use std::io::Write as _;
    check_runtime_dir(dir)?;
    let path = dir.join(CONFIG_FILE);
    let tmp = dir.join(format!("{CONFIG_FILE}.tmp"));
    let write_err = |source| DisplayError::Write {
        path: path.clone(),
        source,
    };
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(write_err(e)),
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(write_err)?;
    file.write_all(text.as_bytes()).map_err(write_err)?;
    file.sync_all().map_err(write_err)?;
    drop(file);
    std::fs::rename(&tmp, &path).map_err(write_err)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kiosk(mute: bool) -> KioskCommand {
        KioskCommand {
            program: "/usr/bin/kiosk".into(),
            config: "/etc/cccd-kiosk/kiosk.toml".into(),
            mute,
        }
    }

    fn commands(text: &str) -> Vec<&str> {
        text.lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect()
    }

    #[test]
    fn the_config_starts_only_the_kiosk_and_binds_nothing() {
        let text = sway_config(&DisplayConfig { rotation: 90 }, &kiosk(false)).unwrap();
        let lines = commands(&text);
        assert!(lines.contains(&"xwayland disable"), "{text}");
        assert!(lines.contains(&"default_border none"), "{text}");
        assert!(lines.contains(&"output * transform 90"), "{text}");
        assert!(lines.contains(&"output * dpms on"), "{text}");
        assert!(
            lines.contains(
                &"exec \"/usr/bin/kiosk --board linux --config /etc/cccd-kiosk/kiosk.toml --ui window; /usr/bin/swaymsg exit\""
            ),
            "{text}"
        );
        // One program started; nothing bound, no bar, no idle daemon.
        assert_eq!(lines.iter().filter(|l| l.starts_with("exec")).count(), 1);
        for banned in ["bind", "bar", "swayidle", "exec_always", "mode", "include"] {
            assert!(
                !lines.iter().any(|l| l.starts_with(banned)),
                "{banned} in:\n{text}"
            );
        }
    }

    #[test]
    fn each_rotation_is_the_outputs_transform_and_mute_is_passed_on() {
        for (rotation, transform) in [(0, "normal"), (90, "90"), (180, "180"), (270, "270")] {
            let text = sway_config(&DisplayConfig { rotation }, &kiosk(true)).unwrap();
            assert!(
                commands(&text).contains(&format!("output * transform {transform}").as_str()),
                "{text}"
            );
            assert!(text.contains("--ui window --mute; /usr/bin/swaymsg exit"));
        }
        assert!(matches!(
            sway_config(&DisplayConfig { rotation: 45 }, &kiosk(false)),
            Err(DisplayError::Rotation(45))
        ));
    }

    #[test]
    fn a_path_sway_or_the_shell_would_interpret_is_refused() {
        for bad in [
            "/etc/my kiosk.toml",
            "/etc/k\";swaymsg exec foot;\".toml",
            "/etc/$HOME.toml",
            "/etc/a,b.toml",
            "/etc/`x`.toml",
            "",
        ] {
            let mut k = kiosk(false);
            k.config = bad.into();
            assert!(
                matches!(
                    sway_config(&DisplayConfig::default(), &k),
                    Err(DisplayError::UnsafePath { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn the_config_is_written_private_into_a_private_folder() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        let path = write_sway_config(dir.path(), "xwayland disable\n").unwrap();
        assert_eq!(path, dir.path().join(CONFIG_FILE));
        let meta = std::fs::metadata(&path).unwrap();
        assert_eq!(meta.mode() & 0o777, 0o600);
        // Written again at the next start, whole.
        write_sway_config(dir.path(), "output * dpms on\n").unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "output * dpms on\n"
        );
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            write_sway_config(dir.path(), "x\n"),
            Err(DisplayError::UnsafeRuntimeDir { .. })
        ));
        let file = dir.path().join("file");
        std::fs::write(&file, "").unwrap();
        assert!(matches!(
            write_sway_config(&file, "x\n"),
            Err(DisplayError::UnsafeRuntimeDir { .. })
        ));
    }
}
