//! Every validation branch of [`TokenValidator`], with keys from `core/testdata/jwt` (test-only).

use super::*;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{EncodingKey, Header};
use serde_json::json;

const RSA1: &str = include_str!("../../testdata/jwt/rsa1.pem");
const RSA2: &str = include_str!("../../testdata/jwt/rsa2.pem");
const EC1: &str = include_str!("../../testdata/jwt/ec1.pem");
const HS_NEW: &[u8] = b"hs256-new-secret-for-tests";
const HS_OLD: &[u8] = b"hs256-old-secret-for-tests";
const NOW: u64 = 1_700_000_000;

fn rsa(pem: &str) -> EncodingKey {
    EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap()
}

fn ec(pem: &str) -> EncodingKey {
    EncodingKey::from_ec_pem(pem.as_bytes()).unwrap()
}

/// A JWKS document with the public halves of `keys`.
fn jwks_doc(keys: &[(&str, &EncodingKey, Algorithm)]) -> String {
    let set = JwkSet {
        keys: keys
            .iter()
            .map(|(kid, key, alg)| {
                let mut jwk = Jwk::from_encoding_key(key, *alg).unwrap();
                jwk.common.key_id = Some((*kid).to_owned());
                jwk
            })
            .collect(),
    };
    serde_json::to_string(&set).unwrap()
}

fn jwks(keys: &[(&str, &EncodingKey, Algorithm)]) -> Jwks {
    let (jwks, warnings) = Jwks::parse(jwks_doc(keys).as_bytes()).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    jwks
}

