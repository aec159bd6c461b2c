//! Homestead's signalling API without an HSS: `/impi/<id>/av...`, `/impi/<id>/registration-status`,
//! `/impu/<id>/reg-data` and `/impu/<id>/location`. Runs on the shard owning the identity.

use std::cell::Cell;
use std::collections::HashSet;
use std::rc::Rc;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hearth_core::crypto::aka::{self, SqnPolicy};
use hearth_core::crypto::milenage::Milenage;
use hearth_core::http::{Method, Request, Response};
use hearth_core::model::{RegState, RegistrationRecord};
use hearth_core::regdata::{self, RegDataRequest, RequestType};
use hearth_core::xml;
use serde_json::json;

use super::cache::{AkaEntry, AuthEntry, PublicEntry};
use super::{error, json, method_not_allowed, store_error};
use crate::engine::{Shard, unix_now};
use crate::store::Outcome;

/// SQNs reserved in the store per write: one durable write per this many AKA vectors.
const SQN_BLOCK: u64 = 32;

/// Routes a signalling request.
pub async fn handle(shard: &Rc<Shard>, req: &Request, segs: &[&str]) -> Response {
    if let Some(link) = shard.diameter.clone()
        && segs != ["ping"]
    {
        return super::hss::handle(shard, &link, req, segs).await;
    }
    match segs {
        ["ping"] => ping(req),
        ["impi", impi, "av"] => av(shard, req, impi, AvKind::Any).await,
        ["impi", impi, "av", "digest"] => av(shard, req, impi, AvKind::Digest).await,
        ["impi", impi, "av", "aka"] => av(shard, req, impi, AvKind::Aka(1)).await,
        ["impi", impi, "av", "aka2"] => av(shard, req, impi, AvKind::Aka(2)).await,
        ["impi", impi, "digest"] => legacy_digest(shard, req, impi).await,
        ["impi", impi, "registration-status"] => registration_status(shard, req, impi).await,
        ["impu", impu, "reg-data"] => match req.method {
            Method::Get | Method::Head => reg_data_get(shard, impu).await,
            Method::Put => reg_data_put(shard, req, impu).await,
            _ => method_not_allowed("GET, PUT"),
        },
        ["impu", impu, "location"] => location(shard, req, impu).await,
        _ => error(404, "no such resource"),
    }
}

fn ping(req: &Request) -> Response {
    match req.method {
        Method::Get | Method::Head => Response::text(200, "OK"),
        _ => method_not_allowed("GET"),
    }
}

/// `None` for GET and HEAD, else the 405 answer.
pub(super) fn only_get(req: &Request) -> Option<Response> {
    match req.method {
        Method::Get | Method::Head => None,
        _ => Some(method_not_allowed("GET")),
    }
}

// ------------------------------------------------------------------ cache fills

/// The cached authentication view of `impi`, read from the store on a miss.
async fn auth_entry(shard: &Rc<Shard>, impi: &str) -> Result<Option<Rc<AuthEntry>>, Response> {
    if let Some(entry) = shard.state.auth.borrow().get(impi) {
        return Ok(Some(entry));
    }
    let generation = shard.state.auth.borrow().generation();
    let key = impi.to_string();
    let view = shard
        .store
        .auth_view(&key)
        .await
        .map_err(|e| store_error(&e))?;
    let Some(view) = view else { return Ok(None) };
    let aka = match &view.aka {
        None => None,
        Some(creds) => {
            let k = decode16(&creds.k);
            let opc = decode16(&creds.opc);
            let amf = hex_array::<2>(&creds.amf);
            match (k, opc, amf) {
                (Some(k), Some(opc), Some(amf)) => Some(AkaEntry {
                    milenage: Milenage::new(&k, &opc),
                    amf,
                    reserved_up_to: Cell::new(creds.sqn),
                    next_in_block: Cell::new(None),
                }),
                _ => return Err(error(500, "stored AKA credentials are corrupt")),
            }
        }
    };
    let entry = Rc::new(AuthEntry {
        digest_ha1: view.digest_ha1,
        realm: view.realm,
        impus: view.impus.into_iter().collect::<HashSet<_>>(),
        aka,
    });
    shard
        .state
        .auth
        .borrow_mut()
        .fill(impi, Rc::clone(&entry), generation);
    Ok(Some(entry))
}

/// The cached view of `impu`, read from the store on a miss.
async fn public_entry(shard: &Rc<Shard>, impu: &str) -> Result<Option<Rc<PublicEntry>>, Response> {
    if let Some(entry) = shard.state.public.borrow().get(impu) {
        return Ok(Some(entry));
    }
    let generation = shard.state.public.borrow().generation();
    let key = impu.to_string();
    let view = shard
        .store
        .public_view(&key)
        .await
        .map_err(|e| store_error(&e))?;
    let Some(view) = view else { return Ok(None) };
    let registration = view.registration.clone().unwrap_or_default();
    let entry = Rc::new(PublicEntry { view, registration });
    shard
        .state
        .public
        .borrow_mut()
        .fill(impu, Rc::clone(&entry), generation);
    Ok(Some(entry))
}

