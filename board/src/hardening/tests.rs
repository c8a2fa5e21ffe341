#![allow(
    clippy::unwrap_used,
    reason = "tests: a failed unwrap is a failed test, with its message"
)]

use super::*;
use std::os::unix::fs::PermissionsExt as _;

fn manifest() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A Raspberry Pi profile (the shipped one) with a `[requests]` section
/// whose outbox key is `key_file` and whose portal PKI is `pki`.
fn linux_config(dir: &Path, key_file: &Path, pki: &Path) -> Config {
    let profile = std::fs::read_to_string(manifest().join("config/rpi4-acr1252u.toml")).unwrap();
    let text = format!(
        "{}\n[requests]\ncatalogue = {:?}\noutbox_key_file = {key_file:?}\n\
         [requests.portal]\nurl = \"https://127.0.0.1:8443\"\nca_file = {:?}\n\
         client_cert_file = {:?}\nclient_key_file = {:?}\n",
        profile.replace(
            "/var/lib/cccd-kiosk",
            &dir.join("data").display().to_string()
        ),
        manifest().join("config/procedures.toml"),
        pki.join("ca.pem"),
        pki.join("kiosk.pem"),
        pki.join("kiosk.key"),
    );
    Config::parse(&text, &dir.join("kiosk.toml")).unwrap()
}

fn private_file(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

/// The board's own PKI: files that are not the committed ones.
fn own_pki(dir: &Path) -> PathBuf {
    let pki = dir.join("pki");
    std::fs::create_dir(&pki).unwrap();
    for name in ["ca.pem", "kiosk.pem", "kiosk.key"] {
        private_file(
            &pki.join(name),
            format!("the board's own {name}").as_bytes(),
        );
    }
    pki
}

#[test]
fn every_committed_simulator_secret_is_listed() {
    let sim = manifest().join("sim");
    let mut files = vec![sim.join("outbox.key")];
    for dir in ["pki", "c06", "csca"] {
        for entry in std::fs::read_dir(sim.join(dir)).unwrap() {
            files.push(entry.unwrap().path());
        }
    }
    assert!(files.len() >= 9, "{files:?}");
    for file in files {
        let what = test_secret(&std::fs::read(&file).unwrap());
        assert!(what.is_some(), "{} is not in TEST_SECRETS", file.display());
    }
    let sim_config = Config::load(&manifest().join("config/sim.toml")).unwrap();
    let pin = sim_config.staff.policy.pin.unwrap();
    assert!(test_secret(pin.as_str().as_bytes()).is_some());
    assert_eq!(test_secret(b"a key of the board's own"), None);
}

#[test]
fn the_simulators_configuration_is_refused_for_its_staff_pin() {
    let config = Config::load(&manifest().join("config/sim.toml")).unwrap();
    match check_board_config(&config) {
        Err(HardeningError::TestSecret { field, what, .. }) => {
            assert_eq!(field, "staff.pin_hash");
            assert!(what.contains("staff PIN"), "{what}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_simulators_outbox_key_is_refused_even_as_a_private_copy() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("outbox.key");
    private_file(
        &key,
        &std::fs::read(manifest().join("sim/outbox.key")).unwrap(),
    );
    let config = linux_config(dir.path(), &key, &own_pki(dir.path()));
    match check_board_config(&config) {
        Err(HardeningError::TestSecret { field, place, what }) => {
            assert_eq!(field, "requests.outbox_key_file");
            assert_eq!(place, key);
            assert!(what.contains("outbox key"), "{what}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_simulators_portal_pki_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("outbox.key");
    private_file(&key, &[7u8; 32]);
    let config = linux_config(dir.path(), &key, &manifest().join("sim/pki"));
    match check_board_config(&config) {
        Err(HardeningError::TestSecret { field, what, .. }) => {
            assert_eq!(field, "requests.portal.ca_file");
            assert!(what.contains("test CA"), "{what}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_test_csca_in_the_trust_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("outbox.key");
    private_file(&key, &[7u8; 32]);
    let mut config = linux_config(dir.path(), &key, &own_pki(dir.path()));
    let csca = dir.path().join("csca");
    std::fs::create_dir(&csca).unwrap();
    std::fs::copy(
        manifest().join("sim/csca/test-csca-zz.der"),
        csca.join("a.der"),
    )
    .unwrap();
    config.kiosk.csca_dir = Some(csca);
    match check_board_config(&config) {
        Err(HardeningError::TestSecret { field, what, .. }) => {
            assert_eq!(field, "kiosk.csca_dir");
            assert!(what.contains("test CSCA"), "{what}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_board_with_its_own_secrets_and_a_private_key_file_starts() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("outbox.key");
    private_file(&key, &[7u8; 32]);
    let config = linux_config(dir.path(), &key, &own_pki(dir.path()));
    check_board_config(&config).unwrap();
    // The shipped profiles as they are (no requests, no PIN yet).
    for profile in ["config/rpi4-acr1252u.toml", "config/rk3568-acr1252u.toml"] {
        check_board_config(&Config::load(&manifest().join(profile)).unwrap()).unwrap();
    }
}

#[test]
fn an_outbox_key_file_others_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("outbox.key");
    for mode in [0o644, 0o640, 0o604, 0o700, 0o400] {
        private_file(&key, &[7u8; 32]);
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(mode)).unwrap();
        match check_key_file(&key) {
            Err(HardeningError::KeyFileMode { file, mode: m }) => {
                assert_eq!(file, key);
                assert_eq!(m, mode);
            }
            other => panic!("{mode:o}: {other:?}"),
        }
    }
    // A folder in its place is not a key file.
    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(matches!(
        check_key_file(&folder),
        Err(HardeningError::KeyFileMode { .. })
    ));
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    check_key_file(&key).unwrap();
    assert!(matches!(
        check_key_file(&dir.path().join("absent")),
        Err(HardeningError::Unreadable { .. })
    ));
}

#[test]
fn an_outbox_key_file_of_another_user_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let euid = nix::unistd::geteuid().as_raw();
    // Root can give a file away; anyone else finds one root owns.
    let (key, owner) = if euid == 0 {
        let key = dir.path().join("outbox.key");
        private_file(&key, &[7u8; 32]);
        std::os::unix::fs::chown(&key, Some(65534), Some(65534)).unwrap();
        (key, 65534)
    } else {
        // Not root: a file of root's (its metadata is readable by anyone).
        (PathBuf::from("/etc/passwd"), 0)
    };
    match check_key_file(&key) {
        Err(HardeningError::KeyFileOwner {
            file,
            owner: o,
            euid: e,
        }) => {
            assert_eq!(file, key);
            assert_eq!(o, owner);
            assert_eq!(e, euid);
        }
        other => panic!("{other:?}"),
    }
    let message = check_key_file(&key).unwrap_err().to_string();
    assert!(message.contains("chown"), "{message}");
}

#[test]
fn the_process_reads_back_non_dumpable() {
    make_non_dumpable().unwrap();
    assert!(!is_dumpable().unwrap());
}
