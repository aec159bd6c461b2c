#!/usr/bin/env python3
"""An independent client's view of what Hearth wrote to Cassandra.

Reads Clearwater's homestead_provisioning tables (and Hearth's registration table) with the
DataStax/Apache Python driver, not with Hearth's code, and checks that one subscriber is there as
Homestead-prov would have written it. Exits 0 and prints the rows as JSON when every check
passes; exits 1 naming the first mismatch; exits 2 when the driver is not installed.

usage: check_tables.py --contact 127.0.0.1:9042 --prefix PREFIX --impi IMPI --impu IMPU
                       --irs UUID --sp UUID --ha1 HEX [--registered]
"""

import argparse
import json
import sys
import uuid

try:
    from cassandra.cluster import Cluster
except ImportError:
    print("the cassandra-driver package is not installed (pip install cassandra-driver)")
    sys.exit(2)


def fail(message):
    print(f"MISMATCH: {message}")
    sys.exit(1)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--contact", default="127.0.0.1:9042")
    parser.add_argument("--prefix", default="")
    parser.add_argument("--impi", required=True)
    parser.add_argument("--impu", required=True)
    parser.add_argument("--irs", required=True)
    parser.add_argument("--sp", required=True)
    parser.add_argument("--ha1", required=True)
    parser.add_argument("--registered", action="store_true")
    args = parser.parse_args()

    host, port = args.contact.rsplit(":", 1)
    cluster = Cluster([host], port=int(port))
    session = cluster.connect()
    ks = (args.prefix + "_" if args.prefix else "") + "homestead_provisioning"
    hearth = (args.prefix + "_" if args.prefix else "") + "hearth"
    irs, sp = uuid.UUID(args.irs), uuid.UUID(args.sp)
    found = {}

    row = session.execute(
        f"SELECT digest_ha1, realm, associated_irs FROM {ks}.private WHERE private_id = %s",
        (args.impi,),
    ).one()
    if row is None:
        fail(f"no private row for {args.impi}")
    if row.digest_ha1 != args.ha1:
        fail(f"private.digest_ha1 is {row.digest_ha1!r}")
    if irs not in (row.associated_irs or {}):
        fail(f"private.associated_irs lacks {irs}: {row.associated_irs}")
    found["private"] = {"digest_ha1": row.digest_ha1, "realm": row.realm,
                        "associated_irs": [str(k) for k in row.associated_irs]}

    row = session.execute(
        f"SELECT dummy, associated_private, service_profile "
        f"FROM {ks}.implicit_registration_sets WHERE id = %s",
        (irs,),
    ).one()
    if row is None:
        fail(f"no implicit_registration_sets row for {irs}")
    if args.impi not in (row.associated_private or {}):
        fail(f"implicit_registration_sets.associated_private lacks {args.impi}")
    if sp not in (row.service_profile or {}):
        fail(f"implicit_registration_sets.service_profile lacks {sp}")
    found["implicit_registration_sets"] = {
        "associated_private": list(row.associated_private),
        "service_profile": [str(k) for k in row.service_profile],
    }

    row = session.execute(
        f"SELECT irs, initialfiltercriteria, public_id FROM {ks}.service_profiles WHERE id = %s",
        (sp,),
    ).one()
    if row is None:
        fail(f"no service_profiles row for {sp}")
    if row.irs != str(irs):
        fail(f"service_profiles.irs is {row.irs!r}")
    if args.impu not in (row.public_id or {}):
        fail(f"service_profiles.public_id lacks {args.impu}")
    if "<InitialFilterCriteria>" not in (row.initialfiltercriteria or ""):
        fail(f"service_profiles.initialfiltercriteria is {row.initialfiltercriteria!r}")
    found["service_profiles"] = {"irs": row.irs, "public_id": list(row.public_id),
                                 "initialfiltercriteria": row.initialfiltercriteria}

    row = session.execute(
        f"SELECT publicidentity, service_profile FROM {ks}.public WHERE public_id = %s",
        (args.impu,),
    ).one()
    if row is None:
        fail(f"no public row for {args.impu}")
    if row.service_profile != str(sp):
        fail(f"public.service_profile is {row.service_profile!r}")
    if f"<Identity>{args.impu}</Identity>" not in row.publicidentity:
        fail(f"public.publicidentity is {row.publicidentity!r}")
    found["public"] = {"publicidentity": row.publicidentity,
                       "service_profile": row.service_profile}

    if args.registered:
        row = session.execute(
            f"SELECT state, private_id FROM {hearth}.registration WHERE irs = %s", (irs,)
        ).one()
        if row is None or row.state != "REGISTERED":
            fail(f"registration of {irs} is {row}")
        found["registration"] = {"state": row.state, "private_id": row.private_id}

    print(json.dumps(found, indent=1, sort_keys=True))
    cluster.shutdown()


if __name__ == "__main__":
    main()
