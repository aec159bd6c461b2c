//! Feeds arbitrary bytes to the bearer-token validator (as a token, with HS256, a JWKS and static
//! tokens configured) and to the JWKS parser. Nothing may panic; every error must be a short text
//! that fits a `WWW-Authenticate: Bearer` error_description.

#![no_main]

use std::collections::BTreeMap;

use hearth_core::token::{Jwks, TokenConfig, TokenValidator, UserClaim};
use libfuzzer_sys::fuzz_target;

/// One P-256 key (the public half of core/testdata/jwt/ec1.pem is not needed: any point works
/// for exercising the paths; an invalid point just fails verification).
const JWKS: &[u8] = br#"{"keys":[{"kty":"EC","crv":"P-256","kid":"e1",
"x":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE","y":"AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE"}]}"#;

fuzz_target!(|data: &[u8]| {
    let _ = Jwks::parse(data);
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let (jwks, _) = Jwks::parse(JWKS).expect("fixed JWKS");
    let mut statics = BTreeMap::new();
    statics.insert("lab-token".to_owned(), "alice".to_owned());
    for user_claim in [UserClaim::Sub, UserClaim::Email] {
        let validator = TokenValidator::new(TokenConfig {
            hs256_secrets: vec![b"secret".to_vec()],
            jwks: jwks.clone(),
            issuer: Some("iss".into()),
            audience: Some("aud".into()),
            user_claim,
            leeway_secs: 60,
            static_tokens: statics.clone(),
        })
        .expect("validator");
        for now in [0, 1_700_000_000, u64::MAX] {
            if let Err(e) = validator.validate(token, now) {
                let text = e.to_string();
                assert!(text.len() < 128, "{text}");
                assert!(
                    text.bytes()
                        .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\'),
                    "{text}"
                );
            }
        }
    }
});
