//! Homestead's signalling API in front of an external HSS (Cx, TS 29.228/29.229).
//!
//! Every `/impi/<id>/av...` is a Multimedia-Auth-Request, `registration-status` a
//! User-Authorization-Request, `location` a Location-Info-Request; a reg-data PUT runs the same
//! state machine as without an HSS (`hearth_core::regdata`, HSS mode) and sends the
//! Server-Assignment-Request it names. Answers are mapped to HTTP as Homestead maps them
//! (`hearth_core::diameter::cx::map_*`).
//!
//! What the HSS returns in SAAs (User-Data, charging addresses) is cached in the store with the
//! registration state for Homestead's `record_ttl`, so reg-data reads and the next
//! re-registration within `hss_reregistration_time` need no Cx round trip. Unlike Homestead,
//! "user unknown" answers are remembered for `[hss] negative_cache_ttl_secs`, so a storm of
//! requests for a user the HSS does not know costs it one request per TTL.
//!
//! The HSS's own requests — Registration-Termination and Push-Profile — are handled by
//! [`install_request_handler`]: the cache is updated and the SIP core told, as Homestead tells
//! Sprout.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::{Rc, Weak};
use std::time::Instant;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use hearth_core::diameter::cx::{
    self, AuthScheme, ChargingInformation, CxResult, HttpOutcome, Lia, Lir, Maa, Mar, Ppa, Ppr,
    Resync, Routing, Rta, Rtr, RtrTarget, Saa, SaaOutcome, Sar, Uaa, Uar, UserAuthorizationType,
};
use hearth_core::diameter::dict::{cmd, cx_result, result};
use hearth_core::diameter::peer::RequestError;
use hearth_core::diameter::{Message, MessageBuilder};
use hearth_core::http::{Method, Request, Response};
use hearth_core::model::{HssIrsRecord, RegState};
use hearth_core::regdata::{self, RegDataRequest, RequestType, ServerAssignmentType};
use hearth_core::xml;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::json;

use super::notify::{NotifyMethod, SipCoreNotifier};
use super::signalling::only_get;
use super::{error, method_not_allowed, store_error};
use crate::diameter::DiameterLink;
use crate::engine::{Shard, unix_now};

/// What a public identity must escape to be one path segment: everything but RFC 3986's
/// unreserved characters.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Most "user unknown" answers one shard remembers.
const NEGATIVE_CACHE_CAPACITY: usize = 100_000;

/// A reg-data PUT follows at most this many 5007 answers naming a new wildcard.
const MAX_WILDCARD_RETRIES: usize = 2;

/// HSS-mode state of one shard: its negative cache and the SIP core notifier.
pub struct HssState {
    unknown: RefCell<NegativeCache>,
    notifier: Option<SipCoreNotifier>,
}

impl HssState {
    /// State for a shard of a server configured as `config`.
    pub fn new(config: &crate::config::Config) -> Result<HssState, String> {
        let notifier = config
            .hss
            .sip_core_url
            .as_deref()
            .map(SipCoreNotifier::start)
            .transpose()?;
        Ok(HssState {
            unknown: RefCell::new(NegativeCache::new(
                config.hss.negative_cache_ttl_secs,
                NEGATIVE_CACHE_CAPACITY,
            )),
            notifier,
        })
    }
}

/// "User unknown" answers, remembered for a TTL. Bounded: when full, expired entries go first,
/// then everything (a cleared negative cache only costs HSS requests).
struct NegativeCache {
    ttl_secs: u64,
    capacity: usize,
    entries: HashMap<String, Instant>,
}

impl NegativeCache {
    fn new(ttl_secs: u64, capacity: usize) -> Self {
        NegativeCache {
            ttl_secs,
            capacity,
            entries: HashMap::new(),
        }
    }

    fn contains(&mut self, key: &str) -> bool {
        match self.entries.get(key) {
            Some(until) if *until > Instant::now() => true,
            Some(_) => {
                self.entries.remove(key);
                false
            }
            None => false,
        }
    }

    fn insert(&mut self, key: String) {
        if self.ttl_secs == 0 {
            return;
        }
        if self.entries.len() >= self.capacity {
            let now = Instant::now();
            self.entries.retain(|_, until| *until > now);
            if self.entries.len() >= self.capacity {
                self.entries.clear();
            }
        }
        let until = Instant::now() + std::time::Duration::from_secs(self.ttl_secs);
        self.entries.insert(key, until);
    }
}