fn sign(alg: Algorithm, kid: Option<&str>, claims: &Value, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn hs(claims: &Value, secret: &[u8]) -> String {
    sign(
        Algorithm::HS256,
        None,
        claims,
        &EncodingKey::from_secret(secret),
    )
}

/// Claims valid at NOW for one hour.
fn claims() -> Value {
    json!({"sub": "alice@example.com", "exp": NOW + 3600, "iat": NOW - 10})
}

fn with(mut base: Value, key: &str, value: Value) -> Value {
    base.as_object_mut().unwrap().insert(key.into(), value);
    base
}

fn without(mut base: Value, key: &str) -> Value {
    base.as_object_mut().unwrap().remove(key);
    base
}

fn hs_validator() -> TokenValidator {
    TokenValidator::new(TokenConfig {
        hs256_secrets: vec![HS_NEW.to_vec(), HS_OLD.to_vec()],
        ..Default::default()
    })
    .unwrap()
}

fn b64(json: &Value) -> String {
    B64URL.encode(json.to_string())
}

#[test]
fn hs256_accepts_every_configured_secret() {
    let v = hs_validator();
    for secret in [HS_NEW, HS_OLD] {
        let subject = v.validate(&hs(&claims(), secret), NOW).unwrap();
        assert_eq!(subject.user, "alice@example.com");
        assert_eq!(
            subject.source,
            Source::Jwt {
                alg: Alg::Hs256,
                kid: None
            }
        );
    }
    assert_eq!(
        v.validate(&hs(&claims(), b"some-other-secret"), NOW),
        Err(TokenError::BadSignature)
    );
    // Rotation finished: the old secret is gone from the configuration.
    let v = TokenValidator::new(TokenConfig {
        hs256_secrets: vec![HS_NEW.to_vec()],
        ..Default::default()
    })
    .unwrap();
    assert!(v.validate(&hs(&claims(), HS_NEW), NOW).is_ok());
    assert_eq!(
        v.validate(&hs(&claims(), HS_OLD), NOW),
        Err(TokenError::BadSignature)
    );
    assert_eq!(v.algorithms(), vec![Alg::Hs256]);
}

#[test]
fn rs256_and_es256_by_kid() {
    let (r1, e1) = (rsa(RSA1), ec(EC1));
    let v = TokenValidator::new(TokenConfig {
        jwks: jwks(&[("r1", &r1, Algorithm::RS256), ("e1", &e1, Algorithm::ES256)]),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(v.algorithms(), vec![Alg::Rs256, Alg::Es256]);
    let s = v
        .validate(&sign(Algorithm::RS256, Some("r1"), &claims(), &r1), NOW)
        .unwrap();
    assert_eq!(
        s.source,
        Source::Jwt {
            alg: Alg::Rs256,
            kid: Some("r1".into())
        }
    );
    let s = v
        .validate(&sign(Algorithm::ES256, Some("e1"), &claims(), &e1), NOW)
        .unwrap();
    assert_eq!(s.user, "alice@example.com");
    // Unknown kid, and a kid of the wrong kind of key for the algorithm.
    assert_eq!(
        v.validate(&sign(Algorithm::RS256, Some("r9"), &claims(), &r1), NOW),
        Err(TokenError::UnknownKid)
    );
    assert_eq!(
        v.validate(&sign(Algorithm::RS256, Some("e1"), &claims(), &r1), NOW),
        Err(TokenError::KeyAlgorithmMismatch)
    );
    // One key per algorithm: no kid needed.
    assert!(
        v.validate(&sign(Algorithm::ES256, None, &claims(), &e1), NOW)
            .is_ok()
    );
    // Signed by a key that is not in the set, under a trusted kid.
    let r2 = rsa(RSA2);
    assert_eq!(
        v.validate(&sign(Algorithm::RS256, Some("r1"), &claims(), &r2), NOW),
        Err(TokenError::BadSignature)
    );
}

#[test]
fn jwks_key_rotation() {
    let (r1, r2) = (rsa(RSA1), rsa(RSA2));
    let token1 = sign(Algorithm::RS256, Some("2024"), &claims(), &r1);
    let token2 = sign(Algorithm::RS256, Some("2025"), &claims(), &r2);
    let config = |jwks| TokenConfig {
        jwks,
        ..Default::default()
    };
    // Before: only the old key.
    let v = TokenValidator::new(config(jwks(&[("2024", &r1, Algorithm::RS256)]))).unwrap();
    assert!(v.validate(&token1, NOW).is_ok());
    assert_eq!(v.validate(&token2, NOW), Err(TokenError::UnknownKid));
    // During: both published, both accepted; a kid-less token is ambiguous.
    let v = TokenValidator::new(config(jwks(&[
        ("2024", &r1, Algorithm::RS256),
        ("2025", &r2, Algorithm::RS256),
    ])))
    .unwrap();
    assert!(v.validate(&token1, NOW).is_ok());
    assert!(v.validate(&token2, NOW).is_ok());
    assert_eq!(
        v.validate(&sign(Algorithm::RS256, None, &claims(), &r2), NOW),
        Err(TokenError::MissingKid)
    );
    // After: the old key withdrawn, its tokens refused.
    let v = TokenValidator::new(config(jwks(&[("2025", &r2, Algorithm::RS256)]))).unwrap();
    assert_eq!(v.validate(&token1, NOW), Err(TokenError::UnknownKid));
    assert!(v.validate(&token2, NOW).is_ok());
    // The same kid re-used for a new key: old signatures no longer verify.
    let v = TokenValidator::new(config(jwks(&[("2024", &r2, Algorithm::RS256)]))).unwrap();
    assert_eq!(v.validate(&token1, NOW), Err(TokenError::BadSignature));
}

#[test]
fn alg_none_is_refused() {
    let v = hs_validator();
    for alg in ["none", "None", "NONE"] {
        let token = format!("{}.{}.", b64(&json!({"alg": alg})), b64(&claims()));
        assert_eq!(v.validate(&token, NOW), Err(TokenError::AlgNone), "{alg}");
    }
}

#[test]
fn algorithm_confusion_is_refused() {
    let r1 = rsa(RSA1);
    let doc = jwks_doc(&[("r1", &r1, Algorithm::RS256)]);
    let public: Value = serde_json::from_str(&doc).unwrap();
    let n = public["keys"][0]["n"].as_str().unwrap().to_owned();
    // HMAC "signed" with public key material, against a server with only public keys.
    let v = TokenValidator::new(TokenConfig {
        jwks: Jwks::parse(doc.as_bytes()).unwrap().0,
        ..Default::default()
    })
    .unwrap();
    for secret in [doc.as_bytes(), n.as_bytes(), RSA1.as_bytes()] {
        let forged = sign(
            Algorithm::HS256,
            Some("r1"),
            &claims(),
            &EncodingKey::from_secret(secret),
        );
        assert_eq!(
            v.validate(&forged, NOW),
            Err(TokenError::AlgorithmNotAccepted)
        );
    }
    // With HS256 enabled too, an HS256 token is only ever checked against the HS256 secrets.
    let v = TokenValidator::new(TokenConfig {
        hs256_secrets: vec![HS_NEW.to_vec()],
        jwks: Jwks::parse(doc.as_bytes()).unwrap().0,
        ..Default::default()
    })
    .unwrap();
    let forged = sign(
        Algorithm::HS256,
        Some("r1"),
        &claims(),
        &EncodingKey::from_secret(n.as_bytes()),
    );
    assert_eq!(v.validate(&forged, NOW), Err(TokenError::BadSignature));
    // An RS256 token against a server with only HS256.
    assert_eq!(
        hs_validator().validate(&sign(Algorithm::RS256, Some("r1"), &claims(), &r1), NOW),
        Err(TokenError::AlgorithmNotAccepted)
    );
    // Algorithms never enabled.
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let t = sign(alg, None, &claims(), &EncodingKey::from_secret(HS_NEW));
        assert_eq!(
            hs_validator().validate(&t, NOW),
            Err(TokenError::AlgorithmNotAccepted)
        );
    }
    let t = sign(Algorithm::RS512, Some("r1"), &claims(), &r1);
    assert_eq!(v.validate(&t, NOW), Err(TokenError::AlgorithmNotAccepted));
}

#[test]
fn key_embedded_in_the_header_is_ignored() {
    let (r1, r2) = (rsa(RSA1), rsa(RSA2));
    let v = TokenValidator::new(TokenConfig {
        jwks: jwks(&[("r1", &r1, Algorithm::RS256)]),
        ..Default::default()
    })
    .unwrap();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("r1".into());
    header.jwk = Some(Jwk::from_encoding_key(&r2, Algorithm::RS256).unwrap());
    let token = jsonwebtoken::encode(&header, &claims(), &r2).unwrap();
    assert_eq!(v.validate(&token, NOW), Err(TokenError::BadSignature));
}

#[test]
fn tampering_is_detected() {
    let v = hs_validator();
    let token = hs(&claims(), HS_NEW);
    let parts: Vec<&str> = token.split('.').collect();
    // Another user in the claims, signature kept.
    let other = b64(&with(claims(), "sub", json!("mallory@example.com")));
    let forged = format!("{}.{}.{}", parts[0], other, parts[2]);
    assert_eq!(v.validate(&forged, NOW), Err(TokenError::BadSignature));
    // A changed signature.
    let mut sig = parts[2].to_owned();
    let first = if sig.starts_with('A') { "B" } else { "A" };
    sig.replace_range(0..1, first);
    let forged = format!("{}.{}.{}", parts[0], parts[1], sig);
    assert_eq!(v.validate(&forged, NOW), Err(TokenError::BadSignature));
    // Signature stripped.
    let forged = format!("{}.{}.", parts[0], parts[1]);
    assert_eq!(v.validate(&forged, NOW), Err(TokenError::BadSignature));
    // The same for ES256.
    let e1 = ec(EC1);
    let v = TokenValidator::new(TokenConfig {
        jwks: jwks(&[("e1", &e1, Algorithm::ES256)]),
        ..Default::default()
    })
    .unwrap();
    let token = sign(Algorithm::ES256, Some("e1"), &claims(), &e1);
    let parts: Vec<&str> = token.split('.').collect();
    let forged = format!("{}.{}.{}", parts[0], other, parts[2]);
    assert_eq!(v.validate(&forged, NOW), Err(TokenError::BadSignature));
}

#[test]
fn malformed_and_oversized_tokens() {
    let v = hs_validator();
    assert_eq!(v.validate("", NOW), Err(TokenError::Empty));
    assert_eq!(
        v.validate(&"a".repeat(MAX_TOKEN_LEN + 1), NOW),
        Err(TokenError::TooLong)
    );
    // A valid token padded past the limit is refused before any parsing.
    let padded = with(claims(), "pad", json!("x".repeat(MAX_TOKEN_LEN)));
    assert_eq!(
        v.validate(&hs(&padded, HS_NEW), NOW),
        Err(TokenError::TooLong)
    );
    for junk in ["opaque", "a.b", "a.b.c.d"] {
        assert_eq!(
            v.validate(junk, NOW),
            Err(TokenError::UnknownToken),
            "{junk}"
        );
    }
    let good = hs(&claims(), HS_NEW);
    let parts: Vec<&str> = good.split('.').collect();
    let cases = [
        format!("!!!.{}.{}", parts[1], parts[2]),
        format!("{}.{}.{}", B64URL.encode("[1,2]"), parts[1], parts[2]),
        format!("{}.{}.{}", b64(&json!({"typ": "JWT"})), parts[1], parts[2]),
        format!("{}.{}.{}", b64(&json!({"alg": 256})), parts[1], parts[2]),
        format!(
            "{}.{}.{}",
            b64(&json!({"alg": "HS256", "kid": 7})),
            parts[1],
            parts[2]
        ),
        format!(
            "{}.{}.{}",
            b64(&json!({"alg": "HS256", "crit": ["exp"]})),
            parts[1],
            parts[2]
        ),
    ];
    for token in &cases {
        assert!(
            matches!(v.validate(token, NOW), Err(TokenError::Malformed(_))),
            "{token}: {:?}",
            v.validate(token, NOW)
        );
    }
    // Claims that are not a JSON object, correctly signed.
    let header = b64(&json!({"alg": "HS256", "typ": "JWT"}));
    let payload = B64URL.encode("[\"not\", \"an object\"]");
    let message = format!("{header}.{payload}");
    let sig = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_secret(HS_NEW),
        Algorithm::HS256,
    )
    .unwrap();
    assert!(matches!(
        v.validate(&format!("{message}.{sig}"), NOW),
        Err(TokenError::Malformed(_))
    ));
}

#[test]
fn expiry_and_clock_skew() {
    let exp = NOW + 100;
    let token = hs(&with(claims(), "exp", json!(exp)), HS_NEW);
    let strict = hs_validator();
    assert!(strict.validate(&token, exp - 1).is_ok());
    // Not accepted on or after exp.
    assert_eq!(strict.validate(&token, exp), Err(TokenError::Expired));
    assert_eq!(
        strict.validate(&token, exp + 1000),
        Err(TokenError::Expired)
    );
    // With 30 s of allowed skew: accepted up to exp + 29.
    let lenient = TokenValidator::new(TokenConfig {
        hs256_secrets: vec![HS_NEW.to_vec()],
        leeway_secs: 30,
        ..Default::default()
    })
    .unwrap();
    assert!(lenient.validate(&token, exp + 29).is_ok());
    assert_eq!(lenient.validate(&token, exp + 30), Err(TokenError::Expired));
    // exp is required.
    assert_eq!(
        strict.validate(&hs(&without(claims(), "exp"), HS_NEW), NOW),
        Err(TokenError::MissingClaim("exp"))
    );
    // Fractional dates are allowed; strings and negative numbers are not.
    assert!(
        strict
            .validate(
                &hs(&with(claims(), "exp", json!(NOW as f64 + 10.5)), HS_NEW),
                NOW
            )
            .is_ok()
    );
    for bad in [json!("tomorrow"), json!(-5), json!(null), json!(-0.5)] {
        assert_eq!(
            strict.validate(&hs(&with(claims(), "exp", bad.clone()), HS_NEW), NOW),
            Err(TokenError::BadTimeClaim("exp")),
            "{bad}"
        );
    }
    // Huge values do not overflow.
    assert!(
        strict
            .validate(&hs(&with(claims(), "exp", json!(u64::MAX)), HS_NEW), NOW)
            .is_ok()
    );
    assert!(
        lenient
            .validate(&hs(&with(claims(), "exp", json!(1e300)), HS_NEW), NOW)
            .is_ok()
    );
}

#[test]
fn not_before_and_issued_at_with_skew() {
    let nbf = NOW + 20;
    let token = hs(&with(claims(), "nbf", json!(nbf)), HS_NEW);
    let strict = hs_validator();
    assert_eq!(strict.validate(&token, NOW), Err(TokenError::NotYetValid));
    assert!(strict.validate(&token, nbf).is_ok());
    let lenient = TokenValidator::new(TokenConfig {
        hs256_secrets: vec![HS_NEW.to_vec()],
        leeway_secs: 20,
        ..Default::default()
    })
    .unwrap();
    // A server clock 20 s behind the issuer's still accepts it.
    assert!(lenient.validate(&token, NOW).is_ok());
    assert_eq!(
        lenient.validate(&token, NOW - 1),
        Err(TokenError::NotYetValid)
    );
    assert_eq!(
        strict.validate(&hs(&with(claims(), "nbf", json!("soon")), HS_NEW), NOW),
        Err(TokenError::BadTimeClaim("nbf"))
    );
    // iat in the future beyond the skew.
    let token = hs(&with(claims(), "iat", json!(NOW + 21)), HS_NEW);
    assert_eq!(
        lenient.validate(&token, NOW),
        Err(TokenError::IssuedInFuture)
    );
    assert!(lenient.validate(&token, NOW + 1).is_ok());
    assert_eq!(
        strict.validate(&hs(&with(claims(), "iat", json!([1])), HS_NEW), NOW),
        Err(TokenError::BadTimeClaim("iat"))
    );
    // iat and nbf are optional.
    let bare = without(claims(), "iat");
    assert!(strict.validate(&hs(&bare, HS_NEW), NOW).is_ok());
}

#[test]
fn issuer_and_audience() {
    let v = TokenValidator::new(TokenConfig {
        hs256_secrets: vec![HS_NEW.to_vec()],
        issuer: Some("https://idp.example.com".into()),
        audience: Some("hearth".into()),
        ..Default::default()
    })
    .unwrap();
    let good = with(
        with(claims(), "iss", json!("https://idp.example.com")),
        "aud",
        json!("hearth"),
    );
    assert!(v.validate(&hs(&good, HS_NEW), NOW).is_ok());
    let check = |claims: Value| v.validate(&hs(&claims, HS_NEW), NOW);
    assert_eq!(
        check(with(good.clone(), "iss", json!("https://evil.example.com"))),
        Err(TokenError::WrongIssuer)
    );
    assert_eq!(
        check(with(
            good.clone(),
            "iss",
            json!(["https://idp.example.com"])
        )),
        Err(TokenError::WrongIssuer)
    );
    assert_eq!(
        check(without(good.clone(), "iss")),
        Err(TokenError::MissingClaim("iss"))
    );
    assert!(check(with(good.clone(), "aud", json!(["other", "hearth"]))).is_ok());
    assert_eq!(
        check(with(good.clone(), "aud", json!(["other"]))),
        Err(TokenError::WrongAudience)
    );
    assert_eq!(
        check(with(good.clone(), "aud", json!("hearth2"))),
        Err(TokenError::WrongAudience)
    );
    assert_eq!(
        check(with(good.clone(), "aud", json!(1))),
        Err(TokenError::WrongAudience)
    );
    assert_eq!(
        check(without(good.clone(), "aud")),
        Err(TokenError::MissingClaim("aud"))
    );
    // Not configured: not checked.
    assert!(
        hs_validator()
            .validate(&hs(&with(claims(), "iss", json!("anyone")), HS_NEW), NOW)
            .is_ok()
    );
}

#[test]
fn user_claim_sub_or_email() {
    let v = hs_validator();
    let check = |v: &TokenValidator, claims: Value| v.validate(&hs(&claims, HS_NEW), NOW);
    assert_eq!(
        check(&v, without(claims(), "sub")),
        Err(TokenError::MissingClaim("sub"))
    );
    for bad in [
        json!(42),
        json!(""),
        json!("a\"b"),
        json!("a\\b"),
        json!("a\nb"),
        json!("u".repeat(MAX_USER_LEN + 1)),
    ] {
        assert_eq!(
            check(&v, with(claims(), "sub", bad.clone())),
            Err(TokenError::BadUser),
            "{bad}"
        );
    }
    let by_email = TokenValidator::new(TokenConfig {
        hs256_secrets: vec![HS_NEW.to_vec()],
        user_claim: UserClaim::Email,
        ..Default::default()
    })
    .unwrap();
    let c = with(claims(), "email", json!("bob@example.org"));
    assert_eq!(check(&by_email, c.clone()).unwrap().user, "bob@example.org");
    assert!(check(&by_email, with(c.clone(), "email_verified", json!(true))).is_ok());
    assert_eq!(
        check(&by_email, with(c.clone(), "email_verified", json!(false))),
        Err(TokenError::EmailNotVerified)
    );
    assert_eq!(
        check(&by_email, claims()),
        Err(TokenError::MissingClaim("email"))
    );
}

#[test]
fn static_tokens() {
    let mut table = BTreeMap::new();
    table.insert("lab-token-alice".to_owned(), "alice".to_owned());
    table.insert("lab-token-bob".to_owned(), "bob@lab".to_owned());
    let v = TokenValidator::new(TokenConfig {
        static_tokens: table.clone(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        v.validate("lab-token-bob", NOW),
        Ok(Subject {
            user: "bob@lab".into(),
            source: Source::Static
        })
    );
    assert_eq!(v.validate("lab-token-alice", 0).unwrap().user, "alice");
    for wrong in ["lab-token-alic", "lab-token-alicee", "LAB-TOKEN-ALICE"] {
        assert_eq!(v.validate(wrong, NOW), Err(TokenError::UnknownToken));
    }
    // Only static tokens configured: any JWT is refused.
    assert_eq!(
        v.validate(&hs(&claims(), HS_NEW), NOW),
        Err(TokenError::AlgorithmNotAccepted)
    );
    assert!(v.algorithms().is_empty());
    // Static tokens and JWTs side by side.
    let both = TokenValidator::new(TokenConfig {
        hs256_secrets: vec![HS_NEW.to_vec()],
        static_tokens: table,
        ..Default::default()
    })
    .unwrap();
    assert!(both.validate("lab-token-alice", NOW).is_ok());
    assert!(both.validate(&hs(&claims(), HS_NEW), NOW).is_ok());
}

#[test]
fn configurations_that_cannot_work_are_refused() {
    assert!(
        TokenValidator::new(TokenConfig::default())
            .unwrap()
            .accepts_nothing()
    );
    assert!(!hs_validator().accepts_nothing());
    assert!(
        TokenValidator::new(TokenConfig {
            hs256_secrets: vec![Vec::new()],
            ..Default::default()
        })
        .is_err()
    );
    for (token, user) in [("", "alice"), ("t", ""), ("t", "a\"b")] {
        let mut table = BTreeMap::new();
        table.insert(token.to_owned(), user.to_owned());
        assert!(
            TokenValidator::new(TokenConfig {
                static_tokens: table,
                ..Default::default()
            })
            .is_err(),
            "{token:?} -> {user:?}"
        );
    }
    // A JWKS with no usable key and nothing else: it builds (revocation) but refuses all.
    let (empty, _) = Jwks::parse(br#"{"keys": []}"#).unwrap();
    let v = TokenValidator::new(TokenConfig {
        jwks: empty,
        ..Default::default()
    })
    .unwrap();
    assert!(v.accepts_nothing());
    let r1 = rsa(RSA1);
    assert_eq!(
        v.validate(&sign(Algorithm::RS256, Some("r1"), &claims(), &r1), NOW),
        Err(TokenError::AlgorithmNotAccepted)
    );
    assert_eq!(v.validate("opaque", NOW), Err(TokenError::UnknownToken));
}

#[test]
fn jwks_parsing_skips_unusable_keys() {
    let r1 = rsa(RSA1);
    let good = jwks_doc(&[("r1", &r1, Algorithm::RS256)]);
    let good: Value = serde_json::from_str(&good).unwrap();
    let rsa_key = good["keys"][0].clone();
    let small_n = B64URL.encode([0xffu8; 128]); // 1024 bits
    let p256_x = B64URL.encode([1u8; 32]);
    let doc = json!({"keys": [
        rsa_key,
        with(rsa_key.clone(), "use", json!("enc")),
        with(rsa_key.clone(), "alg", json!("RS384")),
        with(with(rsa_key.clone(), "n", json!(small_n)), "kid", json!("small")),
        {"kty": "oct", "k": "c2VjcmV0", "kid": "hmac"},
        {"kty": "EC", "crv": "P-384", "x": p256_x, "y": p256_x, "kid": "p384"},
        {"kty": "EC", "crv": "P-256", "x": "AQ", "y": p256_x, "kid": "short"},
        {"kty": "OKP", "crv": "Ed25519", "x": p256_x, "kid": "ed"},
        {"kty": "XYZ", "kid": "future"},
        "not an object",
        with(rsa_key.clone(), "kid", json!("r1")),
    ]});
    let (jwks, warnings) = Jwks::parse(doc.to_string().as_bytes()).unwrap();
    assert_eq!(jwks.len(), 2, "{jwks:?}");
    assert_eq!(jwks.kids().collect::<Vec<_>>(), vec!["r1", "r1"]);
    assert_eq!(warnings.len(), 10, "{warnings:#?}");
    assert!(warnings.iter().any(|w| w.contains("1024 bits")));
    assert!(warnings.iter().any(|w| w.contains("already used")));

    assert!(matches!(
        Jwks::parse(b"not json"),
        Err(JwksError::NotAKeySet(_))
    ));
    assert!(matches!(
        Jwks::parse(br#"{"key": []}"#),
        Err(JwksError::NotAKeySet(_))
    ));
    let many = json!({ "keys": vec![json!({"kty": "oct"}); MAX_JWKS_KEYS + 1] });
    assert_eq!(
        Jwks::parse(many.to_string().as_bytes()).map(|_| ()),
        Err(JwksError::TooManyKeys(MAX_JWKS_KEYS + 1))
    );
    let huge = vec![b' '; MAX_JWKS_BYTES + 1];
    assert_eq!(
        Jwks::parse(&huge).map(|_| ()),
        Err(JwksError::TooLarge(MAX_JWKS_BYTES + 1))
    );
}

#[test]
fn error_descriptions_fit_a_bearer_challenge() {
    let all = [
        TokenError::Empty,
        TokenError::TooLong,
        TokenError::UnknownToken,
        TokenError::Malformed("header is not base64url"),
        TokenError::AlgNone,
        TokenError::AlgorithmNotAccepted,
        TokenError::UnknownKid,
        TokenError::KeyAlgorithmMismatch,
        TokenError::MissingKid,
        TokenError::BadSignature,
        TokenError::MissingClaim("exp"),
        TokenError::BadTimeClaim("nbf"),
        TokenError::Expired,
        TokenError::NotYetValid,
        TokenError::IssuedInFuture,
        TokenError::WrongIssuer,
        TokenError::WrongAudience,
        TokenError::BadUser,
        TokenError::EmailNotVerified,
    ];
    for e in all {
        let text = e.to_string();
        assert!(!text.is_empty());
        // RFC 6750 §3: error_description is %x20-21 / %x23-5B / %x5D-7E.
        assert!(
            text.bytes()
                .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
            "{text}"
        );
    }
}
