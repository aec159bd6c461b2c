//! Homestead-prov's provisioning API (what Ellis and OSS/BSS drive), on the embedded store.
//!
//! Every write is durable before its 2xx (the store's group commit) and the shards owning the
//! identities it touched have dropped their cached views before the answer goes out, so a
//! provisioning answer is always followed by signalling answers that reflect it.

use std::rc::Rc;

use bytes::Bytes;
use hearth_core::crypto::milenage::compute_opc;
use hearth_core::http::{Method, Request, Response};
use hearth_core::model::{AkaCredentials, validate_identity};
use hearth_core::xml;
use serde::Deserialize;
use serde_json::json;

use super::{error, json, method_not_allowed, store_error};
use crate::engine::{Reply, Shard};
use crate::store::{AkaUpdate, Missing, Outcome, PrivateUpdate, Written};

/// Public IDs read from the store per page while streaming `/public/`.
const LISTING_PAGE: usize = 1000;

/// Routes a provisioning request.
pub async fn handle(shard: &Rc<Shard>, req: &Request, segs: &[&str]) -> Reply {
    // "/irs/" and "/irs" name the same collection.
    let segs = match segs {
        [rest @ .., ""] => rest,
        s => s,
    };
    // HEAD is answered as GET; the encoder sends the headers only.
    let m = match &req.method {
        Method::Head => &Method::Get,
        other => other,
    };
    // With an external HSS the HSS masters subscriber data: Cx offers no way to write it, so the
    // provisioning API is read-only (as Homestead's).
    if shard.config.hss_mode()
        && matches!(m, Method::Put | Method::Post | Method::Delete)
        && !matches!(segs, ["ping"] | ["metrics"])
    {
        return error(
            405,
            "the provisioning API is read-only while an external HSS is configured \
             (hss_hostname, hss_realm or hss.peers); provision subscribers in the HSS",
        )
        .with_header("Allow", "GET, HEAD")
        .into();
    }
    let response = match segs {
        ["ping"] => match m {
            Method::Get | Method::Head => Response::text(200, "OK"),
            _ => method_not_allowed("GET"),
        },
        ["metrics"] => match m {
            Method::Get | Method::Head => metrics(shard).await,
            _ => method_not_allowed("GET"),
        },
        ["private", impi] => match m {
            Method::Put => put_private(shard, req, impi).await,
            Method::Get => get_private(shard, impi).await,
            Method::Delete => delete_private(shard, impi).await,
            _ => method_not_allowed("GET, PUT, DELETE"),
        },
        ["private", impi, "associated_implicit_registration_sets"] => match m {
            Method::Get => private_irs_list(shard, impi).await,
            _ => method_not_allowed("GET"),
        },
        [
            "private",
            impi,
            "associated_implicit_registration_sets",
            irs,
        ]
        | ["irs", irs, "private_ids", impi] => match m {
            Method::Put => associate(shard, impi, irs, true).await,
            Method::Delete => associate(shard, impi, irs, false).await,
            _ => method_not_allowed("PUT, DELETE"),
        },
        ["private", impi, "associated_public_ids"] => match m {
            Method::Get => private_public_ids(shard, impi).await,
            _ => method_not_allowed("GET"),
        },
        ["irs"] => match m {
            Method::Post => create_irs(shard).await,
            _ => method_not_allowed("POST"),
        },
        ["irs", irs] => match m {
            Method::Delete => delete_irs(shard, irs).await,
            _ => method_not_allowed("DELETE"),
        },
        ["irs", irs, "public_ids"] => match m {
            Method::Get => irs_public_ids(shard, irs).await,
            _ => method_not_allowed("GET"),
        },
        ["irs", irs, "private_ids"] => match m {
            Method::Get => irs_private_ids(shard, irs).await,
            _ => method_not_allowed("GET"),
        },
        ["irs", irs, "service_profiles"] => match m {
            Method::Post => create_service_profile(shard, irs).await,
            _ => method_not_allowed("POST"),
        },
        ["irs", irs, "service_profiles", sp] => match m {
            Method::Delete => delete_service_profile(shard, irs, sp).await,
            _ => method_not_allowed("DELETE"),
        },
        ["irs", irs, "service_profiles", sp, "public_ids"] => match m {
            Method::Get => sp_public_ids(shard, irs, sp).await,
            _ => method_not_allowed("GET"),
        },
        ["irs", irs, "service_profiles", sp, "public_ids", impu] => match m {
            Method::Put => put_public(shard, req, irs, sp, impu).await,
            Method::Get => get_public_identity(shard, irs, sp, impu).await,
            Method::Delete => delete_public(shard, irs, sp, impu).await,
            _ => method_not_allowed("GET, PUT, DELETE"),
        },
        ["irs", irs, "service_profiles", sp, "filter_criteria"] => match m {
            Method::Put => put_filter_criteria(shard, req, irs, sp).await,
            Method::Get => get_filter_criteria(shard, irs, sp).await,
            _ => method_not_allowed("GET, PUT"),
        },
        ["public", impu, "service_profile"] => match m {
            Method::Get => public_redirect(shard, impu, true).await,
            _ => method_not_allowed("GET"),
        },
        ["public", impu, "irs"] => match m {
            Method::Get => public_redirect(shard, impu, false).await,
            _ => method_not_allowed("GET"),
        },
        ["public", impu, "associated_private_ids"] => match m {
            Method::Get => public_private_ids(shard, impu).await,
            _ => method_not_allowed("GET"),
        },
        ["public"] => match m {
            Method::Get => return list_public(shard, req),
            _ => method_not_allowed("GET"),
        },
        _ => error(404, "no such resource"),
    };
    Reply::Full(response)
}