fn negative_key(command: &str, identities: &[&str]) -> String {
    let mut key = String::from(command);
    for identity in identities {
        key.push('\n');
        key.push_str(identity);
    }
    key
}

/// A request's place in the shard's negative cache of "user unknown" answers: looked at before
/// the HSS is asked, written when the HSS says it does not know the user.
struct UnknownUser<'a> {
    hss: &'a HssState,
    key: String,
}

impl<'a> UnknownUser<'a> {
    /// A 404 when the HSS said lately that it does not know `identities` for `command`.
    fn check(
        hss: &'a HssState,
        command: &str,
        identities: &[&str],
        what: &str,
    ) -> Result<Self, Response> {
        let key = negative_key(command, identities);
        if hss.unknown.borrow_mut().contains(&key) {
            return Err(error(
                404,
                format!("the HSS does not know {what} (cached answer)"),
            ));
        }
        Ok(UnknownUser { hss, key })
    }

    /// Remembers the HSS's answer if it says "user unknown".
    fn remember(&self, outcome: CxResult) {
        if is_user_unknown(outcome) {
            self.hss.unknown.borrow_mut().insert(self.key.clone());
        }
    }
}

/// This shard's HSS state (created on first use).
fn state(shard: &Shard) -> Result<&HssState, Response> {
    shard
        .state
        .hss
        .get_or_init(|| HssState::new(&shard.config))
        .as_ref()
        .map_err(|e| error(500, e.clone()))
}

/// Routes a signalling request in HSS mode.
pub async fn handle(
    shard: &Rc<Shard>,
    link: &DiameterLink,
    req: &Request,
    segs: &[&str],
) -> Response {
    match segs {
        ["impi", impi, "av"] => av(shard, link, req, impi, AuthScheme::Unknown).await,
        ["impi", impi, "av", "digest"] => av(shard, link, req, impi, AuthScheme::SipDigest).await,
        ["impi", impi, "av", "aka"] => av(shard, link, req, impi, AuthScheme::DigestAkaV1Md5).await,
        ["impi", impi, "av", "aka2"] => {
            av(shard, link, req, impi, AuthScheme::DigestAkaV2Sha256).await
        }
        ["impi", impi, "digest"] => legacy_digest(shard, link, req, impi).await,
        ["impi", impi, "registration-status"] => registration_status(shard, link, req, impi).await,
        ["impu", impu, "reg-data"] => match req.method {
            Method::Get | Method::Head => reg_data_get(shard, impu).await,
            Method::Put => reg_data_put(shard, link, req, impu).await,
            _ => method_not_allowed("GET, PUT"),
        },
        ["impu", impu, "location"] => location(shard, link, req, impu).await,
        _ => error(404, "no such resource"),
    }
}

fn routing(link: &DiameterLink) -> Routing {
    Routing::new(link.next_session_id(), link.origin(), link.destination())
}

/// Sends a Cx request; no answer (timeout, no usable peer) is Homestead's 503.
async fn exchange(link: &DiameterLink, request: MessageBuilder) -> Result<Message, Response> {
    link.request(request).await.map_err(|e| {
        let reason = match e {
            RequestError::TimedOut => "the HSS did not answer in time",
            RequestError::NoPeer => "no HSS is reachable",
        };
        tracing::warn!(error = %e, "Cx request failed");
        error(cx::map_timeout().status, reason)
    })
}

/// Sends a Cx request and decodes its answer with `decode` (a malformed answer is a 500).
async fn ask<A, E: std::fmt::Display>(
    link: &DiameterLink,
    request: MessageBuilder,
    command: &str,
    decode: impl FnOnce(&Message) -> Result<A, E>,
) -> Result<A, Response> {
    let answer = exchange(link, request).await?;
    decode(&answer).map_err(|e| malformed(command, e))
}

fn malformed(command: &str, e: impl std::fmt::Display) -> Response {
    tracing::warn!(command, error = %e, "malformed answer from the HSS");
    error(500, format!("the HSS sent a malformed {command}: {e}"))
}

/// The HTTP answer for a mapped Cx outcome.
fn outcome_response(outcome: HttpOutcome, what: &str) -> Response {
    match outcome.body {
        Some(body) if outcome.status == 200 => Response::json(200, body),
        _ => error(outcome.status, outcome_reason(outcome.status, what)),
    }
}