fn decode16(text: &str) -> Option<[u8; 16]> {
    hex_array::<16>(text)
}

fn hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}

// ------------------------------------------------------------------ /impi/<id>/av

#[derive(Clone, Copy, PartialEq, Eq)]
enum AvKind {
    /// Bare `/av`: the server chooses (digest when the IMPI has a password, else AKA).
    Any,
    Digest,
    /// AKA version 1 or 2.
    Aka(u8),
}

async fn av(shard: &Rc<Shard>, req: &Request, impi: &str, kind: AvKind) -> Response {
    if let Some(r) = only_get(req) {
        return r;
    }
    let entry = match auth_entry(shard, impi).await {
        Ok(Some(e)) => e,
        Ok(None) => return error(404, "private identity not found"),
        Err(r) => return r,
    };
    if let Some(impu) = req.query_param("impu")
        && !entry.impus.contains(impu.as_ref())
    {
        return error(
            404,
            "the private identity does not authenticate this public identity",
        );
    }
    let kind = match kind {
        AvKind::Any if !entry.digest_ha1.is_empty() => AvKind::Digest,
        AvKind::Any => AvKind::Aka(1),
        other => other,
    };
    match kind {
        AvKind::Digest => {
            if entry.digest_ha1.is_empty() {
                return error(404, "no digest credentials for this private identity");
            }
            digest_answer(&entry)
        }
        AvKind::Aka(version) => aka_vector(shard, req, impi, &entry, version).await,
        AvKind::Any => error(500, "unreachable authentication kind"),
    }
}

/// `{"digest":{"ha1":…,"qop":"auth","realm":…}}`, serialised straight from borrowed fields (this is
/// the hottest answer Hearth gives).
fn digest_answer(entry: &AuthEntry) -> Response {
    #[derive(serde::Serialize)]
    struct Digest<'a> {
        ha1: &'a str,
        qop: &'static str,
        realm: &'a str,
    }
    #[derive(serde::Serialize)]
    struct Answer<'a> {
        digest: Digest<'a>,
    }
    let answer = Answer {
        digest: Digest {
            ha1: &entry.digest_ha1,
            qop: "auth",
            realm: &entry.realm,
        },
    };
    match serde_json::to_vec(&answer) {
        Ok(body) => Response::json(200, body),
        Err(e) => error(500, format!("cannot encode answer: {e}")),
    }
}

async fn aka_vector(
    shard: &Rc<Shard>,
    req: &Request,
    impi: &str,
    entry: &AuthEntry,
    version: u8,
) -> Response {
    let Some(aka_entry) = &entry.aka else {
        return error(404, "no AKA credentials for this private identity");
    };
    let policy = match SqnPolicy::new(shard.config.aka.ind_bits, SqnPolicy::default().delta()) {
        Ok(p) => p,
        Err(e) => return error(500, format!("AKA configuration: {e}")),
    };
    // Resynchronisation: Sprout sends resync-auth = base64(RAND || AUTS); the API document names
    // it autn. Both are accepted.
    let resync = req
        .query_param("resync-auth")
        .or_else(|| req.query_param("autn"));
    let _permit = match shard.state.sqn_lock.acquire_permit(1).await {
        Ok(g) => g,
        Err(_) => return error(503, "shard is shutting down"),
    };
    if let Some(value) = resync {
        let (rand, auts) = match aka::decode_resync_auth(&value) {
            Ok(parts) => parts,
            Err(e) => return error(400, format!("resync-auth: {e}")),
        };
        let sqn_ms = match aka::resync(&aka_entry.milenage, &rand, &auts) {
            Ok(s) => aka::sqn_from_bytes(&s),
            Err(e) => return error(403, format!("resynchronisation refused: {e}")),
        };
        // Continue after the terminal's counter (Annex C: SEQ_MS + 1, next IND): store the value
        // before it as the last one used, and drop what is left of the current block.
        let next = match policy.next_after_resync(sqn_ms) {
            Ok(n) => n,
            Err(e) => return error(403, format!("resynchronisation refused: {e}")),
        };
        let key = impi.to_string();
        let last_used = next.saturating_sub(1);
        match shard.store.set_aka_sqn(&key, last_used).await {
            Ok(w) if matches!(w.outcome, Outcome::NotFound(_)) => {
                return error(404, "no AKA credentials for this private identity");
            }
            Ok(_) => {}
            Err(e) => return store_error(&e),
        }
        aka_entry.reserved_up_to.set(last_used);
        aka_entry.next_in_block.set(None);
    }
    let sqn = match next_sqn(shard, impi, aka_entry, &policy).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let sqn_bytes = match aka::sqn_to_bytes(sqn) {
        Ok(b) => b,
        Err(e) => return error(500, format!("SQN: {e}")),
    };
    let vector = aka::generate_vector(
        &aka_entry.milenage,
        &mut rand::rng(),
        sqn_bytes,
        aka_entry.amf,
    );
    json(
        200,
        &json!({"aka": {
            "challenge": vector.sip_nonce(),
            "response": hex::encode(vector.xres),
            "crypt_key": B64.encode(vector.ck),
            "integrity_key": B64.encode(vector.ik),
            "cryptkey": hex::encode(vector.ck),
            "integritykey": hex::encode(vector.ik),
            "version": version,
        }}),
    )
}