/// Prometheus text exposition of the store side's counters.
async fn metrics(shard: &Rc<Shard>) -> Response {
    let st = shard.store.stats();
    let mut out = String::new();
    for (name, help, value) in [
        (
            "hearth_store_reads_total",
            "Read jobs run by the store threads.",
            st.reads,
        ),
        (
            "hearth_store_writes_total",
            "Write jobs run by the store writer.",
            st.writes,
        ),
        (
            "hearth_store_syncs_total",
            "Journal syncs (one per group commit).",
            st.syncs,
        ),
        (
            "hearth_store_sync_failures_total",
            "Failed syncs.",
            st.sync_failures,
        ),
        (
            "hearth_store_timeouts_total",
            "Jobs that timed out in a queue.",
            st.timeouts,
        ),
        (
            "hearth_store_rejected_total",
            "Jobs refused (queue full or closed).",
            st.rejected,
        ),
        (
            "hearth_store_panics_total",
            "Jobs that panicked.",
            st.panics,
        ),
    ] {
        out.push_str(&format!(
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}\n"
        ));
    }
    render_link_metrics(&shard.link_metrics().await, &mut out);
    Response::new(200).with_body("text/plain; version=0.0.4", out)
}

/// Every shard's Diameter link, one metric family at a time (the text format wants a family's
/// lines together), each family under its TYPE line.
fn render_link_metrics(links: &[crate::diameter::LinkMetrics], out: &mut String) {
    let mut text = String::new();
    for link in links {
        link.render(&mut text);
    }
    let mut lines: Vec<&str> = text.lines().collect();
    let family = |line: &str| line.split(['{', ' ']).next().unwrap_or_default().to_owned();
    // Stable: within a family, shards stay in order.
    lines.sort_by_key(|line| family(line));
    let mut current = String::new();
    for line in lines {
        let name = family(line);
        if name != current {
            let kind = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            out.push_str(&format!("# TYPE {name} {kind}\n"));
            current = name;
        }
        out.push_str(line);
        out.push('\n');
    }
}

fn check_identity(what: &str, id: &str) -> Result<(), Response> {
    validate_identity(id).map_err(|e| error(400, format!("{what}: {e}")))
}

fn check_uuid(what: &str, id: &str) -> Result<(), Response> {
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| error(404, format!("{what} not found (not a UUID)")))
}

// ------------------------------------------------------------------ private IDs

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PrivateBody {
    #[serde(default)]
    digest_ha1: Option<String>,
    #[serde(default)]
    plaintext_password: Option<String>,
    #[serde(default)]
    realm: Option<String>,
    /// Absent: keep stored AKA credentials; `null`: remove them; an object: set them.
    #[serde(default, deserialize_with = "present_or_null")]
    aka: Option<Option<AkaBody>>,
}

