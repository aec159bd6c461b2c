/*
 * Hearth's C anchor for the Milenage benchmark: times libosmocore's Milenage (libosmogsm, as used
 * by Osmocom's HLR) on exactly the vector sequence that bench/examples/milenage_rate.rs uses, and
 * prints lines in the same format. Only this harness is ours; libosmocore is linked, not copied.
 *
 *   milenage_bench verify      test set 1's XRES, CK, IK and AUTN per C entry point
 *   milenage_bench run [N]     for each mode: "c-osmo <mode> <vectors/s> <checksum>"
 *
 * Modes:
 *   api-opc   osmo_auth_gen_vec() with OPc stored (opc_is_op = 0): the public API. Besides the
 *             UMTS vector it always derives the GSM triplet (SRES, Kc), which re-runs f2..f4.
 *   api-op    the same with OP stored (opc_is_op = 1): OPc derived per vector.
 *   gen-opc   milenage_generate(): the UMTS vector alone (exported by libosmogsm but not declared
 *             in its public headers; the prototype below matches libosmocore 1.7.0).
 *   gen-op    milenage_opc_gen() then milenage_generate().
 *
 * Vector i: RAND = test set 1 RAND with its last 8 octets xor i, SQN = test set 1 SQN + i, AMF and
 * K (and OP/OPc) of test set 1. The checksum xors AUTN, CK, IK and XRES (first 8 octets) of every
 * vector together, as hearth_bench::Checksum does.
 *
 * Build: gcc -O2 -march=native milenage_bench.c $(pkg-config --cflags --libs libosmogsm libosmocore)
 */
#define _POSIX_C_SOURCE 199309L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <osmocom/crypt/auth.h>

/* Exported by libosmogsm (symbol version LIBOSMOGSM_1.0), absent from its installed headers. */
void milenage_generate(const uint8_t *opc, const uint8_t *amf, const uint8_t *k,
		       const uint8_t *sqn, const uint8_t *rand, uint8_t *autn, uint8_t *ik,
		       uint8_t *ck, uint8_t *res, size_t *res_len);
int milenage_opc_gen(uint8_t *opc, const uint8_t *k, const uint8_t *op);

/* 3GPP TS 35.208 test set 1. */
static const uint8_t TS1_K[16] = {0x46, 0x5b, 0x5c, 0xe8, 0xb1, 0x99, 0xb4, 0x9f,
				  0xaa, 0x5f, 0x0a, 0x2e, 0xe2, 0x38, 0xa6, 0xbc};
static const uint8_t TS1_OP[16] = {0xcd, 0xc2, 0x02, 0xd5, 0x12, 0x3e, 0x20, 0xf6,
				   0x2b, 0x6d, 0x67, 0x6a, 0xc7, 0x2c, 0xb3, 0x18};
static const uint8_t TS1_OPC[16] = {0xcd, 0x63, 0xcb, 0x71, 0x95, 0x4a, 0x9f, 0x4e,
				    0x48, 0xa5, 0x99, 0x4e, 0x37, 0xa0, 0x2b, 0xaf};
static const uint8_t TS1_RAND[16] = {0x23, 0x55, 0x3c, 0xbe, 0x96, 0x37, 0xa8, 0x9d,
				     0x21, 0x8a, 0xe6, 0x4d, 0xae, 0x47, 0xbf, 0x35};
static const uint64_t TS1_SQN = 0xff9bb4d0b607ULL;
static const uint8_t TS1_AMF[2] = {0xb9, 0xb9};

#define DEFAULT_VECTORS 400000ULL

struct vector {
	uint8_t autn[16], ck[16], ik[16], xres[8];
};

typedef int (*generate_fn)(uint64_t index, struct osmo_sub_auth_data *aud, struct vector *out);

static void rand_for(uint64_t index, uint8_t rand[16])
{
	memcpy(rand, TS1_RAND, 16);
	for (int i = 0; i < 8; i++)
		rand[15 - i] ^= (uint8_t)(index >> (8 * i));
}

static void sqn_for(uint64_t index, uint8_t sqn[6])
{
	uint64_t value = (TS1_SQN + index) & ((1ULL << 48) - 1);
	for (int i = 0; i < 6; i++)
		sqn[5 - i] = (uint8_t)(value >> (8 * i));
}

/* The subscriber record osmo_auth_gen_vec() reads; with ind_bitlen 0 it uses SQN = sqn + 1 and
 * stores it back, so vector i gets TS1_SQN + i when the record starts at TS1_SQN - 1. */
static void init_aud(struct osmo_sub_auth_data *aud, int opc_is_op)
{
	memset(aud, 0, sizeof(*aud));
	aud->type = OSMO_AUTH_TYPE_UMTS;
	aud->algo = OSMO_AUTH_ALG_MILENAGE;
	memcpy(aud->u.umts.k, TS1_K, 16);
	memcpy(aud->u.umts.opc, opc_is_op ? TS1_OP : TS1_OPC, 16);
	memcpy(aud->u.umts.amf, TS1_AMF, 2);
	aud->u.umts.opc_is_op = opc_is_op;
	aud->u.umts.ind_bitlen = 0;
	aud->u.umts.ind = 0;
	aud->u.umts.sqn = TS1_SQN - 1;
}