/// The next SQN for `impi`. SQNs are issued as consecutive values of SEQ || IND, so IND cycles
/// through every index and each index sees its SEQ grow by one per cycle (TS 33.102 Annex C.2:
/// the USIM accepts a SEQ above the last one seen for that IND). Blocks of `SQN_BLOCK` values are
/// reserved in the store before any is used, so a crash never leads to SQN reuse.
///
/// No SQN with SEQ 0 is ever issued: a fresh USIM starts with SEQ_MS(i) = 0 for every IND and
/// accepts only a greater SEQ (Annex C.2.2), so the first SQN after the default provisioned value
/// 0 is SEQ 1, IND 0.
async fn next_sqn(
    shard: &Rc<Shard>,
    impi: &str,
    aka_entry: &AkaEntry,
    policy: &SqnPolicy,
) -> Result<u64, Response> {
    if let Some(next) = aka_entry.next_in_block.get()
        && next <= aka_entry.reserved_up_to.get()
    {
        aka_entry.next_in_block.set(Some(next + 1));
        return Ok(next);
    }
    // The smallest SQN with SEQ 1; reserve up to it on top of the block when still below.
    let floor = 1u64 << policy.ind_bits();
    let count = SQN_BLOCK + (floor - 1).saturating_sub(aka_entry.reserved_up_to.get());
    let key = impi.to_string();
    let written = shard
        .store
        .reserve_sqn(&key, count)
        .await
        .map_err(|e| store_error(&e))?;
    let Some(block) = written.outcome else {
        return Err(error(404, "no AKA credentials for this private identity"));
    };
    let first = block.first_sqn.max(floor);
    if first > block.aka.sqn {
        // Only if the stored SQN went down under us (new credentials with another key): the next
        // request reserves again from the new value.
        aka_entry.reserved_up_to.set(block.aka.sqn);
        aka_entry.next_in_block.set(None);
        return Err(error(
            503,
            "AKA credentials changed during the request; retry",
        ));
    }
    aka_entry.reserved_up_to.set(block.aka.sqn);
    aka_entry.next_in_block.set(Some(first + 1));
    Ok(first)
}

/// Homestead's legacy `GET /impi/<id>/digest?public_id=` → `{"digest_ha1": ...}`.
async fn legacy_digest(shard: &Rc<Shard>, req: &Request, impi: &str) -> Response {
    if let Some(r) = only_get(req) {
        return r;
    }
    let entry = match auth_entry(shard, impi).await {
        Ok(Some(e)) if !e.digest_ha1.is_empty() => e,
        Ok(_) => return error(404, "private identity not found"),
        Err(r) => return r,
    };
    if let Some(impu) = req.query_param("public_id")
        && !entry.impus.contains(impu.as_ref())
    {
        return error(
            404,
            "the private identity does not authenticate this public identity",
        );
    }
    json(200, &json!({"digest_ha1": entry.digest_ha1}))
}

// ------------------------------------------------------------------ registration-status

async fn registration_status(shard: &Rc<Shard>, req: &Request, impi: &str) -> Response {
    if let Some(r) = only_get(req) {
        return r;
    }
    if let Some(auth_type) = req.query_param("auth-type")
        && !matches!(auth_type.as_ref(), "REG" | "DEREG" | "CAPAB")
    {
        return error(400, "auth-type must be REG, DEREG or CAPAB");
    }
    let Some(impu) = req.query_param("impu") else {
        return error(400, "the impu parameter is required");
    };
    let entry = match auth_entry(shard, impi).await {
        Ok(Some(e)) => e,
        Ok(None) => return error(404, "private identity not found"),
        Err(r) => return r,
    };
    if !entry.impus.contains(impu.as_ref()) {
        // Unknown public identity (404) or one this IMPI may not use (403).
        let key = impu.to_string();
        return match shard.store.get_public(&key).await {
            Ok(None) => error(404, "public identity not found"),
            Ok(Some(_)) => error(
                403,
                "the private identity is not associated with this public identity",
            ),
            Err(e) => store_error(&e),
        };
    }
    json(
        200,
        &json!({"result-code": 2001, "scscf": shard.config.scscf_uri}),
    )
}

