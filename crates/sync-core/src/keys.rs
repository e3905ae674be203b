//! Keys at rest: every administration's koppelsleutel is stored encrypted.
//!
//! The master keys come from the host through a [`KeyProvider`] (the environment, a secrets
//! manager, a KMS); [`KeyRing`] is the provider built from an environment variable. A
//! [`Sealer`] encrypts a koppelsleutel with the current master key into a [`SealedSecret`] and
//! decrypts one sealed under any master key the provider still knows, so keys can be rotated
//! without downtime:
//!
//! 1. add the new master key in front of the variable (`new=...,old=...`) and restart the
//!    workers one by one: they all decrypt both, and new seals use `new`;
//! 2. re-seal the stored koppelsleutels ([`Sealer::reseal`], for example over the
//!    administrations registry) while the workers keep running;
//! 3. when no sealed value names `old` any more, remove it from the variable.
//!
//! # Cryptography
//!
//! XChaCha20-Poly1305 (RustCrypto `chacha20poly1305`) with a fresh random 192-bit nonce per
//! seal: random nonces of that size never realistically collide, however many seals one master
//! key makes. The associated data binds the ciphertext to its purpose, its master key id and
//! its administration, so a sealed koppelsleutel copied into another administration's row (or
//! relabelled with another key id) fails to open instead of authenticating a worker for the
//! wrong books.
//!
//! # Secrets stay secret
//!
//! Master keys and koppelsleutels never appear in `Debug` output, `Display`, errors or logs:
//! [`MasterKey`] prints its id only, plaintext travels as [`SecretString`], key material is
//! zeroed on drop, and errors name the key id and the administration, never a value.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::store::AdminKey;

/// The environment variable [`KeyRing::from_env`] reads.
pub const MASTER_KEYS_VAR: &str = "SNELSYNC_MASTER_KEYS";

/// What the associated data starts with: a seal made for another purpose never opens here.
const PURPOSE: &[u8] = b"snelstart-sync koppelsleutel v1";

/// The text form's version prefix.
const FORMAT: &str = "v1";