static int gen_api(uint64_t index, struct osmo_sub_auth_data *aud, struct vector *out)
{
	struct osmo_auth_vector vec;
	uint8_t rand[16];

	rand_for(index, rand);
	memset(&vec, 0, sizeof(vec));
	if (osmo_auth_gen_vec(&vec, aud, rand) != 0 || vec.res_len != 8)
		return -1;
	memcpy(out->autn, vec.autn, 16);
	memcpy(out->ck, vec.ck, 16);
	memcpy(out->ik, vec.ik, 16);
	memcpy(out->xres, vec.res, 8);
	return 0;
}

static int gen_direct(uint64_t index, const uint8_t opc[16], struct vector *out)
{
	uint8_t rand[16], sqn[6];
	size_t res_len = 8;

	rand_for(index, rand);
	sqn_for(index, sqn);
	milenage_generate(opc, TS1_AMF, TS1_K, sqn, rand, out->autn, out->ik, out->ck, out->xres,
			  &res_len);
	return res_len == 8 ? 0 : -1;
}

static int gen_direct_opc(uint64_t index, struct osmo_sub_auth_data *aud, struct vector *out)
{
	(void)aud;
	return gen_direct(index, TS1_OPC, out);
}

static int gen_direct_op(uint64_t index, struct osmo_sub_auth_data *aud, struct vector *out)
{
	uint8_t opc[16];

	(void)aud;
	if (milenage_opc_gen(opc, TS1_K, TS1_OP) != 0)
		return -1;
	return gen_direct(index, opc, out);
}

static void hex(const char *name, const uint8_t *bytes, size_t len)
{
	printf("%s=", name);
	for (size_t i = 0; i < len; i++)
		printf("%02x", bytes[i]);
	printf("\n");
}

static int verify(void)
{
	struct osmo_sub_auth_data aud;
	struct vector api, direct;

	init_aud(&aud, 0);
	if (gen_api(0, &aud, &api) != 0 || gen_direct_opc(0, NULL, &direct) != 0) {
		fprintf(stderr, "libosmogsm refused to generate test set 1\n");
		return 1;
	}
	/* Both entry points must agree before their figures mean anything. */
	if (memcmp(&api, &direct, sizeof(api)) != 0) {
		fprintf(stderr, "osmo_auth_gen_vec and milenage_generate disagree\n");
		return 1;
	}
	hex("xres", api.xres, 8);
	hex("ck", api.ck, 16);
	hex("ik", api.ik, 16);
	hex("autn", api.autn, 16);
	return 0;
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int report(const char *mode, generate_fn generate, int opc_is_op, uint64_t count)
{
	struct osmo_sub_auth_data aud;
	struct vector vec;
	uint8_t checksum[16] = {0};
	uint64_t warm = count < 10000 ? count : 10000;

	init_aud(&aud, opc_is_op);
	for (uint64_t index = 0; index < warm; index++)
		if (generate(index, &aud, &vec) != 0)
			return -1;

	init_aud(&aud, opc_is_op);
	double start = now_seconds();
	for (uint64_t index = 0; index < count; index++) {
		if (generate(index, &aud, &vec) != 0)
			return -1;
		for (int i = 0; i < 16; i++)
			checksum[i] ^= vec.autn[i] ^ vec.ck[i] ^ vec.ik[i] ^ (i < 8 ? vec.xres[i] : 0);
	}
	double seconds = now_seconds() - start;

	printf("c-osmo %s %.0f ", mode, (double)count / seconds);
	for (int i = 0; i < 16; i++)
		printf("%02x", checksum[i]);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "verify") == 0)
		return verify();

	if ((argc == 2 || argc == 3) && strcmp(argv[1], "run") == 0) {
		uint64_t count = DEFAULT_VECTORS;
		if (argc == 3) {
			char *end = NULL;
			unsigned long long parsed = strtoull(argv[2], &end, 10);
			if (end == argv[2] || *end != '\0' || parsed == 0) {
				fprintf(stderr, "bad vector count: %s\n", argv[2]);
				return 2;
			}
			count = parsed;
		}
		if (report("api-opc", gen_api, 0, count) || report("api-op", gen_api, 1, count) ||
		    report("gen-opc", gen_direct_opc, 0, count) ||
		    report("gen-op", gen_direct_op, 0, count)) {
			fprintf(stderr, "libosmogsm failed to generate a vector\n");
			return 1;
		}
		return 0;
	}

	fprintf(stderr, "usage: %s verify | %s run [VECTORS>0]\n", argv[0], argv[0]);
	return 2;
}
