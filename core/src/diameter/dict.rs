//! The dictionary: applications, commands, AVPs (name, type, 'M'-bit rule, defined values, Grouped
//! grammar), Result-Codes and enumerations of the Diameter base protocol (RFC 6733) and of the 3GPP
//! applications Hearth speaks: Cx/Dx (TS 29.228/29.229), Sh (TS 29.328/29.329) and Zh/Zn
//! (TS 29.109). Also a few IETF AVPs those applications reuse: the RFC 4740 Digest-* AVPs of
//! SIP-Digest-Authenticate, RFC 7155 Framed-* AVPs, RFC 7944 DRMP and RFC 7683 overload control.
//!
//! Command grammars record which AVPs are required (`{}`), optional (`[]`) and how often each may
//! occur, following the ABNF of those specifications; fixed positions (`< Session-Id >`) are
//! recorded as "exactly one" and their position is not enforced.

use super::avp::{AvpFlags, AvpHeader, AvpKey};

use DataType::{
    Address, DiameterIdentity as Ident, DiameterUri as Uri, Enumerated, Grouped,
    OctetString as Octets, Time, Unsigned32 as U32, Unsigned64 as U64, Utf8String as Utf8,
};
use FlagRule::{Must, MustNot};

/// IANA enterprise number of 3GPP, the Vendor-ID of every Cx, Sh and Zh AVP.
pub const VENDOR_3GPP: u32 = 10415;
/// IANA enterprise number of ETSI (Line-Identifier in SIP-Auth-Data-Item).
pub const VENDOR_ETSI: u32 = 13019;

/// Application-IDs.
pub mod app {
    /// Diameter common messages (CER/CEA, DWR/DWA, DPR/DPA).
    pub const BASE: u32 = 0;
    /// 3GPP Cx/Dx (TS 29.229).
    pub const CX: u32 = 16_777_216;
    /// 3GPP Sh (TS 29.329).
    pub const SH: u32 = 16_777_217;
    /// 3GPP Zn (TS 29.109), NAF to BSF.
    pub const ZN: u32 = 16_777_220;
    /// 3GPP Zh (TS 29.109), BSF to HSS.
    pub const ZH: u32 = 16_777_221;
    /// The relay Application-ID advertised by relay agents.
    pub const RELAY: u32 = 0xFFFF_FFFF;
}

/// Command Codes.
pub mod cmd {
    /// Capabilities-Exchange-Request/Answer (CER/CEA).
    pub const CAPABILITIES_EXCHANGE: u32 = 257;
    /// Device-Watchdog-Request/Answer (DWR/DWA).
    pub const DEVICE_WATCHDOG: u32 = 280;
    /// Disconnect-Peer-Request/Answer (DPR/DPA).
    pub const DISCONNECT_PEER: u32 = 282;
    /// Cx User-Authorization-Request/Answer (UAR/UAA).
    pub const USER_AUTHORIZATION: u32 = 300;
    /// Cx Server-Assignment-Request/Answer (SAR/SAA).
    pub const SERVER_ASSIGNMENT: u32 = 301;
    /// Cx Location-Info-Request/Answer (LIR/LIA).
    pub const LOCATION_INFO: u32 = 302;
    /// Cx and Zh Multimedia-Auth-Request/Answer (MAR/MAA).
    pub const MULTIMEDIA_AUTH: u32 = 303;
    /// Cx Registration-Termination-Request/Answer (RTR/RTA).
    pub const REGISTRATION_TERMINATION: u32 = 304;
    /// Cx Push-Profile-Request/Answer (PPR/PPA).
    pub const PUSH_PROFILE: u32 = 305;
    /// Sh User-Data-Request/Answer (UDR/UDA).
    pub const USER_DATA: u32 = 306;
    /// Sh Profile-Update-Request/Answer (PUR/PUA).
    pub const PROFILE_UPDATE: u32 = 307;
    /// Sh Subscribe-Notifications-Request/Answer (SNR/SNA).
    pub const SUBSCRIBE_NOTIFICATIONS: u32 = 308;
    /// Sh Push-Notification-Request/Answer (PNR/PNA).
    pub const PUSH_NOTIFICATION: u32 = 309;
    /// Zn Bootstrapping-Info-Request/Answer (BIR/BIA).
    pub const BOOTSTRAPPING_INFO: u32 = 310;
}

/// Result-Code values of RFC 6733 §7.1.
pub mod result {
    /// 1001: authentication needs another round trip.
    pub const MULTI_ROUND_AUTH: u32 = 1001;
    /// 2001: the request was completed.
    pub const SUCCESS: u32 = 2001;
    /// 2002: completed, more action is needed.
    pub const LIMITED_SUCCESS: u32 = 2002;
    /// 3001: the Command Code is not supported.
    pub const COMMAND_UNSUPPORTED: u32 = 3001;
    /// 3002: the message could not be delivered to its destination.
    pub const UNABLE_TO_DELIVER: u32 = 3002;
    /// 3003: the destination realm is not recognised.
    pub const REALM_NOT_SERVED: u32 = 3003;
    /// 3004: the server is too busy; try another peer.
    pub const TOO_BUSY: u32 = 3004;
    /// 3005: a routing loop was detected.
    pub const LOOP_DETECTED: u32 = 3005;
    /// 3006: redirect to the host in Redirect-Host.
    pub const REDIRECT_INDICATION: u32 = 3006;
    /// 3007: the Application-ID is not supported.
    pub const APPLICATION_UNSUPPORTED: u32 = 3007;
    /// 3008: header bits are invalid or inconsistent with the command.
    pub const INVALID_HDR_BITS: u32 = 3008;
    /// 3009: AVP flag bits are invalid or inconsistent with the AVP.
    pub const INVALID_AVP_BITS: u32 = 3009;
    /// 3010: a CER from an unknown peer.
    pub const UNKNOWN_PEER: u32 = 3010;
    /// 4001: authentication failed.
    pub const AUTHENTICATION_REJECTED: u32 = 4001;
    /// 4002: out of space (accounting).
    pub const OUT_OF_SPACE: u32 = 4002;
    /// 4003: lost the election of a connection race.
    pub const ELECTION_LOST: u32 = 4003;
    /// 5001: an AVP with the 'M' bit is not recognised (Failed-AVP names it).
    pub const AVP_UNSUPPORTED: u32 = 5001;
    /// 5002: unknown Session-Id.
    pub const UNKNOWN_SESSION_ID: u32 = 5002;
    /// 5003: the user is not authorised.
    pub const AUTHORIZATION_REJECTED: u32 = 5003;
    /// 5004: an AVP has an invalid value (Failed-AVP names it).
    pub const INVALID_AVP_VALUE: u32 = 5004;
    /// 5005: a required AVP is missing (Failed-AVP gives a zero-filled example).
    pub const MISSING_AVP: u32 = 5005;
    /// 5006: resources exceeded.
    pub const RESOURCES_EXCEEDED: u32 = 5006;
    /// 5007: contradicting AVPs.
    pub const CONTRADICTING_AVPS: u32 = 5007;
    /// 5008: an AVP that must not be present (Failed-AVP names it).
    pub const AVP_NOT_ALLOWED: u32 = 5008;
    /// 5009: an AVP occurs more often than allowed (Failed-AVP names the first extra one).
    pub const AVP_OCCURS_TOO_MANY_TIMES: u32 = 5009;
    /// 5010: no common application (CER/CEA).
    pub const NO_COMMON_APPLICATION: u32 = 5010;
    /// 5011: unsupported version.
    pub const UNSUPPORTED_VERSION: u32 = 5011;
    /// 5012: the request cannot be complied with for another reason.
    pub const UNABLE_TO_COMPLY: u32 = 5012;
    /// 5013: a reserved header bit is set or header bits are wrong.
    pub const INVALID_BIT_IN_HEADER: u32 = 5013;
    /// 5014: an AVP has an invalid length (Failed-AVP names it).
    pub const INVALID_AVP_LENGTH: u32 = 5014;
    /// 5015: the message length is invalid.
    pub const INVALID_MESSAGE_LENGTH: u32 = 5015;
    /// 5016: an AVP flag combination is not allowed.
    pub const INVALID_AVP_BIT_COMBO: u32 = 5016;
    /// 5017: no common security mechanism.
    pub const NO_COMMON_SECURITY: u32 = 5017;
}

/// Experimental-Result-Code values of Cx/Dx (TS 29.229 §6.2), sent with Vendor-Id 10415.
pub mod cx_result {
    /// 2001: first registration of the user.
    pub const FIRST_REGISTRATION: u32 = 2001;
    /// 2002: the user is already registered.
    pub const SUBSEQUENT_REGISTRATION: u32 = 2002;
    /// 2003: the user is unregistered but has services for that state.
    pub const UNREGISTERED_SERVICE: u32 = 2003;
    /// 2004: success; the HSS did not store the server name.
    pub const SUCCESS_SERVER_NAME_NOT_STORED: u32 = 2004;
    /// 5001: the user is unknown.
    pub const ERROR_USER_UNKNOWN: u32 = 5001;
    /// 5002: the public and private identities do not belong together.
    pub const ERROR_IDENTITIES_DONT_MATCH: u32 = 5002;
    /// 5003: the identity is not registered.
    pub const ERROR_IDENTITY_NOT_REGISTERED: u32 = 5003;
    /// 5004: roaming is not allowed.
    pub const ERROR_ROAMING_NOT_ALLOWED: u32 = 5004;
    /// 5005: the identity is already registered to another server.
    pub const ERROR_IDENTITY_ALREADY_REGISTERED: u32 = 5005;
    /// 5006: the authentication scheme is not supported.
    pub const ERROR_AUTH_SCHEME_NOT_SUPPORTED: u32 = 5006;
    /// 5007: the Server-Assignment-Type does not fit the identity (or a wildcard is to be used).
    pub const ERROR_IN_ASSIGNMENT_TYPE: u32 = 5007;
    /// 5008: the profile is too large.
    pub const ERROR_TOO_MUCH_DATA: u32 = 5008;
    /// 5009: the S-CSCF does not support the user data.
    pub const ERROR_NOT_SUPPORTED_USER_DATA: u32 = 5009;
    /// 5011: a required feature is not supported.
    pub const ERROR_FEATURE_UNSUPPORTED: u32 = 5011;
    /// 5012: the serving node does not support a required feature.
    pub const ERROR_SERVING_NODE_FEATURE_UNSUPPORTED: u32 = 5012;
}