/// Tells an explicit `null` (Some(None)) from an absent field (None, via `default`).
fn present_or_null<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<AkaBody>>, D::Error> {
    Option::<AkaBody>::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AkaBody {
    k: String,
    #[serde(default)]
    opc: Option<String>,
    #[serde(default)]
    op: Option<String>,
    #[serde(default)]
    amf: Option<String>,
    #[serde(default)]
    sqn: Option<String>,
}

fn hex_field<const N: usize>(name: &str, text: &str) -> Result<[u8; N], Response> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out)
        .map_err(|_| error(400, format!("aka.{name} must be {} hex digits", 2 * N)))?;
    Ok(out)
}

fn parse_aka(body: &AkaBody) -> Result<AkaCredentials, Response> {
    let k: [u8; 16] = hex_field("k", &body.k)?;
    let opc = match (&body.opc, &body.op) {
        (Some(opc), None) => hex_field::<16>("opc", opc)?,
        (None, Some(op)) => compute_opc(&k, &hex_field::<16>("op", op)?),
        (Some(_), Some(_)) => return Err(error(400, "aka: give either opc or op, not both")),
        (None, None) => return Err(error(400, "aka: one of opc or op is required")),
    };
    let amf: [u8; 2] = hex_field("amf", body.amf.as_deref().unwrap_or("8000"))?;
    let sqn: [u8; 6] = hex_field("sqn", body.sqn.as_deref().unwrap_or("000000000000"))?;
    Ok(AkaCredentials {
        k: hex::encode(k),
        opc: hex::encode(opc),
        amf: hex::encode(amf),
        sqn: hearth_core::crypto::aka::sqn_from_bytes(&sqn),
    })
}

async fn put_private(shard: &Rc<Shard>, req: &Request, impi: &str) -> Response {
    if let Err(r) = check_identity("private ID", impi) {
        return r;
    }
    let body: PrivateBody = match serde_json::from_slice(&req.body) {
        Ok(b) => b,
        Err(e) => return error(400, format!("invalid JSON body: {e}")),
    };
    let realm = body
        .realm
        .clone()
        .unwrap_or_else(|| shard.config.home_domain.clone());
    if realm.is_empty() || realm.len() > 255 || realm.chars().any(char::is_control) {
        return error(
            400,
            "realm must be 1 to 255 characters without control characters",
        );
    }
    let (digest_ha1, plaintext_password) = match (&body.digest_ha1, &body.plaintext_password) {
        (Some(_), Some(_)) => {
            return error(
                400,
                "give either digest_ha1 or plaintext_password, not both",
            );
        }
        (Some(ha1), None) => {
            if ha1.len() != 32 || !ha1.bytes().all(|b| b.is_ascii_hexdigit()) {
                return error(400, "digest_ha1 must be 32 hex digits (MD5)");
            }
            (ha1.to_ascii_lowercase(), None)
        }
        (None, Some(pw)) => {
            if pw.len() > 1024 {
                return error(400, "plaintext_password is longer than 1024 bytes");
            }
            let ha1 = hearth_core::crypto::digest::ha1(
                hearth_core::crypto::digest::DigestAlgorithm::Md5,
                impi,
                &realm,
                pw.as_bytes(),
                "",
                "",
            );
            (ha1.as_hex().to_string(), Some(pw.clone()))
        }
        (None, None) if matches!(body.aka, Some(Some(_))) => (String::new(), None),
        (None, None) => {
            return error(400, "the body needs digest_ha1, plaintext_password or aka");
        }
    };
    let aka = match &body.aka {
        Some(Some(a)) => match parse_aka(a) {
            Ok(c) => AkaUpdate::Set(c),
            Err(r) => return r,
        },
        Some(None) => AkaUpdate::Remove,
        // A password change from Ellis (no "aka") keeps AKA credentials provisioned earlier.
        None => AkaUpdate::Keep,
    };
    let update = PrivateUpdate {
        digest_ha1,
        realm,
        plaintext_password,
        aka,
    };
    let key = impi.to_string();
    let result = shard.store.put_private(&key, update).await;
    written_response(shard, result, 200).await
}

async fn get_private(shard: &Rc<Shard>, impi: &str) -> Response {
    let key = impi.to_string();
    match shard.store.get_private(&key).await {
        Ok(Some(rec)) => {
            let mut body = json!({"digest_ha1": rec.digest_ha1, "realm": rec.realm});
            if let Some(pw) = rec.plaintext_password {
                body["plaintext_password"] = json!(pw);
            }
            // AKA credentials are never echoed.
            json(200, &body)
        }
        Ok(None) => error(404, "private ID not found"),
        Err(e) => store_error(&e),
    }
}

