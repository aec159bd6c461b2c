//! The simulator's subscribers: generated from formulas (`--subscribers N`) or read from a JSON
//! file (`--population FILE`), checked once at start-up, then looked up by private identity
//! (IMPI) and by public identity (IMPU, wildcarded IMPUs included).
//!
//! # Generated subscribers
//!
//! Subscriber `i` (0 ≤ i < N), with `P` = `--prefix` and `D` = `--domain`:
//!
//! | what | formula |
//! |---|---|
//! | IMPI | `P{i}@D` |
//! | IMPU (its only one, in its own IRS) | `sip:P{i}@D` |
//! | digest realm | `D` |
//! | password | `--password` with every `{i}` replaced by `i` (default `password`, as hearth-loadgen) |
//! | HA1 | `MD5(IMPI ":" D ":" password)` in lower-case hex |
//! | K | first 16 octets of `SHA-256("K:" IMPI)` |
//! | OPc | first 16 octets of `SHA-256("OPc:" IMPI)` |
//! | AMF, SQN | AMF `8000`; the stored SQN starts at 0, so the first vector has SEQ 1, IND 1 |
//! | service profile | one iFC: INVITE → `sip:mmtel.D` (hearth-loadgen's default) |
//! | Charging-Information | CCFs `aaa://ccf1.D`, `aaa://ccf2.D`; ECFs `aaa://ecf1.D`, `aaa://ecf2.D` |
//!
//! Nothing is stored per generated subscriber until a request changes its state, so N can be
//! large.
//!
//! # Population file
//!
//! See the README ("HSS simulator"): `subscribers` (each with `impi`, `realm`, `password` or
//! `ha1`, optional `aka`, `irs`, `roaming_allowed`, `barred`) and optional shared `irs` entries
//! referenced by id. Every mistake is reported with the subscriber or IRS it concerns.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::Arc;

use hearth_core::crypto::aka::SQN_MAX;
use hearth_core::crypto::digest::{DigestAlgorithm, ha1};
use hearth_core::crypto::milenage::compute_opc;
use hearth_core::diameter::cx::ChargingInformation;
use hearth_core::xml::{parse_public_identity, parse_service_profile};
use quick_xml::escape::escape;
use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Largest compiled wildcard pattern (the regex crate's size limit), so that a population file
/// cannot make the simulator build a huge automaton.
const WILDCARD_REGEX_SIZE_LIMIT: usize = 1 << 20;

/// AKA credentials of a subscriber.
#[derive(Clone, PartialEq, Eq)]
pub struct AkaCredentials {
    /// K, the subscriber key.
    pub k: [u8; 16],
    /// OPc (derived from OP when the file gives OP).
    pub opc: [u8; 16],
    /// AMF put in every AUTN.
    pub amf: [u8; 2],
    /// The SQN of the last vector issued (0: none yet).
    pub sqn: u64,
}

impl fmt::Debug for AkaCredentials {
    /// K and OPc are secrets and are not printed.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AkaCredentials")
            .field("amf", &hex::encode(self.amf))
            .field("sqn", &self.sqn)
            .finish_non_exhaustive()
    }
}

/// A private identity and what authenticates it.
#[derive(Clone, Debug)]
pub struct Subscriber {
    /// The private identity.
    pub impi: String,
    /// Digest realm.
    pub realm: String,
    /// HA1 = MD5(IMPI:realm:password) in lower-case hex, for SIP Digest.
    pub ha1: Option<String>,
    /// AKA credentials.
    pub aka: Option<AkaCredentials>,
    /// Ids of the implicit registration sets the IMPI may register.
    pub irs: Vec<String>,
    /// Whether a UAR from a visited network other than the home realm is allowed (false: 5004).
    pub roaming_allowed: bool,
    /// Whether the IMPI is barred (UAR: 5003 DIAMETER_AUTHORIZATION_REJECTED).
    pub barred: bool,
}

/// One public identity of a service profile.
#[derive(Clone, Debug)]
pub struct PublicId {
    /// The identity (for a wildcarded IMPU, the wildcard itself, e.g. `sip:!user.*!@example.com`).
    pub identity: String,
    /// BarringIndication.
    pub barred: bool,
    /// For a wildcarded IMPU: what a distinct identity must match.
    pub wildcard: Option<Regex>,
    /// The `PublicIdentity` element, canonical, as it goes into User-Data.
    pub xml: String,
}