/// Experimental-Result-Code values of Sh (TS 29.329 §6.2), besides those shared with Cx (5001
/// user unknown, 5002 identities don't match).
pub mod sh_result {
    /// 4100: the requested data is not available now.
    pub const USER_DATA_NOT_AVAILABLE: u32 = 4100;
    /// 4101: another update of the same data is in progress.
    pub const PRIOR_UPDATE_IN_PROGRESS: u32 = 4101;
    /// 5100: the data requested is not recognised.
    pub const ERROR_USER_DATA_NOT_RECOGNIZED: u32 = 5100;
    /// 5101: the operation is not allowed for the requester.
    pub const ERROR_OPERATION_NOT_ALLOWED: u32 = 5101;
    /// 5102: the data cannot be read.
    pub const ERROR_USER_DATA_CANNOT_BE_READ: u32 = 5102;
    /// 5103: the data cannot be modified.
    pub const ERROR_USER_DATA_CANNOT_BE_MODIFIED: u32 = 5103;
    /// 5104: changes to the data cannot be notified.
    pub const ERROR_USER_DATA_CANNOT_BE_NOTIFIED: u32 = 5104;
    /// 5105: repository data update out of sequence.
    pub const ERROR_TRANSPARENT_DATA_OUT_OF_SYNC: u32 = 5105;
    /// 5106: subscription data absent.
    pub const ERROR_SUBS_DATA_ABSENT: u32 = 5106;
    /// 5107: no subscription to the data.
    pub const ERROR_NO_SUBSCRIPTION_TO_DATA: u32 = 5107;
    /// 5108: the DSAI is not available.
    pub const ERROR_DSAI_NOT_AVAILABLE: u32 = 5108;
}

/// Experimental-Result-Code values of Zh and Zn (TS 29.109 §6.3).
pub mod gba_result {
    /// 5401: the IMPI or IMPU is unknown.
    pub const ERROR_IDENTITY_UNKNOWN: u32 = 5401;
    /// 5402: the BSF cannot authorise the NAF.
    pub const ERROR_NOT_AUTHORIZED: u32 = 5402;
    /// 5403: the B-TID is unknown or expired.
    pub const ERROR_TRANSACTION_IDENTIFIER_INVALID: u32 = 5403;
}

/// Server-Assignment-Type values (TS 29.229 §6.3.15).
pub mod server_assignment_type {
    /// 0: no assignment (fetch the profile).
    pub const NO_ASSIGNMENT: i32 = 0;
    /// 1: registration.
    pub const REGISTRATION: i32 = 1;
    /// 2: re-registration.
    pub const RE_REGISTRATION: i32 = 2;
    /// 3: a request for an unregistered user.
    pub const UNREGISTERED_USER: i32 = 3;
    /// 4: registration timed out.
    pub const TIMEOUT_DEREGISTRATION: i32 = 4;
    /// 5: the user deregistered.
    pub const USER_DEREGISTRATION: i32 = 5;
    /// 6: timeout deregistration, keep the server name.
    pub const TIMEOUT_DEREGISTRATION_STORE_SERVER_NAME: i32 = 6;
    /// 7: user deregistration, keep the server name.
    pub const USER_DEREGISTRATION_STORE_SERVER_NAME: i32 = 7;
    /// 8: administrative deregistration.
    pub const ADMINISTRATIVE_DEREGISTRATION: i32 = 8;
    /// 9: authentication failed.
    pub const AUTHENTICATION_FAILURE: i32 = 9;
    /// 10: authentication timed out.
    pub const AUTHENTICATION_TIMEOUT: i32 = 10;
    /// 11: deregistration because the profile is too large.
    pub const DEREGISTRATION_TOO_MUCH_DATA: i32 = 11;
    /// 12: AAA user data request.
    pub const AAA_USER_DATA_REQUEST: i32 = 12;
    /// 13: PGW update.
    pub const PGW_UPDATE: i32 = 13;
    /// 14: restoration.
    pub const RESTORATION: i32 = 14;
}

/// User-Authorization-Type values (TS 29.229 §6.3.24).
pub mod user_authorization_type {
    /// 0: registration.
    pub const REGISTRATION: i32 = 0;
    /// 1: deregistration.
    pub const DE_REGISTRATION: i32 = 1;
    /// 2: registration and capabilities.
    pub const REGISTRATION_AND_CAPABILITIES: i32 = 2;
}

/// Reason-Code values of Deregistration-Reason (TS 29.229 §6.3.17).
pub mod reason_code {
    /// 0: permanent termination.
    pub const PERMANENT_TERMINATION: i32 = 0;
    /// 1: a new server was assigned.
    pub const NEW_SERVER_ASSIGNED: i32 = 1;
    /// 2: server change.
    pub const SERVER_CHANGE: i32 = 2;
    /// 3: remove the S-CSCF.
    pub const REMOVE_S_CSCF: i32 = 3;
}

/// User-Data-Already-Available values (TS 29.229 §6.3.26).
pub mod user_data_already_available {
    /// 0: the S-CSCF does not have the data.
    pub const USER_DATA_NOT_AVAILABLE: i32 = 0;
    /// 1: the S-CSCF already has the data.
    pub const USER_DATA_ALREADY_AVAILABLE: i32 = 1;
}

/// Originating-Request values (TS 29.229 §6.3.34).
pub mod originating_request {
    /// 0: originating.
    pub const ORIGINATING: i32 = 0;
}

/// Auth-Session-State values (RFC 6733 §8.11).
pub mod auth_session_state {
    /// 0: the server keeps session state.
    pub const STATE_MAINTAINED: i32 = 0;
    /// 1: no session state (what Cx, Sh and Zh use).
    pub const NO_STATE_MAINTAINED: i32 = 1;
}

/// Disconnect-Cause values (RFC 6733 §5.4.3).
pub mod disconnect_cause {
    /// 0: the peer is rebooting.
    pub const REBOOTING: i32 = 0;
    /// 1: the peer is busy.
    pub const BUSY: i32 = 1;
    /// 2: the peer does not want to talk to the other.
    pub const DO_NOT_WANT_TO_TALK_TO_YOU: i32 = 2;
}

/// AVP keys.
pub mod avp {
    use super::{AvpKey, VENDOR_3GPP, VENDOR_ETSI};

    const fn tgpp(code: u32) -> AvpKey {
        AvpKey::vendor(code, VENDOR_3GPP)
    }

    // RFC 6733 base protocol.
    /// User-Name (1).
    pub const USER_NAME: AvpKey = AvpKey::base(1);
    /// Class (25).
    pub const CLASS: AvpKey = AvpKey::base(25);
    /// Session-Timeout (27).
    pub const SESSION_TIMEOUT: AvpKey = AvpKey::base(27);
    /// Proxy-State (33).
    pub const PROXY_STATE: AvpKey = AvpKey::base(33);
    /// Acct-Session-Id (44).
    pub const ACCT_SESSION_ID: AvpKey = AvpKey::base(44);
    /// Acct-Multi-Session-Id (50).
    pub const ACCT_MULTI_SESSION_ID: AvpKey = AvpKey::base(50);
    /// Event-Timestamp (55).
    pub const EVENT_TIMESTAMP: AvpKey = AvpKey::base(55);
    /// Acct-Interim-Interval (85).
    pub const ACCT_INTERIM_INTERVAL: AvpKey = AvpKey::base(85);
    /// Host-IP-Address (257).
    pub const HOST_IP_ADDRESS: AvpKey = AvpKey::base(257);
    /// Auth-Application-Id (258).
    pub const AUTH_APPLICATION_ID: AvpKey = AvpKey::base(258);
    /// Acct-Application-Id (259).
    pub const ACCT_APPLICATION_ID: AvpKey = AvpKey::base(259);
    /// Vendor-Specific-Application-Id (260).
    pub const VENDOR_SPECIFIC_APPLICATION_ID: AvpKey = AvpKey::base(260);
    /// Redirect-Host-Usage (261).
    pub const REDIRECT_HOST_USAGE: AvpKey = AvpKey::base(261);
    /// Redirect-Max-Cache-Time (262).
    pub const REDIRECT_MAX_CACHE_TIME: AvpKey = AvpKey::base(262);
    /// Session-Id (263).
    pub const SESSION_ID: AvpKey = AvpKey::base(263);
    /// Origin-Host (264).
    pub const ORIGIN_HOST: AvpKey = AvpKey::base(264);
    /// Supported-Vendor-Id (265).
    pub const SUPPORTED_VENDOR_ID: AvpKey = AvpKey::base(265);
    /// Vendor-Id (266).
    pub const VENDOR_ID: AvpKey = AvpKey::base(266);
    /// Firmware-Revision (267).
    pub const FIRMWARE_REVISION: AvpKey = AvpKey::base(267);
    /// Result-Code (268).
    pub const RESULT_CODE: AvpKey = AvpKey::base(268);
    /// Product-Name (269).
    pub const PRODUCT_NAME: AvpKey = AvpKey::base(269);
    /// Session-Binding (270).
    pub const SESSION_BINDING: AvpKey = AvpKey::base(270);
    /// Session-Server-Failover (271).
    pub const SESSION_SERVER_FAILOVER: AvpKey = AvpKey::base(271);
    /// Multi-Round-Time-Out (272).
    pub const MULTI_ROUND_TIME_OUT: AvpKey = AvpKey::base(272);
    /// Disconnect-Cause (273).
    pub const DISCONNECT_CAUSE: AvpKey = AvpKey::base(273);
    /// Auth-Request-Type (274).
    pub const AUTH_REQUEST_TYPE: AvpKey = AvpKey::base(274);
    /// Auth-Grace-Period (276).
    pub const AUTH_GRACE_PERIOD: AvpKey = AvpKey::base(276);
    /// Auth-Session-State (277).
    pub const AUTH_SESSION_STATE: AvpKey = AvpKey::base(277);
    /// Origin-State-Id (278).
    pub const ORIGIN_STATE_ID: AvpKey = AvpKey::base(278);
    /// Failed-AVP (279).
    pub const FAILED_AVP: AvpKey = AvpKey::base(279);
    /// Proxy-Host (280).
    pub const PROXY_HOST: AvpKey = AvpKey::base(280);
    /// Error-Message (281).
    pub const ERROR_MESSAGE: AvpKey = AvpKey::base(281);
    /// Route-Record (282).
    pub const ROUTE_RECORD: AvpKey = AvpKey::base(282);
    /// Destination-Realm (283).
    pub const DESTINATION_REALM: AvpKey = AvpKey::base(283);
    /// Proxy-Info (284).
    pub const PROXY_INFO: AvpKey = AvpKey::base(284);
    /// Re-Auth-Request-Type (285).
    pub const RE_AUTH_REQUEST_TYPE: AvpKey = AvpKey::base(285);
    /// Accounting-Sub-Session-Id (287).
    pub const ACCOUNTING_SUB_SESSION_ID: AvpKey = AvpKey::base(287);
    /// Authorization-Lifetime (291).
    pub const AUTHORIZATION_LIFETIME: AvpKey = AvpKey::base(291);
    /// Redirect-Host (292).
    pub const REDIRECT_HOST: AvpKey = AvpKey::base(292);
    /// Destination-Host (293).
    pub const DESTINATION_HOST: AvpKey = AvpKey::base(293);
    /// Error-Reporting-Host (294).
    pub const ERROR_REPORTING_HOST: AvpKey = AvpKey::base(294);
    /// Termination-Cause (295).
    pub const TERMINATION_CAUSE: AvpKey = AvpKey::base(295);
    /// Origin-Realm (296).
    pub const ORIGIN_REALM: AvpKey = AvpKey::base(296);
    /// Experimental-Result (297).
    pub const EXPERIMENTAL_RESULT: AvpKey = AvpKey::base(297);
    /// Experimental-Result-Code (298).
    pub const EXPERIMENTAL_RESULT_CODE: AvpKey = AvpKey::base(298);
    /// Inband-Security-Id (299).
    pub const INBAND_SECURITY_ID: AvpKey = AvpKey::base(299);
    /// Accounting-Record-Type (480).
    pub const ACCOUNTING_RECORD_TYPE: AvpKey = AvpKey::base(480);
    /// Accounting-Realtime-Required (483).
    pub const ACCOUNTING_REALTIME_REQUIRED: AvpKey = AvpKey::base(483);
    /// Accounting-Record-Number (485).
    pub const ACCOUNTING_RECORD_NUMBER: AvpKey = AvpKey::base(485);

