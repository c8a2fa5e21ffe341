//! The kiosk's trust store on disk: the folders of `[kiosk]`
//! (`csca_dir`, `master_list_dir`, `master_list_anchor_dir`, `crl_dir`)
//! loaded into the firmware's [`TrustList`] (ICAO 9303-12; the checks are
//! in `kiosk_firmware::icao::pki`), the `doctor` check, and what
//! `kioskctl trust import` does: validate a file against the store, then
//! copy it into its folder.
//!
//! A file that does not verify (a master list whose signature fails, a
//! CRL no trusted CSCA signed) is left out of the store and reported with
//! its reason: nothing of it is trusted, and `doctor` and `kioskctl trust
//! check` fail until staff remove or replace it.

use crate::config::KioskSection;
use crate::doctor::Check;
use anyhow::Context as _;
use kiosk_firmware::icao::pa::TrustList;
use kiosk_firmware::icao::pki;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What a file of the store is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// CSCA (or link) certificates.
    Csca,
    /// A master-list signer anchor.
    MasterListAnchor,
    /// A CSCA master list.
    MasterList,
    /// A CRL.
    Crl,
}

impl FileKind {
    fn extensions(self) -> &'static [&'static str] {
        match self {
            FileKind::Csca | FileKind::MasterListAnchor => &["der", "cer", "crt", "pem"],
            FileKind::MasterList => &["ml", "der", "cms", "p7m", "p7b"],
            FileKind::Crl => &["crl", "der", "pem"],
        }
    }

    /// The folder of this kind in the configuration.
    pub fn folder(self, kiosk: &KioskSection) -> Option<&Path> {
        match self {
            FileKind::Csca => kiosk.csca_dir.as_deref(),
            FileKind::MasterListAnchor => kiosk.master_list_anchor_dir.as_deref(),
            FileKind::MasterList => kiosk.master_list_dir.as_deref(),
            FileKind::Crl => kiosk.crl_dir.as_deref(),
        }
    }

    /// The configuration key of that folder.
    pub fn key(self) -> &'static str {
        match self {
            FileKind::Csca => "kiosk.csca_dir",
            FileKind::MasterListAnchor => "kiosk.master_list_anchor_dir",
            FileKind::MasterList => "kiosk.master_list_dir",
            FileKind::Crl => "kiosk.crl_dir",
        }
    }
}

/// One file of the store and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoadedFile {
    /// The file.
    pub path: PathBuf,
    /// What it is.
    pub kind: FileKind,
    /// Whether it was accepted.
    pub accepted: bool,
    /// What it added, or why it was rejected.
    pub detail: String,
}

/// The store and how each file fared.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The store.
    pub store: TrustList,
    /// Every file read.
    pub files: Vec<LoadedFile>,
}

impl Loaded {
    /// The files left out.
    pub fn rejected(&self) -> impl Iterator<Item = &LoadedFile> {
        self.files.iter().filter(|f| !f.accepted)
    }
}

/// The files of `kind` in `dir` (by extension), sorted.
pub fn files_in(dir: &Path, kind: FileKind) -> anyhow::Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir)
        .with_context(|| format!("the {} folder {}", kind.key(), dir.display()))?;
    let mut out = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let known = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| kind.extensions().contains(&e.to_ascii_lowercase().as_str()));
        if known && path.is_file() {
            out.push(path);
        }
    }
    out.sort();
    Ok(out)
}

/// Adds one file's content of `kind` to `store` at `now_unix`: what it
/// added, or why it was rejected.
pub fn add_file(
    store: &mut TrustList,
    kind: FileKind,
    bytes: &[u8],
    now_unix: u64,
) -> Result<String, String> {
    match kind {
        FileKind::Csca => store
            .add(bytes)
            .map(|n| format!("{n} certificate(s)"))
            .map_err(|e| format!("not a certificate: {e}")),
        FileKind::MasterListAnchor => store
            .add_master_list_anchor(bytes)
            .map(|n| format!("{n} master-list signer anchor(s)"))
            .map_err(|e| format!("not a certificate: {e}")),
        FileKind::MasterList => store
            .add_master_list(bytes, now_unix)
            .map(|(signer, n)| format!("{n} CSCA certificate(s), signed by {signer}"))
            .map_err(|e| e.to_string()),
        FileKind::Crl => store
            .add_crl(bytes)
            .map(|crl| {
                format!(
                    "CRL of {} listing {} revoked certificate(s), next update {}",
                    crl.issuer(),
                    crl.revoked_count(),
                    crl.list
                        .tbs_cert_list
                        .next_update
                        .map(|t| t.to_string())
                        .unwrap_or_default()
                )
            })
            .map_err(|e| e.to_string()),
    }
}