/// A service profile: its public identities and its content after them (iFCs).
#[derive(Clone, Debug)]
pub struct Profile {
    /// Public identities, in order.
    pub impus: Vec<PublicId>,
    /// The canonical `ServiceProfile` content after the `PublicIdentity` elements, if any.
    pub ifc: Option<String>,
}

/// An implicit registration set: its identities share one registration state.
#[derive(Clone, Debug)]
pub struct Irs {
    /// Its id (from the file, or `gen:<i>`).
    pub id: String,
    /// Service profiles.
    pub profiles: Vec<Profile>,
    /// Charging-Information returned with the User-Data.
    pub charging: Option<ChargingInformation>,
    /// Private identities that may register it.
    pub impis: Vec<String>,
}

impl Irs {
    /// Every public identity, across its profiles.
    pub fn public_ids(&self) -> impl Iterator<Item = &PublicId> {
        self.profiles.iter().flat_map(|p| p.impus.iter())
    }

    /// Whether the IRS has a service profile with filter criteria (services for the unregistered
    /// state, as LIR judges it).
    pub fn has_services(&self) -> bool {
        self.profiles.iter().any(|p| p.ifc.is_some())
    }
}

/// How a public identity of a request was found.
#[derive(Clone, Debug)]
pub struct ImpuMatch {
    /// The IRS.
    pub irs: Arc<Irs>,
    /// The wildcarded IMPU the request's identity matched, when it matched through one.
    pub wildcard: Option<String>,
    /// BarringIndication of that identity.
    pub barred: bool,
}

/// Parameters of a generated population.
#[derive(Clone, Debug)]
pub struct Generated {
    /// Number of subscribers.
    pub count: u64,
    /// User-part prefix.
    pub prefix: String,
    /// Domain of the identities and digest realm.
    pub domain: String,
    /// Password template; `{i}` is replaced by the index.
    pub password: String,
}

impl Generated {
    /// The index of the IMPI `<prefix><i>@<domain>`, if it is one of ours.
    fn index_of_impi(&self, impi: &str) -> Option<u64> {
        let user = impi
            .strip_suffix(self.domain.as_str())?
            .strip_suffix('@')?
            .strip_prefix(self.prefix.as_str())?;
        // Decimal without a sign or leading zeros, so each subscriber has exactly one name.
        if user.is_empty()
            || !user.bytes().all(|b| b.is_ascii_digit())
            || (user.len() > 1 && user.starts_with('0'))
        {
            return None;
        }
        let i: u64 = user.parse().ok()?;
        (i < self.count).then_some(i)
    }

    /// The IMPI of subscriber `i`.
    pub fn impi(&self, i: u64) -> String {
        format!("{}{i}@{}", self.prefix, self.domain)
    }

    /// The IMPU of subscriber `i`.
    pub fn impu(&self, i: u64) -> String {
        format!("sip:{}", self.impi(i))
    }

    /// The password of subscriber `i`.
    pub fn password(&self, i: u64) -> String {
        self.password.replace("{i}", &i.to_string())
    }

    /// K and OPc of an IMPI by the documented formula.
    pub fn aka_keys(impi: &str) -> ([u8; 16], [u8; 16]) {
        let derive = |label: &str| {
            let digest = Sha256::new()
                .chain_update(label.as_bytes())
                .chain_update(impi.as_bytes())
                .finalize();
            let mut out = [0u8; 16];
            out.copy_from_slice(&digest[..16]);
            out
        };
        (derive("K:"), derive("OPc:"))
    }

    fn subscriber(&self, i: u64) -> Subscriber {
        let impi = self.impi(i);
        let password = self.password(i);
        let ha1 = ha1(
            DigestAlgorithm::Md5,
            &impi,
            &self.domain,
            password.as_bytes(),
            "",
            "",
        )
        .as_hex()
        .to_owned();
        let (k, opc) = Self::aka_keys(&impi);
        Subscriber {
            realm: self.domain.clone(),
            ha1: Some(ha1),
            aka: Some(AkaCredentials {
                k,
                opc,
                amf: [0x80, 0x00],
                sqn: 0,
            }),
            irs: vec![format!("gen:{i}")],
            roaming_allowed: true,
            barred: false,
            impi,
        }
    }

