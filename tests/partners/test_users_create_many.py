"""`users_create_many`: the importer's new task team leaders in a few statements, each
created and audited as `user_create_or_update` creates one."""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError

from audit.models import AuditEntry
from audit.services import diff
from partners.roles import Role, user_roles
from partners.services import user_access_state, user_create_or_update, users_create_many

pytestmark = pytest.mark.django_db


def test_creates_users_of_the_role_with_no_usable_password_each_audited(fund_manager):
    made = users_create_many(usernames=["ann", "bob", "ann"], role=Role.TASK_TEAM_LEADER)
    assert sorted(made) == ["ann", "bob"]
    for name in ("ann", "bob"):
        user = get_user_model().objects.get(username=name)
        assert not user.has_usable_password()
        assert user_roles(user) == {Role.TASK_TEAM_LEADER}
        # The same audit entry as one made by user_create_or_update.
        (entry,) = AuditEntry.objects.filter(action="user.create", object_id=str(user.pk))
        assert entry.changes == diff({}, user_access_state(user))
    reference = user_create_or_update(username="cid", roles=[Role.TASK_TEAM_LEADER])
    (entry,) = AuditEntry.objects.filter(action="user.create", object_id=str(reference.pk))
    assert entry.changes == diff({}, user_access_state(reference))


def test_a_taken_name_or_a_donor_is_refused_and_nothing_written(leader):
    before = get_user_model().objects.count()
    with pytest.raises(ValidationError, match="Taken already: ttl"):
        users_create_many(usernames=["new", leader.username], role=Role.TASK_TEAM_LEADER)
    with pytest.raises(ValidationError):
        users_create_many(usernames=["new"], role=Role.DONOR)
    assert get_user_model().objects.count() == before
