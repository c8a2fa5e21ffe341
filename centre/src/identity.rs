//! The identity packet at rest: what the chip verified about a ticket's
//! holder ([`IdentityPacket`]), sealed with ChaCha20-Poly1305 (RFC 8439)
//! under the centre's 32-byte identity key, a fresh random 96-bit nonce per
//! packet, and the centre's id and the ticket's id as associated data (a
//! sealed row copied to another ticket or centre does not open).
//!
//! The key file (`centre.identity_key_file`) must hold exactly 32 bytes
//! and be readable by its owner only; the centre refuses to start
//! otherwise.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use kiosk_firmware::queue::centre::IdentityPacket;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use zeroize::Zeroizing;

/// The largest packet accepted (its JSON): a name, a date, a masked id and
/// a pre-filled form of a few dozen fields fit many times over.
pub const MAX_PACKET_BYTES: usize = 16 * 1024;

/// Why the identity key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The file cannot be read. Remedy: create it (`kiosk-centre demo`
    /// writes one; in production 32 bytes from `/dev/urandom`).
    #[error("identity key {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not 32 bytes.
    #[error("identity key {path}: {len} bytes, 32 expected")]
    WrongSize {
        /// The file.
        path: String,
        /// Its size.
        len: u64,
    },
    /// Group or others may read or write it. Remedy: `chmod 600`.
    #[error("identity key {path}: mode {mode:o} lets group or others in; chmod 600")]
    TooOpen {
        /// The file.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
}

/// Why a packet cannot be sealed or opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// No random bytes from the OS.
    #[error("no random nonce")]
    Random,
    /// The packet cannot be encoded.
    #[error("the packet cannot be encoded")]
    Encode,
    /// Authentication failed: another key, another ticket, or tampering.
    #[error("the sealed packet does not open under this key and ticket")]
    Open,
}

/// The centre's identity key.
pub struct IdentityKey {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for IdentityKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IdentityKey(..)")
    }
}

/// A sealed packet: the nonce and the ciphertext with its tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// 12 random bytes.
    pub nonce: Vec<u8>,
    /// ChaCha20-Poly1305 ciphertext and tag.
    pub sealed: Vec<u8>,
}

fn associated_data(centre_id: &str, ticket_id: i64) -> Vec<u8> {
    let mut ad = Vec::with_capacity(centre_id.len() + 24);
    ad.extend_from_slice(b"kiosk-centre identity v1\0");
    ad.extend_from_slice(centre_id.as_bytes());
    ad.push(0);
    ad.extend_from_slice(&ticket_id.to_be_bytes());
    ad
}

/// Random bytes from the OS (the TLS provider's generator).
pub fn random_bytes<const N: usize>() -> Option<[u8; N]> {
    let mut out = [0u8; N];
    rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut out)
        .ok()?;
    Some(out)
}

impl IdentityKey {
    /// A key from its 32 bytes.
    pub fn from_bytes(bytes: &[u8; 32]) -> IdentityKey {
        IdentityKey {
            cipher: ChaCha20Poly1305::new(Key::from_slice(bytes)),
        }
    }

    /// Reads and checks the key file.
    pub fn load(path: &Path) -> Result<IdentityKey, KeyError> {
        let name = || path.display().to_string();
        let io = |source| KeyError::Io {
            path: name(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io)?;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(KeyError::TooOpen { path: name(), mode });
        }
        if meta.len() != 32 {
            return Err(KeyError::WrongSize {
                path: name(),
                len: meta.len(),
            });
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(io)?);
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::WrongSize {
                path: name(),
                len: bytes.len() as u64,
            })?;
        let key = Zeroizing::new(key);
        Ok(IdentityKey::from_bytes(&key))
    }

    /// Writes a fresh random key to `path` (mode 600).
    pub fn generate(path: &Path) -> std::io::Result<()> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let key = Zeroizing::new(
            random_bytes::<32>().ok_or_else(|| std::io::Error::other("no random bytes"))?,
        );
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(key.as_slice())?;
        f.sync_all()
    }

    /// Seals `packet` for ticket `ticket_id` of `centre_id`.
    pub fn seal(
        &self,
        packet: &IdentityPacket,
        centre_id: &str,
        ticket_id: i64,
    ) -> Result<Sealed, SealError> {
        let plain = Zeroizing::new(serde_json::to_vec(packet).map_err(|_| SealError::Encode)?);
        let nonce = random_bytes::<12>().ok_or(SealError::Random)?;
        let ad = associated_data(centre_id, ticket_id);
        let sealed = self
            .cipher
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plain.as_slice(),
                    aad: &ad,
                },
            )
            .map_err(|_| SealError::Encode)?;
        Ok(Sealed {
            nonce: nonce.to_vec(),
            sealed,
        })
    }

    /// Opens a sealed packet of ticket `ticket_id` of `centre_id`.
    pub fn open(
        &self,
        sealed: &Sealed,
        centre_id: &str,
        ticket_id: i64,
    ) -> Result<IdentityPacket, SealError> {
        if sealed.nonce.len() != 12 {
            return Err(SealError::Open);
        }
        let ad = associated_data(centre_id, ticket_id);
        let plain = Zeroizing::new(
            self.cipher
                .decrypt(
                    Nonce::from_slice(&sealed.nonce),
                    Payload {
                        msg: &sealed.sealed,
                        aad: &ad,
                    },
                )
                .map_err(|_| SealError::Open)?,
        );
        serde_json::from_slice(plain.as_slice()).map_err(|_| SealError::Open)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    pub(crate) fn packet() -> IdentityPacket {
        IdentityPacket {
            full_name: "Nguyễn Văn An".into(),
            date_of_birth: "01/02/1980".into(),
            masked_id: "********1234".into(),
            verification: "face_matched".into(),
            genuineness: "anchored".into(),
            service: "A".into(),
            form: None,
            consented_at_unix_ms: 1,
        }
    }

    #[test]
    fn a_packet_opens_only_for_its_own_ticket_and_centre() {
        let key = IdentityKey::from_bytes(&[7; 32]);
        let s = key.seal(&packet(), "C1", 42).unwrap();
        assert_eq!(key.open(&s, "C1", 42).unwrap(), packet());
        assert_eq!(key.open(&s, "C1", 43), Err(SealError::Open));
        assert_eq!(key.open(&s, "C2", 42), Err(SealError::Open));
        let other = IdentityKey::from_bytes(&[8; 32]);
        assert_eq!(other.open(&s, "C1", 42), Err(SealError::Open));
        let name = "Nguyễn".as_bytes();
        assert!(!s.sealed.windows(name.len()).any(|w| w == name));
        let again = key.seal(&packet(), "C1", 42).unwrap();
        assert_ne!(again.nonce, s.nonce, "a fresh nonce each time");
    }

    #[test]
    fn a_key_file_must_be_32_bytes_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        assert!(matches!(IdentityKey::load(&path), Err(KeyError::Io { .. })));
        IdentityKey::generate(&path).unwrap();
        IdentityKey::load(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(matches!(
            IdentityKey::load(&path),
            Err(KeyError::TooOpen { mode: 0o640, .. })
        ));
        let short = dir.path().join("s");
        std::fs::write(&short, [1u8; 31]).unwrap();
        std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            IdentityKey::load(&short),
            Err(KeyError::WrongSize { len: 31, .. })
        ));
    }
}
