//! Encryption of secrets at rest (connector credentials).
//!
//! A [`SecretKey`] is 32 random bytes kept outside the database, by default in
//! `<data dir>/secret.key` as 64 hex characters. Secrets are sealed with
//! XChaCha20-Poly1305 under a fresh random 24-byte nonce per encryption, with
//! the owning organization's id as associated data: a ciphertext copied to
//! another organization's row does not decrypt.

use std::io::Write as _;
use std::path::Path;

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use uuid::Uuid;

use super::StoreError;

/// Name of the key file inside the data directory.
pub const SECRET_KEY_FILE: &str = "secret.key";
/// Bytes of a key.
const KEY_LEN: usize = 32;
/// Bytes of an XChaCha20-Poly1305 nonce.
pub const NONCE_LEN: usize = 24;

/// The 256-bit key that encrypts secrets stored in the database.
///
/// Its `Debug` output never shows the key. Losing the key makes every stored
/// secret unreadable; a different key fails with [`StoreError::Decrypt`].
#[derive(Clone)]
pub struct SecretKey {
    bytes: [u8; KEY_LEN],
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

impl SecretKey {
    /// A fresh key from the OS-seeded thread-local CSPRNG of `rand`.
    pub fn generate() -> SecretKey {
        let mut bytes = [0u8; KEY_LEN];
        rand::fill(&mut bytes);
        SecretKey { bytes }
    }

    /// Parses exactly 64 hexadecimal characters (either case, no
    /// surrounding whitespace). Anything else is
    /// [`StoreError::InvalidSecretKey`], whose message gives the length or
    /// the position of the first bad character but never the text itself.
    pub fn from_hex(hex: &str) -> Result<SecretKey, StoreError> {
        let text = hex.as_bytes();
        if text.len() != KEY_LEN * 2 {
            return Err(StoreError::InvalidSecretKey {
                reason: format!(
                    "expected {} hexadecimal characters, got {} bytes of text",
                    KEY_LEN * 2,
                    text.len()
                ),
            });
        }
        let mut bytes = [0u8; KEY_LEN];
        hex::decode_to_slice(text, &mut bytes).map_err(|e| StoreError::InvalidSecretKey {
            // Never echo the key: name the position of a bad character only.
            reason: match e {
                hex::FromHexError::InvalidHexCharacter { index, .. } => format!(
                    "character {} is not a hexadecimal digit (0-9, a-f)",
                    index + 1
                ),
                _ => format!("expected {} hexadecimal characters", KEY_LEN * 2),
            },
        })?;
        Ok(SecretKey { bytes })
    }