    // IETF AVPs reused by the 3GPP applications.
    /// Framed-IP-Address (8, RFC 7155).
    pub const FRAMED_IP_ADDRESS: AvpKey = AvpKey::base(8);
    /// Framed-Interface-Id (96, RFC 7155).
    pub const FRAMED_INTERFACE_ID: AvpKey = AvpKey::base(96);
    /// Framed-IPv6-Prefix (97, RFC 7155).
    pub const FRAMED_IPV6_PREFIX: AvpKey = AvpKey::base(97);
    /// Digest-Realm (104, RFC 4740).
    pub const DIGEST_REALM: AvpKey = AvpKey::base(104);
    /// Digest-QoP (110, RFC 4740).
    pub const DIGEST_QOP: AvpKey = AvpKey::base(110);
    /// Digest-Algorithm (111, RFC 4740).
    pub const DIGEST_ALGORITHM: AvpKey = AvpKey::base(111);
    /// Digest-HA1 (121, RFC 4740).
    pub const DIGEST_HA1: AvpKey = AvpKey::base(121);
    /// DRMP (301, RFC 7944).
    pub const DRMP: AvpKey = AvpKey::base(301);
    /// OC-Supported-Features (621, RFC 7683).
    pub const OC_SUPPORTED_FEATURES: AvpKey = AvpKey::base(621);
    /// OC-Feature-Vector (622, RFC 7683).
    pub const OC_FEATURE_VECTOR: AvpKey = AvpKey::base(622);
    /// OC-OLR (623, RFC 7683).
    pub const OC_OLR: AvpKey = AvpKey::base(623);
    /// OC-Sequence-Number (624, RFC 7683).
    pub const OC_SEQUENCE_NUMBER: AvpKey = AvpKey::base(624);
    /// OC-Validity-Duration (625, RFC 7683).
    pub const OC_VALIDITY_DURATION: AvpKey = AvpKey::base(625);
    /// OC-Report-Type (626, RFC 7683).
    pub const OC_REPORT_TYPE: AvpKey = AvpKey::base(626);
    /// OC-Reduction-Percentage (627, RFC 7683).
    pub const OC_REDUCTION_PERCENTAGE: AvpKey = AvpKey::base(627);
    /// Line-Identifier (500, ETSI ES 283 034).
    pub const LINE_IDENTIFIER: AvpKey = AvpKey::vendor(500, VENDOR_ETSI);

    // TS 29.109 Zh/Zn.
    /// GBA-UserSecSettings (400).
    pub const GBA_USER_SEC_SETTINGS: AvpKey = tgpp(400);
    /// Transaction-Identifier (401): the B-TID.
    pub const TRANSACTION_IDENTIFIER: AvpKey = tgpp(401);
    /// NAF-Id (402; "NAF-Hostname" before Rel-7): NAF FQDN and Ua security protocol identifier.
    pub const NAF_ID: AvpKey = tgpp(402);
    /// GAA-Service-Identifier (403).
    pub const GAA_SERVICE_IDENTIFIER: AvpKey = tgpp(403);
    /// Key-ExpiryTime (404).
    pub const KEY_EXPIRY_TIME: AvpKey = tgpp(404);
    /// ME-Key-Material (405).
    pub const ME_KEY_MATERIAL: AvpKey = tgpp(405);
    /// UICC-Key-Material (406).
    pub const UICC_KEY_MATERIAL: AvpKey = tgpp(406);
    /// GBA_U-Awareness-Indicator (407).
    pub const GBA_U_AWARENESS_INDICATOR: AvpKey = tgpp(407);
    /// BootstrapInfoCreationTime (408).
    pub const BOOTSTRAP_INFO_CREATION_TIME: AvpKey = tgpp(408);
    /// GUSS-Timestamp (409).
    pub const GUSS_TIMESTAMP: AvpKey = tgpp(409);
    /// GBA-Type (410).
    pub const GBA_TYPE: AvpKey = tgpp(410);
    /// UE-Id (411).
    pub const UE_ID: AvpKey = tgpp(411);
    /// UE-Id-Type (412).
    pub const UE_ID_TYPE: AvpKey = tgpp(412);
    /// UICC-App-Label (413).
    pub const UICC_APP_LABEL: AvpKey = tgpp(413);
    /// UICC-ME (414).
    pub const UICC_ME: AvpKey = tgpp(414);
    /// Requested-Key-Lifetime (415).
    pub const REQUESTED_KEY_LIFETIME: AvpKey = tgpp(415);
    /// Private-Identity-Request (416).
    pub const PRIVATE_IDENTITY_REQUEST: AvpKey = tgpp(416);
    /// GBA-Push-Info (417).
    pub const GBA_PUSH_INFO: AvpKey = tgpp(417);
    /// NAF-SA-Identifier (418).
    pub const NAF_SA_IDENTIFIER: AvpKey = tgpp(418);

    // TS 29.229 Cx/Dx.
    /// Visited-Network-Identifier (600).
    pub const VISITED_NETWORK_IDENTIFIER: AvpKey = tgpp(600);
    /// Public-Identity (601).
    pub const PUBLIC_IDENTITY: AvpKey = tgpp(601);
    /// Server-Name (602).
    pub const SERVER_NAME: AvpKey = tgpp(602);
    /// Server-Capabilities (603).
    pub const SERVER_CAPABILITIES: AvpKey = tgpp(603);
    /// Mandatory-Capability (604).
    pub const MANDATORY_CAPABILITY: AvpKey = tgpp(604);
    /// Optional-Capability (605).
    pub const OPTIONAL_CAPABILITY: AvpKey = tgpp(605);
    /// User-Data (606), the Cx IMS subscription document.
    pub const USER_DATA: AvpKey = tgpp(606);
    /// SIP-Number-Auth-Items (607).
    pub const SIP_NUMBER_AUTH_ITEMS: AvpKey = tgpp(607);
    /// SIP-Authentication-Scheme (608).
    pub const SIP_AUTHENTICATION_SCHEME: AvpKey = tgpp(608);
    /// SIP-Authenticate (609).
    pub const SIP_AUTHENTICATE: AvpKey = tgpp(609);
    /// SIP-Authorization (610).
    pub const SIP_AUTHORIZATION: AvpKey = tgpp(610);
    /// SIP-Authentication-Context (611).
    pub const SIP_AUTHENTICATION_CONTEXT: AvpKey = tgpp(611);
    /// SIP-Auth-Data-Item (612).
    pub const SIP_AUTH_DATA_ITEM: AvpKey = tgpp(612);
    /// SIP-Item-Number (613).
    pub const SIP_ITEM_NUMBER: AvpKey = tgpp(613);
    /// Server-Assignment-Type (614).
    pub const SERVER_ASSIGNMENT_TYPE: AvpKey = tgpp(614);
    /// Deregistration-Reason (615).
    pub const DEREGISTRATION_REASON: AvpKey = tgpp(615);
    /// Reason-Code (616).
    pub const REASON_CODE: AvpKey = tgpp(616);
    /// Reason-Info (617).
    pub const REASON_INFO: AvpKey = tgpp(617);
    /// Charging-Information (618).
    pub const CHARGING_INFORMATION: AvpKey = tgpp(618);
    /// Primary-Event-Charging-Function-Name (619).
    pub const PRIMARY_EVENT_CHARGING_FUNCTION_NAME: AvpKey = tgpp(619);
    /// Secondary-Event-Charging-Function-Name (620).
    pub const SECONDARY_EVENT_CHARGING_FUNCTION_NAME: AvpKey = tgpp(620);
    /// Primary-Charging-Collection-Function-Name (621).
    pub const PRIMARY_CHARGING_COLLECTION_FUNCTION_NAME: AvpKey = tgpp(621);
    /// Secondary-Charging-Collection-Function-Name (622).
    pub const SECONDARY_CHARGING_COLLECTION_FUNCTION_NAME: AvpKey = tgpp(622);
    /// User-Authorization-Type (623).
    pub const USER_AUTHORIZATION_TYPE: AvpKey = tgpp(623);
    /// User-Data-Already-Available (624).
    pub const USER_DATA_ALREADY_AVAILABLE: AvpKey = tgpp(624);
    /// Confidentiality-Key (625).
    pub const CONFIDENTIALITY_KEY: AvpKey = tgpp(625);
    /// Integrity-Key (626).
    pub const INTEGRITY_KEY: AvpKey = tgpp(626);
    /// Supported-Features (628).
    pub const SUPPORTED_FEATURES: AvpKey = tgpp(628);
    /// Feature-List-ID (629).
    pub const FEATURE_LIST_ID: AvpKey = tgpp(629);
    /// Feature-List (630).
    pub const FEATURE_LIST: AvpKey = tgpp(630);
    /// Supported-Applications (631).
    pub const SUPPORTED_APPLICATIONS: AvpKey = tgpp(631);
    /// Associated-Identities (632).
    pub const ASSOCIATED_IDENTITIES: AvpKey = tgpp(632);
    /// Originating-Request (633).
    pub const ORIGINATING_REQUEST: AvpKey = tgpp(633);
    /// Wildcarded-Public-Identity (634).
    pub const WILDCARDED_PUBLIC_IDENTITY: AvpKey = tgpp(634);
    /// SIP-Digest-Authenticate (635).
    pub const SIP_DIGEST_AUTHENTICATE: AvpKey = tgpp(635);
    /// Wildcarded-IMPU (636).
    pub const WILDCARDED_IMPU: AvpKey = tgpp(636);
    /// UAR-Flags (637).
    pub const UAR_FLAGS: AvpKey = tgpp(637);
    /// Loose-Route-Indication (638).
    pub const LOOSE_ROUTE_INDICATION: AvpKey = tgpp(638);
    /// SCSCF-Restoration-Info (639).
    pub const SCSCF_RESTORATION_INFO: AvpKey = tgpp(639);
    /// Path (640).
    pub const PATH: AvpKey = tgpp(640);
    /// Contact (641).
    pub const CONTACT: AvpKey = tgpp(641);
    /// Subscription-Info (642).
    pub const SUBSCRIPTION_INFO: AvpKey = tgpp(642);
    /// Call-ID-SIP-Header (643).
    pub const CALL_ID_SIP_HEADER: AvpKey = tgpp(643);
    /// From-SIP-Header (644).
    pub const FROM_SIP_HEADER: AvpKey = tgpp(644);
    /// To-SIP-Header (645).
    pub const TO_SIP_HEADER: AvpKey = tgpp(645);
    /// Record-Route (646).
    pub const RECORD_ROUTE: AvpKey = tgpp(646);
    /// Associated-Registered-Identities (647).
    pub const ASSOCIATED_REGISTERED_IDENTITIES: AvpKey = tgpp(647);
    /// Multiple-Registration-Indication (648).
    pub const MULTIPLE_REGISTRATION_INDICATION: AvpKey = tgpp(648);
    /// Restoration-Info (649).
    pub const RESTORATION_INFO: AvpKey = tgpp(649);
    /// Session-Priority (650).
    pub const SESSION_PRIORITY: AvpKey = tgpp(650);
    /// Identity-with-Emergency-Registration (651).
    pub const IDENTITY_WITH_EMERGENCY_REGISTRATION: AvpKey = tgpp(651);
    /// Priviledged-Sender-Indication (652; the specification's spelling).
    pub const PRIVILEDGED_SENDER_INDICATION: AvpKey = tgpp(652);
    /// LIA-Flags (653).
    pub const LIA_FLAGS: AvpKey = tgpp(653);
    /// Initial-CSeq-Sequence-Number (654).
    pub const INITIAL_CSEQ_SEQUENCE_NUMBER: AvpKey = tgpp(654);
    /// SAR-Flags (655).
    pub const SAR_FLAGS: AvpKey = tgpp(655);
    /// Allowed-WAF-WWSF-Identities (656).
    pub const ALLOWED_WAF_WWSF_IDENTITIES: AvpKey = tgpp(656);
    /// WebRTC-Authentication-Function-Name (657).
    pub const WEBRTC_AUTHENTICATION_FUNCTION_NAME: AvpKey = tgpp(657);
    /// WebRTC-Web-Server-Function-Name (658).
    pub const WEBRTC_WEB_SERVER_FUNCTION_NAME: AvpKey = tgpp(658);

