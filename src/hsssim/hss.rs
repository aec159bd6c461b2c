//! The HSS itself, as pure functions over the population and the per-subscriber state: a request
//! in, an answer out (TS 29.228 procedures, TS 29.229 messages for Cx; TS 29.109 for Zh). No
//! socket, clock or thread here: randomness (RAND) comes from the caller's generator, so every
//! answer path is unit-tested below.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use hearth_core::crypto::aka::{self, AuthVector, SqnPolicy, sqn_from_bytes, sqn_to_bytes};
use hearth_core::crypto::milenage::Milenage;
use hearth_core::diameter::cx::{
    AuthScheme, ChargingInformation, CxError, CxResult, DeregistrationReason, Lia, Lir, Maa, Mar,
    Origin, Ppr, ReasonCode, Resync, Routing, Rtr, Saa, Sar, ServerAssignmentType,
    ServerCapabilities, SessionIds, SipAuthDataItem, Uaa, Uar, UserAuthorizationType,
};
use hearth_core::diameter::dict::{
    VENDOR_3GPP, app, auth_session_state, avp, cmd, cx_result, result,
};
use hearth_core::diameter::{
    AvpList, DiameterTime, GroupBuilder, Message, MessageBuilder, Rejection, error_answer,
};
use hearth_core::xml::{ProfileParts, build_ims_subscription};
use quick_xml::escape::escape;
use rand::CryptoRng;
use serde::Serialize;

use super::population::{ChargingSpec, ImpuMatch, Irs, Population, Subscriber, check_ifc};

/// Most AKA vectors returned by one MAR, whatever SIP-Number-Auth-Items asks.
pub const MAX_AUTH_ITEMS: u32 = 5;

/// The commands the simulator counts.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum Command {
    /// Cx Multimedia-Auth.
    Mar,
    /// Cx User-Authorization.
    Uar,
    /// Cx Location-Info.
    Lir,
    /// Cx Server-Assignment.
    Sar,
    /// Zh Multimedia-Auth.
    ZhMar,
    /// Anything else (answered 3001 by the dictionary check, or refused here).
    Other,
}

impl Command {
    /// The command of a request.
    pub fn of(message: &Message) -> Self {
        let header = message.header();
        match (header.application_id, header.command_code) {
            (app::CX, cmd::MULTIMEDIA_AUTH) => Self::Mar,
            (app::CX, cmd::USER_AUTHORIZATION) => Self::Uar,
            (app::CX, cmd::LOCATION_INFO) => Self::Lir,
            (app::CX, cmd::SERVER_ASSIGNMENT) => Self::Sar,
            (app::ZH, cmd::MULTIMEDIA_AUTH) => Self::ZhMar,
            _ => Self::Other,
        }
    }

    /// Its name in stats and in injection filters.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Mar => "MAR",
            Self::Uar => "UAR",
            Self::Lir => "LIR",
            Self::Sar => "SAR",
            Self::ZhMar => "ZH-MAR",
            Self::Other => "OTHER",
        }
    }

    /// The command a name denotes (case-insensitive).
    pub fn from_name(name: &str) -> Option<Self> {
        [
            Self::Mar,
            Self::Uar,
            Self::Lir,
            Self::Sar,
            Self::ZhMar,
            Self::Other,
        ]
        .into_iter()
        .find(|c| c.name().eq_ignore_ascii_case(name))
    }
}

/// Registration state of an IRS, as the HSS keeps it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RegState {
    /// Registered at `server_name`.
    Registered,
    /// Not registered, but `server_name` keeps the profile (unregistered services, or a
    /// deregistration that stored the server name).
    Unregistered,
}

/// The S-CSCF assigned to an IRS.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Assignment {
    /// Registered or unregistered.
    pub state: RegState,
    /// Server-Name of the SAR.
    pub server_name: String,
    /// Origin-Host of the node that sent the SAR: where PPR and RTR go.
    pub origin_host: String,
    /// Private identities registered (by REGISTRATION SARs naming them).
    pub impis: BTreeSet<String>,
}

/// Changes made through PPR to an IRS's profile.
#[derive(Clone, Default, Debug)]
struct IrsOverride {
    /// Replacement content of every service profile after its public identities.
    ifc: Option<String>,
    /// Replacement Charging-Information.
    charging: Option<ChargingInformation>,
}

/// Settings of the HSS logic.
#[derive(Clone, Debug)]
pub struct HssConfig {
    /// Our Origin-Host and Origin-Realm.
    pub origin: Origin,
    /// Server-Capabilities offered when no S-CSCF is assigned.
    pub capabilities: ServerCapabilities,
    /// How SQNs are issued (SEQ‖IND, TS 33.102 Annex C).
    pub sqn_policy: SqnPolicy,
    /// The time of the GUSS (GUSS-Timestamp on Zh): a Zh MAR carrying this time or a later one
    /// gets no GBA-UserSecSettings.
    pub guss_timestamp: DiameterTime,
}

/// The simulated HSS: population, state, and the procedures.
pub struct Hss {
    population: Population,
    config: HssConfig,
    /// Last SQN issued per IMPI (absent: the population's initial value).
    sqns: HashMap<String, u64>,
    /// S-CSCF assignment per IRS id.
    assignments: HashMap<String, Assignment>,
    overrides: HashMap<String, IrsOverride>,
    session_ids: SessionIds,
}

/// An answer and what the stats need to know about it.
pub struct Handled {
    /// The answer.
    pub answer: Message,
    /// Its Result-Code or Experimental-Result-Code.
    pub result_code: u32,
}

/// A control operation refused: an HTTP status and the reason.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct ControlError {
    /// HTTP status.
    pub status: u16,
    /// Why.
    pub message: String,
}