/// The name of a master key (`2026-12`, `kms-7`): 1 to 64 of `A-Z a-z 0-9 - _`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Checks and wraps a key id.
    pub fn new(id: impl Into<String>) -> Result<Self, KeyError> {
        let id = id.into();
        let ok = !id.is_empty()
            && id.len() <= 64
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok {
            Ok(Self(id))
        } else {
            Err(KeyError::Config {
                detail: format!(
                    "master key id {id:?} must be 1 to 64 characters of A-Z, a-z, 0-9, - and _"
                ),
            })
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A 256-bit master key with its id. `Debug` shows the id only; the bytes are zeroed on drop.
#[derive(Clone)]
pub struct MasterKey {
    id: KeyId,
    bytes: Zeroizing<[u8; 32]>,
}

impl MasterKey {
    /// A master key from its 32 bytes (for providers that fetch keys from a secrets manager).
    pub fn from_bytes(id: KeyId, bytes: [u8; 32]) -> Self {
        Self {
            id,
            bytes: Zeroizing::new(bytes),
        }
    }

    /// A master key from standard base64 of exactly 32 bytes. The error never repeats the
    /// text.
    pub fn from_base64(id: KeyId, text: &str) -> Result<Self, KeyError> {
        let decoded =
            Zeroizing::new(STANDARD.decode(text.trim()).map_err(|_| KeyError::Config {
                detail: format!("master key {id} is not valid base64"),
            })?);
        let bytes: [u8; 32] = decoded
            .as_slice()
            .try_into()
            .map_err(|_| KeyError::Config {
                detail: format!(
                    "master key {id} must decode to 32 bytes, found {}",
                    decoded.len()
                ),
            })?;
        Ok(Self::from_bytes(id, bytes))
    }

    /// A fresh random master key (for tests and for generating one to put in the
    /// environment: [`MasterKey::to_base64`]).
    pub fn generate(id: KeyId) -> Self {
        let mut bytes = Zeroizing::new([0u8; 32]);
        rand::rng().fill_bytes(bytes.as_mut());
        Self::from_bytes(id, *bytes)
    }

    /// The key in the base64 form [`KeyRing`] reads, as a secret.
    pub fn to_base64(&self) -> SecretString {
        SecretString::from(STANDARD.encode(self.bytes.as_ref()))
    }

    /// The key's id.
    pub fn id(&self) -> &KeyId {
        &self.id
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey")
            .field("id", &self.id)
            .field("bytes", &"[redacted]")
            .finish()
    }
}

/// Where master keys come from. Implement it for a secrets manager or KMS; [`KeyRing`] is the
/// environment-variable implementation.
pub trait KeyProvider: Send + Sync {
    /// The key new seals use.
    fn current(&self) -> &MasterKey;

    /// The key with this id, when the provider still has it (current or retired).
    fn key(&self, id: &KeyId) -> Option<&MasterKey>;
}

/// A set of master keys, the first one current: the [`KeyProvider`] read from the
/// environment.
///
/// The text form is a comma-separated list of `id=base64`, for example
/// `SNELSYNC_MASTER_KEYS=2026-12=q83v...=,2026-06=Zm9v...=`: the first key encrypts, all of
/// them decrypt. Each key is 32 random bytes in standard base64 (`openssl rand -base64 32`).
#[derive(Clone)]
pub struct KeyRing {
    current: MasterKey,
    all: BTreeMap<KeyId, MasterKey>,
}

impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("current", self.current.id())
            .field("known", &self.all.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl KeyRing {
    /// A ring with `current` and any number of retired keys that still decrypt.
    pub fn new(
        current: MasterKey,
        retired: impl IntoIterator<Item = MasterKey>,
    ) -> Result<Self, KeyError> {
        let mut all = BTreeMap::new();
        all.insert(current.id().clone(), current.clone());
        for key in retired {
            if all.insert(key.id().clone(), key.clone()).is_some() {
                return Err(KeyError::Config {
                    detail: format!("master key id {} appears twice", key.id()),
                });
            }
        }
        Ok(Self { current, all })
    }

    /// Reads [`MASTER_KEYS_VAR`].
    pub fn from_env() -> Result<Self, KeyError> {
        Self::from_var(MASTER_KEYS_VAR)
    }

    /// Reads the named environment variable (the text form above).
    pub fn from_var(name: &str) -> Result<Self, KeyError> {
        let text = Zeroizing::new(std::env::var(name).map_err(|_| KeyError::Config {
            detail: format!("environment variable {name} is not set (or not UTF-8)"),
        })?);
        text.parse()
    }

    /// Every key id the ring knows, current first.
    pub fn ids(&self) -> Vec<&KeyId> {
        let mut ids = vec![self.current.id()];
        ids.extend(self.all.keys().filter(|id| *id != self.current.id()));
        ids
    }
}

impl FromStr for KeyRing {
    type Err = KeyError;

    /// Parses `id=base64,id=base64,...`; errors name the position and key id, never a key.
    fn from_str(text: &str) -> Result<Self, KeyError> {
        let mut keys = Vec::new();
        for (n, entry) in text.split(',').map(str::trim).enumerate() {
            if entry.is_empty() {
                continue;
            }
            let (id, key) = entry.split_once('=').ok_or_else(|| KeyError::Config {
                detail: format!("master key entry {} is not id=base64", n + 1),
            })?;
            keys.push(MasterKey::from_base64(KeyId::new(id.trim())?, key)?);
        }
        let mut keys = keys.into_iter();
        let current = keys.next().ok_or_else(|| KeyError::Config {
            detail: "no master key given (expected id=base64[,id=base64...])".to_owned(),
        })?;
        Self::new(current, keys)
    }
}

impl KeyProvider for KeyRing {
    fn current(&self) -> &MasterKey {
        &self.current
    }

    fn key(&self, id: &KeyId) -> Option<&MasterKey> {
        self.all.get(id)
    }
}

/// A koppelsleutel encrypted under a master key, as stored.
///
/// `Debug` and `Display` show the key id and the ciphertext length only. The text form
/// ([`SealedSecret::encode`]) is `v1.<key id>.<nonce>.<ciphertext>` with URL-safe base64, for
/// a text column.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret {
    key_id: KeyId,
    nonce: [u8; 24],
    ciphertext: Vec<u8>,
}

impl SealedSecret {
    /// The master key it was sealed with.
    pub fn key_id(&self) -> &KeyId {
        &self.key_id
    }

    /// The storage text form.
    pub fn encode(&self) -> String {
        format!(
            "{FORMAT}.{}.{}.{}",
            self.key_id,
            URL_SAFE_NO_PAD.encode(self.nonce),
            URL_SAFE_NO_PAD.encode(&self.ciphertext)
        )
    }

    /// Parses [`SealedSecret::encode`]'s form.
    pub fn decode(text: &str) -> Result<Self, KeyError> {
        let bad = |why: &str| KeyError::Malformed {
            detail: why.to_owned(),
        };
        let mut parts = text.split('.');
        let (Some(format), Some(id), Some(nonce), Some(ciphertext), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(bad("expected v1.<key id>.<nonce>.<ciphertext>"));
        };
        if format != FORMAT {
            return Err(bad("unknown format version"));
        }
        let key_id = KeyId::new(id).map_err(|_| bad("bad key id"))?;
        let nonce: [u8; 24] = URL_SAFE_NO_PAD
            .decode(nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .ok_or_else(|| bad("bad nonce"))?;
        let ciphertext = URL_SAFE_NO_PAD
            .decode(ciphertext)
            .map_err(|_| bad("bad ciphertext encoding"))?;
        // Poly1305's tag alone is 16 bytes: anything shorter was cut.
        if ciphertext.len() < 16 {
            return Err(bad("ciphertext too short"));
        }
        Ok(Self {
            key_id,
            nonce,
            ciphertext,
        })
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SealedSecret")
            .field("key_id", &self.key_id)
            .field("ciphertext_len", &self.ciphertext.len())
            .finish_non_exhaustive()
    }
}

/// Why sealing or opening failed. Never carries key material or plaintext.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The master key configuration is unusable (missing variable, bad base64, wrong length,
    /// duplicate id).
    #[error("master key configuration: {detail}")]
    Config {
        /// What is wrong, naming the key id or entry, never the key.
        detail: String,
    },
    /// The sealed value names a master key the provider does not have (retired too early?).
    #[error(
        "the koppelsleutel of administration {admin} is sealed with master key {key_id}, which the key provider does not have"
    )]
    UnknownKey {
        /// The administration.
        admin: AdminKey,
        /// The missing master key.
        key_id: KeyId,
    },
    /// Authentication failed: wrong key, another administration's value, or tampering.
    #[error(
        "the koppelsleutel of administration {admin} (master key {key_id}) does not authenticate: wrong master key, copied from another administration, or tampered with"
    )]
    Unauthentic {
        /// The administration.
        admin: AdminKey,
        /// The master key tried.
        key_id: KeyId,
    },
    /// The stored text is not a sealed secret.
    #[error("malformed sealed secret: {detail}")]
    Malformed {
        /// What is wrong with its shape.
        detail: String,
    },
}

