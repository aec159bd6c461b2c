//! The provisioning API (Homestead-prov), driven over HTTP against the real binary with 2 shards.

mod common;

use common::{IFC_XML, Server, data_dir, enc, provision, public_identity_xml};

const HA1: &str = "0123456789abcdef0123456789abcdef";

#[test]
fn ellis_sequence_verbatim() {
    let dir = data_dir();
    let s = Server::start(dir.path(), 2);
    let impi = "6505550001@example.com";
    let impu = "sip:6505550001@example.com";

    // PUT /private/<impi> {digest_ha1, realm}
    let r = s.prov(
        "PUT",
        &format!("/private/{}", enc(impi)),
        Some((
            "application/json",
            &format!(r#"{{"digest_ha1":"{HA1}","realm":"example.com"}}"#),
        )),
    );
    assert_eq!(r.status, 200);
    // POST /irs/
    let r = s.prov("POST", "/irs/", None);
    assert_eq!(r.status, 201);
    let irs_location = r.location.unwrap();
    assert!(irs_location.starts_with("/irs/"), "{irs_location}");
    let irs = irs_location.trim_start_matches("/irs/").to_string();
    // PUT /private/<impi>/associated_implicit_registration_sets/<irs>
    let r = s.prov(
        "PUT",
        &format!(
            "/private/{}/associated_implicit_registration_sets/{irs}",
            enc(impi)
        ),
        None,
    );
    assert_eq!(r.status, 200);
    // GET that list
    let r = s.prov(
        "GET",
        &format!(
            "/private/{}/associated_implicit_registration_sets/",
            enc(impi)
        ),
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json()["associated_implicit_registration_sets"],
        serde_json::json!([irs])
    );
    // POST /irs/<irs>/service_profiles
    let r = s.prov("POST", &format!("/irs/{irs}/service_profiles"), None);
    assert_eq!(r.status, 201);
    let sp_location = r.location.unwrap();
    assert!(sp_location.starts_with(&format!("/irs/{irs}/service_profiles/")));
    // PUT .../public_ids/<impu> with a PublicIdentity XML
    let r = s.prov(
        "PUT",
        &format!("{sp_location}/public_ids/{}", enc(impu)),
        Some(("application/xml", &public_identity_xml(impu))),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    // GET /public/<impu>/service_profile → 303 to the profile
    let r = s.prov(
        "GET",
        &format!("/public/{}/service_profile", enc(impu)),
        None,
    );
    assert_eq!(r.status, 303);
    assert_eq!(r.location.as_deref(), Some(sp_location.as_str()));
    // PUT .../filter_criteria
    let r = s.prov(
        "PUT",
        &format!("{sp_location}/filter_criteria"),
        Some(("application/xml", IFC_XML)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = s.prov("GET", &format!("{sp_location}/filter_criteria"), None);
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<InitialFilterCriteria>"), "{}", r.body);
    assert!(r.body.contains("sip:mmtel.example.com"), "{}", r.body);

    // And the signalling side sees the subscriber at once.
    let r = s.sig(
        "GET",
        &format!("/impi/{}/av/digest?impu={}", enc(impi), enc(impu)),
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(
        r.json(),
        serde_json::json!({"digest": {"ha1": HA1, "qop": "auth", "realm": "example.com"}})
    );
}

#[test]
fn private_ids() {
    let dir = data_dir();
    let s = Server::start(dir.path(), 2);
    let path = "/private/alice%40example.com";
    assert_eq!(s.prov("GET", path, None).status, 404);
    // plaintext_password: HA1 computed, realm defaults to the home domain, password echoed.
    let r = s.prov(
        "PUT",
        path,
        Some(("application/json", r#"{"plaintext_password":"secret"}"#)),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let got = s.prov("GET", path, None).json();
    assert_eq!(got["realm"], "example.com");
    assert_eq!(got["plaintext_password"], "secret");
    // md5("alice@example.com:example.com:secret"), computed independently with Python hashlib.
    assert_eq!(got["digest_ha1"], "c79656e4f06dbae9fdf6727654273c65");
    // A digest_ha1 update drops the stored plaintext password.
    let r = s.prov(
        "PUT",
        path,
        Some((
            "application/json",
            &format!(r#"{{"digest_ha1":"{HA1}","realm":"other.net"}}"#),
        )),
    );
    assert_eq!(r.status, 200);
    let got = s.prov("GET", path, None).json();
    assert_eq!(
        got,
        serde_json::json!({"digest_ha1": HA1, "realm": "other.net"})
    );
    // AKA credentials are stored but never echoed.
    let r = s.prov(
        "PUT",
        path,
        Some((
            "application/json",
            &format!(
                r#"{{"digest_ha1":"{HA1}","aka":{{"k":"465b5ce8b199b49faa5f0a2ee238a6bc","op":"cdc202d5123e20f62b6d676ac72cb318","amf":"b9b9","sqn":"000000000020"}}}}"#
            ),
        )),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let body = s.prov("GET", path, None).body;
    assert!(!body.contains("aka") && !body.contains("465b5c"), "{body}");
    // Bad bodies: 400 with a reason.
    for bad in [
        "{",
        "[]",
        r#"{"digest_ha1": 5}"#,
        r#"{"digest_ha1":"xyz"}"#,
        r#"{"realm":"example.com"}"#,
        r#"{"digest_ha1":"0123456789abcdef0123456789abcdef","plaintext_password":"x"}"#,
        r#"{"digest_ha1":"0123456789abcdef0123456789abcdef","unknown":1}"#,
        r#"{"aka":{"k":"00"}}"#,
    ] {
        let r = s.prov("PUT", path, Some(("application/json", bad)));
        assert_eq!(r.status, 400, "{bad} → {}", r.body);
        assert!(!r.body.is_empty(), "a reason is given for {bad}");
    }
    // DELETE: 200, then 204.
    assert_eq!(s.prov("DELETE", path, None).status, 200);
    assert_eq!(s.prov("DELETE", path, None).status, 204);
    assert_eq!(s.prov("GET", path, None).status, 404);
    // Methods not allowed.
    assert_eq!(s.prov("POST", path, None).status, 405);
}

#[test]
fn irs_service_profiles_and_public_ids() {
    let dir = data_dir();
    let s = Server::start(dir.path(), 2);
    let impi = "bob@example.com";
    let impus = ["sip:bob@example.com", "tel:+16505550002"];
    let sub = provision(&s, impi, &impus, HA1);
    let sp_url = format!("/irs/{}/service_profiles/{}", sub.irs, sub.sp);

    let r = s.prov("GET", &format!("/irs/{}/public_ids", sub.irs), None);
    assert_eq!(r.status, 200);
    let mut ids: Vec<String> = serde_json::from_value(r.json()["public_ids"].clone()).unwrap();
    ids.sort();
    assert_eq!(ids, vec!["sip:bob@example.com", "tel:+16505550002"]);
    let r = s.prov("GET", &format!("/irs/{}/private_ids", sub.irs), None);
    assert_eq!(r.json()["private_ids"], serde_json::json!([impi]));
    let r = s.prov("GET", &format!("{sp_url}/public_ids"), None);
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["public_ids"].as_array().unwrap().len(), 2);
    let r = s.prov("GET", &format!("/public/{}/irs", enc(impus[1])), None);
    assert_eq!(r.status, 303);
    assert_eq!(
        r.location.as_deref(),
        Some(format!("/irs/{}", sub.irs).as_str())
    );
    let r = s.prov(
        "GET",
        &format!("/public/{}/associated_private_ids", enc(impus[0])),
        None,
    );
    assert_eq!(r.json()["private_ids"], serde_json::json!([impi]));
    let r = s.prov(
        "GET",
        &format!("/private/{}/associated_public_ids", enc(impi)),
        None,
    );
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["public_ids"].as_array().unwrap().len(), 2);

    // 403 when the body's identity differs from the URL; 400 for broken XML; 404 for unknown SP.
    let r = s.prov(
        "PUT",
        &format!("{sp_url}/public_ids/{}", enc("sip:carol@example.com")),
        Some((
            "application/xml",
            &public_identity_xml("sip:mallory@example.com"),
        )),
    );
    assert_eq!(r.status, 403);
    let r = s.prov(
        "PUT",
        &format!("{sp_url}/public_ids/{}", enc("sip:carol@example.com")),
        Some((
            "application/xml",
            "<PublicIdentity><Identity>sip:carol@example.com",
        )),
    );
    assert_eq!(r.status, 400);
    let r = s.prov(
        "PUT",
        &format!(
            "/irs/{}/service_profiles/{}/public_ids/x",
            sub.irs,
            uuid_zero()
        ),
        Some(("application/xml", &public_identity_xml("x"))),
    );
    assert_eq!(r.status, 404);
    let r = s.prov(
        "PUT",
        &format!("{sp_url}/filter_criteria"),
        Some(("application/xml", "<ServiceProfile></ServiceProfile>")),
    );
    assert_eq!(
        r.status, 400,
        "a ServiceProfile needs an InitialFilterCriteria"
    );

    // Private ID association by the IRS side, then removal.
    let other = "carol@example.com";
    s.prov(
        "PUT",
        &format!("/private/{other}"),
        Some(("application/json", &format!(r#"{{"digest_ha1":"{HA1}"}}"#))),
    );
    assert_eq!(
        s.prov(
            "PUT",
            &format!("/irs/{}/private_ids/{other}", sub.irs),
            None
        )
        .status,
        200
    );
    let r = s.prov("GET", &format!("/irs/{}/private_ids", sub.irs), None);
    assert_eq!(r.json()["private_ids"].as_array().unwrap().len(), 2);
    assert_eq!(
        s.prov(
            "DELETE",
            &format!("/irs/{}/private_ids/{other}", sub.irs),
            None
        )
        .status,
        200
    );
    assert_eq!(
        s.prov("PUT", &format!("/irs/{}/private_ids/nobody", sub.irs), None)
            .status,
        404
    );
    assert_eq!(
        s.prov(
            "PUT",
            &format!("/irs/{}/private_ids/{other}", uuid_zero()),
            None
        )
        .status,
        404
    );

    // Delete one public ID, then the profile, then the IRS (cascades).
    assert_eq!(
        s.prov(
            "DELETE",
            &format!("{sp_url}/public_ids/{}", enc(impus[1])),
            None
        )
        .status,
        200
    );
    assert_eq!(
        s.prov(
            "DELETE",
            &format!("{sp_url}/public_ids/{}", enc(impus[1])),
            None
        )
        .status,
        404
    );
    assert_eq!(
        s.prov("GET", &format!("/public/{}/irs", enc(impus[1])), None)
            .status,
        404
    );
    assert_eq!(s.prov("DELETE", &sp_url, None).status, 200);
    assert_eq!(s.prov("DELETE", &sp_url, None).status, 204);
    assert_eq!(
        s.prov(
            "GET",
            &format!("/public/{}/service_profile", enc(impus[0])),
            None
        )
        .status,
        404
    );
    assert_eq!(
        s.prov("DELETE", &format!("/irs/{}", sub.irs), None).status,
        200
    );
    assert_eq!(
        s.prov("DELETE", &format!("/irs/{}", sub.irs), None).status,
        204
    );
    assert_eq!(
        s.prov("GET", &format!("/irs/{}/public_ids", sub.irs), None)
            .status,
        404
    );
    let r = s.prov(
        "GET",
        &format!(
            "/private/{}/associated_implicit_registration_sets",
            enc(impi)
        ),
        None,
    );
    assert_eq!(
        r.json()["associated_implicit_registration_sets"],
        serde_json::json!([])
    );
}

fn uuid_zero() -> &'static str {
    "00000000-0000-0000-0000-000000000000"
}

#[test]
fn public_listing_streams_all_ids_and_chunks_partition_them() {
    let dir = data_dir();
    let s = Server::start(dir.path(), 2);
    let mut all = Vec::new();
    for i in 0..30 {
        let impu = format!("sip:user{i}@example.com");
        provision(&s, &format!("user{i}@example.com"), &[&impu], HA1);
        all.push(impu);
    }
    all.sort();
    let r = s.prov("GET", "/public/", None);
    assert_eq!(r.status, 200);
    let list = r.json()["public_ids"].as_array().unwrap().clone();
    assert_eq!(list.len(), 30);
    assert!(
        list.iter()
            .all(|e| e["sp"].is_string() && e["irs"].is_string())
    );
    let r = s.prov("GET", "/public/?excludeuuids=true", None);
    let list = r.json()["public_ids"].as_array().unwrap().clone();
    assert!(list.iter().all(|e| e.as_object().unwrap().len() == 1));
    // The chunks of one proportion partition the whole listing.
    let mut seen: Vec<String> = Vec::new();
    for chunk in 0..4 {
        let r = s.prov(
            "GET",
            &format!("/public/?excludeuuids=true&chunk-proportion=4&chunk={chunk}"),
            None,
        );
        assert_eq!(r.status, 200);
        for e in r.json()["public_ids"].as_array().unwrap() {
            seen.push(e["public_id"].as_str().unwrap().to_string());
        }
    }
    seen.sort();
    assert_eq!(seen, all);
    assert_eq!(
        s.prov("GET", "/public/?chunk-proportion=4&chunk=4", None)
            .status,
        400
    );
    assert_eq!(
        s.prov("GET", "/public/?excludeuuids=maybe", None).status,
        400
    );
}