    /// The key of `data_dir/secret.key` (64 hex characters; surrounding
    /// whitespace ignored). When the file does not exist, creates `data_dir`
    /// if needed and the file with a fresh [`SecretKey::generate`] key, mode
    /// 0600 on unix; the file appears atomically and an existing file is
    /// never overwritten (when two processes race, both end up with the
    /// winner's key). A malformed file is [`StoreError::InvalidSecretKey`]
    /// naming the path; filesystem failures are [`StoreError::Io`].
    pub fn load_or_create(data_dir: &Path) -> Result<SecretKey, StoreError> {
        let path = data_dir.join(SECRET_KEY_FILE);
        match Self::read(&path) {
            Err(StoreError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            }
            other => return other,
        }
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| StoreError::Io { path, source }
        };
        std::fs::create_dir_all(data_dir).map_err(io(data_dir))?;
        let key = Self::generate();
        // Write a private temporary file, then link it into place: the key
        // file is never seen half-written and never replaced.
        let tmp = data_dir.join(format!(
            ".{SECRET_KEY_FILE}.{}.tmp",
            Uuid::now_v7().simple()
        ));
        let written = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp)?;
            file.write_all(format!("{}\n", hex::encode(key.bytes)).as_bytes())?;
            file.sync_all()?;
            std::fs::hard_link(&tmp, &path)
        })();
        let removed = std::fs::remove_file(&tmp);
        match written {
            Ok(()) => {
                removed.map_err(io(&tmp))?;
                Ok(key)
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Self::read(&path),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    fn read(path: &Path) -> Result<SecretKey, StoreError> {
        let text = std::fs::read_to_string(path).map_err(|source| StoreError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_hex(text.trim()).map_err(|e| match e {
            StoreError::InvalidSecretKey { reason } => StoreError::InvalidSecretKey {
                reason: format!("{}: {reason}", path.display()),
            },
            other => other,
        })
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.bytes.into())
    }

    /// Encrypts `plaintext` for organization `org`: returns the ciphertext
    /// (plaintext length + 16-byte tag) and the fresh random 24-byte nonce
    /// it was sealed under. Decrypt with the same key, `org` and nonce.
    pub fn encrypt(&self, org: Uuid, plaintext: &[u8]) -> Result<(Vec<u8>, Vec<u8>), StoreError> {
        let mut nonce = [0u8; NONCE_LEN];
        rand::fill(&mut nonce);
        let ciphertext = self
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: org.as_bytes(),
                },
            )
            .map_err(|_| StoreError::Encrypt {
                what: "a secret".to_string(),
            })?;
        Ok((ciphertext, nonce.to_vec()))
    }

    /// Decrypts what [`SecretKey::encrypt`] returned for `org`. A different
    /// key or organization, a nonce that is not 24 bytes, or altered bytes
    /// give [`StoreError::Decrypt`].
    pub fn decrypt(
        &self,
        org: Uuid,
        ciphertext: &[u8],
        nonce: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        let failed = || StoreError::Decrypt {
            what: "a secret".to_string(),
        };
        let nonce = XNonce::try_from(nonce).map_err(|_| failed())?;
        self.cipher()
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: org.as_bytes(),
                },
            )
            .map_err(|_| failed())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn load_or_create_creates_then_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let data_dir = dir.path().join("nested").join("data");
        let created = SecretKey::load_or_create(&data_dir).unwrap();
        let path = data_dir.join(SECRET_KEY_FILE);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&data_dir).unwrap().count(), 1);

        let reloaded = SecretKey::load_or_create(&data_dir).unwrap();
        assert_eq!(created.bytes, reloaded.bytes);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        let org = Uuid::now_v7();
        let (ct, nonce) = created.encrypt(org, b"hello").unwrap();
        assert_eq!(reloaded.decrypt(org, &ct, &nonce).unwrap(), b"hello");

        // A fresh directory gets a different key.
        let other = SecretKey::load_or_create(&dir.path().join("other")).unwrap();
        assert_ne!(created.bytes, other.bytes);
    }

    #[test]
    fn load_or_create_rejects_a_malformed_file() {
        let dir = tempfile::tempdir().unwrap();
        let secret = "zz".repeat(32);
        std::fs::write(dir.path().join(SECRET_KEY_FILE), &secret).unwrap();
        let err = SecretKey::load_or_create(dir.path()).unwrap_err();
        assert!(
            matches!(err, StoreError::InvalidSecretKey { .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(message.contains(SECRET_KEY_FILE), "{message}");
        assert!(!message.contains(&secret), "{message}");
        // The malformed file is left alone.
        assert_eq!(
            std::fs::read_to_string(dir.path().join(SECRET_KEY_FILE)).unwrap(),
            secret
        );
    }

    #[test]
    fn from_hex_accepts_64_hex_characters() {
        let hex = "00112233445566778899aabbccddeeffFFEEDDCCBBAA99887766554433221100";
        let key = SecretKey::from_hex(hex).unwrap();
        assert_eq!(key.bytes[0], 0x00);
        assert_eq!(key.bytes[1], 0x11);
        assert_eq!(key.bytes[15], 0xff);
        assert_eq!(key.bytes[16], 0xff);
        assert_eq!(key.bytes[31], 0x00);
        assert_eq!(hex::encode(key.bytes), hex.to_ascii_lowercase());
    }

    #[test]
    fn from_hex_rejects_bad_input_without_echoing_it() {
        let long = "ab".repeat(33);
        let bad_char = format!("{}g{}", "a".repeat(40), "b".repeat(23));
        let spaced = format!(" {}", "c".repeat(63));
        let unicode = format!("{}é", "d".repeat(62));
        for bad in [
            "",
            "abc",
            &"e".repeat(63),
            long.as_str(),
            bad_char.as_str(),
            spaced.as_str(),
            unicode.as_str(),
        ] {
            let err = SecretKey::from_hex(bad).unwrap_err();
            assert!(
                matches!(err, StoreError::InvalidSecretKey { .. }),
                "{err:?}"
            );
            let message = err.to_string();
            let debug = format!("{err:?}");
            if bad.len() >= 3 {
                assert!(!message.contains(bad), "{message}");
                assert!(!debug.contains(bad), "{debug}");
            }
            // Not even a long run of the input shows up.
            if bad.len() >= 16 {
                assert!(!message.contains(&bad[..16]), "{message}");
            }
        }
        let message = SecretKey::from_hex(&bad_char).unwrap_err().to_string();
        assert!(message.contains("character 41"), "{message}");
        let message = SecretKey::from_hex("abc").unwrap_err().to_string();
        assert!(message.contains("expected 64"), "{message}");
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let key = SecretKey::from_hex(&"7f".repeat(32)).unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.contains("7f"), "{debug}");
        assert!(!debug.contains("127"), "{debug}");
    }

    #[test]
    fn encrypt_round_trips_with_fresh_nonces() {
        let key = SecretKey::generate();
        let org = Uuid::now_v7();
        let (ct1, n1) = key.encrypt(org, b"api-token-123").unwrap();
        let (ct2, n2) = key.encrypt(org, b"api-token-123").unwrap();
        assert_eq!(n1.len(), NONCE_LEN);
        assert_eq!(ct1.len(), b"api-token-123".len() + 16);
        assert_ne!(n1, n2);
        assert_ne!(ct1, ct2);
        assert_eq!(key.decrypt(org, &ct1, &n1).unwrap(), b"api-token-123");
        assert_eq!(key.decrypt(org, &ct2, &n2).unwrap(), b"api-token-123");
        let (empty, n3) = key.encrypt(org, b"").unwrap();
        assert_eq!(key.decrypt(org, &empty, &n3).unwrap(), b"");
        // A ciphertext under another nonce does not decrypt.
        assert!(matches!(
            key.decrypt(org, &ct1, &n2),
            Err(StoreError::Decrypt { .. })
        ));
    }

    #[test]
    fn decrypt_fails_under_another_org_key_or_tampering() {
        let key = SecretKey::generate();
        let org = Uuid::now_v7();
        let (ct, nonce) = key.encrypt(org, b"secret").unwrap();

        let other_org = Uuid::now_v7();
        let err = key.decrypt(other_org, &ct, &nonce).unwrap_err();
        assert!(matches!(err, StoreError::Decrypt { .. }), "{err:?}");
        assert!(err.to_string().contains("wrong secret key"), "{err}");

        let other_key = SecretKey::generate();
        let err = other_key.decrypt(org, &ct, &nonce).unwrap_err();
        assert!(matches!(err, StoreError::Decrypt { .. }), "{err:?}");

        let mut tampered = ct.clone();
        tampered[0] ^= 1;
        assert!(matches!(
            key.decrypt(org, &tampered, &nonce),
            Err(StoreError::Decrypt { .. })
        ));
        assert!(matches!(
            key.decrypt(org, &ct, &nonce[..12]),
            Err(StoreError::Decrypt { .. })
        ));
        assert_eq!(key.decrypt(org, &ct, &nonce).unwrap(), b"secret");
    }
}
