//! Arbitrary bytes as one Diameter message read as every typed Cx command (both directions), the
//! answers mapped to HTTP as Homestead maps them, and any User-Data parsed as an IMSSubscription:
//! none of it may panic, and whatever decodes must encode again and decode to the same value.

#![no_main]

use bytes::Bytes;
use hearth_core::diameter::Message;
use hearth_core::diameter::cx::{
    Lia, Lir, Maa, Mar, Ppa, Ppr, Rta, Rtr, Saa, Sar, Uaa, Uar, map_lia, map_maa,
    map_maa_legacy_digest, map_saa, map_uaa,
};
use hearth_core::xml::ims_subscription::parse_user_data;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = Message::parse(Bytes::copy_from_slice(data)) else {
        return;
    };
    let header = *message.header();
    if let Ok(mar) = Mar::from_message(&message)
        && let Ok(again) = mar.to_message(header.hop_by_hop, header.end_to_end)
    {
        assert_eq!(Mar::from_message(&again).ok(), Some(mar));
    }
    if let Ok(uar) = Uar::from_message(&message)
        && let Ok(again) = uar.to_message(header.hop_by_hop, header.end_to_end)
    {
        assert_eq!(Uar::from_message(&again).ok(), Some(uar));
    }
    if let Ok(lir) = Lir::from_message(&message)
        && let Ok(again) = lir.to_message(header.hop_by_hop, header.end_to_end)
    {
        assert_eq!(Lir::from_message(&again).ok(), Some(lir));
    }
    if let Ok(sar) = Sar::from_message(&message)
        && let Ok(again) = sar.to_message(header.hop_by_hop, header.end_to_end)
    {
        assert_eq!(Sar::from_message(&again).ok(), Some(sar));
    }
    if let Ok(ppr) = Ppr::from_message(&message) {
        if let Some(user_data) = &ppr.user_data {
            let _ = parse_user_data(user_data.as_bytes());
        }
        if let Ok(again) = ppr.to_message(header.hop_by_hop, header.end_to_end) {
            assert_eq!(Ppr::from_message(&again).ok(), Some(ppr));
        }
    }
    if let Ok(rtr) = Rtr::from_message(&message) {
        let _ = (rtr.target(), rtr.private_identities());
        if let Ok(again) = rtr.to_message(header.hop_by_hop, header.end_to_end) {
            assert_eq!(Rtr::from_message(&again).ok(), Some(rtr));
        }
    }
    if let Ok(maa) = Maa::from_message(&message) {
        let _ = (map_maa(&maa), map_maa_legacy_digest(&maa));
    }
    if let Ok(uaa) = Uaa::from_message(&message) {
        let _ = map_uaa(&uaa);
    }
    if let Ok(lia) = Lia::from_message(&message) {
        let _ = map_lia(&lia);
    }
    if let Ok(saa) = Saa::from_message(&message) {
        let _ = map_saa(&saa, None);
        let _ = map_saa(&saa, saa.wildcarded_public_identity.as_deref());
        if let Some(user_data) = &saa.user_data {
            let _ = parse_user_data(user_data.as_bytes());
        }
    }
    let _ = (Ppa::from_message(&message), Rta::from_message(&message));
});