impl ControlError {
    fn new(status: u16, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

/// What the control API asks for in `POST /rtr`.
#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RtrCommand {
    /// Private identities: the first is User-Name, the others Associated-Identities.
    #[serde(default)]
    pub impis: Vec<String>,
    /// Public identities to deregister (none: every IRS of the private identities).
    #[serde(default)]
    pub impus: Vec<String>,
    /// Reason-Code name (default PERMANENT_TERMINATION).
    pub reason: Option<String>,
    /// Reason-Info text.
    pub reason_info: Option<String>,
    /// Destination-Host override (default: the Origin-Host that registered the identities).
    pub destination_host: Option<String>,
}

/// What the control API asks for in `POST /ppr`.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PprCommand {
    /// The private identity (User-Name).
    pub impi: String,
    /// Which of its IRSs (by one of its public identities; default: its first IRS).
    pub impu: Option<String>,
    /// User-Data to send verbatim (the stored profile is not changed).
    pub user_data: Option<String>,
    /// A new `ServiceProfile` (iFCs) for every profile of the IRS: stored, and the IRS's new
    /// IMSSubscription sent as User-Data.
    pub ifc: Option<String>,
    /// New charging function names: stored and sent as Charging-Information.
    pub charging: Option<ChargingSpec>,
    /// Destination-Host override (default: the Origin-Host that registered the IRS).
    pub destination_host: Option<String>,
}

/// An HSS-initiated request ready to send, and where.
pub struct Outgoing<T> {
    /// The request.
    pub request: T,
    /// Destination-Host: the connection(s) to send it on.
    pub destination_host: String,
    /// The IRSs it concerns.
    pub irs_ids: Vec<String>,
}

/// The `GET /subscriber/<impi>` view.
#[derive(Serialize)]
pub struct SubscriberView {
    /// The IMPI.
    pub impi: String,
    /// Digest realm.
    pub realm: String,
    /// Whether it has SIP Digest credentials.
    pub digest: bool,
    /// The last SQN issued (AKA subscribers).
    pub sqn: Option<u64>,
    /// Its SEQ part.
    pub seq: Option<u64>,
    /// Its IND part.
    pub ind: Option<u64>,
    /// Its IRSs.
    pub irs: Vec<IrsView>,
}

/// One IRS in [`SubscriberView`].
#[derive(Serialize)]
pub struct IrsView {
    /// Its id.
    pub id: String,
    /// Its public identities.
    pub impus: Vec<String>,
    /// The S-CSCF assignment, if any.
    pub assignment: Option<Assignment>,
}

/// Which authentication a MAR gets.
enum Method {
    Digest,
    Aka(AuthScheme),
}

impl Hss {
    /// An HSS over a population.
    pub fn new(population: Population, config: HssConfig, session_high: u32) -> Self {
        let session_ids = SessionIds::new(config.origin.host.clone(), session_high);
        Self {
            population,
            config,
            sqns: HashMap::new(),
            assignments: HashMap::new(),
            overrides: HashMap::new(),
            session_ids,
        }
    }

    /// Our Origin-Host and Origin-Realm.
    pub fn origin(&self) -> &Origin {
        &self.config.origin
    }

    /// The population.
    pub fn population(&self) -> &Population {
        &self.population
    }

    /// Answers a request that passed the dictionary check. `peer_origin_host` is the Origin-Host
    /// of the connection it came on (the S-CSCF/Homestead to send PPR/RTR to after a SAR).
    pub fn handle(
        &mut self,
        request: &Message,
        peer_origin_host: &str,
        rng: &mut impl CryptoRng,
    ) -> Handled {
        let command = Command::of(request);
        let outcome = match command {
            Command::Mar => Mar::from_message(request).and_then(|mar| {
                let maa = self.mar(&mar, rng);
                Ok((maa.to_message(request)?, maa.result))
            }),
            Command::Uar => Uar::from_message(request).and_then(|uar| {
                let uaa = self.uar(&uar);
                Ok((uaa.to_message(request)?, uaa.result))
            }),
            Command::Lir => Lir::from_message(request).and_then(|lir| {
                let lia = self.lir(&lir);
                Ok((lia.to_message(request)?, lia.result))
            }),
            Command::Sar => Sar::from_message(request).and_then(|sar| {
                let saa = self.sar(&sar, peer_origin_host);
                Ok((saa.to_message(request)?, saa.result))
            }),
            Command::ZhMar => ZhMar::from_message(request).and_then(|mar| {
                let maa = self.zh_mar(&mar, rng);
                Ok((maa.to_message(request)?, maa.result))
            }),
            Command::Other => Err(CxError::UnexpectedCommand {
                expected: cmd::MULTIMEDIA_AUTH,
                expected_request: true,
                application_id: request.header().application_id,
                command_code: request.header().command_code,
                request: request.header().is_request(),
            }),
        };
        match outcome {
            Ok((answer, result)) => Handled {
                answer,
                result_code: result.code(),
            },
            Err(error) => {
                let code = match &error {
                    CxError::Missing(_) => result::MISSING_AVP,
                    CxError::Length { .. } => result::INVALID_AVP_LENGTH,
                    CxError::UnexpectedCommand { .. } => result::COMMAND_UNSUPPORTED,
                    _ => result::INVALID_AVP_VALUE,
                };
                let rejection = Rejection::new(code, error.to_string());
                Handled {
                    answer: refusal(request, &rejection, &self.config.origin),
                    result_code: code,
                }
            }
        }
    }