fn outcome_reason(status: u16, what: &str) -> String {
    match status {
        403 => format!("the HSS refused {what}"),
        404 => format!("the HSS does not know {what}"),
        503 => "the HSS could not deliver the request".to_owned(),
        504 => "the HSS is too busy".to_owned(),
        _ => format!("the HSS answered {what} with an error"),
    }
}

fn is_user_unknown(outcome: CxResult) -> bool {
    outcome.is_tgpp(cx_result::ERROR_USER_UNKNOWN)
}

// ------------------------------------------------------------------ /impi/<id>/av (MAR)

/// The public identity a MAR is about: `impu` from the query, else one the private identity
/// registered (cached), else — Homestead's assumption — the private identity with `sip:`.
async fn public_identity_for(
    shard: &Rc<Shard>,
    impi: &str,
    given: Option<String>,
) -> Result<String, Response> {
    if let Some(impu) = given {
        return Ok(impu);
    }
    let key = impi.to_owned();
    let now = unix_now();
    let cached = shard
        .store
        .hss_irs_of_impi(&key, now)
        .await
        .map_err(|e| store_error(&e))?;
    Ok(cached
        .iter()
        .find_map(|record| record.default_impu().map(str::to_owned))
        .unwrap_or_else(|| format!("sip:{impi}")))
}

async fn multimedia_auth(
    shard: &Rc<Shard>,
    link: &DiameterLink,
    req: &Request,
    impi: &str,
    impu: &str,
    scheme: AuthScheme,
) -> Result<Maa, Response> {
    let unknown = UnknownUser::check(state(shard)?, "mar", &[impi, impu], "this user")?;
    // Sprout sends resync-auth = base64(RAND || AUTS); Homestead's document names it autn.
    let resync = match req
        .query_param("resync-auth")
        .or_else(|| req.query_param("autn"))
    {
        None => None,
        Some(value) => {
            let bytes = B64
                .decode(value.as_bytes())
                .map_err(|e| error(400, format!("resync-auth is not base64: {e}")))?;
            Some(Resync::from_bytes(&bytes).ok_or_else(|| {
                error(
                    400,
                    format!(
                        "resync-auth must be RAND || AUTS ({} bytes), not {} bytes",
                        Resync::LEN,
                        bytes.len()
                    ),
                )
            })?)
        }
    };
    let server_name = req
        .query_param("server-name")
        .map_or_else(|| shard.config.scscf_uri.clone(), |s| s.into_owned());
    let mar = Mar {
        routing: routing(link),
        user_name: impi.to_owned(),
        public_identity: impu.to_owned(),
        scheme,
        resync,
        number_auth_items: 1,
        server_name,
    };
    let maa = ask(link, mar.builder(), "MAA", Maa::from_message).await?;
    unknown.remember(maa.result);
    Ok(maa)
}

/// Which MAR-based answer: the `/av...` family, or Homestead's legacy
/// `GET /impi/<id>/digest?public_id=`.
#[derive(Clone, Copy)]
enum AuthAnswer {
    Vector,
    LegacyDigest,
}

async fn av(
    shard: &Rc<Shard>,
    link: &DiameterLink,
    req: &Request,
    impi: &str,
    scheme: AuthScheme,
) -> Response {
    authenticate(shard, link, req, impi, scheme, AuthAnswer::Vector).await
}

async fn legacy_digest(
    shard: &Rc<Shard>,
    link: &DiameterLink,
    req: &Request,
    impi: &str,
) -> Response {
    authenticate(
        shard,
        link,
        req,
        impi,
        AuthScheme::SipDigest,
        AuthAnswer::LegacyDigest,
    )
    .await
}

async fn authenticate(
    shard: &Rc<Shard>,
    link: &DiameterLink,
    req: &Request,
    impi: &str,
    scheme: AuthScheme,
    answer: AuthAnswer,
) -> Response {
    if let Some(r) = only_get(req) {
        return r;
    }
    let param = match answer {
        AuthAnswer::Vector => "impu",
        AuthAnswer::LegacyDigest => "public_id",
    };
    let given = req.query_param(param).map(|s| s.into_owned());
    let impu = match public_identity_for(shard, impi, given).await {
        Ok(impu) => impu,
        Err(r) => return r,
    };
    let maa = match multimedia_auth(shard, link, req, impi, &impu, scheme).await {
        Ok(maa) => maa,
        Err(r) => return r,
    };
    let outcome = match answer {
        AuthAnswer::Vector => cx::map_maa(&maa),
        AuthAnswer::LegacyDigest => cx::map_maa_legacy_digest(&maa),
    };
    outcome_response(outcome, "this private identity")
}

