"""`explicit_timestamps` keeps the past's created_at/updated_at for the models it names,
in its own context only: another thread saving meanwhile is stamped as always (it used
to switch the fields' auto_now off for the whole process)."""

import threading
from datetime import UTC, datetime

from django.utils import timezone

from grants.models import Exchange, Grant
from seetf.common.models import explicit_timestamps

PAST = datetime(2009, 6, 1, 12, tzinfo=UTC)


def _stamps(model, add=True):
    grant = model(created_at=PAST, updated_at=PAST)
    return [model._meta.get_field(f).pre_save(grant, add) for f in ("created_at", "updated_at")]


def test_the_named_models_keep_their_timestamps_in_the_block_only():
    before = timezone.now()
    with explicit_timestamps(Grant):
        assert _stamps(Grant) == [PAST, PAST]
        assert _stamps(Grant, add=False) == [PAST, PAST]
        # A model not named is stamped.
        assert all(t >= before for t in _stamps(Exchange))
    assert all(t >= before for t in _stamps(Grant))
    # An instance with no value in the block is stamped now.
    with explicit_timestamps(Grant):
        grant = Grant()
        assert Grant._meta.get_field("created_at").pre_save(grant, True) >= before


def test_another_thread_saving_meanwhile_is_stamped():
    before = timezone.now()
    inside, done = threading.Event(), threading.Event()
    seen = []

    def other_request():
        inside.wait(5)
        seen.extend(_stamps(Grant))
        done.set()

    thread = threading.Thread(target=other_request)
    thread.start()
    with explicit_timestamps(Grant):
        inside.set()
        assert done.wait(5)
        assert _stamps(Grant) == [PAST, PAST]
    thread.join()
    assert len(seen) == 2 and all(t >= before for t in seen)