/// Loads the store the configuration describes, at `now_unix` (the time
/// master-list signers are checked at). A missing folder is an error; a
/// file that does not verify is left out and listed in
/// [`Loaded::files`].
pub fn load(kiosk: &KioskSection, now_unix: u64) -> anyhow::Result<Loaded> {
    let mut store = TrustList::empty();
    store.set_require_crl(kiosk.require_crl);
    let mut files = Vec::new();
    // Anchors first, then what they vouch for.
    for kind in [
        FileKind::MasterListAnchor,
        FileKind::Csca,
        FileKind::MasterList,
        FileKind::Crl,
    ] {
        let Some(dir) = kind.folder(kiosk) else {
            continue;
        };
        for path in files_in(dir, kind)? {
            let bytes = std::fs::read(&path).with_context(|| path.display().to_string())?;
            let result = add_file(&mut store, kind, &bytes, now_unix);
            files.push(LoadedFile {
                path,
                kind,
                accepted: result.is_ok(),
                detail: result.unwrap_or_else(|e| e),
            });
        }
    }
    Ok(Loaded { store, files })
}

/// Loads the store for the kiosk: rejected files are logged (their
/// content is not trusted) and the kiosk starts with the rest.
pub fn load_for_kiosk(kiosk: &KioskSection, now_unix: u64) -> anyhow::Result<TrustList> {
    let loaded = load(kiosk, now_unix)?;
    for f in loaded.rejected() {
        tracing::error!(file = %f.path.display(), reason = %f.detail, "trust store file rejected");
    }
    for p in loaded.store.problems(now_unix) {
        tracing::warn!(problem = ?p, "trust store problem");
    }
    Ok(loaded.store)
}

/// The `doctor` check of the trust store: fails on a rejected file, an
/// expired CSCA or CRL, a missing required CRL, an unanchored link
/// certificate; warns when no anchor is configured at all.
pub fn check(kiosk: &KioskSection, now_unix: u64) -> Check {
    let loaded = match load(kiosk, now_unix) {
        Ok(l) => l,
        Err(e) => {
            return Check::fail(
                format!("{e:#}"),
                "create the folder or fix the [kiosk] trust store settings",
            );
        }
    };
    let mut issues: Vec<String> = loaded
        .rejected()
        .map(|f| format!("{}: {}", f.path.display(), f.detail))
        .collect();
    issues.extend(loaded.store.problems(now_unix).iter().map(describe_problem));
    let anchors = loaded.store.anchors().len();
    let crls = loaded.store.crls().len();
    if !issues.is_empty() {
        return Check::fail(
            issues.join("; "),
            "import current CSCA certificates and CRLs with `kioskctl trust import`, remove rejected files, then run `kioskctl trust check`",
        );
    }
    if anchors == 0 {
        return Check::warn(
            "no CSCA is configured: every chip is \"signature valid, chain not anchored\"",
            "configure kiosk.csca_dir or kiosk.master_list_dir, or rely on the online check",
        );
    }
    Check::pass(format!("{anchors} CSCA anchor(s), {crls} current CRL(s)"))
}

/// A problem in words for staff.
pub fn describe_problem(p: &pki::Problem) -> String {
    match p {
        pki::Problem::CscaNotValid { subject } => format!("the CSCA {subject} is not valid today"),
        pki::Problem::CscaProfile { subject, fault } => {
            format!("the CSCA {subject} does not have the CSCA profile ({fault:?})")
        }
        pki::Problem::UnanchoredLink { subject, issuer } => {
            format!("the link certificate {subject} is signed by {issuer}, which is not trusted")
        }
        pki::Problem::CrlExpired {
            issuer,
            next_update,
        } => format!(
            "the CRL of {issuer} expired (nextUpdate {}): its cards are refused until a current CRL is imported",
            pki::utc(*next_update)
        ),
        pki::Problem::CrlMissing { subject } => {
            format!("the CSCA {subject} has no CRL: its cards are refused")
        }
    }
}
