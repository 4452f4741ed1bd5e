"""The delta codec (bundle/delta_codec.py): every form ``encode`` may choose decodes back exactly, and
decoding never yields more than the declared size."""
from __future__ import annotations

import numpy as np
import pytest

from emotivoice_srv.bundle.delta_codec import decode, patch, shuffle4, unshuffle4, whole
from emotivoice_srv.errors import DeltaRejected


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 4096 + 3])
def test_shuffle4_is_a_permutation_its_inverse_undoes(n):
    data = np.random.default_rng(n).integers(0, 256, n, dtype=np.uint8).tobytes()
    assert unshuffle4(shuffle4(data)) == data and sorted(shuffle4(data)) == sorted(data)


def test_every_form_decodes_back_exactly():
    rng = np.random.default_rng(0)
    base = rng.standard_normal(50_000).astype(np.float32)
    new = base.copy()
    new[:5_000] *= np.float32(1.01)  # a fine-tuned slice of the weights
    base_b, new_b = base.tobytes(), new.tobytes()
    forms = {("whole", ""): (whole(new_b, 3), None), ("whole", "shuffle4"): (whole(shuffle4(new_b), 3), None),
             ("patch", ""): (patch(base_b, new_b, 3), base_b),
             ("patch", "shuffle4"): (patch(shuffle4(base_b), shuffle4(new_b), 3), base_b)}
    for (op, transform), (blob, dictionary) in forms.items():
        assert b"".join(decode(blob, len(new_b), "w", dictionary, transform)) == new_b, (op, transform)
    assert len(forms[("patch", "shuffle4")][0]) < len(forms[("patch", "")][0])  # why the transform exists


def test_decoding_past_the_declared_size_is_refused():
    blob = whole(bytes(1000), 3)
    for transform in ("", "shuffle4"):
        with pytest.raises(DeltaRejected):
            b"".join(decode(blob, 999, "zeros", None, transform))