    // TS 29.329 Sh.
    /// User-Identity (700).
    pub const USER_IDENTITY: AvpKey = tgpp(700);
    /// MSISDN (701).
    pub const MSISDN: AvpKey = tgpp(701);
    /// User-Data (702), the Sh data document (not Cx User-Data, 606).
    pub const SH_USER_DATA: AvpKey = tgpp(702);
    /// Data-Reference (703).
    pub const DATA_REFERENCE: AvpKey = tgpp(703);
    /// Service-Indication (704).
    pub const SERVICE_INDICATION: AvpKey = tgpp(704);
    /// Subs-Req-Type (705).
    pub const SUBS_REQ_TYPE: AvpKey = tgpp(705);
    /// Requested-Domain (706).
    pub const REQUESTED_DOMAIN: AvpKey = tgpp(706);
    /// Current-Location (707).
    pub const CURRENT_LOCATION: AvpKey = tgpp(707);
    /// Identity-Set (708).
    pub const IDENTITY_SET: AvpKey = tgpp(708);
    /// Expiry-Time (709).
    pub const EXPIRY_TIME: AvpKey = tgpp(709);
    /// Send-Data-Indication (710).
    pub const SEND_DATA_INDICATION: AvpKey = tgpp(710);
    /// DSAI-Tag (711).
    pub const DSAI_TAG: AvpKey = tgpp(711);
    /// One-Time-Notification (712).
    pub const ONE_TIME_NOTIFICATION: AvpKey = tgpp(712);
    /// Requested-Nodes (713).
    pub const REQUESTED_NODES: AvpKey = tgpp(713);
    /// Serving-Node-Indication (714).
    pub const SERVING_NODE_INDICATION: AvpKey = tgpp(714);
    /// Repository-Data-ID (715).
    pub const REPOSITORY_DATA_ID: AvpKey = tgpp(715);
    /// Sequence-Number (716).
    pub const SEQUENCE_NUMBER: AvpKey = tgpp(716);
    /// Pre-paging-Supported (717).
    pub const PRE_PAGING_SUPPORTED: AvpKey = tgpp(717);
    /// Local-Time-Zone-Indication (718).
    pub const LOCAL_TIME_ZONE_INDICATION: AvpKey = tgpp(718);
    /// UDR-Flags (719).
    pub const UDR_FLAGS: AvpKey = tgpp(719);
    /// Call-Reference-Info (720).
    pub const CALL_REFERENCE_INFO: AvpKey = tgpp(720);
    /// Call-Reference-Number (721).
    pub const CALL_REFERENCE_NUMBER: AvpKey = tgpp(721);
    /// AS-Number (722).
    pub const AS_NUMBER: AvpKey = tgpp(722);
}

/// AVP data formats (RFC 6733 §4.2 basic and §4.3 derived).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum DataType {
    /// Arbitrary octets.
    OctetString,
    /// 32-bit signed integer.
    Integer32,
    /// 64-bit signed integer.
    Integer64,
    /// 32-bit unsigned integer.
    Unsigned32,
    /// 64-bit unsigned integer.
    Unsigned64,
    /// IEEE 754 single precision.
    Float32,
    /// IEEE 754 double precision.
    Float64,
    /// A sequence of AVPs.
    Grouped,
    /// Address family and address.
    Address,
    /// NTP seconds.
    Time,
    /// UTF-8 text.
    Utf8String,
    /// FQDN or realm.
    DiameterIdentity,
    /// `aaa://` URI; checked only for being UTF-8 text.
    DiameterUri,
    /// Integer32 with defined values.
    Enumerated,
}

impl DataType {
    /// Data length of a value of this type, for fixed-size types.
    pub const fn fixed_len(self) -> Option<usize> {
        match self {
            Self::Integer32 | Self::Unsigned32 | Self::Float32 | Self::Time | Self::Enumerated => {
                Some(4)
            }
            Self::Integer64 | Self::Unsigned64 | Self::Float64 => Some(8),
            _ => None,
        }
    }

    /// The least data length a value of this type can have (RFC 6733 §7.5 fills missing or
    /// mis-sized AVPs in Failed-AVP with this many zero octets).
    pub const fn min_len(self) -> usize {
        match self.fixed_len() {
            Some(len) => len,
            None => match self {
                // Family and an IPv4 address.
                Self::Address => 6,
                _ => 0,
            },
        }
    }
}

/// What the dictionary says about an AVP's 'M' bit.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum FlagRule {
    /// Must be set.
    Must,
    /// May be set.
    May,
    /// Must not be set.
    MustNot,
}

/// One line of a grammar: an AVP and how often it may occur.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Rule {
    /// The AVP.
    pub key: AvpKey,
    /// Fewest occurrences (1 for `{ AVP }` and `< AVP >`).
    pub min: u32,
    /// Most occurrences ([`UNBOUNDED`] for `*`).
    pub max: u32,
}

/// `max` of a rule without an upper bound.
pub const UNBOUNDED: u32 = u32::MAX;

/// The ABNF of a command or a Grouped AVP.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Grammar {
    /// The listed AVPs.
    pub rules: &'static [Rule],
    /// Whether AVPs not listed may appear (`*[ AVP ]`); if not, they are answered with 5008.
    pub open: bool,
    /// Whether the members are checked at all. Failed-AVP carries copies of offending AVPs, which
    /// are by nature not to be judged again.
    pub checked: bool,
}

impl Grammar {
    /// The rule for an AVP, if listed.
    pub fn rule(&self, key: AvpKey) -> Option<&'static Rule> {
        self.rules.iter().find(|rule| rule.key == key)
    }
}

/// A dictionary entry for one AVP.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct AvpDef {
    /// Code and Vendor-ID.
    pub key: AvpKey,
    /// Name as in its specification.
    pub name: &'static str,
    /// Data format.
    pub data_type: DataType,
    /// Rule for the 'M' bit: it is set when sending if the rule is [`FlagRule::Must`].
    pub mandatory: FlagRule,
    /// Defined values of an Enumerated AVP; empty means any value is accepted (the application
    /// keeps adding values, so only closed sets are listed).
    pub values: &'static [i32],
    /// Members of a Grouped AVP.
    pub grammar: Option<&'static Grammar>,
}

/// A dictionary entry for one command.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct CommandDef {
    /// Application-ID the command belongs to.
    pub application_id: u32,
    /// Command Code.
    pub code: u32,
    /// Name without the -Request/-Answer suffix.
    pub name: &'static str,
    /// Whether the 'P' bit is set (and must be, in requests).
    pub proxiable: bool,
    /// Grammar of the request.
    pub request: Grammar,
    /// Grammar of the answer (without the 'E' bit; error answers follow [`ERROR_ANSWER`]).
    pub answer: Grammar,
}

/// Grammar of every answer with the 'E' bit set (RFC 6733 §7.2).
pub const ERROR_ANSWER: Grammar = open(&[
    opt(avp::SESSION_ID),
    req(avp::ORIGIN_HOST),
    req(avp::ORIGIN_REALM),
    req(avp::RESULT_CODE),
    opt(avp::ORIGIN_STATE_ID),
    opt(avp::ERROR_MESSAGE),
    opt(avp::ERROR_REPORTING_HOST),
    opt(avp::FAILED_AVP),
    opt(avp::EXPERIMENTAL_RESULT),
    many(avp::PROXY_INFO),
]);

/// Looks up an AVP.
pub fn avp_def(key: AvpKey) -> Option<&'static AvpDef> {
    AVPS.binary_search_by(|def| def.key.cmp(&key))
        .ok()
        .and_then(|index| AVPS.get(index))
}

/// The name of an AVP, if the dictionary knows it.
pub fn avp_name(key: AvpKey) -> Option<&'static str> {
    avp_def(key).map(|def| def.name)
}

/// Looks up a command of an application.
pub fn command(application_id: u32, code: u32) -> Option<&'static CommandDef> {
    COMMANDS
        .iter()
        .find(|def| def.application_id == application_id && def.code == code)
}

/// Whether the dictionary defines commands of this application.
pub fn is_known_application(application_id: u32) -> bool {
    COMMANDS
        .iter()
        .any(|def| def.application_id == application_id)
}

