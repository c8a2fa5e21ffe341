//! What the `kiosk` binary checks of itself and of its configuration before
//! it serves anyone on a real (`[linux]`) board: the process cannot be
//! dumped or traced by its own user, the outbox key file is the service
//! user's alone, and none of the simulator's committed secrets (the outbox
//! key, the test PKI, the test CSCA, the staff PIN) is configured.
//!
//! The simulator's files are recognised by the sha256 of their content
//! ([`TEST_SECRETS`]), so the production binary carries no test key, only
//! the fingerprints; a test recomputes them from `board/sim/` and
//! `board/config/sim.toml` so the list cannot fall behind.

use crate::config::Config;
use sha2::{Digest as _, Sha256};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};

/// The sha256 of every secret the repository commits for the simulator,
/// and what it is.
pub const TEST_SECRETS: &[(&str, &str)] = &[
    (
        "6dd287fbcd951786ad8c65355b7a6179324e5932b8b10602dab682458fb1f1f7",
        "the simulator's outbox key (board/sim/outbox.key)",
    ),
    (
        "8a29b3b8ad022c8a3c6fb5795532ae8b27a8e9d24ebb3f209d89b58900d5b9ff",
        "the simulator's test CA (board/sim/pki/ca.pem)",
    ),
    (
        "f0760e23e7f68d50b5dd5ccbf1a7de414623b2569c2c2e940c2763d47825b7f7",
        "the simulator's kiosk client key (board/sim/pki/kiosk.key)",
    ),
    (
        "63aa307342bf431c8cb55d4da53b072ee19dc63cccb56547594cafcd3cf458e5",
        "the simulator's kiosk client certificate (board/sim/pki/kiosk.pem)",
    ),
    (
        "b153afe8ff1958bfb204a7466096f06621862cfdc151bb2fd10d329f01435a1b",
        "the reference portal's key (board/sim/pki/portal.key)",
    ),
    (
        "e6a25f0b29fbf85873a26dcd3a6de4f8fc881dc97bd754828cd1115128e5a6eb",
        "the reference portal's certificate (board/sim/pki/portal.pem)",
    ),
    (
        "4ae4d4717c4d2694d931df13fd60064b398e7ae342d207125693f0456ff0a463",
        "the reference C06 verdict key (board/sim/c06/verdict.key)",
    ),
    (
        "a2aa2770b549aa08b50f02fd32740ab3151090b93f7bc4a728d82751b476b6a8",
        "the reference C06 verdict public key (board/sim/c06/verdict.pub.pem)",
    ),
    (
        "d8d07ee4d8f2dc3d6e5a4840fbdcb372aa267aa5a1fbf232e9547ac41aa6daa9",
        "the simulator's test CSCA (board/sim/csca/test-csca-zz.der)",
    ),
    (
        "38851a13e3653871893774ad3820089f919828c80c9072c80429d007f5d17d70",
        "the simulator's staff PIN hash (board/config/sim.toml, staff.pin_hash)",
    ),
];

/// Why the kiosk refuses to start on a real board.
#[derive(Debug, thiserror::Error)]
pub enum HardeningError {
    /// A configured file (or the staff PIN hash) is one the repository
    /// commits for the simulator: anyone with the source has it. Remedy:
    /// make the board's own (docs/deploy.md, "Configure").
    #[error(
        "{field} ({place}) is {what}, committed in the repository for the simulator: a real kiosk needs its own (docs/deploy.md)"
    )]
    TestSecret {
        /// The configuration field.
        field: String,
        /// The file, or the configuration file for an inline value.
        place: PathBuf,
        /// Which committed secret it is.
        what: &'static str,
    },
    /// A configured secret file cannot be read to be checked (fail closed).
    #[error("{field}: cannot read {} to check it: {source}", file.display())]
    Unreadable {
        /// The configuration field.
        field: String,
        /// The file.
        file: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// The outbox key file belongs to another user than the one the kiosk
    /// runs as. Remedy: `chown cccd-kiosk: FILE`.
    #[error(
        "the outbox key file {} belongs to uid {owner}, not to the kiosk's user (uid {euid}): chown it to the service user",
        file.display()
    )]
    KeyFileOwner {
        /// The key file.
        file: PathBuf,
        /// Its owner.
        owner: u32,
        /// The kiosk's effective uid.
        euid: u32,
    },
    /// The outbox key file can be read or written by others than its
    /// owner, or is not a regular file. Remedy: `chmod 0600 FILE`.
    #[error(
        "the outbox key file {} has mode {mode:04o}: it must be a regular file with mode 0600 (chmod 0600)",
        file.display()
    )]
    KeyFileMode {
        /// The key file.
        file: PathBuf,
        /// Its permission bits (and 0o170000 type bits when not a regular file).
        mode: u32,
    },
    /// The kernel refused `prctl(PR_SET_DUMPABLE, 0)` or its read-back.
    #[error("cannot make the process non-dumpable: {0}")]
    Dumpable(nix::Error),
    /// `prctl(PR_GET_DUMPABLE)` still says dumpable after it was cleared.
    #[error("the process is still dumpable after PR_SET_DUMPABLE 0")]
    StillDumpable,
}