async fn delete_private(shard: &Rc<Shard>, impi: &str) -> Response {
    let key = impi.to_string();
    let result = shard.store.delete_private(&key).await;
    deletion_response(shard, result, Response::empty(204)).await
}

async fn private_irs_list(shard: &Rc<Shard>, impi: &str) -> Response {
    let key = impi.to_string();
    match shard.store.get_private(&key).await {
        Ok(Some(rec)) => json(
            200,
            &json!({"associated_implicit_registration_sets": rec.irs}),
        ),
        Ok(None) => error(404, "private ID not found"),
        Err(e) => store_error(&e),
    }
}

async fn associate(shard: &Rc<Shard>, impi: &str, irs: &str, add: bool) -> Response {
    if let Err(r) = check_uuid("IRS", irs) {
        return r;
    }
    let (impi_key, irs_key) = (impi.to_string(), irs.to_string());
    let result = if add {
        shard.store.associate(&impi_key, &irs_key).await
    } else {
        shard.store.dissociate(&impi_key, &irs_key).await
    };
    written_response(shard, result, 200).await
}

fn missing_response(missing: Missing) -> Response {
    error(404, format!("{missing} not found"))
}

/// The answer to a write: `ok_status` (invalidating what it changed first), 404 naming what was
/// missing, 409 on a conflict, or the store error.
async fn written_response(
    shard: &Rc<Shard>,
    result: Result<Written, crate::store::StoreError>,
    ok_status: u16,
) -> Response {
    match result {
        Ok(w) => match w.outcome {
            Outcome::NotFound(missing) => missing_response(missing),
            Outcome::Conflict => error(409, "the resource exists under another parent"),
            _ => {
                shard.invalidate(&w.affected).await;
                Response::empty(ok_status)
            }
        },
        Err(e) => store_error(&e),
    }
}

/// The answer to a delete: 200 once removed, `absent` when there was nothing to remove.
async fn deletion_response(
    shard: &Rc<Shard>,
    result: Result<Written, crate::store::StoreError>,
    absent: Response,
) -> Response {
    match result {
        Ok(w) => match w.outcome {
            Outcome::NotFound(_) => absent,
            _ => {
                shard.invalidate(&w.affected).await;
                Response::empty(200)
            }
        },
        Err(e) => store_error(&e),
    }
}

async fn private_public_ids(shard: &Rc<Shard>, impi: &str) -> Response {
    let key = impi.to_string();
    match shard.store.auth_view(&key).await {
        Ok(Some(view)) => json(200, &json!({"public_ids": view.impus})),
        Ok(None) => error(404, "private ID not found"),
        Err(e) => store_error(&e),
    }
}

// ------------------------------------------------------------------ IRSs

async fn create_irs(shard: &Rc<Shard>) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let key = id.clone();
    match shard.store.create_irs(&key).await {
        Ok(_) => Response::empty(201).with_header("Location", format!("/irs/{id}")),
        Err(e) => store_error(&e),
    }
}

async fn delete_irs(shard: &Rc<Shard>, irs: &str) -> Response {
    if uuid::Uuid::parse_str(irs).is_err() {
        return Response::empty(204);
    }
    let key = irs.to_string();
    let result = shard.store.delete_irs(&key).await;
    deletion_response(shard, result, Response::empty(204)).await
}

async fn irs_public_ids(shard: &Rc<Shard>, irs: &str) -> Response {
    if let Err(r) = check_uuid("IRS", irs) {
        return r;
    }
    let key = irs.to_string();
    let result = shard.store.irs_public_ids(&key).await;
    match result {
        Ok(Some(ids)) => json(200, &json!({"public_ids": ids})),
        Ok(None) => error(404, "IRS not found"),
        Err(e) => store_error(&e),
    }
}

async fn irs_private_ids(shard: &Rc<Shard>, irs: &str) -> Response {
    if let Err(r) = check_uuid("IRS", irs) {
        return r;
    }
    let key = irs.to_string();
    match shard.store.get_irs(&key).await {
        Ok(Some(rec)) => json(200, &json!({"private_ids": rec.private_ids})),
        Ok(None) => error(404, "IRS not found"),
        Err(e) => store_error(&e),
    }
}

// ------------------------------------------------------------------ service profiles