// ------------------------------------------------------------------ location

async fn location(shard: &Rc<Shard>, req: &Request, impu: &str) -> Response {
    if let Some(r) = only_get(req) {
        return r;
    }
    if let Some(auth_type) = req.query_param("auth-type")
        && auth_type != "CAPAB"
    {
        return error(400, "auth-type must be CAPAB");
    }
    if let Some(orig) = req.query_param("originating")
        && !matches!(orig.as_ref(), "true" | "false")
    {
        return error(400, "originating must be true or false");
    }
    match public_entry(shard, impu).await {
        Ok(Some(_)) => json(
            200,
            &json!({"result-code": 2001, "scscf": shard.config.scscf_uri}),
        ),
        Ok(None) => error(404, "public identity not found"),
        Err(r) => r,
    }
}

// ------------------------------------------------------------------ reg-data

async fn reg_data_get(shard: &Rc<Shard>, impu: &str) -> Response {
    match public_entry(shard, impu).await {
        Ok(Some(entry)) => reg_data_response(&entry, &entry.registration, None),
        Ok(None) => error(404, "public identity not found"),
        Err(r) => r,
    }
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RegDataBody {
    reqtype: String,
    #[serde(default)]
    server_name: Option<String>,
    #[serde(default)]
    wildcard_identity: Option<String>,
}

async fn reg_data_put(shard: &Rc<Shard>, req: &Request, impu: &str) -> Response {
    let body: RegDataBody = match serde_json::from_slice(&req.body) {
        Ok(b) => b,
        Err(e) => return error(400, format!("invalid reg-data body: {e}")),
    };
    let Some(kind) = RequestType::from_wire(&body.reqtype) else {
        return error(400, format!("unknown reqtype '{}'", body.reqtype));
    };
    // Only meaningful towards an HSS; accepted and validated so Sprout's requests pass unchanged.
    if let Some(w) = &body.wildcard_identity
        && let Err(e) = hearth_core::model::validate_identity(w)
    {
        return error(400, format!("wildcard_identity: {e}"));
    }
    let private_id = req.query_param("private_id");
    let entry = match public_entry(shard, impu).await {
        Ok(Some(e)) => e,
        Ok(None) => return error(404, "public identity not found"),
        Err(r) => return r,
    };
    let no_cache = req
        .header("cache-control")
        .is_some_and(|v| v.windows(8).any(|w| w.eq_ignore_ascii_case(b"no-cache")));
    let request = RegDataRequest {
        private_id: private_id.as_deref(),
        server_name: Some(
            body.server_name
                .as_deref()
                .unwrap_or(&shard.config.scscf_uri),
        ),
        force_reassignment: no_cache,
        mode: regdata::Mode::Local,
    };
    let transition = match regdata::apply(
        &entry.registration,
        kind,
        &request,
        unix_now(),
        shard.config.hss_reregistration_time,
    ) {
        Ok(t) => t,
        Err(e) => return error(400, e.to_string()),
    };
    if transition.changed {
        let irs = entry.view.record.irs.clone();
        let record: RegistrationRecord = transition.next.clone();
        let written = match shard.store.put_registration(&irs, record).await {
            Ok(w) => w,
            Err(e) => return store_error(&e),
        };
        if let Outcome::NotFound(missing) = written.outcome {
            // The IRS went away between the read and the write.
            return error(404, format!("{missing} not found"));
        }
        shard.invalidate(&written.affected).await;
    }
    let previous = kind.reports_previous_state().then_some(transition.previous);
    reg_data_response(&entry, &transition.next, previous)
}

/// The `ClearwaterRegData` answer for `registration` of the IRS in `entry`.
fn reg_data_response(
    entry: &PublicEntry,
    registration: &RegistrationRecord,
    previous: Option<RegState>,
) -> Response {
    let parts: Vec<xml::ims_subscription::ProfileParts> = entry
        .view
        .service_profiles
        .iter()
        .map(|profile| xml::ims_subscription::ProfileParts {
            public_identities: profile
                .public_identities
                .iter()
                .map(|p| p.identity_xml.clone())
                .collect(),
            filter_xml: (!profile.record.filter_parts.is_empty())
                .then(|| profile.record.filter_parts.concat()),
        })
        .collect();
    let private_id = registration.private_id.as_deref();
    let subscription = xml::ims_subscription::build_ims_subscription(private_id, &parts);
    let body = xml::reg_data::write_clearwater_reg_data(
        registration.state.into(),
        previous.map(Into::into),
        Some(&subscription),
        &xml::reg_data::ChargingAddresses::default(),
    );
    Response::xml(200, body)
}