impl From<AvpKey> for AvpHeader {
    /// The header to send an AVP with: 'M' set when the dictionary says it must be, 'V' when the
    /// key has a Vendor-ID.
    fn from(key: AvpKey) -> Self {
        let mandatory = avp_def(key).is_some_and(|def| def.mandatory == FlagRule::Must);
        let flags = if mandatory {
            AvpFlags::MANDATORY
        } else {
            AvpFlags::empty()
        };
        AvpHeader::new(key.code, key.vendor_id, flags)
    }
}

const fn req(key: AvpKey) -> Rule {
    Rule {
        key,
        min: 1,
        max: 1,
    }
}

const fn opt(key: AvpKey) -> Rule {
    Rule {
        key,
        min: 0,
        max: 1,
    }
}

const fn many(key: AvpKey) -> Rule {
    Rule {
        key,
        min: 0,
        max: UNBOUNDED,
    }
}

const fn some(key: AvpKey) -> Rule {
    Rule {
        key,
        min: 1,
        max: UNBOUNDED,
    }
}

const fn open(rules: &'static [Rule]) -> Grammar {
    Grammar {
        rules,
        open: true,
        checked: true,
    }
}

const fn closed(rules: &'static [Rule]) -> Grammar {
    Grammar {
        rules,
        open: false,
        checked: true,
    }
}

const fn def(key: AvpKey, name: &'static str, data_type: DataType, mandatory: FlagRule) -> AvpDef {
    AvpDef {
        key,
        name,
        data_type,
        mandatory,
        values: &[],
        grammar: None,
    }
}

const fn enumerated(
    key: AvpKey,
    name: &'static str,
    mandatory: FlagRule,
    values: &'static [i32],
) -> AvpDef {
    AvpDef {
        key,
        name,
        data_type: Enumerated,
        mandatory,
        values,
        grammar: None,
    }
}

const fn grouped(
    key: AvpKey,
    name: &'static str,
    mandatory: FlagRule,
    grammar: &'static Grammar,
) -> AvpDef {
    AvpDef {
        key,
        name,
        data_type: Grouped,
        mandatory,
        values: &[],
        grammar: Some(grammar),
    }
}

// Grouped AVP grammars.
const VENDOR_SPECIFIC_APPLICATION_ID: Grammar = closed(&[
    req(avp::VENDOR_ID),
    opt(avp::AUTH_APPLICATION_ID),
    opt(avp::ACCT_APPLICATION_ID),
]);
const FAILED_AVP: Grammar = Grammar {
    rules: &[],
    open: true,
    checked: false,
};
const PROXY_INFO: Grammar = open(&[req(avp::PROXY_HOST), req(avp::PROXY_STATE)]);
const EXPERIMENTAL_RESULT: Grammar =
    closed(&[req(avp::VENDOR_ID), req(avp::EXPERIMENTAL_RESULT_CODE)]);
const OC_SUPPORTED_FEATURES: Grammar = open(&[opt(avp::OC_FEATURE_VECTOR)]);
const OC_OLR: Grammar = open(&[
    req(avp::OC_SEQUENCE_NUMBER),
    req(avp::OC_REPORT_TYPE),
    opt(avp::OC_REDUCTION_PERCENTAGE),
    opt(avp::OC_VALIDITY_DURATION),
]);
const SERVER_CAPABILITIES: Grammar = open(&[
    many(avp::MANDATORY_CAPABILITY),
    many(avp::OPTIONAL_CAPABILITY),
    many(avp::SERVER_NAME),
]);
const SIP_AUTH_DATA_ITEM: Grammar = open(&[
    opt(avp::SIP_ITEM_NUMBER),
    opt(avp::SIP_AUTHENTICATION_SCHEME),
    opt(avp::SIP_AUTHENTICATE),
    opt(avp::SIP_AUTHORIZATION),
    opt(avp::SIP_AUTHENTICATION_CONTEXT),
    opt(avp::CONFIDENTIALITY_KEY),
    opt(avp::INTEGRITY_KEY),
    opt(avp::SIP_DIGEST_AUTHENTICATE),
    opt(avp::FRAMED_IP_ADDRESS),
    opt(avp::FRAMED_IPV6_PREFIX),
    opt(avp::FRAMED_INTERFACE_ID),
    many(avp::LINE_IDENTIFIER),
]);
const DEREGISTRATION_REASON: Grammar = open(&[req(avp::REASON_CODE), opt(avp::REASON_INFO)]);
const CHARGING_INFORMATION: Grammar = open(&[
    opt(avp::PRIMARY_EVENT_CHARGING_FUNCTION_NAME),
    opt(avp::SECONDARY_EVENT_CHARGING_FUNCTION_NAME),
    opt(avp::PRIMARY_CHARGING_COLLECTION_FUNCTION_NAME),
    opt(avp::SECONDARY_CHARGING_COLLECTION_FUNCTION_NAME),
]);
const SUPPORTED_FEATURES: Grammar = open(&[
    req(avp::VENDOR_ID),
    req(avp::FEATURE_LIST_ID),
    req(avp::FEATURE_LIST),
]);
const SUPPORTED_APPLICATIONS: Grammar = open(&[
    many(avp::AUTH_APPLICATION_ID),
    many(avp::ACCT_APPLICATION_ID),
    many(avp::VENDOR_SPECIFIC_APPLICATION_ID),
]);
const USER_NAMES: Grammar = open(&[many(avp::USER_NAME)]);
const SIP_DIGEST_AUTHENTICATE: Grammar = open(&[
    req(avp::DIGEST_REALM),
    opt(avp::DIGEST_ALGORITHM),
    req(avp::DIGEST_QOP),
    req(avp::DIGEST_HA1),
]);
const SCSCF_RESTORATION_INFO: Grammar = open(&[
    req(avp::USER_NAME),
    some(avp::RESTORATION_INFO),
    opt(avp::SIP_AUTHENTICATION_SCHEME),
]);
const SUBSCRIPTION_INFO: Grammar = open(&[
    req(avp::CALL_ID_SIP_HEADER),
    req(avp::FROM_SIP_HEADER),
    req(avp::TO_SIP_HEADER),
    req(avp::RECORD_ROUTE),
    req(avp::CONTACT),
]);
const RESTORATION_INFO: Grammar = open(&[
    req(avp::PATH),
    req(avp::CONTACT),
    opt(avp::INITIAL_CSEQ_SEQUENCE_NUMBER),
    opt(avp::CALL_ID_SIP_HEADER),
    opt(avp::SUBSCRIPTION_INFO),
]);
const IDENTITY_WITH_EMERGENCY_REGISTRATION: Grammar =
    open(&[req(avp::USER_NAME), req(avp::PUBLIC_IDENTITY)]);
const ALLOWED_WAF_WWSF_IDENTITIES: Grammar = open(&[
    many(avp::WEBRTC_AUTHENTICATION_FUNCTION_NAME),
    many(avp::WEBRTC_WEB_SERVER_FUNCTION_NAME),
]);
const USER_IDENTITY: Grammar = open(&[opt(avp::PUBLIC_IDENTITY), opt(avp::MSISDN)]);
const REPOSITORY_DATA_ID: Grammar =
    open(&[req(avp::SERVICE_INDICATION), req(avp::SEQUENCE_NUMBER)]);
const CALL_REFERENCE_INFO: Grammar = open(&[req(avp::CALL_REFERENCE_NUMBER), req(avp::AS_NUMBER)]);

