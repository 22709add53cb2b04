"""The S3 path: documents stored in an S3-compatible bucket through django-storages,
against a real S3 API server on this machine (moto's server mode, bound to 127.0.0.1 on
a free port), uploaded and downloaded through the API as on the file system."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import boto3
import pytest
from moto.server import ThreadedMotoServer

from documents.models import Document
from documents.storage import document_storage
from grants.models import GrantStatus
from tests.documents import factories as f
from tests.grants.factories import make_grant

pytestmark = pytest.mark.django_db

KEYS = {"aws_access_key_id": "seetf-test", "aws_secret_access_key": "seetf-test-secret"}
REGION = "us-east-1"


@pytest.fixture(scope="module")
def s3_server():
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def bucket(s3_server, settings):
    """A new bucket of the server, and the documents storage pointed at it."""
    name = f"seetf-{uuid.uuid4().hex[:12]}"
    client = boto3.client("s3", endpoint_url=s3_server, region_name=REGION, **KEYS)
    client.create_bucket(Bucket=name)
    settings.STORAGES = {
        **settings.STORAGES,
        "documents": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": name,
                "endpoint_url": s3_server,
                "region_name": REGION,
                "access_key": KEYS["aws_access_key_id"],
                "secret_key": KEYS["aws_secret_access_key"],
                "location": "documents",
                "default_acl": "private",
                "querystring_auth": True,
                "file_overwrite": False,
            },
        },
    }
    return client, name


def test_an_upload_goes_to_the_bucket_private_and_comes_back_through_the_api(
    bucket, funded, leader, fund_manager, client_for
):
    client, name = bucket
    assert type(document_storage()).__name__ == "S3Storage"
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    response = client_for("leader").post(
        f"/api/v1/grants/{grant.pk}/documents/",
        {"category": "agenda", "title": "Agenda", "file": f.upload("agenda.pdf")},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    document = Document.objects.get()
    key = f"documents/{document.stored_name}"
    stored = client.get_object(Bucket=name, Key=key)
    assert stored["Body"].read() == f.PDF
    # Private: the owner's grant only, nobody else's (no AllUsers/AuthenticatedUsers).
    grants = client.get_object_acl(Bucket=name, Key=key)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert all(g["Grantee"]["Type"] == "CanonicalUser" for g in grants)

    got = client_for("donor").get(urlsplit(response.json()["url"]).path)
    assert got.status_code == 200
    assert b"".join(got.streaming_content) == f.PDF
    assert got["Content-Disposition"].startswith("attachment;")
    assert got["X-Content-Type-Options"] == "nosniff"


def test_two_uploads_of_one_name_are_two_objects(bucket, funded, leader, fund_manager):
    client, name = bucket
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    f.make_document(grant, leader, content=f.PDF)
    f.make_document(grant, leader, content=f.PDF + b"% two\n")
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=name)["Contents"]]
    assert len(keys) == 2 and all(k.startswith(f"documents/grants/{grant.pk}/") for k in keys)


def test_a_refused_file_leaves_the_bucket_empty(bucket, funded, leader, fund_manager, client_for):
    client, name = bucket
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    response = client_for("leader").post(
        f"/api/v1/grants/{grant.pk}/documents/",
        {"category": "agenda", "title": "Agenda", "file": f.upload("agenda.pdf", f.EXE)},
        format="multipart",
    )
    assert response.status_code == 400
    assert client.list_objects_v2(Bucket=name).get("KeyCount") == 0


def test_the_bucket_refuses_a_request_without_credentials(
    bucket, s3_server, funded, leader, fund_manager
):
    client, name = bucket
    grant = make_grant(leader, GrantStatus.APPROVED, manager=fund_manager)
    document = f.make_document(grant, leader)
    url = f"{s3_server}/{name}/documents/{document.stored_name}"
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(url, timeout=10)  # noqa: S310 - the local test server
    assert refused.value.code == 403


def test_the_settings_configure_the_bucket_from_the_environment():
    """SEETF_DOCUMENTS_S3_BUCKET (and the AWS_* variables) switch the documents to S3."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "seetf.settings.base",
        "SECRET_KEY": "x",
        "SEETF_DOCUMENTS_S3_BUCKET": "seetf-docs",
        "AWS_S3_ENDPOINT_URL": "http://127.0.0.1:9000",
        "AWS_S3_REGION_NAME": "eu-west-1",
    }
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "print(json.dumps(settings.STORAGES['documents']))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    storage = json.loads(out.stdout.strip().splitlines()[-1])
    assert storage["BACKEND"] == "storages.backends.s3.S3Storage"
    assert storage["OPTIONS"]["bucket_name"] == "seetf-docs"
    assert storage["OPTIONS"]["endpoint_url"] == "http://127.0.0.1:9000"
    assert storage["OPTIONS"]["region_name"] == "eu-west-1"
    assert storage["OPTIONS"]["default_acl"] == "private"
    assert storage["OPTIONS"]["file_overwrite"] is False