async fn create_service_profile(shard: &Rc<Shard>, irs: &str) -> Response {
    if let Err(r) = check_uuid("IRS", irs) {
        return r;
    }
    let sp = uuid::Uuid::new_v4().to_string();
    let (irs_key, sp_key) = (irs.to_string(), sp.clone());
    match shard.store.create_service_profile(&irs_key, &sp_key).await {
        Ok(w) => match w.outcome {
            Outcome::NotFound(missing) => missing_response(missing),
            Outcome::Conflict => error(409, "service profile exists in another IRS"),
            _ => Response::empty(201)
                .with_header("Location", format!("/irs/{irs}/service_profiles/{sp}")),
        },
        Err(e) => store_error(&e),
    }
}

async fn delete_service_profile(shard: &Rc<Shard>, irs: &str, sp: &str) -> Response {
    if uuid::Uuid::parse_str(irs).is_err() || uuid::Uuid::parse_str(sp).is_err() {
        return Response::empty(204);
    }
    let (irs_key, sp_key) = (irs.to_string(), sp.to_string());
    let result = shard.store.delete_service_profile(&irs_key, &sp_key).await;
    deletion_response(shard, result, Response::empty(204)).await
}

/// The service profile `sp` if it exists and belongs to `irs`.
async fn profile_in(
    shard: &Rc<Shard>,
    irs: &str,
    sp: &str,
) -> Result<hearth_core::model::ServiceProfileRecord, Response> {
    check_uuid("IRS", irs)?;
    check_uuid("service profile", sp)?;
    let key = sp.to_string();
    match shard.store.get_service_profile(&key).await {
        Ok(Some(rec)) if rec.irs == irs => Ok(rec),
        Ok(_) => Err(error(404, "service profile not found in this IRS")),
        Err(e) => Err(store_error(&e)),
    }
}

async fn sp_public_ids(shard: &Rc<Shard>, irs: &str, sp: &str) -> Response {
    match profile_in(shard, irs, sp).await {
        Ok(rec) => json(200, &json!({"public_ids": rec.public_ids})),
        Err(r) => r,
    }
}

async fn put_public(shard: &Rc<Shard>, req: &Request, irs: &str, sp: &str, impu: &str) -> Response {
    if let Err(r) = check_identity("public ID", impu) {
        return r;
    }
    if let Err(r) = check_uuid("IRS", irs).and(check_uuid("service profile", sp)) {
        return r;
    }
    let doc = match xml::public_identity::parse_public_identity(&req.body) {
        Ok(d) => d,
        Err(e) => return error(400, format!("invalid PublicIdentity XML: {e}")),
    };
    if doc.identity != impu {
        return error(
            403,
            "the Identity in the PublicIdentity body differs from the public ID in the URL",
        );
    }
    let (irs_key, sp_key, impu_key) = (irs.to_string(), sp.to_string(), impu.to_string());
    let identity_xml = doc.xml;
    let result = shard
        .store
        .put_public(&irs_key, &sp_key, &impu_key, identity_xml)
        .await;
    written_response(shard, result, 200).await
}

async fn get_public_identity(shard: &Rc<Shard>, irs: &str, sp: &str, impu: &str) -> Response {
    let key = impu.to_string();
    match shard.store.get_public(&key).await {
        Ok(Some(rec)) if rec.irs == irs && rec.service_profile == sp => {
            Response::xml(200, rec.identity_xml)
        }
        Ok(_) => error(404, "public ID not found in this service profile"),
        Err(e) => store_error(&e),
    }
}

async fn delete_public(shard: &Rc<Shard>, irs: &str, sp: &str, impu: &str) -> Response {
    let (irs_key, sp_key, impu_key) = (irs.to_string(), sp.to_string(), impu.to_string());
    let result = shard
        .store
        .delete_public(&irs_key, &sp_key, &impu_key)
        .await;
    deletion_response(
        shard,
        result,
        error(404, "public ID not found in this service profile"),
    )
    .await
}

async fn put_filter_criteria(shard: &Rc<Shard>, req: &Request, irs: &str, sp: &str) -> Response {
    if let Err(r) = check_uuid("IRS", irs).and(check_uuid("service profile", sp)) {
        return r;
    }
    let doc = match xml::service_profile::parse_service_profile(&req.body) {
        Ok(d) => d,
        Err(e) => return error(400, format!("invalid ServiceProfile XML: {e}")),
    };
    // The profile's content (iFCs and allowed siblings, canonical and in schema order) is what an
    // IMSSubscription embeds; storing it ready-made keeps the signalling path a concatenation.
    let parts = vec![doc.content];
    let (irs_key, sp_key, xml_doc) = (irs.to_string(), sp.to_string(), doc.xml);
    let result = shard
        .store
        .put_filter_criteria(&irs_key, &sp_key, xml_doc, parts)
        .await;
    written_response(shard, result, 200).await
}