    fn irs(&self, i: u64) -> Irs {
        let domain = &self.domain;
        let identity = self.impu(i);
        let xml = format!(
            "<PublicIdentity><Identity>{}</Identity></PublicIdentity>",
            escape(identity.as_str())
        );
        let ifc = format!(
            "<InitialFilterCriteria><Priority>1</Priority><TriggerPoint>\
<ConditionTypeCNF>0</ConditionTypeCNF><SPT><ConditionNegated>0</ConditionNegated><Group>0</Group>\
<Method>INVITE</Method><Extension></Extension></SPT></TriggerPoint><ApplicationServer>\
<ServerName>sip:mmtel.{}</ServerName><DefaultHandling>0</DefaultHandling>\
</ApplicationServer></InitialFilterCriteria>",
            escape(domain.as_str())
        );
        Irs {
            id: format!("gen:{i}"),
            profiles: vec![Profile {
                impus: vec![PublicId {
                    identity,
                    barred: false,
                    wildcard: None,
                    xml,
                }],
                ifc: Some(ifc),
            }],
            charging: Some(ChargingInformation {
                primary_ccf: Some(format!("aaa://ccf1.{domain}")),
                secondary_ccf: Some(format!("aaa://ccf2.{domain}")),
                primary_ecf: Some(format!("aaa://ecf1.{domain}")),
                secondary_ecf: Some(format!("aaa://ecf2.{domain}")),
            }),
            impis: vec![self.impi(i)],
        }
    }

    fn index_of_irs(&self, id: &str) -> Option<u64> {
        let i: u64 = id.strip_prefix("gen:")?.parse().ok()?;
        (i < self.count).then_some(i)
    }
}

/// A population read from a file, indexed.
#[derive(Debug, Default)]
pub struct Loaded {
    subscribers: HashMap<String, Arc<Subscriber>>,
    irs: HashMap<String, Arc<Irs>>,
    /// Distinct public identities (and wildcards, by their own text) → IRS id.
    impus: HashMap<String, String>,
    /// Wildcarded IMPUs: (pattern text, IRS id), in file order.
    wildcards: Vec<(String, Regex, String)>,
}

/// Every subscriber the simulator knows.
#[derive(Debug)]
pub enum Population {
    /// Computed from the index by formulas.
    Generated(Generated),
    /// Read from a file.
    Loaded(Loaded),
}

impl Population {
    /// The subscriber with this private identity.
    pub fn subscriber(&self, impi: &str) -> Option<Arc<Subscriber>> {
        match self {
            Self::Generated(g) => g.index_of_impi(impi).map(|i| Arc::new(g.subscriber(i))),
            Self::Loaded(l) => l.subscribers.get(impi).cloned(),
        }
    }

    /// The IRS with this id.
    pub fn irs(&self, id: &str) -> Option<Arc<Irs>> {
        match self {
            Self::Generated(g) => g.index_of_irs(id).map(|i| Arc::new(g.irs(i))),
            Self::Loaded(l) => l.irs.get(id).cloned(),
        }
    }

    /// Finds a public identity: exactly (a distinct IMPU, or a wildcard named by its own text),
    /// else through the first wildcarded IMPU whose pattern it matches.
    pub fn find_impu(&self, impu: &str) -> Option<ImpuMatch> {
        match self {
            Self::Generated(g) => {
                let user = impu.strip_prefix("sip:")?;
                let i = g.index_of_impi(user)?;
                Some(ImpuMatch {
                    irs: Arc::new(g.irs(i)),
                    wildcard: None,
                    barred: false,
                })
            }
            Self::Loaded(l) => {
                if let Some(irs) = l.impus.get(impu).and_then(|id| l.irs.get(id)) {
                    let found = irs.public_ids().find(|p| p.identity == impu);
                    return Some(ImpuMatch {
                        irs: Arc::clone(irs),
                        wildcard: found
                            .filter(|p| p.wildcard.is_some())
                            .map(|p| p.identity.clone()),
                        barred: found.is_some_and(|p| p.barred),
                    });
                }
                let (wildcard, _, irs_id) = l
                    .wildcards
                    .iter()
                    .find(|(_, pattern, _)| pattern.is_match(impu))?;
                let irs = l.irs.get(irs_id)?;
                let barred = irs
                    .public_ids()
                    .find(|p| &p.identity == wildcard)
                    .is_some_and(|p| p.barred);
                Some(ImpuMatch {
                    irs: Arc::clone(irs),
                    wildcard: Some(wildcard.clone()),
                    barred,
                })
            }
        }
    }

