from tests.reviewapp.test_api_schema import *  # noqa
import collections
SEEN = collections.Counter()

@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.label for op in OPERATIONS])
def test_probe(operation, admin_token):
    headers = {"Authorization": f"Token {admin_token}"}
    @given(case=_with_real_ids(operation))
    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    def check(case):
        r = case.call(headers=headers)
        SEEN[(operation.label, r.status_code)] += 1
    check()

def test_zz_report():
    for k, v in sorted(SEEN.items()):
        print(k, v)
