//! Protecting personal data: contact details are sealed (ChaCha20-Poly1305, random nonce) before they are stored,
//! and a person is known to analytics only by a keyed hash (HMAC-SHA256) of a normalized contact, so the same person
//! links across responses without anyone being able to reverse the key to an email or phone number.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use heard_domain::OrgId;
use heard_domain::identity::{PersonId, PersonKey, ReferenceId, ReferenceKey};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub struct Sealer {
    cipher: ChaCha20Poly1305,
    person_key: [u8; 32],
    request_key: [u8; 32],
    link_key: [u8; 32],
}

impl Sealer {
    /// Derives separate keys for sealing and for person hashes from the server secret.
    pub fn new(secret: &[u8; 32]) -> Sealer {
        let derive = |label: &[u8]| -> [u8; 32] {
            let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret).expect("any key length");
            mac.update(label);
            mac.finalize().into_bytes().into()
        };
        let seal_key = derive(b"heard/seal/v1");
        Sealer {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&seal_key)),
            person_key: derive(b"heard/person/v1"),
            request_key: derive(b"heard/request/v1"),
            link_key: derive(b"heard/link/v1"),
        }
    }

    /// nonce (12 bytes) || ciphertext with tag.
    pub fn seal(&self, plaintext: &str) -> Vec<u8> {
        let mut nonce = [0u8; 12];
        rand::rng().fill_bytes(&mut nonce);
        let mut out = nonce.to_vec();
        out.extend(
            self.cipher
                .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
                .expect("encryption cannot fail"),
        );
        out
    }

    pub fn open(&self, sealed: &[u8]) -> Option<String> {
        if sealed.len() < 12 + 16 {
            return None;
        }
        let (nonce, ct) = sealed.split_at(12);
        let plain = self.cipher.decrypt(Nonce::from_slice(nonce), ct).ok()?;
        String::from_utf8(plain).ok()
    }

    /// The pseudonymous key of a person within one organization, from a normalised identifier
    /// (`heard_domain::identity::PersonId`: `email:ana@example.gov`, `phone:+12025550123`, `customer:C-42`). The
    /// hash is keyed with a key derived per organization, so the same person links up across channels within an
    /// organization and cannot be linked across organizations. Every channel uses this one function.
    pub fn person_key(&self, org: OrgId, id: &PersonId) -> PersonKey {
        PersonKey(self.org_hash(org, id.as_str()))
    }

    /// The keyed hash of a case or application number within one organization, like `person_key`.
    pub fn reference_key(&self, org: OrgId, id: &ReferenceId) -> ReferenceKey {
        ReferenceKey(self.org_hash(org, id.as_str()))
    }

    fn org_hash(&self, org: OrgId, normalized: &str) -> String {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.person_key).expect("any key length");
        mac.update(b"org:");
        mac.update(org.as_uuid().as_bytes());
        let org_key = mac.finalize().into_bytes();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&org_key).expect("any key length");
        mac.update(normalized.as_bytes());
        hex(&mac.finalize().into_bytes()[..16])
    }
}

impl Sealer {
    /// A token for a link sent to a person (an email survey invitation's link, its unsubscribe link), derived with a
    /// key of its own from `purpose` and `id`: the same inputs give the same token, so a job can rebuild it and only
    /// its hash need be stored, and no one can make one without the server secret. URL-safe base64 of 32 bytes.
    pub fn link_token(&self, purpose: &str, id: &[u8]) -> String {
        use base64::Engine;
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.link_key).expect("any key length");
        mac.update(purpose.as_bytes());
        mac.update(b"\0");
        mac.update(id);
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    /// The fingerprint of a normalised request (`heard_domain::idempotency`): HMAC-SHA256 of its canonical JSON,
    /// keyed so the stored hash cannot be tested against guessed answers (they may hold contact details).
    pub fn fingerprint(
        &self,
        request: &serde_json::Value,
    ) -> heard_domain::idempotency::RequestFingerprint {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.request_key).expect("any key length");
        mac.update(heard_domain::idempotency::canonical_json(request).as_bytes());
        heard_domain::idempotency::RequestFingerprint::from_hex(hex(&mac.finalize().into_bytes()))
    }
}

pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&sha256(bytes))
}

pub fn hex(bytes: &[u8]) -> String {
    // Per byte without `format!`: hashes are made for every imported item, several per item.
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// A random token for sessions and CSRF, URL-safe base64 of 32 bytes.
pub fn random_token() -> String {
    use base64::Engine;
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

/// Compares secrets in constant time.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_contacts_open_only_with_the_same_key() {
        let s = Sealer::new(&[7u8; 32]);
        let sealed = s.seal("ana@example.gov");
        assert!(!sealed.windows(3).any(|w| w == b"ana"));
        assert_eq!(s.open(&sealed).as_deref(), Some("ana@example.gov"));
        assert_eq!(Sealer::new(&[8u8; 32]).open(&sealed), None);
        assert_ne!(s.seal("x"), s.seal("x"), "nonces differ");
    }

    #[test]
    fn person_keys_are_stable_keyed_and_per_organization() {
        let a = Sealer::new(&[1u8; 32]);
        let b = Sealer::new(&[2u8; 32]);
        let org = OrgId::new();
        let ana = |s: &str| PersonId::email("email", s).unwrap();
        assert_eq!(
            a.person_key(org, &ana("Ana@x.gov")),
            a.person_key(org, &ana("ana@x.gov"))
        );
        assert_ne!(
            a.person_key(org, &ana("ana@x.gov")),
            b.person_key(org, &ana("ana@x.gov"))
        );
        assert_ne!(
            a.person_key(org, &ana("ana@x.gov")),
            a.person_key(OrgId::new(), &ana("ana@x.gov"))
        );
    }
}
