"""``Rows(..., counted_in_page=True)`` (seetf.common.pagination): the page and the list's
count in one statement, the same answers as counting apart."""

import pytest
from django.core.paginator import EmptyPage

from collaboration.api.serializers import NOTIFICATION_ROWS
from collaboration.models import Notification
from seetf.common.pagination import PAGE_COUNT, Rows, _Paginator
from tests.grants.factories import make_grant

pytestmark = pytest.mark.django_db


@pytest.fixture
def notifications(leader, funded):
    grant = make_grant(leader)
    Notification.objects.bulk_create(
        Notification(user=leader, kind="comment", grant=grant, text=f"n{i}", delivery="never")
        for i in range(7)
    )
    return Notification.objects.filter(user=leader).order_by("-created_at", "-id")


@pytest.mark.parametrize("number", [1, 2, 3])
def test_each_page_and_count_are_those_of_the_plain_paginator(
    notifications, number, django_assert_num_queries
):
    plain = _Paginator(Rows(notifications, NOTIFICATION_ROWS.read), 3).page(number)
    with django_assert_num_queries(1):
        page = _Paginator(
            Rows(notifications, NOTIFICATION_ROWS.read, counted_in_page=True), 3
        ).page(number)
    assert page.paginator.count == plain.paginator.count == 7
    assert list(page.object_list) == list(plain.object_list)
    assert all(PAGE_COUNT not in row for row in page.object_list)
    assert page.has_next() == plain.has_next() == (number < 3)


def test_an_empty_list_is_an_empty_first_page_and_a_page_past_the_last_is_empty_page(
    notifications, django_assert_num_queries
):
    none = Rows(notifications.none(), NOTIFICATION_ROWS.read, counted_in_page=True)
    page = _Paginator(none, 3).page(1)
    assert page.paginator.count == 0 and list(page.object_list) == []
    with django_assert_num_queries(1), pytest.raises(EmptyPage):
        _Paginator(Rows(notifications, NOTIFICATION_ROWS.read, counted_in_page=True), 3).page(4)


def test_a_distinct_list_is_counted_apart(notifications):
    distinct = notifications.distinct()
    rows = Rows(distinct, NOTIFICATION_ROWS.read, counted_in_page=True)
    assert rows.counted_in_page is False
    assert _Paginator(rows, 3).page(1).paginator.count == 7
