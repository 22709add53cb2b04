"""A fast path compared with the read path as it was committed, byte for byte: the same
request answered twice, the second time with DRF's own methods put back on the views."""

from contextlib import contextmanager

import pytest


class Committed:
    """``Committed((ViewSet, "list", mixins.ListModelMixin.list), ...)``: ``same(client,
    url)`` asserts the fast path answers ``url`` exactly as DRF's methods do, and gives
    its body; ``same_pages(client, url)`` does so for every page from ``url`` on,
    following ``next``, and gives the rows read."""

    def __init__(self, *methods):
        self.methods = methods

    @contextmanager
    def path(self):
        with pytest.MonkeyPatch.context() as patch:
            for view, name, method in self.methods:
                patch.setattr(view, name, method)
            yield

    def same(self, client, url):
        fast = client.get(url)
        with self.path():
            slow = client.get(url)
        assert fast.status_code == slow.status_code, (url, fast.content[:300], slow.content[:300])
        assert fast.content == slow.content, url
        return fast.json() if fast["Content-Type"] == "application/json" else None

    def same_pages(self, client, url):
        rows = []
        while url:
            body = self.same(client, url)
            assert set(body) == {"count", "next", "previous", "results"}, url
            rows += body["results"]
            url = body["next"]
        assert len(rows) == body["count"]
        return rows
