//! Arbitrary bytes as a Diameter byte stream, fed whole and split at a point chosen by the first
//! input byte: framing must never panic and both feedings must frame the same messages. Every framed
//! message has all its AVPs walked (descending into anything that frames as Grouped) through every
//! typed accessor, is validated against the dictionary and answered if refused; when its AVPs frame,
//! it is re-encoded through the builder and must parse back to the same header and AVP tree, and
//! validate to the same Result-Code.

#![no_main]

use bytes::BytesMut;
use hearth_core::diameter::{
    Avp, AvpList, FrameError, GroupBuilder, Message, MessageBuilder, dict, error_answer, frame,
    validate,
};
use libfuzzer_sys::fuzz_target;

const APPLICATIONS: &[u32] = &[dict::app::CX, dict::app::SH, dict::app::ZN, dict::app::ZH];
const MAX_LEN: usize = 64 * 1024;

type Framed = Vec<Result<Message, FrameError>>;

fn feed(pieces: &[&[u8]]) -> Framed {
    let mut buf = BytesMut::new();
    let mut framed = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match frame(&mut buf, MAX_LEN) {
                Ok(Some(message)) => framed.push(Ok(message)),
                Ok(None) => break,
                Err(error) => {
                    framed.push(Err(error));
                    return framed;
                }
            }
        }
    }
    framed
}

/// Runs every accessor over every AVP, descending into whatever frames as Grouped.
fn exercise(list: &AvpList) {
    for avp in list {
        let _ = (avp.as_u32(), avp.as_u64(), avp.as_i32(), avp.as_i64());
        let _ = (
            avp.as_f32(),
            avp.as_f64(),
            avp.as_enumerated(),
            avp.as_octets(),
        );
        let _ = (avp.as_utf8(), avp.as_identity(), avp.as_address());
        if let Ok(time) = avp.as_time() {
            let unix = time.to_unix();
            assert_eq!(
                hearth_core::diameter::DiameterTime::from_unix(unix),
                Some(time)
            );
        }
        let _ = dict::avp_name(avp.key());
        if let Ok(members) = avp.grouped() {
            assert_eq!(members.depth(), avp.depth() + 1);
            exercise(&members);
        }
    }
}

fn is_dictionary_grouped(avp: &Avp) -> bool {
    dict::avp_def(avp.key()).is_some_and(|def| def.data_type == dict::DataType::Grouped)
}

/// Writes `list` again: dictionary Grouped AVPs whose members frame are rebuilt member by member,
/// everything else is copied.
fn rebuild(group: &mut GroupBuilder<'_>, list: &AvpList) {
    for avp in list {
        match avp.grouped() {
            Ok(members) if is_dictionary_grouped(&avp) => {
                group.grouped(avp.header(), |inner| rebuild(inner, &members));
            }
            _ => {
                group.avp_copy(&avp);
            }
        }
    }
}

/// Compares two AVP trees the way `rebuild` writes them.
fn assert_same_tree(original: &AvpList, again: &AvpList) {
    let left: Vec<Avp> = original.iter().collect();
    let right: Vec<Avp> = again.iter().collect();
    assert_eq!(left.len(), right.len(), "AVP count changed");
    for (a, b) in left.iter().zip(&right) {
        assert_eq!(a.header(), b.header());
        assert_eq!(a.depth(), b.depth());
        match a.grouped() {
            Ok(members) if is_dictionary_grouped(a) => {
                let again_members = b.grouped().expect("rebuilt group frames");
                assert_same_tree(&members, &again_members);
            }
            _ => assert_eq!(a.data, b.data),
        }
    }
}

fn check(message: &Message) {
    let header = *message.header();
    assert_eq!(header.length as usize, message.as_bytes().len());
    assert_eq!(
        Message::parse(message.as_bytes().clone()).as_ref(),
        Ok(message)
    );
    let _ = message.result_code();
    let again = message.to_retransmission();
    assert!(again.header().is_retransmitted());

    let outcome = validate(message, APPLICATIONS);
    if let Err(rejection) = &outcome {
        if let Some(failed) = &rejection.failed_avp {
            AvpList::parse(failed.clone()).expect("Failed-AVP content frames");
        }
        let answer = error_answer(message, rejection, "hearth.example.org", "example.org")
            .finish()
            .expect("answer encodes");
        assert!(!answer.header().is_request());
        assert_eq!(answer.header().is_error(), rejection.is_protocol_error());
        assert_eq!(answer.header().hop_by_hop, header.hop_by_hop);
        let answer_avps = answer.avps().expect("answer frames");
        exercise(&answer_avps);
    }

    let Ok(list) = message.avps() else {
        assert!(
            outcome.is_err(),
            "a message whose AVPs do not frame was accepted"
        );
        return;
    };
    exercise(&list);

    let mut builder = MessageBuilder::new(header.command_code, header.application_id, header.flags)
        .hop_by_hop(header.hop_by_hop)
        .end_to_end(header.end_to_end);
    for avp in &list {
        match avp.grouped() {
            Ok(members) if is_dictionary_grouped(&avp) => {
                builder = builder.grouped(avp.header(), |inner| rebuild(inner, &members));
            }
            _ => builder = builder.avp_copy(&avp),
        }
    }
    let rebuilt = builder.finish().expect("re-encodes");
    let reparsed = Message::parse(rebuilt.as_bytes().clone()).expect("re-encoding parses");
    let mut expected_header = header;
    expected_header.length = reparsed.header().length;
    assert_eq!(*reparsed.header(), expected_header);
    assert!(reparsed.header().length.is_multiple_of(4));
    assert_same_tree(&list, &reparsed.avps().expect("re-encoding frames"));
    if header.length.is_multiple_of(4) {
        assert_eq!(
            validate(&reparsed, APPLICATIONS).map_err(|r| r.result_code),
            outcome.map_err(|r| r.result_code),
            "validation changed after re-encoding"
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, input)) = data.split_first() else {
        return;
    };
    let split = input.len() * usize::from(selector) / 255;
    let (first, second) = input.split_at(split);
    let whole = feed(&[input]);
    let split_feed = feed(&[first, second]);
    assert_eq!(whole, split_feed, "split at {split} changed the framing");
    for message in whole.iter().flatten() {
        check(message);
    }
});