// ------------------------------------------------------------------ registration-status (UAR)

async fn registration_status(
    shard: &Rc<Shard>,
    link: &DiameterLink,
    req: &Request,
    impi: &str,
) -> Response {
    if let Some(r) = only_get(req) {
        return r;
    }
    let authorization_type = match req.query_param("auth-type") {
        None => UserAuthorizationType::Registration,
        Some(t) => match UserAuthorizationType::from_auth_type(&t) {
            Some(t) => t,
            None => return error(400, "auth-type must be REG, DEREG or CAPAB"),
        },
    };
    let Some(impu) = req.query_param("impu") else {
        return error(400, "the impu parameter is required");
    };
    let uar_flags = match req.query_param("sos").as_deref() {
        None | Some("false") => 0,
        Some("true") => cx::UAR_FLAG_IMS_EMERGENCY_REGISTRATION,
        Some(_) => return error(400, "sos must be true or false"),
    };
    let hss = match state(shard) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let unknown = match UnknownUser::check(hss, "uar", &[impi, &impu], "this user") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let visited_network = req
        .query_param("visited-network")
        .map_or_else(|| shard.config.home_domain.clone(), |v| v.into_owned());
    let uar = Uar {
        routing: routing(link),
        user_name: impi.to_owned(),
        public_identity: impu.into_owned(),
        visited_network,
        authorization_type,
        uar_flags,
    };
    let uaa = match ask(link, uar.builder(), "UAA", Uaa::from_message).await {
        Ok(u) => u,
        Err(r) => return r,
    };
    unknown.remember(uaa.result);
    outcome_response(cx::map_uaa(&uaa), "this user")
}

// ------------------------------------------------------------------ location (LIR)

async fn location(shard: &Rc<Shard>, link: &DiameterLink, req: &Request, impu: &str) -> Response {
    if let Some(r) = only_get(req) {
        return r;
    }
    let authorization_type = match req.query_param("auth-type").as_deref() {
        None => None,
        Some("CAPAB") => Some(UserAuthorizationType::RegistrationAndCapabilities),
        Some(_) => return error(400, "auth-type must be CAPAB"),
    };
    let originating = match req.query_param("originating").as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return error(400, "originating must be true or false"),
    };
    let hss = match state(shard) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let unknown = match UnknownUser::check(hss, "lir", &[impu], "this public identity") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let lir = Lir {
        routing: routing(link),
        originating,
        public_identity: impu.to_owned(),
        authorization_type,
    };
    let lia = match ask(link, lir.builder(), "LIA", Lia::from_message).await {
        Ok(l) => l,
        Err(r) => return r,
    };
    unknown.remember(lia.result);
    outcome_response(cx::map_lia(&lia), "this public identity")
}

// ------------------------------------------------------------------ reg-data (SAR)

async fn cached_irs(shard: &Rc<Shard>, impu: &str) -> Result<Option<HssIrsRecord>, Response> {
    let key = impu.to_owned();
    let now = unix_now();
    shard
        .store
        .get_hss_irs(&key, now)
        .await
        .map_err(|e| store_error(&e))
}