/// Makes the process non-dumpable (no core file, no ptrace or
/// /proc/PID/mem by the same user) and reads it back.
pub fn make_non_dumpable() -> Result<(), HardeningError> {
    nix::sys::prctl::set_dumpable(false).map_err(HardeningError::Dumpable)?;
    if is_dumpable()? {
        return Err(HardeningError::StillDumpable);
    }
    Ok(())
}

/// Whether the process is dumpable (`prctl(PR_GET_DUMPABLE)`).
pub fn is_dumpable() -> Result<bool, HardeningError> {
    nix::sys::prctl::get_dumpable().map_err(HardeningError::Dumpable)
}

/// The outbox key file must be a regular file of the effective user with
/// mode 0600 (symbolic links are followed, as the kiosk reads it).
pub fn check_key_file(file: &Path) -> Result<(), HardeningError> {
    let meta = std::fs::metadata(file).map_err(|source| HardeningError::Unreadable {
        field: "requests.outbox_key_file".into(),
        file: file.to_path_buf(),
        source,
    })?;
    let euid = nix::unistd::geteuid().as_raw();
    if meta.uid() != euid {
        return Err(HardeningError::KeyFileOwner {
            file: file.to_path_buf(),
            owner: meta.uid(),
            euid,
        });
    }
    let mode = meta.mode();
    if !meta.is_file() || mode & 0o7777 != 0o600 {
        return Err(HardeningError::KeyFileMode {
            file: file.to_path_buf(),
            mode: if meta.is_file() {
                mode & 0o7777
            } else {
                mode & 0o177_777
            },
        });
    }
    Ok(())
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Which committed secret `bytes` is, if any.
pub fn test_secret(bytes: &[u8]) -> Option<&'static str> {
    let hash = sha256_hex(bytes);
    TEST_SECRETS
        .iter()
        .find(|(h, _)| *h == hash)
        .map(|(_, what)| *what)
}

/// The secret files a configuration names, with their fields; the
/// trust-anchor folders contribute every file in them.
fn secret_files(config: &Config) -> Vec<(String, PathBuf)> {
    let mut files = Vec::new();
    if let Some(r) = &config.requests {
        files.push(("requests.outbox_key_file".into(), r.outbox_key_file.clone()));
        let p = &r.portal;
        files.push(("requests.portal.ca_file".into(), p.ca_file.clone()));
        files.push((
            "requests.portal.client_cert_file".into(),
            p.client_cert_file.clone(),
        ));
        files.push((
            "requests.portal.client_key_file".into(),
            p.client_key_file.clone(),
        ));
        if let Some(s) = &r.sim_portal {
            files.push(("requests.sim_portal.cert_file".into(), s.cert_file.clone()));
            files.push(("requests.sim_portal.key_file".into(), s.key_file.clone()));
        }
    }
    if let Some(v) = &config.verification {
        let e = &v.endpoint;
        files.push(("verification.ca_file".into(), e.ca_file.clone()));
        files.push((
            "verification.client_cert_file".into(),
            e.client_cert_file.clone(),
        ));
        files.push((
            "verification.client_key_file".into(),
            e.client_key_file.clone(),
        ));
        files.push((
            "verification.verdict_key_file".into(),
            v.verdict_key_file.clone(),
        ));
        if let Some(s) = &v.sim_c06 {
            files.push(("verification.sim_c06.cert_file".into(), s.cert_file.clone()));
            files.push(("verification.sim_c06.key_file".into(), s.key_file.clone()));
        }
    }
    for (field, dir) in [
        ("kiosk.csca_dir", &config.kiosk.csca_dir),
        (
            "kiosk.master_list_anchor_dir",
            &config.kiosk.master_list_anchor_dir,
        ),
    ] {
        let Some(dir) = dir else { continue };
        // A missing folder holds no test anchor; the trust store reports it.
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().is_file() {
                files.push((field.into(), entry.path()));
            }
        }
    }
    files
}

/// Refuses a configuration that names any of the simulator's committed
/// secrets ([`TEST_SECRETS`]). A configured file that does not exist is
/// not checked (the kiosk cannot use it either, and says so); one that
/// exists but cannot be read is refused.
pub fn refuse_test_secrets(config: &Config) -> Result<(), HardeningError> {
    if let Some(pin) = &config.staff.policy.pin
        && let Some(what) = test_secret(pin.as_str().as_bytes())
    {
        return Err(HardeningError::TestSecret {
            field: "staff.pin_hash".into(),
            place: config.path.clone(),
            what,
        });
    }
    for (field, file) in secret_files(config) {
        let bytes = match std::fs::read(&file) {
            Ok(b) => zeroize::Zeroizing::new(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(HardeningError::Unreadable {
                    field,
                    file,
                    source,
                });
            }
        };
        if let Some(what) = test_secret(&bytes) {
            return Err(HardeningError::TestSecret {
                field,
                place: file,
                what,
            });
        }
    }
    Ok(())
}

/// Everything the kiosk checks before it starts on a real board: no
/// committed secret, and the outbox key file the service user's alone.
pub fn check_board_config(config: &Config) -> Result<(), HardeningError> {
    refuse_test_secrets(config)?;
    if let Some(r) = &config.requests {
        check_key_file(&r.outbox_key_file)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