/// Every AVP the dictionary knows, sorted by code then Vendor-ID (IETF before vendor AVPs).
pub static AVPS: &[AvpDef] = &[
    def(avp::USER_NAME, "User-Name", Utf8, Must),
    def(avp::FRAMED_IP_ADDRESS, "Framed-IP-Address", Octets, Must),
    def(avp::CLASS, "Class", Octets, Must),
    def(avp::SESSION_TIMEOUT, "Session-Timeout", U32, Must),
    def(avp::PROXY_STATE, "Proxy-State", Octets, Must),
    def(avp::ACCT_SESSION_ID, "Acct-Session-Id", Octets, Must),
    def(
        avp::ACCT_MULTI_SESSION_ID,
        "Acct-Multi-Session-Id",
        Utf8,
        Must,
    ),
    def(avp::EVENT_TIMESTAMP, "Event-Timestamp", Time, Must),
    def(
        avp::ACCT_INTERIM_INTERVAL,
        "Acct-Interim-Interval",
        U32,
        Must,
    ),
    def(avp::FRAMED_INTERFACE_ID, "Framed-Interface-Id", U64, Must),
    def(avp::FRAMED_IPV6_PREFIX, "Framed-IPv6-Prefix", Octets, Must),
    def(avp::DIGEST_REALM, "Digest-Realm", Utf8, Must),
    def(avp::DIGEST_QOP, "Digest-QoP", Utf8, Must),
    def(avp::DIGEST_ALGORITHM, "Digest-Algorithm", Utf8, Must),
    def(avp::DIGEST_HA1, "Digest-HA1", Utf8, Must),
    def(avp::HOST_IP_ADDRESS, "Host-IP-Address", Address, Must),
    def(avp::AUTH_APPLICATION_ID, "Auth-Application-Id", U32, Must),
    def(avp::ACCT_APPLICATION_ID, "Acct-Application-Id", U32, Must),
    grouped(
        avp::VENDOR_SPECIFIC_APPLICATION_ID,
        "Vendor-Specific-Application-Id",
        Must,
        &VENDOR_SPECIFIC_APPLICATION_ID,
    ),
    enumerated(
        avp::REDIRECT_HOST_USAGE,
        "Redirect-Host-Usage",
        Must,
        &[0, 1, 2, 3, 4, 5, 6],
    ),
    def(
        avp::REDIRECT_MAX_CACHE_TIME,
        "Redirect-Max-Cache-Time",
        U32,
        Must,
    ),
    def(avp::SESSION_ID, "Session-Id", Utf8, Must),
    def(avp::ORIGIN_HOST, "Origin-Host", Ident, Must),
    def(avp::SUPPORTED_VENDOR_ID, "Supported-Vendor-Id", U32, Must),
    def(avp::VENDOR_ID, "Vendor-Id", U32, Must),
    def(avp::FIRMWARE_REVISION, "Firmware-Revision", U32, MustNot),
    def(avp::RESULT_CODE, "Result-Code", U32, Must),
    def(avp::PRODUCT_NAME, "Product-Name", Utf8, MustNot),
    def(avp::SESSION_BINDING, "Session-Binding", U32, Must),
    enumerated(
        avp::SESSION_SERVER_FAILOVER,
        "Session-Server-Failover",
        Must,
        &[0, 1, 2, 3],
    ),
    def(avp::MULTI_ROUND_TIME_OUT, "Multi-Round-Time-Out", U32, Must),
    enumerated(avp::DISCONNECT_CAUSE, "Disconnect-Cause", Must, &[0, 1, 2]),
    enumerated(
        avp::AUTH_REQUEST_TYPE,
        "Auth-Request-Type",
        Must,
        &[1, 2, 3],
    ),
    def(avp::AUTH_GRACE_PERIOD, "Auth-Grace-Period", U32, Must),
    enumerated(avp::AUTH_SESSION_STATE, "Auth-Session-State", Must, &[0, 1]),
    def(avp::ORIGIN_STATE_ID, "Origin-State-Id", U32, Must),
    grouped(avp::FAILED_AVP, "Failed-AVP", Must, &FAILED_AVP),
    def(avp::PROXY_HOST, "Proxy-Host", Ident, Must),
    def(avp::ERROR_MESSAGE, "Error-Message", Utf8, MustNot),
    def(avp::ROUTE_RECORD, "Route-Record", Ident, Must),
    def(avp::DESTINATION_REALM, "Destination-Realm", Ident, Must),
    grouped(avp::PROXY_INFO, "Proxy-Info", Must, &PROXY_INFO),
    enumerated(
        avp::RE_AUTH_REQUEST_TYPE,
        "Re-Auth-Request-Type",
        Must,
        &[0, 1],
    ),
    def(
        avp::ACCOUNTING_SUB_SESSION_ID,
        "Accounting-Sub-Session-Id",
        U64,
        Must,
    ),
    def(
        avp::AUTHORIZATION_LIFETIME,
        "Authorization-Lifetime",
        U32,
        Must,
    ),
    def(avp::REDIRECT_HOST, "Redirect-Host", Uri, Must),
    def(avp::DESTINATION_HOST, "Destination-Host", Ident, Must),
    def(
        avp::ERROR_REPORTING_HOST,
        "Error-Reporting-Host",
        Ident,
        MustNot,
    ),
    enumerated(
        avp::TERMINATION_CAUSE,
        "Termination-Cause",
        Must,
        &[1, 2, 3, 4, 5, 6, 7, 8],
    ),
    def(avp::ORIGIN_REALM, "Origin-Realm", Ident, Must),
    grouped(
        avp::EXPERIMENTAL_RESULT,
        "Experimental-Result",
        Must,
        &EXPERIMENTAL_RESULT,
    ),
    def(
        avp::EXPERIMENTAL_RESULT_CODE,
        "Experimental-Result-Code",
        U32,
        Must,
    ),
    def(avp::INBAND_SECURITY_ID, "Inband-Security-Id", U32, Must),
    enumerated(avp::DRMP, "DRMP", MustNot, &[]),
    def(
        avp::GBA_USER_SEC_SETTINGS,
        "GBA-UserSecSettings",
        Octets,
        Must,
    ),
    def(
        avp::TRANSACTION_IDENTIFIER,
        "Transaction-Identifier",
        Octets,
        Must,
    ),
    def(avp::NAF_ID, "NAF-Id", Octets, Must),
    def(
        avp::GAA_SERVICE_IDENTIFIER,
        "GAA-Service-Identifier",
        Octets,
        Must,
    ),
    def(avp::KEY_EXPIRY_TIME, "Key-ExpiryTime", Time, Must),
    def(avp::ME_KEY_MATERIAL, "ME-Key-Material", Octets, Must),
    def(avp::UICC_KEY_MATERIAL, "UICC-Key-Material", Octets, Must),
    enumerated(
        avp::GBA_U_AWARENESS_INDICATOR,
        "GBA_U-Awareness-Indicator",
        Must,
        &[],
    ),
    def(
        avp::BOOTSTRAP_INFO_CREATION_TIME,
        "BootstrapInfoCreationTime",
        Time,
        Must,
    ),
    def(avp::GUSS_TIMESTAMP, "GUSS-Timestamp", Time, MustNot),
    enumerated(avp::GBA_TYPE, "GBA-Type", Must, &[]),
    def(avp::UE_ID, "UE-Id", Octets, Must),
    enumerated(avp::UE_ID_TYPE, "UE-Id-Type", Must, &[]),
    def(avp::UICC_APP_LABEL, "UICC-App-Label", Octets, Must),
    enumerated(avp::UICC_ME, "UICC-ME", Must, &[]),
    def(
        avp::REQUESTED_KEY_LIFETIME,
        "Requested-Key-Lifetime",
        Time,
        Must,
    ),
    enumerated(
        avp::PRIVATE_IDENTITY_REQUEST,
        "Private-Identity-Request",
        Must,
        &[],
    ),
    def(avp::GBA_PUSH_INFO, "GBA-Push-Info", Octets, Must),
    def(avp::NAF_SA_IDENTIFIER, "NAF-SA-Identifier", Octets, Must),
    enumerated(
        avp::ACCOUNTING_RECORD_TYPE,
        "Accounting-Record-Type",
        Must,
        &[1, 2, 3, 4],
    ),
    enumerated(
        avp::ACCOUNTING_REALTIME_REQUIRED,
        "Accounting-Realtime-Required",
        Must,
        &[1, 2, 3],
    ),
    def(
        avp::ACCOUNTING_RECORD_NUMBER,
        "Accounting-Record-Number",
        U32,
        Must,
    ),
    def(avp::LINE_IDENTIFIER, "Line-Identifier", Octets, MustNot),
    def(
        avp::VISITED_NETWORK_IDENTIFIER,
        "Visited-Network-Identifier",
        Octets,
        Must,
    ),
    def(avp::PUBLIC_IDENTITY, "Public-Identity", Utf8, Must),
    def(avp::SERVER_NAME, "Server-Name", Utf8, Must),
    grouped(
        avp::SERVER_CAPABILITIES,
        "Server-Capabilities",
        Must,
        &SERVER_CAPABILITIES,
    ),
    def(avp::MANDATORY_CAPABILITY, "Mandatory-Capability", U32, Must),
    def(avp::OPTIONAL_CAPABILITY, "Optional-Capability", U32, Must),
    def(avp::USER_DATA, "User-Data", Octets, Must),
    def(
        avp::SIP_NUMBER_AUTH_ITEMS,
        "SIP-Number-Auth-Items",
        U32,
        Must,
    ),
    def(
        avp::SIP_AUTHENTICATION_SCHEME,
        "SIP-Authentication-Scheme",
        Utf8,
        Must,
    ),
    def(avp::SIP_AUTHENTICATE, "SIP-Authenticate", Octets, Must),
    def(avp::SIP_AUTHORIZATION, "SIP-Authorization", Octets, Must),
    def(
        avp::SIP_AUTHENTICATION_CONTEXT,
        "SIP-Authentication-Context",
        Octets,
        Must,
    ),
    grouped(
        avp::SIP_AUTH_DATA_ITEM,
        "SIP-Auth-Data-Item",
        Must,
        &SIP_AUTH_DATA_ITEM,
    ),
    def(avp::SIP_ITEM_NUMBER, "SIP-Item-Number", U32, Must),
    enumerated(
        avp::SERVER_ASSIGNMENT_TYPE,
        "Server-Assignment-Type",
        Must,
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
    ),
    grouped(
        avp::DEREGISTRATION_REASON,
        "Deregistration-Reason",
        Must,
        &DEREGISTRATION_REASON,
    ),
    enumerated(avp::REASON_CODE, "Reason-Code", Must, &[0, 1, 2, 3]),
    def(avp::REASON_INFO, "Reason-Info", Utf8, Must),
    grouped(
        avp::CHARGING_INFORMATION,
        "Charging-Information",
        Must,
        &CHARGING_INFORMATION,
    ),
    def(
        avp::PRIMARY_EVENT_CHARGING_FUNCTION_NAME,
        "Primary-Event-Charging-Function-Name",
        Uri,
        Must,
    ),
    def(
        avp::SECONDARY_EVENT_CHARGING_FUNCTION_NAME,
        "Secondary-Event-Charging-Function-Name",
        Uri,
        Must,
    ),
    grouped(
        avp::OC_SUPPORTED_FEATURES,
        "OC-Supported-Features",
        MustNot,
        &OC_SUPPORTED_FEATURES,
    ),
    def(
        avp::PRIMARY_CHARGING_COLLECTION_FUNCTION_NAME,
        "Primary-Charging-Collection-Function-Name",
        Uri,
        Must,
    ),
    def(avp::OC_FEATURE_VECTOR, "OC-Feature-Vector", U64, MustNot),
    def(
        avp::SECONDARY_CHARGING_COLLECTION_FUNCTION_NAME,
        "Secondary-Charging-Collection-Function-Name",
        Uri,
        Must,
    ),
    grouped(avp::OC_OLR, "OC-OLR", MustNot, &OC_OLR),
    enumerated(
        avp::USER_AUTHORIZATION_TYPE,
        "User-Authorization-Type",
        Must,
        &[0, 1, 2],
    ),
    def(avp::OC_SEQUENCE_NUMBER, "OC-Sequence-Number", U64, MustNot),
    enumerated(
        avp::USER_DATA_ALREADY_AVAILABLE,
        "User-Data-Already-Available",
        Must,
        &[0, 1],
    ),
    def(
        avp::OC_VALIDITY_DURATION,
        "OC-Validity-Duration",
        U32,
        MustNot,
    ),
    def(
        avp::CONFIDENTIALITY_KEY,
        "Confidentiality-Key",
        Octets,
        Must,
    ),
    enumerated(avp::OC_REPORT_TYPE, "OC-Report-Type", MustNot, &[0, 1]),
    def(avp::INTEGRITY_KEY, "Integrity-Key", Octets, Must),
    def(
        avp::OC_REDUCTION_PERCENTAGE,
        "OC-Reduction-Percentage",
        U32,
        MustNot,
    ),
    grouped(
        avp::SUPPORTED_FEATURES,
        "Supported-Features",
        MustNot,
        &SUPPORTED_FEATURES,
    ),
    def(avp::FEATURE_LIST_ID, "Feature-List-ID", U32, MustNot),
    def(avp::FEATURE_LIST, "Feature-List", U32, MustNot),
    grouped(
        avp::SUPPORTED_APPLICATIONS,
        "Supported-Applications",
        MustNot,
        &SUPPORTED_APPLICATIONS,
    ),
    grouped(
        avp::ASSOCIATED_IDENTITIES,
        "Associated-Identities",
        MustNot,
        &USER_NAMES,
    ),
    enumerated(avp::ORIGINATING_REQUEST, "Originating-Request", Must, &[0]),
    def(
        avp::WILDCARDED_PUBLIC_IDENTITY,
        "Wildcarded-Public-Identity",
        Utf8,
        MustNot,
    ),
    grouped(
        avp::SIP_DIGEST_AUTHENTICATE,
        "SIP-Digest-Authenticate",
        MustNot,
        &SIP_DIGEST_AUTHENTICATE,
    ),
    def(avp::WILDCARDED_IMPU, "Wildcarded-IMPU", Utf8, MustNot),
    def(avp::UAR_FLAGS, "UAR-Flags", U32, MustNot),
    enumerated(
        avp::LOOSE_ROUTE_INDICATION,
        "Loose-Route-Indication",
        MustNot,
        &[0, 1],
    ),
    grouped(
        avp::SCSCF_RESTORATION_INFO,
        "SCSCF-Restoration-Info",
        MustNot,
        &SCSCF_RESTORATION_INFO,
    ),
    def(avp::PATH, "Path", Octets, MustNot),
    def(avp::CONTACT, "Contact", Octets, MustNot),
    grouped(
        avp::SUBSCRIPTION_INFO,
        "Subscription-Info",
        MustNot,
        &SUBSCRIPTION_INFO,
    ),
    def(
        avp::CALL_ID_SIP_HEADER,
        "Call-ID-SIP-Header",
        Octets,
        MustNot,
    ),
    def(avp::FROM_SIP_HEADER, "From-SIP-Header", Octets, MustNot),
    def(avp::TO_SIP_HEADER, "To-SIP-Header", Octets, MustNot),
    def(avp::RECORD_ROUTE, "Record-Route", Octets, MustNot),
    grouped(
        avp::ASSOCIATED_REGISTERED_IDENTITIES,
        "Associated-Registered-Identities",
        MustNot,
        &USER_NAMES,
    ),
    enumerated(
        avp::MULTIPLE_REGISTRATION_INDICATION,
        "Multiple-Registration-Indication",
        MustNot,
        &[0, 1],
    ),
    grouped(
        avp::RESTORATION_INFO,
        "Restoration-Info",
        MustNot,
        &RESTORATION_INFO,
    ),
    enumerated(
        avp::SESSION_PRIORITY,
        "Session-Priority",
        MustNot,
        &[0, 1, 2, 3, 4],
    ),
    grouped(
        avp::IDENTITY_WITH_EMERGENCY_REGISTRATION,
        "Identity-with-Emergency-Registration",
        MustNot,
        &IDENTITY_WITH_EMERGENCY_REGISTRATION,
    ),
    enumerated(
        avp::PRIVILEDGED_SENDER_INDICATION,
        "Priviledged-Sender-Indication",
        MustNot,
        &[0, 1],
    ),
    def(avp::LIA_FLAGS, "LIA-Flags", U32, MustNot),
    def(
        avp::INITIAL_CSEQ_SEQUENCE_NUMBER,
        "Initial-CSeq-Sequence-Number",
        U32,
        MustNot,
    ),
    def(avp::SAR_FLAGS, "SAR-Flags", U32, MustNot),
    grouped(
        avp::ALLOWED_WAF_WWSF_IDENTITIES,
        "Allowed-WAF-WWSF-Identities",
        MustNot,
        &ALLOWED_WAF_WWSF_IDENTITIES,
    ),
    def(
        avp::WEBRTC_AUTHENTICATION_FUNCTION_NAME,
        "WebRTC-Authentication-Function-Name",
        Utf8,
        MustNot,
    ),
    def(
        avp::WEBRTC_WEB_SERVER_FUNCTION_NAME,
        "WebRTC-Web-Server-Function-Name",
        Utf8,
        MustNot,
    ),
    grouped(avp::USER_IDENTITY, "User-Identity", Must, &USER_IDENTITY),
    def(avp::MSISDN, "MSISDN", Octets, Must),
    def(avp::SH_USER_DATA, "User-Data", Octets, Must),
    enumerated(avp::DATA_REFERENCE, "Data-Reference", Must, &[]),
    def(avp::SERVICE_INDICATION, "Service-Indication", Octets, Must),
    enumerated(avp::SUBS_REQ_TYPE, "Subs-Req-Type", Must, &[0, 1]),
    enumerated(avp::REQUESTED_DOMAIN, "Requested-Domain", Must, &[0, 1]),
    enumerated(avp::CURRENT_LOCATION, "Current-Location", Must, &[0, 1]),
    enumerated(avp::IDENTITY_SET, "Identity-Set", MustNot, &[]),
    def(avp::EXPIRY_TIME, "Expiry-Time", Time, MustNot),
    enumerated(
        avp::SEND_DATA_INDICATION,
        "Send-Data-Indication",
        MustNot,
        &[],
    ),
    def(avp::DSAI_TAG, "DSAI-Tag", Octets, Must),
    enumerated(
        avp::ONE_TIME_NOTIFICATION,
        "One-Time-Notification",
        MustNot,
        &[],
    ),
    def(avp::REQUESTED_NODES, "Requested-Nodes", U32, MustNot),
    enumerated(
        avp::SERVING_NODE_INDICATION,
        "Serving-Node-Indication",
        MustNot,
        &[],
    ),
    grouped(
        avp::REPOSITORY_DATA_ID,
        "Repository-Data-ID",
        MustNot,
        &REPOSITORY_DATA_ID,
    ),
    def(avp::SEQUENCE_NUMBER, "Sequence-Number", U32, MustNot),
    enumerated(
        avp::PRE_PAGING_SUPPORTED,
        "Pre-paging-Supported",
        MustNot,
        &[],
    ),
    enumerated(
        avp::LOCAL_TIME_ZONE_INDICATION,
        "Local-Time-Zone-Indication",
        MustNot,
        &[],
    ),
    def(avp::UDR_FLAGS, "UDR-Flags", U32, MustNot),
    grouped(
        avp::CALL_REFERENCE_INFO,
        "Call-Reference-Info",
        MustNot,
        &CALL_REFERENCE_INFO,
    ),
    def(
        avp::CALL_REFERENCE_NUMBER,
        "Call-Reference-Number",
        Octets,
        MustNot,
    ),
    def(avp::AS_NUMBER, "AS-Number", Octets, MustNot),
];