/// Seals and opens koppelsleutels with a [`KeyProvider`]'s master keys.
#[derive(Clone, Debug)]
pub struct Sealer<P> {
    provider: P,
}

impl<P: KeyProvider> Sealer<P> {
    /// A sealer over `provider`.
    pub fn new(provider: P) -> Self {
        Self { provider }
    }

    /// The provider.
    pub fn provider(&self) -> &P {
        &self.provider
    }

    /// Encrypts `secret` for `admin` with the current master key and a fresh random nonce.
    pub fn seal(&self, admin: &AdminKey, secret: &SecretString) -> SealedSecret {
        let key = self.provider.current();
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let cipher = XChaCha20Poly1305::new(key.bytes.as_ref().into());
        let aad = associated_data(key.id(), admin);
        // Encryption with a valid key and nonce cannot fail for inputs below the 256 GiB
        // limit of the construction; a koppelsleutel is a few hundred bytes.
        let ciphertext = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: secret.expose_secret().as_bytes(),
                    aad: &aad,
                },
            )
            .unwrap_or_default();
        SealedSecret {
            key_id: key.id().clone(),
            nonce,
            ciphertext,
        }
    }

    /// Decrypts a koppelsleutel sealed for `admin` under any master key the provider knows.
    pub fn open(&self, admin: &AdminKey, sealed: &SealedSecret) -> Result<SecretString, KeyError> {
        let key = self
            .provider
            .key(sealed.key_id())
            .ok_or_else(|| KeyError::UnknownKey {
                admin: admin.clone(),
                key_id: sealed.key_id().clone(),
            })?;
        let cipher = XChaCha20Poly1305::new(key.bytes.as_ref().into());
        let aad = associated_data(key.id(), admin);
        let unauthentic = || KeyError::Unauthentic {
            admin: admin.clone(),
            key_id: sealed.key_id().clone(),
        };
        let plain = Zeroizing::new(
            cipher
                .decrypt(
                    XNonce::from_slice(&sealed.nonce),
                    Payload {
                        msg: &sealed.ciphertext,
                        aad: &aad,
                    },
                )
                .map_err(|_| unauthentic())?,
        );
        let text = std::str::from_utf8(&plain).map_err(|_| unauthentic())?;
        Ok(SecretString::from(text.to_owned()))
    }

    /// True when `sealed` uses another master key than the current one.
    pub fn needs_reseal(&self, sealed: &SealedSecret) -> bool {
        sealed.key_id() != self.provider.current().id()
    }

    /// Opens `sealed` (under any known key) and seals it again under the current key: the
    /// rotation step. Returns `None` when it already uses the current key.
    pub fn reseal(
        &self,
        admin: &AdminKey,
        sealed: &SealedSecret,
    ) -> Result<Option<SealedSecret>, KeyError> {
        if !self.needs_reseal(sealed) {
            return Ok(None);
        }
        let secret = self.open(admin, sealed)?;
        Ok(Some(self.seal(admin, &secret)))
    }
}