    /// Cx MAR (TS 29.228 §6.3.1).
    pub fn mar(&mut self, mar: &Mar, rng: &mut impl CryptoRng) -> Maa {
        let mut maa = Maa {
            session_id: mar.routing.session_id.clone(),
            origin: self.config.origin.clone(),
            result: CxResult::SUCCESS,
            user_name: Some(mar.user_name.clone()),
            public_identity: Some(mar.public_identity.clone()),
            number_auth_items: None,
            auth_data: Vec::new(),
        };
        let fail = |mut maa: Maa, result| {
            maa.result = result;
            maa
        };
        let Some(subscriber) = self.population.subscriber(&mar.user_name) else {
            return fail(maa, CxResult::tgpp(cx_result::ERROR_USER_UNKNOWN));
        };
        let Some(found) = self.population.find_impu(&mar.public_identity) else {
            return fail(maa, CxResult::tgpp(cx_result::ERROR_USER_UNKNOWN));
        };
        if !found.irs.impis.contains(&subscriber.impi) {
            return fail(maa, CxResult::tgpp(cx_result::ERROR_IDENTITIES_DONT_MATCH));
        }
        let has_digest = subscriber.ha1.is_some();
        let has_aka = subscriber.aka.is_some();
        let method = match &mar.scheme {
            AuthScheme::SipDigest if has_digest => Method::Digest,
            scheme @ (AuthScheme::DigestAkaV1Md5 | AuthScheme::DigestAkaV2Sha256) if has_aka => {
                Method::Aka(scheme.clone())
            }
            AuthScheme::Unknown if has_digest => Method::Digest,
            AuthScheme::Unknown if has_aka => Method::Aka(AuthScheme::DigestAkaV1Md5),
            _ => {
                return fail(
                    maa,
                    CxResult::tgpp(cx_result::ERROR_AUTH_SCHEME_NOT_SUPPORTED),
                );
            }
        };
        match method {
            Method::Digest => {
                let mut item = SipAuthDataItem::digest(
                    subscriber.realm.clone(),
                    "auth",
                    subscriber.ha1.clone().unwrap_or_default(),
                );
                if let Some(digest) = item.digest.as_mut() {
                    digest.algorithm = Some("MD5".to_owned());
                }
                maa.number_auth_items = Some(1);
                maa.auth_data.push(item);
            }
            Method::Aka(scheme) => {
                let count = mar.number_auth_items.clamp(1, MAX_AUTH_ITEMS);
                match self.aka_vectors(&subscriber, mar.resync.as_ref(), count, rng) {
                    Ok(vectors) => {
                        maa.number_auth_items = Some(vectors.len() as u32);
                        for (n, vector) in vectors.iter().enumerate() {
                            let mut item = SipAuthDataItem::aka(scheme.clone(), vector);
                            if vectors.len() > 1 {
                                item.item_number = Some(n as u32 + 1);
                            }
                            maa.auth_data.push(item);
                        }
                    }
                    Err(result) => return fail(maa, result),
                }
            }
        }
        maa
    }

