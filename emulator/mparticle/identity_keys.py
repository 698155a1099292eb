"""Identity keys that are not identity types (`customerID`, `Email`, `customer-id`): named, with
the documented type they probably meant, in the verdict of the request that sent them.

The contracts list the identity types (`mparticle/batch` `user_identities`, from mParticle's
Events API schema; `mparticle/identity-request` `known_identities`, IDSync's) and close the
objects, so the mode does the rest: `strict` refuses the request with the API's 400, `lenient`
takes it (the key is ignored) with a warning in the journal. This module only rewords the
validator's "Additional properties are not allowed" into one problem per key with a suggestion.
"""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

from emulator.core.contracts import ContractError, Verdict

KIND = "identity-type"
_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def _folded(key: str) -> str:
    return _NOT_ALNUM.sub("", key.lower())


def suggestion(key: str, types: list[str]) -> str | None:
    """The identity type `key` probably means: the first with the same letters and digits
    (case and separators aside), else the closest by difflib's ratio, else None."""
    folded: dict[str, str] = {}
    for name in types:
        folded.setdefault(_folded(name), name)
    exact = folded.get(_folded(key))
    if exact is not None:
        return exact
    close = difflib.get_close_matches(_folded(key), list(folded), n=1, cutoff=0.6)
    return folded[close[0]] if close else None


def explain(verdict: Verdict, instance: Any, field: str, types: dict[str, Any]) -> None:
    """Replace the validator's problem with the closed `field` object of `instance` (in errors or
    warnings) by one per unknown key: "'customerID' is not an identity type; did you mean
    'customer_id'?"."""
    at = f"$.{field}"
    given = instance.get(field) if isinstance(instance, dict) else None
    if not isinstance(given, dict):
        return
    names = list(types)
    for problems in (verdict.errors, verdict.warnings):
        if not any(p.path == at and p.kind == "AdditionalProperties" for p in problems):
            continue
        kept = [p for p in problems if not (p.path == at and p.kind == "AdditionalProperties")]
        for key in given:
            if key in types:
                continue
            guess = suggestion(key, names)
            hint = f"; did you mean {guess!r}?" if guess else f" (one of: {', '.join(names)})"
            where = f"{at}.{key}" if key.isidentifier() else f"{at}[{json.dumps(key)}]"
            kept.append(ContractError(where, f"{key!r} is not an identity type{hint}", KIND))
        problems[:] = kept