    /// How many subscribers there are.
    pub fn len(&self) -> u64 {
        match self {
            Self::Generated(g) => g.count,
            Self::Loaded(l) => l.subscribers.len() as u64,
        }
    }

    /// Reads and checks a population file.
    pub fn from_json(text: &str, default_realm: &str) -> Result<Self, PopulationError> {
        let doc: FileDoc =
            serde_json::from_str(text).map_err(|e| PopulationError(format!("not valid: {e}")))?;
        Ok(Self::Loaded(load(doc, default_realm)?))
    }
}

/// Why a population file was refused.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct PopulationError(pub String);

impl fmt::Display for PopulationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PopulationError {}

fn fail<T>(message: impl Into<String>) -> Result<T, PopulationError> {
    Err(PopulationError(message.into()))
}

// ---------------------------------------------------------------------------------------------
// The file format

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileDoc {
    /// IRSs shared by several subscribers, referenced by id.
    #[serde(default)]
    irs: Vec<IrsSpec>,
    subscribers: Vec<SubscriberSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubscriberSpec {
    impi: String,
    realm: Option<String>,
    password: Option<String>,
    ha1: Option<String>,
    aka: Option<AkaSpec>,
    #[serde(default)]
    irs: Vec<IrsRef>,
    #[serde(default = "yes")]
    roaming_allowed: bool,
    #[serde(default)]
    barred: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AkaSpec {
    k: String,
    opc: Option<String>,
    op: Option<String>,
    amf: Option<String>,
    #[serde(default)]
    sqn: u64,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IrsRef {
    Id(String),
    Inline(IrsSpec),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IrsSpec {
    id: Option<String>,
    /// Shorthand for one service profile: its IMPUs ...
    impus: Option<Vec<ImpuSpec>>,
    /// ... and its `ServiceProfile` XML.
    ifc: Option<String>,
    service_profiles: Option<Vec<ProfileSpec>>,
    charging: Option<ChargingSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileSpec {
    impus: Vec<ImpuSpec>,
    ifc: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ImpuSpec {
    Plain(String),
    Full(ImpuObject),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ImpuObject {
    impu: String,
    #[serde(default)]
    barred: bool,
    display_name: Option<String>,
}

/// Charging function names (Homestead's primary/secondary CCF and ECF).
#[derive(Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
pub struct ChargingSpec {
    /// Primary-Charging-Collection-Function-Name.
    pub ccf1: Option<String>,
    /// Secondary-Charging-Collection-Function-Name.
    pub ccf2: Option<String>,
    /// Primary-Event-Charging-Function-Name.
    pub ecf1: Option<String>,
    /// Secondary-Event-Charging-Function-Name.
    pub ecf2: Option<String>,
}

impl ChargingSpec {
    /// As the Cx grouped value.
    pub fn to_cx(&self) -> ChargingInformation {
        ChargingInformation {
            primary_ccf: self.ccf1.clone(),
            secondary_ccf: self.ccf2.clone(),
            primary_ecf: self.ecf1.clone(),
            secondary_ecf: self.ecf2.clone(),
        }
    }
}

fn hex16(value: &str, what: &str) -> Result<[u8; 16], PopulationError> {
    let mut out = [0u8; 16];
    hex::decode_to_slice(value, &mut out)
        .map_err(|_| PopulationError(format!("{what} must be 32 hex digits")))?;
    Ok(out)
}

/// Checks a `ServiceProfile` document and keeps its canonical content.
pub fn check_ifc(xml: &str, context: &str) -> Result<String, PopulationError> {
    parse_service_profile(xml.as_bytes())
        .map(|doc| doc.content)
        .map_err(|e| PopulationError(format!("{context}: ifc is not a valid ServiceProfile: {e}")))
}

/// The pattern of a wildcarded IMPU (TS 23.003 §13.4): the text between the first and the last
/// `!` is a regular expression, the rest literal. `None` when the identity has no `!…!` part.
fn wildcard_pattern(identity: &str) -> Result<Option<Regex>, String> {
    let (Some(start), Some(end)) = (identity.find('!'), identity.rfind('!')) else {
        return Ok(None);
    };
    if start == end {
        return Err("has a single '!' (a wildcard is delimited by two)".to_owned());
    }
    let (before, rest) = identity.split_at(start);
    let inner = rest.get(1..end - start).unwrap_or_default();
    let after = identity.get(end + 1..).unwrap_or_default();
    let pattern = format!(
        "^{}(?:{inner}){}$",
        regex::escape(before),
        regex::escape(after)
    );
    RegexBuilder::new(&pattern)
        .size_limit(WILDCARD_REGEX_SIZE_LIMIT)
        .build()
        .map(Some)
        .map_err(|e| format!("has an invalid wildcard expression: {e}"))
}

fn public_id(spec: ImpuSpec, context: &str) -> Result<PublicId, PopulationError> {
    let (identity, barred, display_name) = match spec {
        ImpuSpec::Plain(identity) => (identity, false, None),
        ImpuSpec::Full(o) => (o.impu, o.barred, o.display_name),
    };
    if !["sip:", "sips:", "tel:"]
        .iter()
        .any(|scheme| identity.starts_with(scheme))
    {
        return fail(format!(
            "{context}: IMPU {identity:?} is not a sip:, sips: or tel: URI"
        ));
    }
    let wildcard = wildcard_pattern(&identity)
        .map_err(|e| PopulationError(format!("{context}: IMPU {identity:?} {e}")))?;
    let mut xml = String::from("<PublicIdentity>");
    if barred {
        xml.push_str("<BarringIndication>1</BarringIndication>");
    }
    xml.push_str("<Identity>");
    xml.push_str(&escape(identity.as_str()));
    xml.push_str("</Identity>");
    if display_name.is_some() || wildcard.is_some() {
        xml.push_str("<Extension><Extension>");
        if let Some(name) = &display_name {
            xml.push_str("<DisplayName>");
            xml.push_str(&escape(name.as_str()));
            xml.push_str("</DisplayName>");
        }
        if wildcard.is_some() {
            xml.push_str("<Extension><WildcardedIMPU>");
            xml.push_str(&escape(identity.as_str()));
            xml.push_str("</WildcardedIMPU></Extension>");
        }
        xml.push_str("</Extension></Extension>");
    }
    xml.push_str("</PublicIdentity>");
    let doc = parse_public_identity(xml.as_bytes())
        .map_err(|e| PopulationError(format!("{context}: IMPU {identity:?}: {e}")))?;
    Ok(PublicId {
        identity,
        barred,
        wildcard,
        xml: doc.xml,
    })
}

fn build_irs(spec: IrsSpec, id: String) -> Result<Irs, PopulationError> {
    let context = format!("IRS {id:?}");
    let profiles = match (spec.impus, spec.service_profiles) {
        (Some(impus), None) => vec![ProfileSpec {
            impus,
            ifc: spec.ifc,
        }],
        (None, Some(profiles)) if spec.ifc.is_none() => profiles,
        (None, Some(_)) => {
            return fail(format!(
                "{context}: give ifc inside each of service_profiles"
            ));
        }
        _ => {
            return fail(format!(
                "{context}: needs either impus (with an optional ifc) or service_profiles"
            ));
        }
    };
    let profiles = profiles
        .into_iter()
        .map(|profile| {
            if profile.impus.is_empty() {
                return fail(format!("{context}: a service profile has no IMPU"));
            }
            Ok(Profile {
                impus: profile
                    .impus
                    .into_iter()
                    .map(|impu| public_id(impu, &context))
                    .collect::<Result<_, _>>()?,
                ifc: profile
                    .ifc
                    .map(|xml| check_ifc(&xml, &context))
                    .transpose()?,
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if profiles.is_empty() {
        return fail(format!("{context}: has no service profile"));
    }
    Ok(Irs {
        id,
        profiles,
        charging: spec.charging.map(|c| c.to_cx()),
        impis: Vec::new(),
    })
}

fn aka_credentials(spec: AkaSpec, context: &str) -> Result<AkaCredentials, PopulationError> {
    let k = hex16(&spec.k, &format!("{context}: aka.k"))?;
    let opc = match (spec.opc, spec.op) {
        (Some(opc), None) => hex16(&opc, &format!("{context}: aka.opc"))?,
        (None, Some(op)) => compute_opc(&k, &hex16(&op, &format!("{context}: aka.op"))?),
        _ => return fail(format!("{context}: aka needs exactly one of opc and op")),
    };
    let mut amf = [0x80, 0x00];
    if let Some(text) = spec.amf {
        hex::decode_to_slice(&text, &mut amf)
            .map_err(|_| PopulationError(format!("{context}: aka.amf must be 4 hex digits")))?;
    }
    if spec.sqn > SQN_MAX {
        return fail(format!("{context}: aka.sqn must fit in 48 bits"));
    }
    Ok(AkaCredentials {
        k,
        opc,
        amf,
        sqn: spec.sqn,
    })
}

fn load(doc: FileDoc, default_realm: &str) -> Result<Loaded, PopulationError> {
    let mut loaded = Loaded::default();
    let mut irs_specs: Vec<(String, IrsSpec)> = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();
    for (index, spec) in doc.irs.into_iter().enumerate() {
        let Some(id) = spec.id.clone() else {
            return fail(format!("irs[{index}] has no id (shared IRSs are named)"));
        };
        if !ids.insert(id.clone()) {
            return fail(format!("IRS id {id:?} is used twice"));
        }
        irs_specs.push((id, spec));
    }
    let mut subscribers: Vec<Subscriber> = Vec::new();
    let mut impis: HashSet<String> = HashSet::new();
    for (index, spec) in doc.subscribers.into_iter().enumerate() {
        let context = format!("subscriber {:?}", spec.impi);
        if spec.impi.is_empty() || spec.impi.chars().any(char::is_whitespace) {
            return fail(format!(
                "subscribers[{index}]: impi must be non-empty without spaces"
            ));
        }
        if !impis.insert(spec.impi.clone()) {
            return fail(format!("IMPI {:?} is defined twice", spec.impi));
        }
        let realm = spec.realm.clone().unwrap_or_else(|| {
            spec.impi
                .rsplit_once('@')
                .map_or(default_realm, |(_, domain)| domain)
                .to_owned()
        });
        if realm.is_empty() {
            return fail(format!("{context}: empty realm"));
        }
        let ha1 = match (spec.password, spec.ha1) {
            (Some(password), None) => Some(
                ha1(
                    DigestAlgorithm::Md5,
                    &spec.impi,
                    &realm,
                    password.as_bytes(),
                    "",
                    "",
                )
                .as_hex()
                .to_owned(),
            ),
            (None, Some(ha1)) => {
                if ha1.len() != 32 || !ha1.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return fail(format!("{context}: ha1 must be 32 hex digits"));
                }
                Some(ha1.to_ascii_lowercase())
            }
            (None, None) => None,
            (Some(_), Some(_)) => {
                return fail(format!("{context}: give password or ha1, not both"));
            }
        };
        let aka = spec
            .aka
            .map(|aka| aka_credentials(aka, &context))
            .transpose()?;
        if ha1.is_none() && aka.is_none() {
            return fail(format!(
                "{context}: has no credentials (password, ha1 or aka)"
            ));
        }
        if spec.irs.is_empty() {
            return fail(format!("{context}: has no irs"));
        }
        let mut irs_ids = Vec::new();
        for (n, reference) in spec.irs.into_iter().enumerate() {
            let id = match reference {
                IrsRef::Id(id) => {
                    if !ids.contains(&id) {
                        return fail(format!("{context}: IRS {id:?} is not defined in irs"));
                    }
                    id
                }
                IrsRef::Inline(irs) => {
                    let id = irs
                        .id
                        .clone()
                        .unwrap_or_else(|| format!("{}#{n}", spec.impi));
                    if !ids.insert(id.clone()) {
                        return fail(format!("IRS id {id:?} is used twice"));
                    }
                    irs_specs.push((id.clone(), irs));
                    id
                }
            };
            irs_ids.push(id);
        }
        subscribers.push(Subscriber {
            impi: spec.impi,
            realm,
            ha1,
            aka,
            irs: irs_ids,
            roaming_allowed: spec.roaming_allowed,
            barred: spec.barred,
        });
    }
    let mut irs_map: HashMap<String, Irs> = HashMap::new();
    for (id, spec) in irs_specs {
        let irs = build_irs(spec, id.clone())?;
        for public in irs.public_ids() {
            if let Some(other) = loaded.impus.insert(public.identity.clone(), id.clone()) {
                return fail(format!(
                    "IMPU {:?} is in IRS {other:?} and in IRS {id:?}",
                    public.identity
                ));
            }
            if let Some(pattern) = &public.wildcard {
                loaded
                    .wildcards
                    .push((public.identity.clone(), pattern.clone(), id.clone()));
            }
        }
        irs_map.insert(id, irs);
    }
    for subscriber in subscribers {
        for id in &subscriber.irs {
            if let Some(irs) = irs_map.get_mut(id) {
                irs.impis.push(subscriber.impi.clone());
            }
        }
        loaded
            .subscribers
            .insert(subscriber.impi.clone(), Arc::new(subscriber));
    }
    loaded.irs = irs_map
        .into_iter()
        .map(|(id, irs)| (id, Arc::new(irs)))
        .collect();
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated() -> Population {
        Population::Generated(Generated {
            count: 100,
            prefix: "user".into(),
            domain: "example.com".into(),
            password: "pw{i}".into(),
        })
    }

    #[test]
    fn generated_names_and_secrets_follow_the_formulas() {
        let p = generated();
        let s = p.subscriber("user7@example.com").expect("subscriber 7");
        assert_eq!(s.realm, "example.com");
        let expected = ha1(
            DigestAlgorithm::Md5,
            "user7@example.com",
            "example.com",
            b"pw7",
            "",
            "",
        );
        assert_eq!(s.ha1.as_deref(), Some(expected.as_hex()));
        let aka = s.aka.as_ref().expect("aka");
        let digest = Sha256::digest(b"K:user7@example.com");
        assert_eq!(aka.k[..], digest[..16]);
        let digest = Sha256::digest(b"OPc:user7@example.com");
        assert_eq!(aka.opc[..], digest[..16]);
        assert_eq!(aka.amf, [0x80, 0]);
        let found = p.find_impu("sip:user7@example.com").expect("impu");
        assert_eq!(found.irs.impis, vec!["user7@example.com".to_owned()]);
        assert!(found.irs.has_services());
        assert!(found.irs.charging.is_some());
    }

    #[test]
    fn generated_refuses_names_outside_the_population() {
        let p = generated();
        for impi in [
            "user100@example.com",
            "user07@example.com",
            "user@example.com",
            "user-1@example.com",
            "user1@example.org",
            "other1@example.com",
            "user1",
        ] {
            assert!(p.subscriber(impi).is_none(), "{impi}");
        }
        assert!(p.find_impu("user1@example.com").is_none());
        assert!(p.find_impu("sip:user99@example.com").is_some());
    }

    const FILE: &str = r#"{
      "irs": [{"id": "shared", "impus": ["sip:bob@example.com", {"impu": "tel:+15551234", "barred": true}],
               "charging": {"ccf1": "aaa://ccf.example.com"}}],
      "subscribers": [
        {"impi": "bob@example.com", "password": "secret", "irs": ["shared"]},
        {"impi": "bob", "realm": "example.com", "ha1": "0123456789ABCDEF0123456789abcdef", "irs": ["shared"],
         "roaming_allowed": false},
        {"impi": "carol@example.com",
         "aka": {"k": "465b5ce8b199b49faa5f0a2ee238a6bc", "op": "cdc202d5123e20f62b6d676ac72cb318", "sqn": 32},
         "irs": [{"service_profiles": [
            {"impus": ["sip:carol@example.com", "sip:!user.*!@example.com"],
             "ifc": "<ServiceProfile><InitialFilterCriteria><Priority>0</Priority><ApplicationServer><ServerName>sip:as.example.com</ServerName><DefaultHandling>0</DefaultHandling></ApplicationServer></InitialFilterCriteria></ServiceProfile>"}]}]}
      ]
    }"#;

    #[test]
    fn a_file_is_indexed_with_shared_irs_and_wildcards() {
        let p = Population::from_json(FILE, "example.com").expect("valid");
        assert_eq!(p.len(), 3);
        let bob = p.subscriber("bob").expect("bob");
        assert_eq!(bob.ha1.as_deref(), Some("0123456789abcdef0123456789abcdef"));
        assert!(!bob.roaming_allowed);
        let shared = p.find_impu("tel:+15551234").expect("tel");
        assert!(shared.barred);
        assert_eq!(shared.irs.id, "shared");
        assert_eq!(shared.irs.impis.len(), 2);
        assert!(!shared.irs.has_services());

        let wild = p
            .find_impu("sip:user42@example.com")
            .expect("wildcard match");
        assert_eq!(wild.wildcard.as_deref(), Some("sip:!user.*!@example.com"));
        assert_eq!(wild.irs.impis, vec!["carol@example.com".to_owned()]);
        let itself = p.find_impu("sip:!user.*!@example.com").expect("wildcard");
        assert_eq!(itself.wildcard.as_deref(), Some("sip:!user.*!@example.com"));
        assert!(p.find_impu("sip:xuser42@example.com").is_none());
        let carol = p.subscriber("carol@example.com").expect("carol");
        let aka = carol.aka.as_ref().expect("aka");
        // TS 35.208 test set 1: OPc from K and OP.
        assert_eq!(hex::encode(aka.opc), "cd63cb71954a9f4e48a5994e37a02baf");
        assert_eq!(aka.sqn, 32);
        let xml = &wild.irs.profiles[0].impus[1].xml;
        assert!(xml.contains("<WildcardedIMPU>sip:!user.*!@example.com</WildcardedIMPU>"));
    }

    #[test]
    fn mistakes_in_a_file_are_named() {
        let cases = [
            ("{", "not valid"),
            (
                r#"{"subscribers": [{"impi": "a", "irs": [{"impus": ["sip:a@x"]}]}]}"#,
                "no credentials",
            ),
            (
                r#"{"subscribers": [{"impi": "a", "password": "p", "irs": []}]}"#,
                "has no irs",
            ),
            (
                r#"{"subscribers": [{"impi": "a", "password": "p", "irs": ["nope"]}]}"#,
                "not defined",
            ),
            (
                r#"{"subscribers": [{"impi": "a", "password": "p", "ha1": "00", "irs": ["x"]}]}"#,
                "not both",
            ),
            (
                r#"{"subscribers": [{"impi": "a", "ha1": "00", "irs": [{"impus": ["sip:a@x"]}]}]}"#,
                "32 hex",
            ),
            (
                r#"{"subscribers": [{"impi": "a", "aka": {"k": "00"}, "irs": [{"impus": ["sip:a@x"]}]}]}"#,
                "aka.k",
            ),
            (
                r#"{"subscribers": [{"impi": "a", "password": "p", "irs": [{"impus": ["a@x"]}]}]}"#,
                "not a sip:",
            ),
            (
                r#"{"subscribers": [{"impi": "a", "password": "p", "irs": [{"impus": ["sip:!(!@x"]}]}]}"#,
                "invalid wildcard",
            ),
            (
                r#"{"subscribers": [{"impi": "a", "password": "p", "irs": [{"impus": ["sip:a@x"], "ifc": "<X/>"}]}]}"#,
                "ServiceProfile",
            ),
            (
                r#"{"subscribers": [{"impi": "a", "password": "p", "irs": [{"impus": ["sip:a@x"]}, {"impus": ["sip:a@x"]}]}]}"#,
                "is in IRS",
            ),
            (
                r#"{"subscribers": [{"impi": "a", "password": "p", "irs": [{"impus": ["sip:a@x"]}]}, {"impi": "a", "password": "p", "irs": [{"impus": ["sip:b@x"]}]}]}"#,
                "defined twice",
            ),
            (r#"{"subscribers": [], "extra": 1}"#, "unknown field"),
        ];
        for (text, expected) in cases {
            let error = Population::from_json(text, "example.com").expect_err(text);
            assert!(error.0.contains(expected), "{text}: {error}");
        }
    }
}