    /// Issues `count` vectors, after moving the SQN for a verified resynchronisation. A
    /// resynchronisation whose MAC-S does not verify is refused with 5003
    /// DIAMETER_AUTHORIZATION_REJECTED and the SQN is left alone.
    fn aka_vectors(
        &mut self,
        subscriber: &Subscriber,
        resync: Option<&Resync>,
        count: u32,
        rng: &mut impl CryptoRng,
    ) -> Result<Vec<AuthVector>, CxResult> {
        let Some(credentials) = &subscriber.aka else {
            return Err(CxResult::tgpp(cx_result::ERROR_AUTH_SCHEME_NOT_SUPPORTED));
        };
        let milenage = Milenage::new(&credentials.k, &credentials.opc);
        let policy = self.config.sqn_policy;
        let mut last = self
            .sqns
            .get(&subscriber.impi)
            .copied()
            .unwrap_or(credentials.sqn);
        if let Some(resync) = resync {
            let sqn_ms = aka::resync(&milenage, &resync.rand, &resync.auts)
                .map_err(|_| CxResult::Base(result::AUTHORIZATION_REJECTED))?;
            // SEQ_HE = SEQ_MS: the next SQN is next_sqn(SQN_MS) (Annex C.3.4).
            last = sqn_from_bytes(&sqn_ms);
        }
        let mut vectors = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let next = policy
                .next_sqn(last)
                .map_err(|_| CxResult::Base(result::UNABLE_TO_COMPLY))?;
            let sqn = sqn_to_bytes(next).map_err(|_| CxResult::Base(result::UNABLE_TO_COMPLY))?;
            vectors.push(aka::generate_vector(&milenage, rng, sqn, credentials.amf));
            last = next;
        }
        self.sqns.insert(subscriber.impi.clone(), last);
        Ok(vectors)
    }

    /// Cx UAR (TS 29.228 §6.1.1).
    pub fn uar(&self, uar: &Uar) -> Uaa {
        let answer = |result, server_name: Option<String>, capabilities| Uaa {
            session_id: uar.routing.session_id.clone(),
            origin: self.config.origin.clone(),
            result,
            server_name,
            capabilities,
        };
        let Some(subscriber) = self.population.subscriber(&uar.user_name) else {
            return answer(CxResult::tgpp(cx_result::ERROR_USER_UNKNOWN), None, None);
        };
        let Some(found) = self.population.find_impu(&uar.public_identity) else {
            return answer(CxResult::tgpp(cx_result::ERROR_USER_UNKNOWN), None, None);
        };
        if !found.irs.impis.contains(&subscriber.impi) {
            return answer(
                CxResult::tgpp(cx_result::ERROR_IDENTITIES_DONT_MATCH),
                None,
                None,
            );
        }
        let deregistration = uar.authorization_type == UserAuthorizationType::DeRegistration;
        if (subscriber.barred || found.barred) && !uar.is_emergency() && !deregistration {
            return answer(CxResult::Base(result::AUTHORIZATION_REJECTED), None, None);
        }
        let home = [subscriber.realm.as_str(), self.config.origin.realm.as_str()];
        if !subscriber.roaming_allowed && !home.contains(&uar.visited_network.as_str()) {
            return answer(
                CxResult::tgpp(cx_result::ERROR_ROAMING_NOT_ALLOWED),
                None,
                None,
            );
        }
        let assigned = self.assignments.get(&found.irs.id);
        let capabilities = Some(self.config.capabilities.clone());
        match uar.authorization_type {
            UserAuthorizationType::DeRegistration => match assigned {
                Some(a) => answer(CxResult::SUCCESS, Some(a.server_name.clone()), None),
                None => answer(
                    CxResult::tgpp(cx_result::ERROR_IDENTITY_NOT_REGISTERED),
                    None,
                    None,
                ),
            },
            UserAuthorizationType::Registration => match assigned {
                Some(a) => answer(
                    CxResult::tgpp(cx_result::SUBSEQUENT_REGISTRATION),
                    Some(a.server_name.clone()),
                    None,
                ),
                None => answer(
                    CxResult::tgpp(cx_result::FIRST_REGISTRATION),
                    None,
                    capabilities,
                ),
            },
            UserAuthorizationType::RegistrationAndCapabilities => answer(
                CxResult::tgpp(cx_result::FIRST_REGISTRATION),
                None,
                capabilities,
            ),
        }
    }

    /// Cx LIR (TS 29.228 §6.1.4).
    pub fn lir(&self, lir: &Lir) -> Lia {
        let answer = |result, server_name: Option<String>, capabilities, wildcard| Lia {
            session_id: lir.routing.session_id.clone(),
            origin: self.config.origin.clone(),
            result,
            server_name,
            capabilities,
            wildcarded_public_identity: wildcard,
        };
        let Some(found) = self.population.find_impu(&lir.public_identity) else {
            return answer(
                CxResult::tgpp(cx_result::ERROR_USER_UNKNOWN),
                None,
                None,
                None,
            );
        };
        let wildcard = found.wildcard.clone();
        let capabilities = Some(self.config.capabilities.clone());
        if lir.authorization_type == Some(UserAuthorizationType::RegistrationAndCapabilities) {
            return answer(CxResult::SUCCESS, None, capabilities, wildcard);
        }
        match self.assignments.get(&found.irs.id) {
            Some(a) => answer(
                CxResult::SUCCESS,
                Some(a.server_name.clone()),
                None,
                wildcard,
            ),
            None if found.irs.has_services() => answer(
                CxResult::tgpp(cx_result::UNREGISTERED_SERVICE),
                None,
                capabilities,
                wildcard,
            ),
            None => answer(
                CxResult::tgpp(cx_result::ERROR_IDENTITY_NOT_REGISTERED),
                None,
                None,
                wildcard,
            ),
        }
    }

    /// Cx SAR (TS 29.228 §6.1.2). `origin_host` is the sender's Origin-Host, kept with the
    /// assignment so that PPR and RTR reach it.
    pub fn sar(&mut self, sar: &Sar, origin_host: &str) -> Saa {
        let mut saa = Saa {
            session_id: sar.routing.session_id.clone(),
            origin: self.config.origin.clone(),
            result: CxResult::SUCCESS,
            user_name: sar.user_name.clone(),
            supported_features: Vec::new(),
            user_data: None,
            charging: None,
            associated_identities: Vec::new(),
            server_name: None,
            wildcarded_public_identity: None,
        };
        let fail = |mut saa: Saa, result| {
            saa.result = result;
            saa
        };
        let subscriber = match &sar.user_name {
            Some(name) => match self.population.subscriber(name) {
                Some(subscriber) => Some(subscriber),
                None => return fail(saa, CxResult::tgpp(cx_result::ERROR_USER_UNKNOWN)),
            },
            None => None,
        };
        let mut irss: Vec<Arc<Irs>> = Vec::new();
        let mut matched: Option<ImpuMatch> = None;
        if let Some(impu) = sar.public_identities.first() {
            let found = self.population.find_impu(impu).or_else(|| {
                sar.wildcarded_public_identity
                    .as_deref()
                    .and_then(|w| self.population.find_impu(w))
            });
            let Some(found) = found else {
                return fail(saa, CxResult::tgpp(cx_result::ERROR_USER_UNKNOWN));
            };
            if let (Some(right), Some(sent)) = (&found.wildcard, &sar.wildcarded_public_identity)
                && right != sent
            {
                saa.wildcarded_public_identity = Some(right.clone());
                return fail(saa, CxResult::tgpp(cx_result::ERROR_IN_ASSIGNMENT_TYPE));
            }
            if let Some(subscriber) = &subscriber
                && !found.irs.impis.contains(&subscriber.impi)
            {
                return fail(saa, CxResult::tgpp(cx_result::ERROR_IDENTITIES_DONT_MATCH));
            }
            irss.push(Arc::clone(&found.irs));
            matched = Some(found);
        } else if let Some(subscriber) = &subscriber {
            irss.extend(
                subscriber
                    .irs
                    .iter()
                    .filter_map(|id| self.population.irs(id)),
            );
        } else {
            return fail(saa, CxResult::Base(result::MISSING_AVP));
        }
        let Some(first) = irss.first().cloned() else {
            return fail(saa, CxResult::tgpp(cx_result::ERROR_USER_UNKNOWN));
        };
        let impi = subscriber.as_ref().map(|s| s.impi.clone());
        use ServerAssignmentType as T;
        let kind = sar.server_assignment_type;
        let returns_profile = matches!(
            kind,
            T::Registration
                | T::ReRegistration
                | T::UnregisteredUser
                | T::NoAssignment
                | T::Restoration
                | T::AaaUserDataRequest
        );
        for irs in &irss {
            let current = self.assignments.get(&irs.id).map(|a| a.state);
            match kind {
                T::Registration | T::ReRegistration | T::Restoration => {
                    let assignment = self.assign(irs, RegState::Registered, sar, origin_host);
                    if let Some(impi) = &impi {
                        assignment.impis.insert(impi.clone());
                    }
                }
                T::UnregisteredUser => {
                    if current != Some(RegState::Registered) {
                        self.assign(irs, RegState::Unregistered, sar, origin_host);
                    }
                }
                T::TimeoutDeregistration
                | T::UserDeregistration
                | T::AdministrativeDeregistration
                | T::DeregistrationTooMuchData => self.deregister(&irs.id, impi.as_deref()),
                T::TimeoutDeregistrationStoreServerName | T::UserDeregistrationStoreServerName => {
                    self.assign(irs, RegState::Unregistered, sar, origin_host)
                        .impis
                        .clear();
                }
                T::AuthenticationFailure | T::AuthenticationTimeout => {
                    // A failed initial registration leaves nothing assigned; a failed
                    // re-registration leaves the registration as it was.
                    if current != Some(RegState::Registered) {
                        self.assignments.remove(&irs.id);
                    }
                }
                T::NoAssignment | T::AaaUserDataRequest | T::PgwUpdate => {}
            }
        }
        if returns_profile {
            if !sar.user_data_already_available || kind == T::NoAssignment {
                saa.user_data = Some(self.user_data(&first, impi.as_deref()));
            }
            saa.charging = self.charging(&first);
        }
        if first.impis.len() > 1 {
            saa.associated_identities = first.impis.clone();
        }
        saa.wildcarded_public_identity = matched.and_then(|m| m.wildcard);
        saa
    }

    fn assign(
        &mut self,
        irs: &Irs,
        state: RegState,
        sar: &Sar,
        origin_host: &str,
    ) -> &mut Assignment {
        let assignment = self
            .assignments
            .entry(irs.id.clone())
            .or_insert_with(|| Assignment {
                state,
                server_name: sar.server_name.clone(),
                origin_host: origin_host.to_owned(),
                impis: BTreeSet::new(),
            });
        assignment.state = state;
        assignment.server_name.clone_from(&sar.server_name);
        assignment.origin_host = origin_host.to_owned();
        assignment
    }

    /// Ends the registration of `impi` (or of every IMPI) in an IRS; the assignment goes when no
    /// registered IMPI is left.
    fn deregister(&mut self, irs_id: &str, impi: Option<&str>) {
        let Some(assignment) = self.assignments.get_mut(irs_id) else {
            return;
        };
        match impi {
            Some(impi) => {
                assignment.impis.remove(impi);
            }
            None => assignment.impis.clear(),
        }
        if assignment.impis.is_empty() {
            self.assignments.remove(irs_id);
        }
    }

    /// The IMSSubscription of an IRS, with any profile change pushed by PPR.
    fn user_data(&self, irs: &Irs, impi: Option<&str>) -> String {
        let changed = self.overrides.get(&irs.id).and_then(|o| o.ifc.as_ref());
        let parts: Vec<ProfileParts> = irs
            .profiles
            .iter()
            .map(|profile| ProfileParts {
                public_identities: profile.impus.iter().map(|p| p.xml.clone()).collect(),
                filter_xml: changed.or(profile.ifc.as_ref()).cloned(),
            })
            .collect();
        build_ims_subscription(impi, &parts)
    }

    fn charging(&self, irs: &Irs) -> Option<ChargingInformation> {
        self.overrides
            .get(&irs.id)
            .and_then(|o| o.charging.clone())
            .or_else(|| irs.charging.clone())
    }

    /// Zh MAR (TS 29.109 §6.1.1): one vector for the IMPI (AKA, or SIP Digest for a subscriber
    /// with a password only, as GBA_Digest) and its GUSS unless the BSF's GUSS-Timestamp is
    /// current.
    pub fn zh_mar(&mut self, mar: &ZhMar, rng: &mut impl CryptoRng) -> ZhMaa {
        let mut maa = ZhMaa {
            session_id: mar.session_id.clone(),
            origin: self.config.origin.clone(),
            result: CxResult::SUCCESS,
            user_name: None,
            public_identity: mar.public_identity.clone(),
            item: None,
            guss: None,
        };
        let subscriber = match (&mar.user_name, &mar.public_identity) {
            (Some(impi), _) => self.population.subscriber(impi),
            (None, Some(impu)) => self
                .population
                .find_impu(impu)
                .and_then(|found| found.irs.impis.first().cloned())
                .and_then(|impi| self.population.subscriber(&impi)),
            (None, None) => None,
        };
        let Some(subscriber) = subscriber else {
            maa.result = CxResult::tgpp(cx_result::ERROR_USER_UNKNOWN);
            return maa;
        };
        maa.user_name = Some(subscriber.impi.clone());
        let wants_digest = mar.scheme.as_ref() == Some(&AuthScheme::SipDigest);
        if subscriber.aka.is_some() && !wants_digest {
            match self.aka_vectors(&subscriber, mar.resync.as_ref(), 1, rng) {
                Ok(vectors) => {
                    maa.item = vectors
                        .first()
                        .map(|v| SipAuthDataItem::aka(AuthScheme::DigestAkaV1Md5, v));
                }
                Err(result) => {
                    maa.result = result;
                    return maa;
                }
            }
        } else if let Some(ha1) = &subscriber.ha1 {
            maa.item = Some(SipAuthDataItem::digest(
                subscriber.realm.clone(),
                "auth",
                ha1.clone(),
            ));
        } else {
            maa.result = CxResult::tgpp(cx_result::ERROR_AUTH_SCHEME_NOT_SUPPORTED);
            return maa;
        }
        let current = mar
            .guss_timestamp
            .is_some_and(|t| t.0 >= self.config.guss_timestamp.0);
        if !current {
            maa.guss = Some(self.guss(&subscriber));
        }
        maa
    }

    /// A small GUSS (TS 29.109 Annex A): the subscriber's public identities in one USS.
    fn guss(&self, subscriber: &Subscriber) -> String {
        let mut uids = String::new();
        for irs in subscriber
            .irs
            .iter()
            .filter_map(|id| self.population.irs(id))
        {
            for public in irs.public_ids() {
                uids.push_str("<uid>");
                uids.push_str(&escape(public.identity.as_str()));
                uids.push_str("</uid>");
            }
        }
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><guss xmlns=\"uri:3gpp-gba\" id=\"{}\">\
<bsfInfo><uiccType>GBA</uiccType><lifeTime>3600</lifeTime></bsfInfo><ussList>\
<uss id=\"1\" type=\"1\"><uids>{uids}</uids><flags><flag>1</flag></flags></uss></ussList></guss>",
            escape(subscriber.impi.as_str())
        )
    }

    // -----------------------------------------------------------------------------------------
    // HSS-initiated requests, for the control API

    fn routing(&mut self, destination_host: &str, realm: &str) -> Routing {
        Routing {
            session_id: self.session_ids.next_id(),
            origin: self.config.origin.clone(),
            destination_realm: realm.to_owned(),
            destination_host: Some(destination_host.to_owned()),
        }
    }

    /// The realm part of a DiameterIdentity (what follows the first dot), else ours.
    fn realm_of(&self, host: &str) -> String {
        host.split_once('.')
            .map(|(_, realm)| realm.to_owned())
            .filter(|realm| !realm.is_empty())
            .unwrap_or_else(|| self.config.origin.realm.clone())
    }

    /// Builds the RTR `POST /rtr` asks for.
    pub fn rtr(&mut self, command: &RtrCommand) -> Result<Outgoing<Rtr>, ControlError> {
        let reason = match command.reason.as_deref() {
            None | Some("PERMANENT_TERMINATION") => ReasonCode::PermanentTermination,
            Some("NEW_SERVER_ASSIGNED") => ReasonCode::NewServerAssigned,
            Some("SERVER_CHANGE") => ReasonCode::ServerChange,
            Some("REMOVE_SCSCF" | "REMOVE_S-CSCF") => ReasonCode::RemoveScscf,
            Some(other) => {
                return Err(ControlError::new(
                    400,
                    format!(
                        "reason {other:?} is not PERMANENT_TERMINATION, NEW_SERVER_ASSIGNED, \
                         SERVER_CHANGE or REMOVE_SCSCF"
                    ),
                ));
            }
        };
        let mut irs_ids: Vec<String> = Vec::new();
        for impu in &command.impus {
            let found = self
                .population
                .find_impu(impu)
                .ok_or_else(|| ControlError::new(404, format!("unknown IMPU {impu}")))?;
            irs_ids.push(found.irs.id.clone());
        }
        let mut user_name = command.impis.first().cloned();
        for impi in &command.impis {
            let subscriber = self
                .population
                .subscriber(impi)
                .ok_or_else(|| ControlError::new(404, format!("unknown IMPI {impi}")))?;
            if command.impus.is_empty() {
                irs_ids.extend(subscriber.irs.iter().cloned());
            }
        }
        if user_name.is_none() {
            user_name = irs_ids
                .first()
                .and_then(|id| self.population.irs(id))
                .and_then(|irs| irs.impis.first().cloned());
        }
        let Some(user_name) = user_name else {
            return Err(ControlError::new(
                400,
                "give impis, or impus of an IRS that has an IMPI",
            ));
        };
        irs_ids.dedup();
        let destination_host = self.destination(command.destination_host.as_ref(), &irs_ids)?;
        let realm = self.realm_of(&destination_host);
        Ok(Outgoing {
            request: Rtr {
                routing: self.routing(&destination_host, &realm),
                user_name,
                associated_identities: command.impis.iter().skip(1).cloned().collect(),
                public_identities: command.impus.clone(),
                reason: DeregistrationReason {
                    code: reason,
                    info: command.reason_info.clone(),
                },
            },
            destination_host,
            irs_ids,
        })
    }

    /// The Destination-Host for a request about these IRSs: the override, else the Origin-Host
    /// of the node that registered the first assigned one.
    fn destination(
        &self,
        explicit: Option<&String>,
        irs_ids: &[String],
    ) -> Result<String, ControlError> {
        if let Some(host) = explicit {
            return Ok(host.clone());
        }
        irs_ids
            .iter()
            .find_map(|id| self.assignments.get(id))
            .map(|a| a.origin_host.clone())
            .ok_or_else(|| {
                ControlError::new(
                    409,
                    "no S-CSCF is assigned to these identities; give destination_host",
                )
            })
    }

    /// The RTA was a success: the identities are no longer assigned.
    pub fn rtr_succeeded(&mut self, irs_ids: &[String]) {
        for id in irs_ids {
            self.assignments.remove(id);
        }
    }

    /// Builds the PPR `POST /ppr` asks for, storing a changed profile or charging information.
    pub fn ppr(&mut self, command: &PprCommand) -> Result<Outgoing<Ppr>, ControlError> {
        let subscriber = self
            .population
            .subscriber(&command.impi)
            .ok_or_else(|| ControlError::new(404, format!("unknown IMPI {}", command.impi)))?;
        let irs = match &command.impu {
            Some(impu) => {
                let found = self
                    .population
                    .find_impu(impu)
                    .ok_or_else(|| ControlError::new(404, format!("unknown IMPU {impu}")))?;
                if !found.irs.impis.contains(&subscriber.impi) {
                    return Err(ControlError::new(
                        400,
                        format!("{impu} is not an identity of {}", subscriber.impi),
                    ));
                }
                found.irs
            }
            None => subscriber
                .irs
                .first()
                .and_then(|id| self.population.irs(id))
                .ok_or_else(|| ControlError::new(404, "the IMPI has no IRS"))?,
        };
        if command.user_data.is_none() && command.ifc.is_none() && command.charging.is_none() {
            return Err(ControlError::new(
                400,
                "give user_data, ifc or charging (or several)",
            ));
        }
        let ifc = command
            .ifc
            .as_deref()
            .map(|xml| check_ifc(xml, "ppr").map_err(|e| ControlError::new(400, e.0)))
            .transpose()?;
        let destination_host = self.destination(
            command.destination_host.as_ref(),
            std::slice::from_ref(&irs.id),
        )?;
        let entry = self.overrides.entry(irs.id.clone()).or_default();
        if let Some(ifc) = ifc {
            entry.ifc = Some(ifc);
        }
        if let Some(charging) = &command.charging {
            entry.charging = Some(charging.to_cx());
        }
        let user_data = match (&command.user_data, &command.ifc) {
            (Some(xml), _) => Some(xml.clone()),
            (None, Some(_)) => Some(self.user_data(&irs, Some(&subscriber.impi))),
            (None, None) => None,
        };
        let realm = self.realm_of(&destination_host);
        Ok(Outgoing {
            request: Ppr {
                routing: self.routing(&destination_host, &realm),
                user_name: subscriber.impi.clone(),
                user_data,
                charging: command.charging.as_ref().map(ChargingSpec::to_cx),
                auth_data: None,
            },
            destination_host,
            irs_ids: vec![irs.id.clone()],
        })
    }

    /// What `GET /subscriber/<impi>` shows.
    pub fn view(&self, impi: &str) -> Option<SubscriberView> {
        let subscriber = self.population.subscriber(impi)?;
        let sqn = subscriber
            .aka
            .as_ref()
            .map(|aka| self.sqns.get(impi).copied().unwrap_or(aka.sqn));
        let parts = sqn.and_then(|sqn| self.config.sqn_policy.split(sqn).ok());
        Some(SubscriberView {
            impi: subscriber.impi.clone(),
            realm: subscriber.realm.clone(),
            digest: subscriber.ha1.is_some(),
            sqn,
            seq: parts.map(|p| p.seq),
            ind: parts.map(|p| p.ind),
            irs: subscriber
                .irs
                .iter()
                .filter_map(|id| self.population.irs(id))
                .map(|irs| IrsView {
                    id: irs.id.clone(),
                    impus: irs.public_ids().map(|p| p.identity.clone()).collect(),
                    assignment: self.assignments.get(&irs.id).cloned(),
                })
                .collect(),
        })
    }
}