async fn reg_data_get(shard: &Rc<Shard>, impu: &str) -> Response {
    match cached_irs(shard, impu).await {
        Ok(Some(record)) => reg_data_response(
            record.registration.state,
            None,
            Some(&record.ims_subscription_xml),
            &record,
        ),
        Ok(None) => error(
            404,
            "no registration data is cached for this public identity",
        ),
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

async fn reg_data_put(
    shard: &Rc<Shard>,
    link: &DiameterLink,
    req: &Request,
    impu: &str,
) -> Response {
    let body: RegDataBody = match serde_json::from_slice(&req.body) {
        Ok(b) => b,
        Err(e) => return error(400, format!("invalid reg-data body: {e}")),
    };
    let Some(kind) = RequestType::from_wire(&body.reqtype) else {
        return error(400, format!("unknown reqtype '{}'", body.reqtype));
    };
    for identity in body.wildcard_identity.iter().chain(&body.server_name) {
        if let Err(e) = hearth_core::model::validate_identity(identity) {
            return error(400, format!("invalid reg-data body: {e}"));
        }
    }
    let hss = match state(shard) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let unknown = match UnknownUser::check(hss, "sar", &[impu], "this public identity") {
        Ok(u) => u,
        Err(r) => return r,
    };
    let private_id = req.query_param("private_id").map(|s| s.into_owned());
    let no_cache = req
        .header("cache-control")
        .is_some_and(|v| v.windows(8).any(|w| w.eq_ignore_ascii_case(b"no-cache")));
    let cached = match cached_irs(shard, impu).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let current = cached
        .as_ref()
        .map(|c| c.registration.clone())
        .unwrap_or_default();
    let server_name = body
        .server_name
        .clone()
        .unwrap_or_else(|| shard.config.scscf_uri.clone());
    let request = RegDataRequest {
        private_id: private_id.as_deref(),
        server_name: Some(&server_name),
        force_reassignment: no_cache,
        mode: regdata::Mode::Hss,
    };
    let now = unix_now();
    let transition = match regdata::apply(
        &current,
        kind,
        &request,
        now,
        shard.config.hss_reregistration_time,
    ) {
        Ok(t) => t,
        Err(e) => return error(400, e.to_string()),
    };
    let previous = kind.reports_previous_state().then_some(transition.previous);
    let Some(assignment) = transition.assignment else {
        // Nothing to tell the HSS (e.g. a call for a registered user): answer from the cache.
        let Some(mut record) = cached else {
            return error(
                404,
                "no registration data is cached for this public identity",
            );
        };
        if transition.changed {
            record.registration = transition.next.clone();
            if let Err(r) = store_irs(shard, record.clone()).await {
                return r;
            }
        }
        return reg_data_response(
            transition.next.state,
            previous,
            Some(&record.ims_subscription_xml),
            &record,
        );
    };
    let mut wildcard = body
        .wildcard_identity
        .clone()
        .or_else(|| cached.as_ref().and_then(|c| c.wildcard.clone()));
    let user_name = private_id.clone().or_else(|| current.private_id.clone());
    let mut retries = 0;
    let saa = loop {
        let sar = Sar {
            routing: routing(link),
            user_name: user_name.clone(),
            supported_features: Vec::new(),
            public_identities: vec![impu.to_owned()],
            wildcarded_public_identity: wildcard.clone(),
            server_name: server_name.clone(),
            server_assignment_type: assignment.into(),
            user_data_already_available: false,
        };
        let saa = match ask(link, sar.builder(), "SAA", Saa::from_message).await {
            Ok(s) => s,
            Err(r) => return r,
        };
        match cx::map_saa(&saa, wildcard.as_deref()) {
            SaaOutcome::Status(200) => break saa,
            SaaOutcome::RetryWithWildcard(new) if retries < MAX_WILDCARD_RETRIES => {
                retries += 1;
                wildcard = Some(new);
            }
            SaaOutcome::RetryWithWildcard(_) => {
                return error(500, "the HSS kept changing the wildcarded public identity");
            }
            SaaOutcome::Status(status) => {
                unknown.remember(saa.result);
                return error(status, outcome_reason(status, "this public identity"));
            }
        }
    };
    apply_assignment(
        shard, impu, assignment, transition, previous, cached, saa, wildcard, now,
    )
    .await
}

/// Updates the cache after a successful SAR and answers the reg-data PUT.
#[allow(clippy::too_many_arguments)]
async fn apply_assignment(
    shard: &Rc<Shard>,
    impu: &str,
    assignment: ServerAssignmentType,
    transition: regdata::Transition,
    previous: Option<RegState>,
    cached: Option<HssIrsRecord>,
    saa: Saa,
    wildcard: Option<String>,
    now: u64,
) -> Response {
    match assignment {
        ServerAssignmentType::TimeoutDeregistration
        | ServerAssignmentType::UserDeregistration
        | ServerAssignmentType::AdministrativeDeregistration => {
            // The user is gone from this S-CSCF: drop what we knew.
            let key = impu.to_owned();
            if let Err(e) = shard.store.delete_hss_irs(&key).await {
                return store_error(&e);
            }
            let empty = HssIrsRecord::default();
            let record = cached.as_ref().unwrap_or(&empty);
            reg_data_response(
                transition.next.state,
                previous,
                Some(&record.ims_subscription_xml),
                record,
            )
        }
        ServerAssignmentType::AuthenticationFailure
        | ServerAssignmentType::AuthenticationTimeout => {
            let empty = HssIrsRecord::default();
            let record = cached.as_ref().unwrap_or(&empty);
            reg_data_response(
                transition.next.state,
                previous,
                Some(&record.ims_subscription_xml),
                record,
            )
        }
        ServerAssignmentType::Registration
        | ServerAssignmentType::ReRegistration
        | ServerAssignmentType::UnregisteredUser => {
            let user_data = match (&saa.user_data, &cached) {
                (Some(data), _) => data.clone(),
                (None, Some(c)) if !c.ims_subscription_xml.is_empty() => {
                    c.ims_subscription_xml.clone()
                }
                (None, _) => {
                    return error(500, "the HSS sent no User-Data for the assignment");
                }
            };
            let doc = match xml::ims_subscription::parse_user_data(user_data.as_bytes()) {
                Ok(d) => d,
                Err(e) => return malformed("SAA User-Data", e),
            };
            let mut impus: Vec<String> = Vec::new();
            for profile in &doc.subscription.service_profiles {
                for identity in &profile.public_identities {
                    if !impus.contains(identity) {
                        impus.push(identity.clone());
                    }
                }
            }
            if !impus.iter().any(|i| i == impu) {
                // A wildcarded or distinct identity: find the record under the name asked for.
                impus.push(impu.to_owned());
            }
            let mut private_ids = cached
                .as_ref()
                .map(|c| c.private_ids.clone())
                .unwrap_or_default();
            if let Some(p) = &transition.next.private_id
                && !private_ids.contains(p)
            {
                private_ids.push(p.clone());
            }
            let (ccfs, ecfs) = match &saa.charging {
                Some(charging) => charging_lists(charging),
                None => cached
                    .as_ref()
                    .map(|c| (c.ccfs.clone(), c.ecfs.clone()))
                    .unwrap_or_default(),
            };
            let record = HssIrsRecord {
                impus,
                ims_subscription_xml: doc.xml,
                ccfs,
                ecfs,
                registration: transition.next.clone(),
                private_ids,
                wildcard,
                expires_at: now + shard.config.record_ttl_secs(),
            };
            if let Err(r) = store_irs(shard, record.clone()).await {
                return r;
            }
            reg_data_response(
                transition.next.state,
                previous,
                Some(&record.ims_subscription_xml),
                &record,
            )
        }
    }
}

fn charging_lists(charging: &ChargingInformation) -> (Vec<String>, Vec<String>) {
    let ccfs = [&charging.primary_ccf, &charging.secondary_ccf]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let ecfs = [&charging.primary_ecf, &charging.secondary_ecf]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    (ccfs, ecfs)
}

async fn store_irs(shard: &Rc<Shard>, record: HssIrsRecord) -> Result<(), Response> {
    shard
        .store
        .put_hss_irs(record)
        .await
        .map(|_| ())
        .map_err(|e| store_error(&e))
}

fn reg_data_response(
    state: RegState,
    previous: Option<RegState>,
    subscription: Option<&str>,
    record: &HssIrsRecord,
) -> Response {
    let charging = xml::reg_data::ChargingAddresses {
        ccfs: record.ccfs.clone(),
        ecfs: record.ecfs.clone(),
    };
    let body = xml::reg_data::write_clearwater_reg_data(
        state.into(),
        previous.map(Into::into),
        subscription,
        &charging,
    );
    Response::xml(200, body)
}

// ------------------------------------------------------------------ requests from the HSS

/// Makes `shard`'s Diameter link answer the HSS's Registration-Termination and Push-Profile
/// requests.
pub fn install_request_handler(shard: &Rc<Shard>) {
    let Some(link) = &shard.diameter else { return };
    let weak: Weak<Shard> = Rc::downgrade(shard);
    link.set_request_handler(Rc::new(move |message: Message| {
        let weak = weak.clone();
        Box::pin(async move {
            let shard = weak.upgrade()?;
            match message.header().command_code {
                cmd::REGISTRATION_TERMINATION => registration_termination(&shard, message).await,
                cmd::PUSH_PROFILE => push_profile(&shard, message).await,
                _ => None,
            }
        })
    }));
}

/// The built answer; if it cannot be built, `None` lets the link answer 5012 itself.
fn answer_or_log(built: Result<Message, cx::CxError>, command: &str) -> Option<Message> {
    built
        .map_err(|e| tracing::warn!(command, error = %e, "cannot build an answer"))
        .ok()
}

/// `None` (the link answers 5012) for a request that is not a readable RTR.
async fn registration_termination(shard: &Rc<Shard>, message: Message) -> Option<Message> {
    let origin = shard
        .diameter
        .as_ref()
        .map(|l| l.origin().clone())
        .unwrap_or_default();
    let rtr = Rtr::from_message(&message)
        .map_err(|e| tracing::warn!(error = %e, "malformed RTR"))
        .ok()?;
    let result = deregister(shard, &rtr).await;
    let rta = Rta {
        session_id: rtr.routing.session_id.clone(),
        origin,
        result,
        associated_identities: Vec::new(),
    };
    answer_or_log(rta.to_message(&message), "RTA")
}

/// Applies an RTR: tells the SIP core, then drops the cached IRSs. The result for the RTA.
async fn deregister(shard: &Rc<Shard>, rtr: &Rtr) -> CxResult {
    let now = unix_now();
    let mut records: BTreeMap<String, HssIrsRecord> = BTreeMap::new();
    let lookups: Vec<(bool, String)> = match rtr.target() {
        RtrTarget::PrivateIdentities(impis) => impis.into_iter().map(|i| (true, i)).collect(),
        RtrTarget::PublicIdentities(impus) => impus.into_iter().map(|i| (false, i)).collect(),
    };
    for (is_private, identity) in lookups {
        let found = if is_private {
            shard.store.hss_irs_of_impi(&identity, now).await
        } else {
            shard
                .store
                .get_hss_irs(&identity, now)
                .await
                .map(|r| r.into_iter().collect())
        };
        match found {
            Ok(found) => {
                for record in found {
                    if let Some(key) = record.default_impu() {
                        records.insert(key.to_owned(), record);
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "RTR: cannot read the cache");
                return CxResult::Base(result::UNABLE_TO_COMPLY);
            }
        }
    }
    let reason = rtr.reason.code;
    let impis = rtr.private_identities();
    if let Ok(hss) = state(shard)
        && let Some(notifier) = &hss.notifier
        && !records.is_empty()
    {
        let registrations: Vec<serde_json::Value> = records
            .keys()
            .map(|primary| {
                if reason.names_private_identities() {
                    let impi = records
                        .get(primary)
                        .and_then(|r| r.registration.private_id.clone())
                        .unwrap_or_else(|| impis.first().cloned().unwrap_or_default());
                    json!({"primary-impu": primary, "impi": impi})
                } else {
                    json!({"primary-impu": primary})
                }
            })
            .collect();
        let body = json!({ "registrations": registrations }).to_string();
        let path = format!(
            "/registrations?send-notifications={}",
            reason.send_notifications()
        );
        match notifier.send(NotifyMethod::Delete, &path, body).await {
            Ok(200) => {}
            Ok(status) => {
                tracing::warn!(status, "RTR: the SIP core refused the deregistration");
                return CxResult::Base(result::UNABLE_TO_COMPLY);
            }
            Err(e) => {
                tracing::warn!(error = %e, "RTR: cannot reach the SIP core");
                return CxResult::Base(result::UNABLE_TO_COMPLY);
            }
        }
    }
    for key in records.into_keys() {
        if let Err(e) = shard.store.delete_hss_irs(&key).await {
            tracing::warn!(error = %e, "RTR: cannot drop the cached registration");
            return CxResult::Base(result::UNABLE_TO_COMPLY);
        }
    }
    CxResult::SUCCESS
}

/// `None` (the link answers 5012) for a request that is not a readable PPR.
async fn push_profile(shard: &Rc<Shard>, message: Message) -> Option<Message> {
    let origin = shard
        .diameter
        .as_ref()
        .map(|l| l.origin().clone())
        .unwrap_or_default();
    let ppr = Ppr::from_message(&message)
        .map_err(|e| tracing::warn!(error = %e, "malformed PPR"))
        .ok()?;
    let result = update_profile(shard, &ppr).await;
    let ppa = Ppa {
        session_id: ppr.routing.session_id.clone(),
        origin,
        result,
    };
    answer_or_log(ppa.to_message(&message), "PPA")
}

/// Applies a PPR to the cached IRSs of its private identity. The result for the PPA.
async fn update_profile(shard: &Rc<Shard>, ppr: &Ppr) -> CxResult {
    let impi = ppr.user_name.clone();
    let now = unix_now();
    let records = match shard.store.hss_irs_of_impi(&impi, now).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "PPR: cannot read the cache");
            return CxResult::Base(result::UNABLE_TO_COMPLY);
        }
    };
    if records.is_empty() {
        return CxResult::tgpp(cx_result::ERROR_USER_UNKNOWN);
    }
    let mut updated = Vec::with_capacity(records.len());
    if let Some(user_data) = &ppr.user_data {
        let doc = match xml::ims_subscription::parse_user_data(user_data.as_bytes()) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(error = %e, "PPR: User-Data does not parse");
                return CxResult::Base(result::UNABLE_TO_COMPLY);
            }
        };
        let new_impus: Vec<String> = doc
            .subscription
            .service_profiles
            .iter()
            .flat_map(|p| p.public_identities.iter().cloned())
            .collect();
        // The IRS the document is about: the cached one sharing a public identity with it.
        let Some(mut record) = records
            .into_iter()
            .find(|r| r.impus.iter().any(|i| new_impus.contains(i)))
        else {
            return CxResult::Base(result::UNABLE_TO_COMPLY);
        };
        // Homestead refuses a profile that changes the default public identity.
        if record.default_impu() != new_impus.first().map(String::as_str) {
            return CxResult::Base(result::UNABLE_TO_COMPLY);
        }
        if let Ok(hss) = state(shard)
            && let Some(notifier) = &hss.notifier
            && let Some(primary) = record.default_impu()
        {
            let path = format!(
                "/registrations/{}",
                utf8_percent_encode(primary, PATH_SEGMENT)
            );
            let body = json!({ "user-data-xml": doc.xml }).to_string();
            match notifier.send(NotifyMethod::Put, &path, body).await {
                Ok(200) => {}
                Ok(status) => {
                    tracing::warn!(status, "PPR: the SIP core refused the new profile");
                    return CxResult::Base(result::UNABLE_TO_COMPLY);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "PPR: cannot reach the SIP core");
                    return CxResult::Base(result::UNABLE_TO_COMPLY);
                }
            }
        }
        let mut impus = new_impus;
        for old in &record.impus {
            // Keep names the record was found under (wildcard matches) that the document
            // does not list literally.
            if record.wildcard.is_some() && !impus.contains(old) {
                impus.push(old.clone());
            }
        }
        record.impus = impus;
        record.ims_subscription_xml = doc.xml;
        if let Some(charging) = &ppr.charging {
            (record.ccfs, record.ecfs) = charging_lists(charging);
        }
        updated.push(record);
    } else if let Some(charging) = &ppr.charging {
        // Charging-only: the SIP core is not told (as Homestead).
        for mut record in records {
            (record.ccfs, record.ecfs) = charging_lists(charging);
            updated.push(record);
        }
    }
    for record in updated {
        if let Err(e) = shard.store.put_hss_irs(record).await {
            tracing::warn!(error = %e, "PPR: cannot update the cache");
            return CxResult::Base(result::UNABLE_TO_COMPLY);
        }
    }
    CxResult::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_cache_remembers_until_ttl_and_stays_bounded() {
        let mut cache = NegativeCache::new(60, 3);
        let key = negative_key("mar", &["alice@x", "sip:alice@x"]);
        assert!(!cache.contains(&key));
        cache.insert(key.clone());
        assert!(cache.contains(&key));
        assert!(!cache.contains(&negative_key("mar", &["alice@x", "sip:bob@x"])));
        for i in 0..10 {
            cache.insert(negative_key("lir", &[&format!("sip:{i}@x")]));
            assert!(cache.entries.len() <= 3);
        }
        let mut off = NegativeCache::new(0, 3);
        off.insert(key.clone());
        assert!(!off.contains(&key), "TTL 0 caches nothing");
    }

    #[test]
    fn charging_information_becomes_priority_lists() {
        let charging = ChargingInformation {
            primary_ccf: Some("ccf1".into()),
            secondary_ccf: Some("ccf2".into()),
            primary_ecf: Some("ecf1".into()),
            secondary_ecf: None,
        };
        let (ccfs, ecfs) = charging_lists(&charging);
        assert_eq!(ccfs, ["ccf1", "ccf2"]);
        assert_eq!(ecfs, ["ecf1"]);
    }
}
