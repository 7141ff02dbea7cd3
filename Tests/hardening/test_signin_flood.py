"""Anonymous clients hammering staff sign-in cannot stall the server
(issue 15, finding 2): while sixteen threads post /operator/login from
many client addresses, /healthz and OCSP keep answering, and the sign-ins
beyond what the hashing thread's queue holds are refused with 429 and
Retry-After instead of piling up. (How fast the probes stay is measured by
Benchmarks/web/measure_signin_flood.sh, not asserted here.)"""
import pathlib
import sys
import tempfile
import unittest

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "browser"))
sys.path.insert(0, str(HERE.parents[1] / "Benchmarks" / "web"))
import portal  # noqa: E402
import signin_flood  # noqa: E402


class SignInFloodTests(unittest.TestCase):
    def test_flood_is_refused_and_the_rest_answers(self):
        web = portal.Portal(tempfile.mkdtemp(prefix="mailseal-flood-"),
                            extra={"MAILSEAL_TRUST_FORWARDED_FOR": "true"})
        self.addCleanup(web.stop)
        web.keep_log()
        statuses, probes = signin_flood.flood(web.url, seconds=8, flood_threads=16)
        print("\n" + signin_flood.summary(statuses, probes), flush=True)
        self.assertTrue(set(statuses) <= {401, 429}, set(statuses))
        self.assertGreater(statuses.count(401), 0, "no attempt was checked")
        self.assertGreater(statuses.count(429), 0, "the hashing queue never filled: not a flood")
        self.assertGreater(len(probes), 20)
        self.assertEqual([], [p for p in probes if not p[1]], "a probe failed during the flood")


if __name__ == "__main__":
    unittest.main()