/// An answer with only a result (injected errors, requests that cannot be read): the 'E' bit and
/// the RFC 6733 §7.2 form for 3xxx, else the command's answer with Vendor-Specific-Application-Id,
/// the Result-Code or 3GPP Experimental-Result, and Auth-Session-State.
pub fn refusal(request: &Message, rejection: &Rejection, origin: &Origin) -> Message {
    let built = if rejection.is_protocol_error() {
        error_answer(request, rejection, &origin.host, &origin.realm).finish()
    } else {
        result_only_answer(request, CxResult::Base(rejection.result_code), origin).finish()
    };
    // Encoding fails only for absurdly long identities; answer with the bare minimum then.
    built.unwrap_or_else(|_| {
        MessageBuilder::answer_to(request)
            .avp_u32(avp::RESULT_CODE, result::UNABLE_TO_COMPLY)
            .finish()
            .unwrap_or_else(|_| request.clone())
    })
}

/// The answer to `request` carrying only `outcome` (an injected error code).
pub fn injected_answer(request: &Message, outcome: CxResult, origin: &Origin) -> Message {
    if outcome.is_protocol_error() {
        return refusal(
            request,
            &Rejection::new(outcome.code(), "injected by hearth hss-sim"),
            origin,
        );
    }
    result_only_answer(request, outcome, origin)
        .finish()
        .unwrap_or_else(|_| {
            refusal(
                request,
                &Rejection::new(result::UNABLE_TO_COMPLY, ""),
                origin,
            )
        })
}