const fn command_def(
    application_id: u32,
    code: u32,
    name: &'static str,
    proxiable: bool,
    request: Grammar,
    answer: Grammar,
) -> CommandDef {
    CommandDef {
        application_id,
        code,
        name,
        proxiable,
        request,
        answer,
    }
}

/// Every command the dictionary knows.
pub static COMMANDS: &[CommandDef] = &[
    command_def(
        app::BASE,
        cmd::CAPABILITIES_EXCHANGE,
        "Capabilities-Exchange",
        false,
        open(&[
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            some(avp::HOST_IP_ADDRESS),
            req(avp::VENDOR_ID),
            req(avp::PRODUCT_NAME),
            opt(avp::ORIGIN_STATE_ID),
            many(avp::SUPPORTED_VENDOR_ID),
            many(avp::AUTH_APPLICATION_ID),
            many(avp::INBAND_SECURITY_ID),
            many(avp::ACCT_APPLICATION_ID),
            many(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            opt(avp::FIRMWARE_REVISION),
        ]),
        open(&[
            req(avp::RESULT_CODE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            some(avp::HOST_IP_ADDRESS),
            req(avp::VENDOR_ID),
            req(avp::PRODUCT_NAME),
            opt(avp::ORIGIN_STATE_ID),
            opt(avp::ERROR_MESSAGE),
            opt(avp::FAILED_AVP),
            many(avp::SUPPORTED_VENDOR_ID),
            many(avp::AUTH_APPLICATION_ID),
            many(avp::INBAND_SECURITY_ID),
            many(avp::ACCT_APPLICATION_ID),
            many(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            opt(avp::FIRMWARE_REVISION),
        ]),
    ),
    command_def(
        app::BASE,
        cmd::DEVICE_WATCHDOG,
        "Device-Watchdog",
        false,
        open(&[
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::ORIGIN_STATE_ID),
        ]),
        open(&[
            req(avp::RESULT_CODE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::ERROR_MESSAGE),
            opt(avp::FAILED_AVP),
            opt(avp::ORIGIN_STATE_ID),
        ]),
    ),
    command_def(
        app::BASE,
        cmd::DISCONNECT_PEER,
        "Disconnect-Peer",
        false,
        open(&[
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            req(avp::DISCONNECT_CAUSE),
        ]),
        open(&[
            req(avp::RESULT_CODE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::ERROR_MESSAGE),
            opt(avp::FAILED_AVP),
        ]),
    ),
    command_def(
        app::CX,
        cmd::USER_AUTHORIZATION,
        "User-Authorization",
        true,
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::DESTINATION_HOST),
            req(avp::DESTINATION_REALM),
            req(avp::USER_NAME),
            opt(avp::OC_SUPPORTED_FEATURES),
            many(avp::SUPPORTED_FEATURES),
            req(avp::PUBLIC_IDENTITY),
            req(avp::VISITED_NETWORK_IDENTIFIER),
            opt(avp::USER_AUTHORIZATION_TYPE),
            opt(avp::UAR_FLAGS),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            opt(avp::RESULT_CODE),
            opt(avp::EXPERIMENTAL_RESULT),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::OC_SUPPORTED_FEATURES),
            opt(avp::OC_OLR),
            many(avp::SUPPORTED_FEATURES),
            opt(avp::SERVER_NAME),
            opt(avp::SERVER_CAPABILITIES),
            many(avp::FAILED_AVP),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
    ),
    command_def(
        app::CX,
        cmd::SERVER_ASSIGNMENT,
        "Server-Assignment",
        true,
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::DESTINATION_HOST),
            req(avp::DESTINATION_REALM),
            opt(avp::USER_NAME),
            opt(avp::OC_SUPPORTED_FEATURES),
            many(avp::SUPPORTED_FEATURES),
            many(avp::PUBLIC_IDENTITY),
            opt(avp::WILDCARDED_PUBLIC_IDENTITY),
            req(avp::SERVER_NAME),
            req(avp::SERVER_ASSIGNMENT_TYPE),
            req(avp::USER_DATA_ALREADY_AVAILABLE),
            opt(avp::SCSCF_RESTORATION_INFO),
            opt(avp::MULTIPLE_REGISTRATION_INDICATION),
            opt(avp::SESSION_PRIORITY),
            opt(avp::SAR_FLAGS),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            opt(avp::RESULT_CODE),
            opt(avp::EXPERIMENTAL_RESULT),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::USER_NAME),
            opt(avp::OC_SUPPORTED_FEATURES),
            opt(avp::OC_OLR),
            many(avp::SUPPORTED_FEATURES),
            opt(avp::USER_DATA),
            opt(avp::CHARGING_INFORMATION),
            opt(avp::ASSOCIATED_IDENTITIES),
            opt(avp::LOOSE_ROUTE_INDICATION),
            many(avp::SCSCF_RESTORATION_INFO),
            opt(avp::ASSOCIATED_REGISTERED_IDENTITIES),
            opt(avp::SERVER_NAME),
            opt(avp::WILDCARDED_PUBLIC_IDENTITY),
            opt(avp::PRIVILEDGED_SENDER_INDICATION),
            opt(avp::ALLOWED_WAF_WWSF_IDENTITIES),
            many(avp::FAILED_AVP),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
    ),
    command_def(
        app::CX,
        cmd::LOCATION_INFO,
        "Location-Info",
        true,
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::DESTINATION_HOST),
            req(avp::DESTINATION_REALM),
            opt(avp::ORIGINATING_REQUEST),
            opt(avp::OC_SUPPORTED_FEATURES),
            many(avp::SUPPORTED_FEATURES),
            req(avp::PUBLIC_IDENTITY),
            opt(avp::USER_AUTHORIZATION_TYPE),
            opt(avp::SESSION_PRIORITY),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            opt(avp::RESULT_CODE),
            opt(avp::EXPERIMENTAL_RESULT),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::OC_SUPPORTED_FEATURES),
            opt(avp::OC_OLR),
            many(avp::SUPPORTED_FEATURES),
            opt(avp::SERVER_NAME),
            opt(avp::SERVER_CAPABILITIES),
            opt(avp::WILDCARDED_PUBLIC_IDENTITY),
            opt(avp::LIA_FLAGS),
            many(avp::FAILED_AVP),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
    ),
    command_def(
        app::CX,
        cmd::MULTIMEDIA_AUTH,
        "Multimedia-Auth",
        true,
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            req(avp::DESTINATION_REALM),
            opt(avp::DESTINATION_HOST),
            req(avp::USER_NAME),
            opt(avp::OC_SUPPORTED_FEATURES),
            many(avp::SUPPORTED_FEATURES),
            req(avp::PUBLIC_IDENTITY),
            req(avp::SIP_AUTH_DATA_ITEM),
            req(avp::SIP_NUMBER_AUTH_ITEMS),
            req(avp::SERVER_NAME),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            opt(avp::RESULT_CODE),
            opt(avp::EXPERIMENTAL_RESULT),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::USER_NAME),
            many(avp::SUPPORTED_FEATURES),
            opt(avp::PUBLIC_IDENTITY),
            opt(avp::SIP_NUMBER_AUTH_ITEMS),
            many(avp::SIP_AUTH_DATA_ITEM),
            opt(avp::SERVER_NAME),
            opt(avp::OC_SUPPORTED_FEATURES),
            opt(avp::OC_OLR),
            many(avp::FAILED_AVP),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
    ),
    command_def(
        app::CX,
        cmd::REGISTRATION_TERMINATION,
        "Registration-Termination",
        true,
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            req(avp::DESTINATION_HOST),
            req(avp::DESTINATION_REALM),
            req(avp::USER_NAME),
            opt(avp::ASSOCIATED_IDENTITIES),
            many(avp::SUPPORTED_FEATURES),
            many(avp::PUBLIC_IDENTITY),
            req(avp::DEREGISTRATION_REASON),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            opt(avp::RESULT_CODE),
            opt(avp::EXPERIMENTAL_RESULT),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::ASSOCIATED_IDENTITIES),
            many(avp::SUPPORTED_FEATURES),
            many(avp::IDENTITY_WITH_EMERGENCY_REGISTRATION),
            many(avp::FAILED_AVP),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
    ),
    command_def(
        app::CX,
        cmd::PUSH_PROFILE,
        "Push-Profile",
        true,
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            req(avp::DESTINATION_HOST),
            req(avp::DESTINATION_REALM),
            req(avp::USER_NAME),
            many(avp::SUPPORTED_FEATURES),
            opt(avp::USER_DATA),
            opt(avp::CHARGING_INFORMATION),
            opt(avp::SIP_AUTH_DATA_ITEM),
            opt(avp::ALLOWED_WAF_WWSF_IDENTITIES),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            opt(avp::RESULT_CODE),
            opt(avp::EXPERIMENTAL_RESULT),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            many(avp::SUPPORTED_FEATURES),
            many(avp::FAILED_AVP),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
    ),
    command_def(
        app::SH,
        cmd::USER_DATA,
        "User-Data",
        true,
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::DESTINATION_HOST),
            req(avp::DESTINATION_REALM),
            many(avp::SUPPORTED_FEATURES),
            req(avp::USER_IDENTITY),
            opt(avp::WILDCARDED_PUBLIC_IDENTITY),
            opt(avp::WILDCARDED_IMPU),
            opt(avp::SERVER_NAME),
            many(avp::SERVICE_INDICATION),
            some(avp::DATA_REFERENCE),
            many(avp::IDENTITY_SET),
            opt(avp::REQUESTED_DOMAIN),
            opt(avp::CURRENT_LOCATION),
            many(avp::DSAI_TAG),
            opt(avp::SESSION_PRIORITY),
            opt(avp::USER_NAME),
            opt(avp::REQUESTED_NODES),
            opt(avp::SERVING_NODE_INDICATION),
            opt(avp::PRE_PAGING_SUPPORTED),
            opt(avp::LOCAL_TIME_ZONE_INDICATION),
            opt(avp::UDR_FLAGS),
            opt(avp::CALL_REFERENCE_INFO),
            opt(avp::OC_SUPPORTED_FEATURES),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            opt(avp::RESULT_CODE),
            opt(avp::EXPERIMENTAL_RESULT),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            many(avp::SUPPORTED_FEATURES),
            opt(avp::WILDCARDED_PUBLIC_IDENTITY),
            opt(avp::WILDCARDED_IMPU),
            opt(avp::SH_USER_DATA),
            opt(avp::OC_SUPPORTED_FEATURES),
            opt(avp::OC_OLR),
            many(avp::FAILED_AVP),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
    ),
    command_def(
        app::SH,
        cmd::PROFILE_UPDATE,
        "Profile-Update",
        true,
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::DESTINATION_HOST),
            req(avp::DESTINATION_REALM),
            many(avp::SUPPORTED_FEATURES),
            req(avp::USER_IDENTITY),
            opt(avp::WILDCARDED_PUBLIC_IDENTITY),
            opt(avp::WILDCARDED_IMPU),
            opt(avp::USER_NAME),
            req(avp::DATA_REFERENCE),
            req(avp::SH_USER_DATA),
            opt(avp::OC_SUPPORTED_FEATURES),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            opt(avp::RESULT_CODE),
            opt(avp::EXPERIMENTAL_RESULT),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::WILDCARDED_PUBLIC_IDENTITY),
            opt(avp::WILDCARDED_IMPU),
            opt(avp::REPOSITORY_DATA_ID),
            opt(avp::DATA_REFERENCE),
            many(avp::SUPPORTED_FEATURES),
            opt(avp::OC_SUPPORTED_FEATURES),
            opt(avp::OC_OLR),
            many(avp::FAILED_AVP),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
    ),
    command_def(
        app::SH,
        cmd::SUBSCRIBE_NOTIFICATIONS,
        "Subscribe-Notifications",
        true,
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::DESTINATION_HOST),
            req(avp::DESTINATION_REALM),
            many(avp::SUPPORTED_FEATURES),
            req(avp::USER_IDENTITY),
            opt(avp::WILDCARDED_PUBLIC_IDENTITY),
            opt(avp::WILDCARDED_IMPU),
            many(avp::SERVICE_INDICATION),
            opt(avp::SEND_DATA_INDICATION),
            opt(avp::SERVER_NAME),
            req(avp::SUBS_REQ_TYPE),
            some(avp::DATA_REFERENCE),
            many(avp::IDENTITY_SET),
            opt(avp::EXPIRY_TIME),
            many(avp::DSAI_TAG),
            opt(avp::ONE_TIME_NOTIFICATION),
            opt(avp::USER_NAME),
            opt(avp::OC_SUPPORTED_FEATURES),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            req(avp::AUTH_SESSION_STATE),
            opt(avp::RESULT_CODE),
            opt(avp::EXPERIMENTAL_RESULT),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::WILDCARDED_PUBLIC_IDENTITY),
            opt(avp::WILDCARDED_IMPU),
            many(avp::SUPPORTED_FEATURES),
            opt(avp::SH_USER_DATA),
            opt(avp::EXPIRY_TIME),
            opt(avp::OC_SUPPORTED_FEATURES),
            opt(avp::OC_OLR),
            many(avp::FAILED_AVP),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
    ),
    command_def(
        app::SH,
        cmd::PUSH_NOTIFICATION,
        "Push-Notification",
        true,
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            req(avp::DESTINATION_HOST),
            req(avp::DESTINATION_REALM),
            many(avp::SUPPORTED_FEATURES),
            req(avp::USER_IDENTITY),
            opt(avp::WILDCARDED_PUBLIC_IDENTITY),
            opt(avp::WILDCARDED_IMPU),
            opt(avp::USER_NAME),
            req(avp::SH_USER_DATA),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
        open(&[
            req(avp::SESSION_ID),
            opt(avp::DRMP),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            opt(avp::RESULT_CODE),
            opt(avp::EXPERIMENTAL_RESULT),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            many(avp::SUPPORTED_FEATURES),
            many(avp::FAILED_AVP),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
    ),
    command_def(
        app::ZN,
        cmd::BOOTSTRAPPING_INFO,
        "Bootstrapping-Info",
        true,
        open(&[
            req(avp::SESSION_ID),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            req(avp::DESTINATION_REALM),
            opt(avp::DESTINATION_HOST),
            many(avp::GAA_SERVICE_IDENTIFIER),
            req(avp::TRANSACTION_IDENTIFIER),
            req(avp::NAF_ID),
            opt(avp::GBA_U_AWARENESS_INDICATOR),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
        open(&[
            req(avp::SESSION_ID),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            opt(avp::RESULT_CODE),
            opt(avp::EXPERIMENTAL_RESULT),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::USER_NAME),
            opt(avp::ME_KEY_MATERIAL),
            opt(avp::UICC_KEY_MATERIAL),
            opt(avp::KEY_EXPIRY_TIME),
            opt(avp::BOOTSTRAP_INFO_CREATION_TIME),
            opt(avp::GBA_USER_SEC_SETTINGS),
            opt(avp::GBA_TYPE),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
    ),
    command_def(
        app::ZH,
        cmd::MULTIMEDIA_AUTH,
        "Multimedia-Auth",
        true,
        open(&[
            req(avp::SESSION_ID),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            req(avp::DESTINATION_REALM),
            opt(avp::DESTINATION_HOST),
            opt(avp::USER_NAME),
            opt(avp::PUBLIC_IDENTITY),
            opt(avp::SIP_AUTH_DATA_ITEM),
            opt(avp::GUSS_TIMESTAMP),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
        open(&[
            req(avp::SESSION_ID),
            req(avp::VENDOR_SPECIFIC_APPLICATION_ID),
            opt(avp::RESULT_CODE),
            opt(avp::EXPERIMENTAL_RESULT),
            req(avp::AUTH_SESSION_STATE),
            req(avp::ORIGIN_HOST),
            req(avp::ORIGIN_REALM),
            opt(avp::USER_NAME),
            opt(avp::PUBLIC_IDENTITY),
            opt(avp::SIP_AUTH_DATA_ITEM),
            opt(avp::GBA_USER_SEC_SETTINGS),
            many(avp::PROXY_INFO),
            many(avp::ROUTE_RECORD),
        ]),
    ),
];
