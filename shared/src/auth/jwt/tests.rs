//! JWT verification against tokens signed here with HS256.

use jsonwebtoken::{encode, EncodingKey, Header};
use serde_json::json;

use super::*;
use crate::auth::Role;

const SECRET: &str = "a-test-secret-of-enough-length-0123456789";

fn config() -> JwtConfig {
    JwtConfig {
        keys: JwtKeys::Hs256(Secret::new(SECRET.into())),
        issuer: "https://issuer.example".into(),
        audience: "mcpflow".into(),
        tenant_claim: "tenant".into(),
        role_claim: "role".into(),
        leeway_secs: 30,
    }
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn token(claims: &Value, secret: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

fn claims() -> Value {
    json!({"sub": "alice", "iss": "https://issuer.example", "aud": "mcpflow", "exp": now() + 300,
           "tenant": "acme", "role": "operator"})
}

#[test]
fn a_valid_token_yields_its_tenant_role_and_subject() {
    let p = verify(&config(), &token(&claims(), SECRET)).unwrap();
    assert_eq!(
        (p.tenant.as_str(), p.subject.as_str(), p.role, p.method),
        ("acme", "alice", Role::Operator, AuthMethod::Jwt)
    );
}

#[test]
fn wrong_signature_issuer_audience_and_expiry_are_refused() {
    let mut bad_iss = claims();
    bad_iss["iss"] = json!("https://evil.example");
    let mut bad_aud = claims();
    bad_aud["aud"] = json!("someone-else");
    let mut expired = claims();
    expired["exp"] = json!(now() - 120);
    let mut not_yet = claims();
    not_yet["nbf"] = json!(now() + 120);
    for t in [
        token(&claims(), "another-secret-another-secret-0000"),
        token(&bad_iss, SECRET),
        token(&bad_aud, SECRET),
        token(&expired, SECRET),
        token(&not_yet, SECRET),
    ] {
        assert!(verify(&config(), &t).is_err(), "accepted {t}");
    }
}

#[test]
fn expiry_within_the_leeway_is_accepted() {
    let mut c = claims();
    c["exp"] = json!(now() - 10);
    assert!(verify(&config(), &token(&c, SECRET)).is_ok());
}

#[test]
fn alg_none_is_refused() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine as _;
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let body = URL_SAFE_NO_PAD.encode(claims().to_string());
    assert!(verify(&config(), &format!("{header}.{body}.")).is_err());
}

#[test]
fn a_token_without_a_role_claim_is_refused_with_a_reason() {
    let mut c = claims();
    c.as_object_mut().unwrap().remove("role");
    assert_eq!(
        verify(&config(), &token(&c, SECRET)).unwrap_err().0,
        "token has no role claim"
    );
}

#[test]
fn a_token_whose_tenant_claim_breaks_the_pattern_is_refused_naming_the_claim() {
    for tenant in ["a#b", "Acme", "", "a%23b", &"t".repeat(64)] {
        let mut c = claims();
        c["tenant"] = json!(tenant);
        let err = verify(&config(), &token(&c, SECRET)).unwrap_err().0;
        assert!(
            err.starts_with("the token's tenant claim is not a valid tenant")
                && err.contains(crate::tenant::TENANT_PATTERN),
            "{tenant:?}: {err}"
        );
    }
    let mut not_text = claims();
    not_text["tenant"] = json!(42);
    assert_eq!(
        verify(&config(), &token(&not_text, SECRET)).unwrap_err().0,
        "token has no tenant claim"
    );
}

mod rs256 {
    //! RS256 with a JWKS document; the key pair in `testdata/` is a throwaway made for these tests.
    use super::*;

    const KEY: &[u8] = include_bytes!("../testdata/rsa-test-key.pem");
    const JWKS: &str = include_str!("../testdata/jwks.json");

    fn rs_config() -> JwtConfig {
        JwtConfig {
            keys: JwtKeys::Rs256(serde_json::from_str(JWKS).unwrap()),
            ..config()
        }
    }

    fn rs_token(kid: Option<&str>) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = kid.map(str::to_owned);
        encode(&header, &claims(), &EncodingKey::from_rsa_pem(KEY).unwrap()).unwrap()
    }

    #[test]
    fn a_token_signed_by_a_jwks_key_is_accepted() {
        let p = verify(&rs_config(), &rs_token(Some("test-1"))).unwrap();
        assert_eq!((p.tenant.as_str(), p.role), ("acme", Role::Operator));
        // A single-key JWKS also serves tokens without a kid.
        assert!(verify(&rs_config(), &rs_token(None)).is_ok());
    }

    #[test]
    fn an_unknown_kid_or_an_hs256_token_is_refused() {
        assert!(verify(&rs_config(), &rs_token(Some("other"))).is_err());
        // Algorithm confusion: HS256 "signed" with public material must not pass an RS256 deployment.
        let confused = token(&claims(), JWKS);
        assert_eq!(
            verify(&rs_config(), &confused).unwrap_err().0,
            "tokens must be signed with RS256"
        );
    }
}

#[test]
fn the_expiry_of_a_verified_token_is_its_exp_claim() {
    let claims = claims();
    let token = token(&claims, SECRET);
    let principal = verify(&config(), &token);
    assert!(principal.is_ok(), "{principal:?}");
    assert_eq!(expiry(&token), claims["exp"].as_i64());
    assert_eq!(expiry("mcpf_not_a_jwt"), None);
}