/// Purpose, master key id and administration, each length-prefixed so no two combinations
/// share an encoding.
fn associated_data(key_id: &KeyId, admin: &AdminKey) -> Vec<u8> {
    let mut aad =
        Vec::with_capacity(PURPOSE.len() + key_id.as_str().len() + admin.as_str().len() + 8);
    aad.extend_from_slice(PURPOSE);
    for part in [key_id.as_str(), admin.as_str()] {
        aad.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        aad.extend_from_slice(part.as_bytes());
    }
    aad
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> KeyId {
        KeyId::new(s).unwrap()
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    const KOPPELSLEUTEL: &str = "ZXhhbXBsZS1rb3BwZWxzbGV1dGVsLWZvci10ZXN0cw==";

    #[test]
    fn seal_and_open_round_trip_with_fresh_nonces() {
        let sealer = Sealer::new(KeyRing::new(MasterKey::generate(id("k1")), []).unwrap());
        let admin = AdminKey::new("adm-1");
        let a = sealer.seal(&admin, &secret(KOPPELSLEUTEL));
        let b = sealer.seal(&admin, &secret(KOPPELSLEUTEL));
        assert_ne!(a.encode(), b.encode(), "every seal has its own nonce");
        let decoded = SealedSecret::decode(&a.encode()).unwrap();
        assert_eq!(decoded, a);
        let opened = sealer.open(&admin, &decoded).unwrap();
        assert_eq!(opened.expose_secret(), KOPPELSLEUTEL);
        assert!(!a.encode().contains(KOPPELSLEUTEL));
    }

    #[test]
    fn another_administration_or_a_tampered_value_does_not_open() {
        let sealer = Sealer::new(KeyRing::new(MasterKey::generate(id("k1")), []).unwrap());
        let sealed = sealer.seal(&AdminKey::new("adm-1"), &secret(KOPPELSLEUTEL));
        let err = sealer.open(&AdminKey::new("adm-2"), &sealed).unwrap_err();
        assert!(matches!(err, KeyError::Unauthentic { .. }), "{err}");

        let mut tampered = sealed.clone();
        tampered.ciphertext[0] ^= 1;
        assert!(matches!(
            sealer.open(&AdminKey::new("adm-1"), &tampered),
            Err(KeyError::Unauthentic { .. })
        ));
        // Relabelling the key id is caught too (the id is in the associated data).
        let other = MasterKey::from_bytes(id("k2"), *sealer.provider().current().bytes);
        let relabel = Sealer::new(KeyRing::new(other, []).unwrap());
        let mut relabelled = sealed.clone();
        relabelled.key_id = id("k2");
        assert!(matches!(
            relabel.open(&AdminKey::new("adm-1"), &relabelled),
            Err(KeyError::Unauthentic { .. })
        ));
    }

    #[test]
    fn rotation_opens_old_seals_and_reseals_with_the_current_key() {
        let old = MasterKey::generate(id("2026-06"));
        let new = MasterKey::generate(id("2026-12"));
        let admin = AdminKey::new("adm-1");
        let before = Sealer::new(KeyRing::new(old.clone(), []).unwrap());
        let sealed = before.seal(&admin, &secret(KOPPELSLEUTEL));

        let ring: KeyRing = format!(
            "2026-12={}, 2026-06={}",
            new.to_base64().expose_secret(),
            old.to_base64().expose_secret()
        )
        .parse()
        .unwrap();
        assert_eq!(ring.ids(), vec![&id("2026-12"), &id("2026-06")]);
        let after = Sealer::new(ring);
        assert_eq!(
            after.open(&admin, &sealed).unwrap().expose_secret(),
            KOPPELSLEUTEL
        );
        assert!(after.needs_reseal(&sealed));
        let resealed = after.reseal(&admin, &sealed).unwrap().expect("resealed");
        assert_eq!(resealed.key_id(), &id("2026-12"));
        assert!(
            after.reseal(&admin, &resealed).unwrap().is_none(),
            "already current"
        );

        // Once the old key is gone, only the resealed value opens.
        let only_new = Sealer::new(KeyRing::new(new, []).unwrap());
        assert_eq!(
            only_new.open(&admin, &resealed).unwrap().expose_secret(),
            KOPPELSLEUTEL
        );
        let err = only_new.open(&admin, &sealed).unwrap_err();
        assert!(matches!(err, KeyError::UnknownKey { .. }), "{err}");
        assert!(err.to_string().contains("2026-06"));
    }

    #[test]
    fn secrets_never_show_in_debug_or_errors() {
        let key = MasterKey::generate(id("k1"));
        let b64 = key.to_base64().expose_secret().to_owned();
        let ring = KeyRing::new(key.clone(), []).unwrap();
        let sealer = Sealer::new(ring.clone());
        let sealed = sealer.seal(&AdminKey::new("a"), &secret(KOPPELSLEUTEL));
        for text in [
            format!("{key:?}"),
            format!("{ring:?}"),
            format!("{sealer:?}"),
            format!("{sealed:?}"),
        ] {
            assert!(!text.contains(&b64), "{text}");
            assert!(!text.contains(KOPPELSLEUTEL), "{text}");
            assert!(text.contains("k1"), "names the key id: {text}");
        }
        // A key of the wrong length: the error names the id, not the value.
        let short = STANDARD.encode([7u8; 16]);
        let err = format!("k1={short}").parse::<KeyRing>().unwrap_err();
        assert!(err.to_string().contains("32 bytes"), "{err}");
        assert!(!err.to_string().contains(&short));
        let err = "k1=not base64!".parse::<KeyRing>().unwrap_err();
        assert!(!format!("{err} {err:?}").contains("not base64!"));
    }

    #[test]
    fn ring_text_form_errors() {
        let k = STANDARD.encode([1u8; 32]);
        assert!("".parse::<KeyRing>().is_err(), "no key");
        assert!(
            format!("k1={k},k1={k}").parse::<KeyRing>().is_err(),
            "duplicate id"
        );
        assert!(format!("bad id={k}").parse::<KeyRing>().is_err(), "bad id");
        assert!(k.parse::<KeyRing>().is_err(), "no id");
        assert!(KeyRing::from_var("SNELSYNC_TEST_SURELY_UNSET_VARIABLE").is_err());
    }

    #[test]
    fn malformed_sealed_text_is_refused() {
        for bad in [
            "",
            "v1.k1.AAAA",
            "v2.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA",
            "v1.k1.AAAA.AAAAAAAAAAAAAAAAAAAAAA",
            "v1.k1.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.AAAA",
        ] {
            assert!(
                matches!(SealedSecret::decode(bad), Err(KeyError::Malformed { .. })),
                "{bad:?}"
            );
        }
    }
}
