"""The README's verification snippet works against a real signed callback."""

import re
from datetime import UTC, datetime

from accounts.models import new_webhook_secret as new_secret
from callbacks.signing import encode_body, webhook_headers
from tests.conftest import ROOT


def test_the_readme_verification_snippet_verifies_a_real_callback():
    readme = (ROOT / "README.md").read_text()
    snippet = re.search(r"\*\*Verify\*\*.*?```python\n(.*?)```", readme, re.S).group(1)
    secret = new_secret()
    seen, saved = set(), []
    namespace = {"already_seen": seen.__contains__, "save": lambda *args: saved.append(args)}
    exec(snippet.replace('"whsec_..."', repr(secret)), namespace)  # noqa: S102

    task = {"id": "t1", "state": "succeeded", "status": [{"response": {"output": []}}]}
    body = encode_body(task)
    headers = webhook_headers(secrets=[secret], msg_id="msg_1", timestamp=datetime.now(UTC), body=body)
    assert namespace["handle"](body.encode(), headers) == 200
    assert saved == [("t1", "succeeded", [])]
    assert namespace["handle"](body.replace("t1", "t2").encode(), headers) == 400
