//! API keys: `mcpf_<key id>_<secret>`, 32 random bytes of secret, stored only as a SHA-256 hash.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::secret::Secret;

/// What every API key starts with (a token that does not is a JWT).
pub const PREFIX: &str = "mcpf_";
/// Longest credential header the authorizer reads; longer ones are rejected unread.
pub const MAX_CREDENTIAL_BYTES: usize = 8 * 1024;

/// A key just created: the full key is shown once, then only its hash is kept.
#[derive(Debug, Clone)]
pub struct NewApiKey {
    pub key_id: String,
    pub key: Secret,
    pub hash: String,
}

/// Why a presented key was not even looked up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyFormatError {
    #[error("the credential is longer than {MAX_CREDENTIAL_BYTES} bytes")]
    TooLarge,
    #[error("the API key is not in the mcpf_<id>_<secret> format")]
    Malformed,
}

/// Creates a key from the operating system's random source.
///
/// # Errors
/// When the random source fails.
pub fn generate() -> Result<NewApiKey, getrandom::Error> {
    let mut id = [0u8; 8];
    let mut secret = [0u8; 32];
    getrandom::fill(&mut id)?;
    getrandom::fill(&mut secret)?;
    let key_id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let key = format!("{PREFIX}{key_id}_{}", URL_SAFE_NO_PAD.encode(secret));
    Ok(NewApiKey {
        key_id,
        hash: hash(&key),
        key: Secret::new(key),
    })
}

/// Checks the shape of a presented key before any lookup.
///
/// # Errors
/// [`KeyFormatError`] for an oversized or malformed key.
pub fn check_format(key: &str) -> Result<(), KeyFormatError> {
    if key.len() > MAX_CREDENTIAL_BYTES {
        return Err(KeyFormatError::TooLarge);
    }
    let rest = key.strip_prefix(PREFIX).ok_or(KeyFormatError::Malformed)?;
    let (id, secret) = rest.split_once('_').ok_or(KeyFormatError::Malformed)?;
    let id_ok = id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let secret_ok = secret.len() == 43
        && secret
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if id_ok && secret_ok {
        Ok(())
    } else {
        Err(KeyFormatError::Malformed)
    }
}

/// SHA-256 of the key, hex.
#[must_use]
pub fn hash(key: &str) -> String {
    Sha256::digest(key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Compares two hashes in constant time.
#[must_use]
pub fn hashes_match(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_well_formed_unique_and_hash_to_what_is_stored() {
        let a = generate().unwrap();
        let b = generate().unwrap();
        assert_ne!(a.key.expose(), b.key.expose());
        assert_eq!(check_format(a.key.expose()), Ok(()));
        assert!(hashes_match(&hash(a.key.expose()), &a.hash));
        assert!(!hashes_match(&a.hash, &b.hash));
        assert!(a.key.expose().contains(&a.key_id));
    }

    #[test]
    fn oversized_and_malformed_keys_are_rejected_before_lookup() {
        assert_eq!(
            check_format(&"x".repeat(MAX_CREDENTIAL_BYTES + 1)),
            Err(KeyFormatError::TooLarge)
        );
        assert_eq!(check_format("hunter2"), Err(KeyFormatError::Malformed));
        assert_eq!(
            check_format("mcpf_nothex0000000000_abc"),
            Err(KeyFormatError::Malformed)
        );
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
