//! Merchant passwords are kept as argon2id hashes (PHC strings with their
//! own salt and parameters), never in clear: a leaked store gives no password.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use onecard_core::{ApiError, ApiResult};

/// A fresh salted hash of `password`.
pub fn hash(password: &str) -> ApiResult<String> {
    let salt_bytes: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt_bytes).map_err(|e| ApiError::system(format!("password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::system(format!("password hash: {e}")))
}

/// Does `password` match the stored hash? A damaged hash matches nothing.
pub fn verify(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// The rule a new password must meet; the seed prints six-digit examples.
pub fn check_new(password: &str, field: &str) -> ApiResult<()> {
    let n = password.chars().count();
    if !(6..=64).contains(&n) {
        return Err(ApiError::field(field, "must be 6 to 64 characters"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_salted_and_verify() {
        let (a, b) = (hash("111111").unwrap(), hash("111111").unwrap());
        assert_ne!(a, b, "each hash has its own salt");
        assert!(a.starts_with("$argon2id$"));
        assert!(!a.contains("111111"));
        assert!(verify("111111", &a) && verify("111111", &b));
        assert!(!verify("111112", &a));
        assert!(!verify("111111", "not a hash"));
    }

    #[test]
    fn new_passwords_have_a_length() {
        assert!(check_new("12345", "newPassword").is_err());
        assert!(check_new("123456", "newPassword").is_ok());
    }
}