fn result_only_answer(request: &Message, outcome: CxResult, origin: &Origin) -> MessageBuilder {
    let avps = request.avps().ok();
    let mut builder = MessageBuilder::answer_to(request);
    if let Some(session) = avps.as_ref().and_then(|a| a.get(avp::SESSION_ID)) {
        builder = builder.avp_bytes(avp::SESSION_ID, &session.data);
    }
    let application = request.header().application_id;
    if application != app::BASE {
        builder = builder.grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
            g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                .avp_u32(avp::AUTH_APPLICATION_ID, application);
        });
    }
    builder = write_result(builder, outcome);
    if application != app::BASE {
        builder = builder.avp_i32(
            avp::AUTH_SESSION_STATE,
            auth_session_state::NO_STATE_MAINTAINED,
        );
    }
    builder = builder
        .avp_str(avp::ORIGIN_HOST, &origin.host)
        .avp_str(avp::ORIGIN_REALM, &origin.realm);
    if let Some(avps) = &avps {
        for proxy_info in avps.all(avp::PROXY_INFO) {
            builder = builder.avp_copy(&proxy_info);
        }
    }
    builder
}

fn write_result(builder: MessageBuilder, outcome: CxResult) -> MessageBuilder {
    match outcome {
        CxResult::Base(code) => builder.avp_u32(avp::RESULT_CODE, code),
        CxResult::Experimental { vendor_id, code } => {
            builder.grouped(avp::EXPERIMENTAL_RESULT, |g| {
                g.avp_u32(avp::VENDOR_ID, vendor_id)
                    .avp_u32(avp::EXPERIMENTAL_RESULT_CODE, code);
            })
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Zh (TS 29.109): the HSS side of Multimedia-Auth

/// A Zh Multimedia-Auth-Request, as the HSS reads it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ZhMar {
    /// Session-Id.
    pub session_id: String,
    /// User-Name: the IMPI (or absent when the BSF names a public identity).
    pub user_name: Option<String>,
    /// Public-Identity.
    pub public_identity: Option<String>,
    /// SIP-Authentication-Scheme of the SIP-Auth-Data-Item, if any.
    pub scheme: Option<AuthScheme>,
    /// RAND || AUTS from the item's SIP-Authorization.
    pub resync: Option<Resync>,
    /// GUSS-Timestamp: the time of the GUSS the BSF holds.
    pub guss_timestamp: Option<DiameterTime>,
}

fn text_of(avps: &AvpList, key: hearth_core::diameter::AvpKey) -> Result<Option<String>, CxError> {
    avps.get(key)
        .map(|a| {
            a.as_utf8()
                .map(str::to_owned)
                .map_err(|error| CxError::Value { avp: key, error })
        })
        .transpose()
}

impl ZhMar {
    /// Reads a Zh MAR.
    pub fn from_message(message: &Message) -> Result<Self, CxError> {
        let header = message.header();
        if header.application_id != app::ZH
            || header.command_code != cmd::MULTIMEDIA_AUTH
            || !header.is_request()
        {
            return Err(CxError::UnexpectedCommand {
                expected: cmd::MULTIMEDIA_AUTH,
                expected_request: true,
                application_id: header.application_id,
                command_code: header.command_code,
                request: header.is_request(),
            });
        }
        let avps = message.avps()?;
        let session_id =
            text_of(&avps, avp::SESSION_ID)?.ok_or(CxError::Missing(avp::SESSION_ID))?;
        let (mut scheme, mut resync) = (None, None);
        if let Some(item) = avps.get(avp::SIP_AUTH_DATA_ITEM) {
            let members = item.grouped()?;
            scheme = text_of(&members, avp::SIP_AUTHENTICATION_SCHEME)?
                .map(|name| AuthScheme::from_wire(&name));
            if let Some(authorization) = members.get(avp::SIP_AUTHORIZATION) {
                resync = Some(
                    Resync::from_bytes(&authorization.data).ok_or(CxError::Length {
                        avp: avp::SIP_AUTHORIZATION,
                        expected: Resync::LEN,
                        actual: authorization.data.len(),
                    })?,
                );
            }
        }
        let guss_timestamp = avps
            .get(avp::GUSS_TIMESTAMP)
            .map(|a| {
                a.as_time().map_err(|error| CxError::Value {
                    avp: avp::GUSS_TIMESTAMP,
                    error,
                })
            })
            .transpose()?;
        Ok(Self {
            session_id,
            user_name: text_of(&avps, avp::USER_NAME)?,
            public_identity: text_of(&avps, avp::PUBLIC_IDENTITY)?,
            scheme,
            resync,
            guss_timestamp,
        })
    }
}

/// A Zh Multimedia-Auth-Answer, as the HSS writes it.
pub struct ZhMaa {
    /// Session-Id of the request.
    pub session_id: String,
    /// Our identity.
    pub origin: Origin,
    /// Result-Code or Experimental-Result.
    pub result: CxResult,
    /// User-Name: the IMPI.
    pub user_name: Option<String>,
    /// Public-Identity, echoed.
    pub public_identity: Option<String>,
    /// The vector.
    pub item: Option<SipAuthDataItem>,
    /// GBA-UserSecSettings (GUSS XML).
    pub guss: Option<String>,
}

fn write_item(group: &mut GroupBuilder<'_>, item: &SipAuthDataItem) {
    if let Some(scheme) = &item.scheme {
        group.avp_str(avp::SIP_AUTHENTICATION_SCHEME, scheme.wire_name());
    }
    for (key, value) in [
        (avp::SIP_AUTHENTICATE, &item.authenticate),
        (avp::SIP_AUTHORIZATION, &item.authorization),
        (avp::CONFIDENTIALITY_KEY, &item.confidentiality_key),
        (avp::INTEGRITY_KEY, &item.integrity_key),
    ] {
        if let Some(value) = value {
            group.avp_bytes(key, value);
        }
    }
    if let Some(digest) = &item.digest {
        group.grouped(avp::SIP_DIGEST_AUTHENTICATE, |g| {
            g.avp_str(avp::DIGEST_REALM, &digest.realm)
                .avp_str(avp::DIGEST_QOP, &digest.qop)
                .avp_str(avp::DIGEST_HA1, &digest.ha1);
        });
    }
}

impl ZhMaa {
    /// The answer to `request`.
    pub fn to_message(&self, request: &Message) -> Result<Message, CxError> {
        if self.result.is_protocol_error() {
            return Ok(injected_answer(request, self.result, &self.origin));
        }
        let mut builder = MessageBuilder::answer_to(request)
            .avp_str(avp::SESSION_ID, &self.session_id)
            .grouped(avp::VENDOR_SPECIFIC_APPLICATION_ID, |g| {
                g.avp_u32(avp::VENDOR_ID, VENDOR_3GPP)
                    .avp_u32(avp::AUTH_APPLICATION_ID, app::ZH);
            });
        builder = write_result(builder, self.result)
            .avp_i32(
                avp::AUTH_SESSION_STATE,
                auth_session_state::NO_STATE_MAINTAINED,
            )
            .avp_str(avp::ORIGIN_HOST, &self.origin.host)
            .avp_str(avp::ORIGIN_REALM, &self.origin.realm);
        if let Some(name) = &self.user_name {
            builder = builder.avp_str(avp::USER_NAME, name);
        }
        if let Some(identity) = &self.public_identity {
            builder = builder.avp_str(avp::PUBLIC_IDENTITY, identity);
        }
        if let Some(item) = &self.item {
            builder = builder.grouped(avp::SIP_AUTH_DATA_ITEM, |g| write_item(g, item));
        }
        if let Some(guss) = &self.guss {
            builder = builder.avp_str(avp::GBA_USER_SEC_SETTINGS, guss);
        }
        for proxy_info in request.avps()?.all(avp::PROXY_INFO) {
            builder = builder.avp_copy(&proxy_info);
        }
        Ok(builder.finish()?)
    }
}

#[cfg(test)]
mod tests;