async fn get_filter_criteria(shard: &Rc<Shard>, irs: &str, sp: &str) -> Response {
    match profile_in(shard, irs, sp).await {
        Ok(rec) => match rec.filter_xml {
            Some(doc) => Response::xml(200, doc),
            None => error(
                404,
                "no filter criteria configured for this service profile",
            ),
        },
        Err(r) => r,
    }
}

// ------------------------------------------------------------------ public IDs (read only)

async fn public_redirect(shard: &Rc<Shard>, impu: &str, to_profile: bool) -> Response {
    let key = impu.to_string();
    match shard.store.get_public(&key).await {
        Ok(Some(rec)) => {
            let location = if to_profile {
                format!("/irs/{}/service_profiles/{}", rec.irs, rec.service_profile)
            } else {
                format!("/irs/{}", rec.irs)
            };
            Response::empty(303).with_header("Location", location)
        }
        Ok(None) => error(404, "public ID not found"),
        Err(e) => store_error(&e),
    }
}

async fn public_private_ids(shard: &Rc<Shard>, impu: &str) -> Response {
    let key = impu.to_string();
    let result = shard
        .store
        .public_view(&key)
        .await
        .map(|view| view.map(|v| v.private_ids().to_vec()));
    match result {
        Ok(Some(ids)) => json(200, &json!({"private_ids": ids})),
        Ok(None) => error(404, "public ID not found"),
        Err(e) => store_error(&e),
    }
}

/// `GET /public/?excludeuuids=&chunk-proportion=&chunk=`: every public ID, streamed page by page
/// with chunked encoding (no pacing pauses: pages are read on store threads, never blocking a shard).
fn list_public(shard: &Rc<Shard>, req: &Request) -> Reply {
    let exclude_uuids = match req.query_param("excludeuuids").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return error(400, "excludeuuids must be true or false").into(),
    };
    let proportion: u64 = match req.query_param("chunk-proportion") {
        None => 256,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if (1..=1_000_000).contains(&n) => n,
            _ => return error(400, "chunk-proportion must be an integer from 1 to 1000000").into(),
        },
    };
    let chunk: Option<u64> = match req.query_param("chunk") {
        None => None,
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n < proportion => Some(n),
            _ => return error(400, "chunk must be an integer below chunk-proportion").into(),
        },
    };
    let (tx, rx) = glommio::channels::local_channel::new_bounded::<Bytes>(4);
    let shard = Rc::clone(shard);
    glommio::spawn_local(async move {
        if tx
            .send(Bytes::from_static(b"{\"public_ids\":["))
            .await
            .is_err()
        {
            return;
        }
        let mut after: Option<String> = None;
        let mut first = true;
        loop {
            let cursor = after.clone();
            let page = match shard.store.list_public(cursor, LISTING_PAGE).await {
                Ok(p) => p,
                Err(e) => {
                    // The head is gone already: end the body early so the client sees a
                    // truncated (invalid) JSON document rather than a silent partial list.
                    tracing::warn!(error = %e, "listing aborted by a store error");
                    return;
                }
            };
            let done = page.len() < LISTING_PAGE;
            after = page.last().map(|(impu, _)| impu.clone());
            let mut piece = String::with_capacity(page.len() * 64);
            for (impu, rec) in &page {
                if let Some(c) = chunk
                    && crate::engine::route::stable_hash(impu.as_bytes()) % proportion != c
                {
                    continue;
                }
                if !first {
                    piece.push(',');
                }
                first = false;
                let entry = if exclude_uuids {
                    json!({"public_id": impu})
                } else {
                    json!({"public_id": impu, "sp": rec.service_profile, "irs": rec.irs})
                };
                piece.push_str(&entry.to_string());
            }
            if !piece.is_empty() && tx.send(Bytes::from(piece)).await.is_err() {
                return;
            }
            if done {
                break;
            }
        }
        let _ = tx.send(Bytes::from_static(b"]}")).await;
    })
    .detach();
    Reply::Chunked {
        head: Response::new(200).with_header("Content-Type", "application/json"),
        chunks: rx,
    }
}
